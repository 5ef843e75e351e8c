#!/bin/sh
# tools/grade.sh - grade a class on Linux (mingw-w64 and Wine) or MSYS2.
#
#   tools/grade.sh STEP DIR [run_tests options, e.g. --case echo,stream]
#
# DIR holds one submission per student: a folder NAME/ with the student's
# server.c (and nothing else needed), or NAME.exe. Every folder with a
# server.c is built here, with the step's own lab.h (the student's copy is
# not used: lab.h is not theirs to change) and the warnings-as-errors
# flags, into NAME/server.exe; a build that fails leaves NAME/build.log and
# no server.exe. Then build/run_tests.exe --grade DIR --only STEP grades
# them all (tests/grade.c): DIR/grades.csv and DIR/NAME.feedback.txt.
# On Windows with Visual Studio, tools\grade.cmd does the same with cl.
set -u
[ $# -ge 2 ] || { echo "usage: tools/grade.sh STEP DIR [run_tests options]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
step=$1
dir=$2
shift 2
# 04 or 04_select
for d in "$root/$step" "$root/$step"_*; do
  [ -f "$d/server.c" ] && { step=$(basename "$d"); break; }
done
[ -f "$root/$step/lab.h" ] || { echo "grade: no step folder $step with a lab.h" >&2; exit 2; }
[ -d "$dir" ] || { echo "grade: no folder $dir" >&2; exit 2; }
[ -f "$root/build/run_tests.exe" ] || { echo "grade: build the lab first (make all)" >&2; exit 2; }
case "$(uname -s)" in
  MINGW*|MSYS*|CYGWIN*) native=1; CC=gcc ;;
  *) native=0; CC=x86_64-w64-mingw32-gcc ;;
esac
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 && CC=x86_64-w64-mingw32-gcc
command -v $CC >/dev/null 2>&1 || { echo "grade: no mingw-w64 compiler ($CC)" >&2; exit 2; }
libs="-lws2_32 -lmswsock"
grep -q user32 "$root/$step/server.c" && libs="$libs -luser32"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
built=0
failed=0
for sub in "$dir"/*/; do
  sub=${sub%/}
  [ -f "$sub/server.c" ] || continue
  name=$(basename "$sub")
  rm -f "$sub/server.exe" "$sub/build.log"
  mkdir -p "$tmp/$name"
  cp "$sub/server.c" "$tmp/$name/server.c"
  cp "$root/$step/lab.h" "$tmp/$name/lab.h"
  if LC_ALL=C $CC -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 \
       -o "$sub/server.exe" "$tmp/$name/server.c" $libs >"$sub/build.log" 2>&1; then
    rm -f "$sub/build.log"
    built=$((built + 1))
  else
    rm -f "$sub/server.exe"
    sed -i "s|$tmp/$name/||g" "$sub/build.log" 2>/dev/null
    echo "grade: $name: server.c does not build (see $sub/build.log)"
    failed=$((failed + 1))
  fi
done
echo "grade: built $built submission(s), $failed did not build"
if [ $native = 1 ]; then
  winpath=$(cygpath -w "$dir")
  exec "$root/build/run_tests.exe" --grade "$winpath" --only "$step" "$@"
fi
winpath=$(WINEDEBUG=-all winepath -w "$dir" 2>/dev/null)
exec "$root/tools/wine-run.sh" "$root/build/run_tests.exe" --grade "$winpath" --only "$step" "$@"
