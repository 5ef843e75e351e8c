#!/usr/bin/env bash
# tests/wine_run_check.sh - tools/wine-run.sh keeps a program's wineserver
# alive until the program is done (Linux only; .ci/run calls it after make
# all). A Wine program whose wineserver is stopped under it ends at once,
# with status 1 and without a word: a build or a suite that stops halfway.
#
#   1. two at once: a suite run (build/run_tests.exe, eight 02 cases) while
#      two short runs start and end beside it in the same prefix. The short
#      runs must succeed while the suite still runs, and the suite must end
#      with its summary line, status 0 and no second run (the short runs
#      must not stop the wineserver under it).
#   2. stopped from outside: `wineserver -k` while the suite runs. wine-run.sh
#      must say so on stderr and run it again to its summary line.
# The prefix is .wine-check/ (created on first use); prints "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
case "$(uname -s)" in
  Linux) ;;
  *) echo "wine-run check: Linux only, skipped"; echo "0 passed, 0 failed"; exit 0 ;;
esac
export WINEPREFIX="$PWD/.wine-check"
log=build/wine_run_check
mkdir -p "$log"
pass=0 fail=0
suite() { tools/wine-run.sh build/run_tests.exe --only 02_thread_per_client \
  --case echo,binary,stream,half-close,reset,concurrency,cycles,capacity; }
summary_ok() { grep -q '^8 passed, 0 failed' "$1"; }

# The first run may create the prefix (~10-30 s): not inside a case.
tools/wine-run.sh build/handout.exe --help >/dev/null 2>&1

suite >"$log/1.out" 2>&1 &
a=$!
sleep 1
short=0
for i in 1 2; do tools/wine-run.sh build/handout.exe --help >/dev/null 2>&1 || short=$?; done
beside=0
kill -0 $a 2>/dev/null && beside=1 # the suite was still running when the short runs ended
wait $a
rc=$?
if [ $rc = 0 ] && [ $short = 0 ] && [ $beside = 1 ] && summary_ok "$log/1.out" &&
  ! grep -q "stopped while" "$log/1.out"; then
  echo "PASS wine-run two-at-once"; pass=$((pass + 1))
else
  echo "FAIL wine-run two-at-once: the suite beside two short runs ended with status $rc" \
    "(short runs: status $short; suite still running after them: $beside); its last lines:"
  tail -n 3 "$log/1.out" | sed 's/^/  /'; fail=$((fail + 1))
fi

suite >"$log/2.out" 2>"$log/2.err" &
a=$!
for _ in $(seq 1 100); do # until the suite has passed its first case (its first line)
  grep -q . "$log/2.out" 2>/dev/null && break
  sleep 0.1
done
wineserver -k >/dev/null 2>&1 </dev/null
wait $a
rc=$?
if [ $rc = 0 ] && summary_ok "$log/2.out" && grep -q "stopped while" "$log/2.err"; then
  echo "PASS wine-run stopped-from-outside"; pass=$((pass + 1))
else
  echo "FAIL wine-run stopped-from-outside: status $rc; stderr:"
  sed 's/^/  /' "$log/2.err"; tail -n 3 "$log/2.out" | sed 's/^/  /'; fail=$((fail + 1))
fi

wineserver -k >/dev/null 2>&1 </dev/null
echo "$pass passed, $fail failed"
[ $fail = 0 ]
