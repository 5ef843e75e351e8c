#!/usr/bin/env bash
# tools/wine-run.sh - run a lab program under Wine the way the tests need it.
#
#   tools/wine-run.sh [--keep] PROGRAM.exe [ARGS...]
#
# - a project-local prefix (.wine/ at the repository root, or $WINEPREFIX
#   when set), created on first use;
# - Wine warmed up once with its output discarded: otherwise its helper
#   services inherit our stdout and a caller reading to end-of-file hangs;
# - the fd limit raised: every socket costs a Unix fd in the wineserver and
#   in the process, every thread about four, and 1,000 connections need more
#   than the usual 1,024;
# - afterwards the prefix's wineserver is stopped (unless --keep), so that
#   nothing is left running and holding a pipe (CI waits on such pipes).
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
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

command -v wine >/dev/null 2>&1 || "$root/tools/setup.sh" || exit 1
if [ ! -d "$WINEPREFIX/drive_c" ]; then
  echo "wine-run: creating the Wine prefix $WINEPREFIX (once, ~10 s)" >&2
fi
# Start (or find) the wineserver and warm up, all output discarded.
wineserver -p >/dev/null 2>&1 </dev/null
wine cmd /c exit >/dev/null 2>&1 </dev/null

wine "$@"
rc=$?
[ $keep = 1 ] || wineserver -k >/dev/null 2>&1 </dev/null
exit $rc
