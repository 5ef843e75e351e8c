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
#   but only by the last wine-run.sh using the prefix (see start_server);
# - a program whose wineserver was stopped under it is run once more.
# On Windows (MSYS2) it simply runs the program.
set -u
keep=0
[ "${1:-}" = "--keep" ] && { keep=1; shift; }
[ $# -ge 1 ] || { echo "usage: tools/wine-run.sh [--keep] PROGRAM.exe [ARGS...]" >&2; exit 2; }

case "$(uname -s)" in
  MINGW*|MSYS*|CYGWIN*) exec "$@" ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
export WINEPREFIX="${WINEPREFIX:-$root/.wine}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}" # no Mono/Gecko prompts

# The prefix's wineserver: the one whose working directory is the server
# directory Wine names after the prefix's device and inode (server-DEV-INODE,
# in hex). One just stopped can still be there for a second or two beside
# its successor, but it has let go of the directory's lock: the one holding
# a lock (/proc/locks) is the running one. Prints its pid, or nothing.
server_pid() {
  local id p found=
  [ -d "$WINEPREFIX" ] || return 0
  id=server-$(stat -c '%d %i' "$WINEPREFIX" | { read -r d i; printf '%x-%x' "$d" "$i"; })
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
# registered and removed under a lock. Without it, `make -j` or a second
# terminal stops the wineserver under the other's program, and a Wine
# program whose wineserver is stopped ends at once with status 1 and
# without a word.
mkdir -p "$WINEPREFIX/.wine-run"
users=$WINEPREFIX/.wine-run
exec 9>"$users.lock"

start_server() { # under the lock: register, start (or find) the wineserver, warm up
  flock 9
  : >"$users/$$"
  wineserver -p >/dev/null 2>&1 </dev/null 9>&-
  wine cmd /c exit >/dev/null 2>&1 </dev/null 9>&-
  flock -u 9
}

# The last one out stops the wineserver (a wine-run.sh that was killed
# leaves its file: it is not waited for).
stop_server() {
  local f
  flock 9
  rm -f "$users/$$"
  for f in "$users"/*; do
    [ -e "$f" ] || continue
    grep -qs wine-run "/proc/${f##*/}/cmdline" || rm -f "$f"
  done
  if [ $keep = 0 ] && [ -z "$(ls -A "$users")" ]; then
    wineserver -k >/dev/null 2>&1 </dev/null 9>&-
  fi
  flock -u 9
}

start_server
server=$(server_pid)
wine "$@" 9>&-
rc=$?
# A program whose wineserver was stopped under it (another `wineserver -k`)
# was stopped, not finished, whatever its status says (Wine gives 1 or even
# 0, and no word): say so, and run it once more. Such a wineserver ends
# every process of the prefix at once, Wine's own services too (which the
# warm-up started and a running wineserver keeps), and itself a moment
# later: a prefix without a Wine process left is the sign.
prefix_has_wine() {
  local p
  for p in /proc/[0-9]*; do
    case $(readlink "$p/exe" 2>/dev/null) in
      *wine*preloader | */wine64 | */wine)
        grep -qzxF "WINEPREFIX=$WINEPREFIX" "$p/environ" 2>/dev/null && return 0 ;;
    esac
  done
  return 1
}
server_gone() { # --keep: the caller stops the wineserver, when it likes
  [ $keep = 0 ] && [ -n "$server" ] || return 1
  ! kill -0 "$server" 2>/dev/null || ! prefix_has_wine
}
if server_gone; then
  echo "wine-run: the wineserver of $WINEPREFIX (pid $server) stopped while $1 ran" \
    "(status $rc); running it again" >&2
  start_server
  wine "$@" 9>&-
  rc=$?
fi
stop_server
exit $rc
