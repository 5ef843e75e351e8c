#!/bin/sh
# tools/compare-serve.sh - how `client.exe compare`, under Wine, runs each
# server in a Wine prefix of its own (client/compare_run.c starts it).
#
#   compare-serve.sh warm LOG                 start the servers' prefix (create it
#                                             the first time); "ready" in LOG
#   compare-serve.sh end LOG                  stop that prefix's wineserver; "ended"
#   compare-serve.sh run LOG STOP PROG ARGS   run PROG (a .exe under Wine in the
#                                             servers' prefix, anything else natively)
#                                             with its output in LOG, until the file
#                                             STOP exists; then "compare-serve: stopped"
#
# Why: every socket call of a Wine program goes through its prefix's
# wineserver, one single-threaded process. A generator and a server in one
# prefix share it, and the comparison then measures it. Two prefixes, two
# wineservers, and on a 2-core machine each gets a core.
# The prefix is .wine-servers/ at the repository root (COMPARE_SERVER_PREFIX
# overrides it); nothing in it outlives `compare` (end stops its wineserver).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
export WINEPREFIX="${COMPARE_SERVER_PREFIX:-$root/.wine-servers}"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko prompts
# inherited from the generator's Wine process: they would point a new Wine
# process back at the generator's wineserver
unset WINESERVERSOCKET WINELOADERNOEXEC WINESERVER 2>/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec </dev/null

cmd=${1:-}
log=${2:-/dev/null}
case $cmd in
warm)
  # all output discarded: Wine's helper services would keep a pipe open
  wineserver -p >/dev/null 2>&1
  wine cmd /c exit >/dev/null 2>&1
  echo ready >"$log"
  ;;
end)
  wineserver -k >/dev/null 2>&1
  echo ended >"$log"
  ;;
run)
  stop=$3
  shift 3
  wineserver_pid=
  case $1 in *.exe)
    set -- wine "$@"
    # This prefix's wineserver (wine-run.sh finds it). Under Wine a
    # server's system calls are its wineserver's work, which on Windows
    # would be the server's kernel time: its CPU is reported with the
    # server's.
    wineserver -p >/dev/null 2>&1
    wineserver_pid=$("$root/tools/wine-run.sh" --server-pid)
    ;;
  esac
  : >"$log"
  "$@" >>"$log" 2>&1 & # appending, as the lines below do: neither overwrites the other
  pid=$!
  # Every 0.25 s until the stop file: the wineserver's CPU time, one line
  # (shell built-ins only, so that this costs next to nothing). 10 minutes
  # at most, should compare be gone.
  n=0
  while [ ! -e "$stop" ] && kill -0 "$pid" 2>/dev/null && [ $n -lt 2400 ]; do
    if [ -n "$wineserver_pid" ] && read -r stat <"/proc/$wineserver_pid/stat" 2>/dev/null; then
      read -r up _ </proc/uptime
      set -- ${stat#*) }
      shift 11 # fields 14 and 15 of stat: user and system time, in ticks
      echo "wineserver: t_ms=$(( ${up%.*}${up#*.}0 )) cpu_ms=$(( ($1 + $2) * 10 ))" >>"$log"
    fi
    sleep 0.25
    n=$((n + 1))
  done
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  echo "compare-serve: stopped" >>"$log"
  ;;
*)
  echo "usage: compare-serve.sh warm|end LOG | run LOG STOP PROGRAM [ARGS...]" >&2
  exit 2
  ;;
esac
