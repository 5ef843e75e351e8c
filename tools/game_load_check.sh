#!/usr/bin/env bash
# tools/game_load_check.sh - a smoke check of the native load generator
# against the game server, on Linux: build/10_game_server.exe under Wine,
# build/game_load --fixed 5 for 3 s. It passes when all 5 bots are logged
# in at the end, none was disconnected and each got at least one of its own
# moves back (game_load's exit status says so); no timing is judged.
#
#   tools/game_load_check.sh        (after make all; .ci/run calls it)
#
# The server runs in its own Wine prefix (.wine-load/, created on first
# use), because it is stopped at the end with `wineserver -k`, which ends
# every process of a prefix. Prints "N passed, N failed" like the suite.
set -u
cd "$(dirname "$0")/.."
case "$(uname -s)" in
  Linux) ;;
  *) echo "game_load check: Linux only, skipped"; echo "0 passed, 0 failed"; exit 0 ;;
esac
port=${GAME_LOAD_PORT:-4617}
log=build/game_load_check.server.log
export WINEPREFIX="$PWD/.wine-load"

# -n 100: a few NPCs are enough to check the path; -q: no status lines.
tools/wine-run.sh --keep build/10_game_server.exe -q -p "$port" -a 127.0.0.1 -n 100 \
  >"$log" 2>&1 </dev/null &
up=0
for _ in $(seq 1 120); do # the first run creates the prefix (~10-30 s)
  grep -q "listening on" "$log" 2>/dev/null && { up=1; break; }
  sleep 1
done
rc=1
if [ $up = 1 ]; then
  build/game_load -p "$port" --fixed 5 -r 50 -w 0 -d 3
  rc=$?
else
  echo "game_load check: the server did not start; its output:"
  cat "$log"
fi
wineserver -k >/dev/null 2>&1 </dev/null
wait
if [ $rc = 0 ]; then
  echo "game_load check: ok"
  echo "1 passed, 0 failed"
else
  echo "game_load check: FAILED (game_load exit status $rc)"
  echo "0 passed, 1 failed"
fi
exit $rc
