#!/usr/bin/env bash
# tools/msvc-kit.sh - run a command with an MSVC-compatible toolchain on Linux,
# the way a "x64 Native Tools Command Prompt" (vcvars) runs it on Windows.
#
#   tools/msvc-kit.sh make -f Makefile.nmake            build everything
#   tools/msvc-kit.sh make -f Makefile.nmake 04_select  build one target
#   tools/msvc-kit.sh make -f Makefile.nmake test       build, then run the tests under Wine
#   tools/msvc-kit.sh make -f Makefile.nmake clean
#   tools/msvc-kit.sh cl /nologo /W4 /WX probe.c ws2_32.lib   any other command
#
# It does what vcvars does: puts `cl` (clang-cl), `link` (lld-link) and `lib`
# (llvm-lib) first in PATH and sets INCLUDE, LIB, CL and _LINK_, then execs
# the command. Headers and import libraries come from Wine's SDK, the C
# runtime is Wine's ucrtbase.dll; the programs run under Wine
# (tools/wine-run.sh). GNU make reads Makefile.nmake as nmake would: the file
# keeps to the syntax both understand. When the command is make, RUN=
# tools/wine-run.sh is added (unless RUN= is given) so that `test` runs the
# test driver under Wine.
#
# What it approximates (see shared/msvc-mode.md): cl's /W4 with clang-cl's
# /W4 plus the stricter warnings below (C4244/C4267 conversions, C4456
# shadowing, VLAs, GNU extensions); MSVC's C4996 deprecations and a few
# declarations Wine's SDK lacks, through the overlay headers in
# tools/msvc-kit/include. It is still clang: MSVC-only warnings such as C4204
# or C4127 are not reproduced, so the real proof stays a build with Visual
# Studio.
#
# clang-cl on Linux takes an argument such as /home/me/x.c for an option:
# name sources by relative paths (as Makefile.nmake does) or after "--".
#
# Missing packages are installed once by tools/setup.sh --msvc. The first run
# builds a cache in .msvc-kit/ (git-ignored, about a second); later runs only
# check it, and rebuild it when this script or tools/msvc-kit/crtstub.c is
# newer. Quiet when there is nothing to do.
set -eu

case "$(uname -s)" in
  MINGW*|MSYS*|CYGWIN*)
    echo "msvc-kit: this kit is for Linux. On Windows use Visual Studio itself: open an" >&2
    echo "  \"x64 Native Tools Command Prompt\" and run: nmake /f Makefile.nmake" >&2
    exit 1 ;;
esac
if [ $# -eq 0 ]; then
  echo "usage: tools/msvc-kit.sh COMMAND [ARGS...]   (e.g. tools/msvc-kit.sh make -f Makefile.nmake)" >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/tools/msvc-kit"
kit="$root/.msvc-kit"
llvm=/usr/lib/llvm-14/bin
wine_lib=/usr/lib/x86_64-linux-gnu/wine/x86_64-windows
wine_inc=/usr/include/wine/wine

"$root/tools/setup.sh" --msvc

for f in "$llvm/clang-cl" "$llvm/lld-link" "$llvm/llvm-lib" "$llvm/llvm-ar" \
         "$wine_lib/libucrtbase.a" "$wine_inc/windows/winsock2.h" "$src/crtstub.c"; do
  [ -e "$f" ] || { echo "msvc-kit: $f is missing (tools/setup.sh --msvc should have installed it)" >&2; exit 1; }
done

# Warnings that bring clang-cl's /W4 closer to cl's (shared/msvc-mode.md).
# The ones switched off are passed with -Xclang: CL comes before the command
# line, whose /W4 (-Wall -Wextra) would switch a plain -Wno-... on again,
# and _CL_ would land after /link. cl does not warn on a partly initialised
# struct, nor on the usual "i++ in the body to consume an option's value"
# loop (clang's -Wfor-loop-analysis).
strict="-Wshorten-64-to-32 -Wimplicit-int-conversion -Wimplicit-float-conversion -Wshadow -Wvla -Wgnu -Wpointer-arith"
strict="$strict -Xclang -Wno-missing-field-initializers -Xclang -Wno-for-loop-analysis"

# ---------------------------------------------------------------------------
# The cache: tool names, libraries under MSVC names, the CRT library
# ---------------------------------------------------------------------------

stale() {
  [ -f "$kit/stamp" ] || return 0
  local f
  for f in "$root/tools/msvc-kit.sh" "$src/crtstub.c" "$wine_lib/libucrtbase.a" "$llvm/clang-cl"; do
    [ "$f" -nt "$kit/stamp" ] && return 0
  done
  return 1
}

build_cache() {
  rm -rf "${kit:?}/bin" "${kit:?}/lib" "${kit:?}/obj" "${kit:?}/stamp"
  mkdir -p "$kit/bin" "$kit/lib" "$kit/obj"

  # Wrappers rather than symlinks: clang and lld pick their mode from the
  # name they are called by, and plain "link" is not one lld knows.
  local name real
  for name in cl:clang-cl link:lld-link lib:llvm-lib; do
    real="$llvm/${name#*:}"
    printf '#!/bin/sh\nexec %s "$@"\n' "$real" >"$kit/bin/${name%%:*}"
    chmod +x "$kit/bin/${name%%:*}"
  done
  # Makefile.nmake's clean runs cmd.exe's "rmdir /s /q build".
  cat >"$kit/bin/rmdir" <<'EOF'
#!/bin/sh
# cmd.exe's rmdir for Makefile.nmake: /s removes a whole tree, /q is quiet.
tree=0 args=
for a in "$@"; do
  case "$a" in
    /s|/S) tree=1 ;;
    /q|/Q) ;;
    *) args=1 ;;
  esac
