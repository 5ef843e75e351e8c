#!/usr/bin/env bash
# tools/wine-run.sh - run a lab program under Wine the way the tests need it.
#
#   tools/wine-run.sh [--keep] PROGRAM.exe [ARGS...]
#                                       (--keep: leave the wineserver running;
#                                       the caller stops it, wineserver -k)
#   tools/wine-run.sh --server-pid      the pid of the prefix's wineserver, if any
#
# - a project-local prefix (.wine/ at the repository root, or $WINEPREFIX
#   when set), created on first use;
# - Wine warmed up once with its output discarded: otherwise its helper
#   services inherit our stdout and a caller reading to end-of-file hangs;
# - the fd limit raised: every socket costs a Unix fd in the wineserver and
#   in the process, every thread about four, and 1,000 connections need more
#   than the usual 1,024;
# - afterwards the prefix's wineserver is stopped (unless --keep), so that
#   nothing is left running and holding a pipe (CI waits on such pipes);
#   but only by the last wine-run.sh using the prefix ("Who is using the
#   prefix" below);
# - a program whose wineserver was stopped under it is run once more (not
#   with --keep: there the caller stops the wineserver when it likes).
# On Windows (MSYS2) it simply runs the program.
set -u
keep=0
[ "${1:-}" = "--keep" ] && { keep=1; shift; }
[ $# -ge 1 ] || { echo "usage: tools/wine-run.sh [--keep] PROGRAM.exe [ARGS...]" >&2; exit 2; }

case "$(uname -s)" in
  MINGW*|MSYS*|CYGWIN*)
    [ "$1" = "--server-pid" ] && exit 0 # no wineserver on Windows
    exec "$@" ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
export WINEPREFIX="${WINEPREFIX:-$root/.wine}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}" # no Mono/Gecko prompts

# The prefix's wineserver: the one whose working directory is the server
# directory Wine names after the prefix's device and inode (server-DEV-INODE,
# in hex; of the directory a symbolic link points to, as Wine resolves it).
# One just stopped can still be there for a second or two beside its
# successor, but it has let go of the directory's lock: the one holding a
# lock (/proc/locks) is the running one. Prints its pid, or nothing.
server_pid() {
  local id p found=
  [ -d "$WINEPREFIX" ] || return 0
  id=server-$(stat -L -c '%d %i' "$WINEPREFIX" | { read -r d i; printf '%x-%x' "$d" "$i"; })
  for p in /proc/[0-9]*; do
    case $(readlink "$p/exe" 2>/dev/null) in
      *wineserver*)
        case $(readlink "$p/cwd" 2>/dev/null) in
          */"$id")
            found=${p#/proc/}
            grep -q "POSIX *ADVISORY *WRITE *$found " /proc/locks && break ;;
        esac ;;
    esac
  done
  [ -z "$found" ] || echo "$found"
}
if [ "$1" = "--server-pid" ]; then
  server_pid
  exit 0
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v wine >/dev/null 2>&1 || "$root/tools/setup.sh" || exit 1
if [ ! -d "$WINEPREFIX/drive_c" ]; then
  echo "wine-run: creating the Wine prefix $WINEPREFIX (once, ~10 s)" >&2
fi

# Who is using the prefix: a file per running wine-run.sh, named by its pid,
# registered and removed under a lock (fd 9, kept from every child). Without
# it, `make -j` or a second terminal stops the wineserver under the other's
# program, and a Wine program whose wineserver is stopped ends at once,
# with status 1 or even 0, without a word.
mkdir -p "$WINEPREFIX/.wine-run"
users=$WINEPREFIX/.wine-run
exec 9>"$users.lock"

# The Wine processes of this prefix's server that are not ours: Wine's own
# services (services.exe, winedevice.exe, explorer.exe...), which the
# warm-up starts and a running wineserver keeps. Their pids, one a line.
prefix_services() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    case $(readlink "$p/exe" 2>/dev/null) in
      *wine*preloader | */wine64 | */wine)
        grep -qzxF "WINEPREFIX=$WINEPREFIX" "$p/environ" 2>/dev/null && echo "${p#/proc/}" ;;
    esac
  done
}

start_server() { # under the lock: register, start (or find) the wineserver, warm up
  flock 9
  : >"$users/$$"
  wineserver -p >/dev/null 2>&1 </dev/null 9>&-
  wine cmd /c exit >/dev/null 2>&1 </dev/null 9>&-
  server=$(server_pid)
  services=$(prefix_services)
  flock -u 9
}

# A wineserver stopped from outside (another `wineserver -k`) ends every
# process of the prefix, the program first and Wine's services within a
# few milliseconds, and itself a second or two later (it keeps its lock
# for part of that). So: the wineserver is gone, or within a quarter of a
# second every service that was there when the program started is. (A
# running wineserver keeps its services; one that stops by itself, started
# by a plain `wine` without -p, lets them go only about a second after the
# last program.) The quarter of a second is what every run pays for this.
running() { # pid $1 exists and is not a zombie (a service's parent may not reap it at once)
  local st
  read -r st 2>/dev/null <"/proc/$1/stat" || return 1
  st=${st##*) }
  case ${st%% *} in Z | X) return 1 ;; esac
  return 0
}
server_gone() {
  local p i alive
  [ $keep = 0 ] && [ -n "$server" ] || return 1
  for i in 1 2 3 4 5 6 7 8 9 10; do
    running "$server" || return 0
    [ -n "$services" ] || return 1
    alive=0
    for p in $services; do
      running "$p" && { alive=1; break; }
    done
    [ $alive = 1 ] || return 0
    sleep 0.025
  done
  return 1
}

# The last one out stops the wineserver. A wine-run.sh that was killed
# leaves its file: gone once its pid is no wine-run.sh any more.
stop_server() {
  local f
  flock 9
  rm -f "$users/$$"
  for f in "$users"/*; do
    [ -e "$f" ] || continue
    tr '\0' '\n' <"/proc/${f##*/}/cmdline" 2>/dev/null | grep -qE '(^|/)wine-run\.sh$' ||
      rm -f "$f"
  done
  if [ $keep = 0 ] && [ -z "$(ls -A "$users")" ]; then
    wineserver -k >/dev/null 2>&1 </dev/null 9>&-
  fi
  flock -u 9
}

start_server
wine "$@" 9>&-
rc=$?
# Stopped, not finished, whatever the status says: say so, run it once more.
if server_gone; then
  echo "wine-run: the wineserver of $WINEPREFIX (pid $server) stopped while $1 ran" \
    "(status $rc); running it again" >&2
  start_server
  wine "$@" 9>&-
  rc=$?
fi
stop_server
exit $rc
