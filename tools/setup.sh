#!/usr/bin/env bash
# tools/setup.sh - install what the lab needs on Linux, once, quietly.
#
#   tools/setup.sh          mingw-w64 gcc + Wine (enough for `make` and `make test`),
#                           and the host's cc for the house checks (make check)
#   tools/setup.sh --msvc   also clang-cl, lld-link and Wine's SDK (the MSVC-mode kit)
#
# Idempotent: when everything is there it prints nothing and exits 0.
# On Debian/Ubuntu it installs the missing packages (with sudo when not
# root); anywhere else it says what to install and exits 1.
set -eu

want_msvc=0
[ "${1:-}" = "--msvc" ] && want_msvc=1

missing=()
case "$(uname -s)" in
  MINGW*|MSYS*|CYGWIN*) # Windows: the programs run natively, no Wine
    command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 && exit 0
    echo "setup: install MSYS2's mingw-w64-x86_64-gcc (pacman -S mingw-w64-x86_64-gcc make)," >&2
    echo "       or use MSVC: nmake /f Makefile.nmake" >&2
    exit 1 ;;
esac
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
command -v cc >/dev/null 2>&1 || missing+=(gcc) # the house checks (tools/check_tree.c) run here
command -v wine >/dev/null 2>&1 || missing+=(wine)
{ [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null 2>&1; } || missing+=(wine64)
if [ $want_msvc = 1 ]; then
  [ -x /usr/lib/llvm-14/bin/clang-cl ] || missing+=(clang-14 clang-tools-14)
  [ -x /usr/lib/llvm-14/bin/lld-link ] || missing+=(lld-14)
  [ -x /usr/lib/llvm-14/bin/llvm-lib ] || missing+=(llvm-14)
  [ -d /usr/include/wine/wine/windows ] || missing+=(libwine-dev)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: this system has no apt-get. Install these (or your system's equivalents) and run make again:" >&2
  echo "  ${missing[*]}" >&2
  echo "  (on Windows use MSYS2's mingw-w64-x86_64-gcc, or MSVC with 'nmake /f Makefile.nmake')" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "setup: installing ${missing[*]} (once)..." >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  echo "setup: apt-get failed; install these by hand: ${missing[*]}" >&2
  exit 1
fi
rm -f "$log"
echo "setup: done" >&2