done
if [ $tree = 1 ] && [ -n "$args" ]; then
  for a in "$@"; do
    case "$a" in /s|/S|/q|/Q) ;; *)
      [ -e "$a" ] || { echo "The system cannot find the file specified: $a" >&2; exit 2; }
      rm -rf -- "$a" ;;
    esac
  done
  exit 0
fi
exec /bin/rmdir "$@"
EOF
  chmod +x "$kit/bin/rmdir"

  # Import libraries under their MSVC names: ws2_32.lib -> libws2_32.a.
  local a base
  for a in "$wine_lib"/lib*.a; do
    base=${a##*/lib}
    base=${base%.a}
    ln -s "$a" "$kit/lib/$base.lib"
  done

  # The C runtime named by every object cl writes (/MT, /MD and their debug
  # variants): ucrtbase's import library, without its WinMain wrappers (they
  # define main), plus the pieces of MSVC's static CRT that ucrtbase lacks.
  # The stub is compiled with the kit's own flags, not the user's CL.
  local log obj def
  log=$(mktemp)
  for obj in crtstub crtstub_winmain; do
    def=; [ $obj = crtstub ] || def=/DMSVC_KIT_WINMAIN
    if ! INCLUDE='' CL='' _CL_='' "$llvm/clang-cl" /nologo /c /O2 /GS- /Zl /W4 /WX $def \
         "/Fo$kit/obj/$obj.obj" -- "$src/crtstub.c" >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"
      echo "msvc-kit: compiling $src/crtstub.c failed" >&2
      exit 1
    fi
  done
  rm -f "$log"
  # (msvcrt.lib and msvcrtd.lib replace the import libraries of Wine's msvcrt.dll:
  # cl means the C runtime by these names, not that old DLL.)
  cp "$wine_lib/libucrtbase.a" "$kit/lib/libcmt.lib"
  "$llvm/llvm-ar" d "$kit/lib/libcmt.lib" crt_winmain.o crt_wwinmain.o
  "$llvm/llvm-ar" rs "$kit/lib/libcmt.lib" "$kit/obj/crtstub.obj" "$kit/obj/crtstub_winmain.obj"
  for name in libcmtd msvcrt msvcrtd; do
    ln -sfn libcmt.lib "$kit/lib/$name.lib"
  done
  "$llvm/llvm-ar" rcs "$kit/lib/oldnames.lib" # POSIX names: the headers map them already

  echo "built by tools/msvc-kit.sh; delete this folder to rebuild it" >"$kit/stamp"
}

if stale; then
  mkdir -p "$kit"
  # One builder at a time; the others wait, then find the cache ready.
  exec 9>"$kit/lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if stale; then
    echo "msvc-kit: building the toolchain cache in $kit (once)" >&2
    build_cache
  fi
  exec 9>&-
fi

# ---------------------------------------------------------------------------
# The environment, as vcvars sets it
# ---------------------------------------------------------------------------

export PATH="$kit/bin:$PATH"
export INCLUDE="$src/include;$wine_inc/msvcrt;$wine_inc/windows"
export LIB="$kit/lib"
# -fuse-ld=lld: otherwise clang-cl links with /usr/bin/ld. USE_COMPILER_EXCEPTIONS:
# Wine's headers then give GetExceptionCode. The unused-argument warning would
# turn cl flags that clang-cl ignores into errors under /WX.
export CL="-fuse-ld=lld /DUSE_COMPILER_EXCEPTIONS -Wno-unused-command-line-argument $strict"
export _LINK_="/defaultlib:kernel32.lib"
unset _CL_

if [ "${1##*/}" = make ] || [ "${1##*/}" = gmake ]; then
  has_run=0
  for a in "$@"; do
    case "$a" in RUN=*) has_run=1 ;; esac
  done
  [ $has_run = 1 ] || set -- "$@" "RUN=$root/tools/wine-run.sh"
fi

exec "$@"
