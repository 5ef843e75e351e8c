#!/bin/sh
# check_layers.sh - checks that calls in the game server go one way.
#
# Each .c file is a module with a layer (below). A module may use
# symbols (functions, variables) defined by modules of LOWER layers only;
# news travels up through the handler tables main.c registers
# (struct net_handlers, struct session_handlers), never by naming a
# symbol of a higher layer. The check compiles each module alone, reads
# its defined and undefined symbols with nm, and fails on any use of a
# symbol defined by a module of the same or a higher layer.
#
#   layer 0  common.c  (command line, log lines, listener)
#            packet.c  (the codec: pure)
#   layer 1  timer.c   (generic timer)
#            network.c (port, workers, AcceptEx, refusals)
#   layer 2  session.c (slots, lifecycle, send queue, both completions)
#   layer 3  world.c   (rules, sectors, view lists, NPCs)
#   layer 4  main.c    (wires the layers, status line, shutdown)
#
# Usage: sh 10_game_server/check_layers.sh   (make check-layers runs it)
# Needs the mingw-w64 compiler and nm (CC, NM override them).
set -eu

dir=$(dirname "$0")
CC=${CC:-x86_64-w64-mingw32-gcc}
NM=${NM:-x86_64-w64-mingw32-nm}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

modules="common:0 packet:0 timer:1 network:1 session:2 world:3 main:4"

for entry in $modules; do
    m=${entry%%:*}
    for flags in "" "-DGAME_PROFILE"; do
        out="$tmp/$m${flags:+_profile}.o"
        $CC -std=c11 -O2 -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 $flags \
            -c "$dir/$m.c" -o "$out"
        # "module symbol" for every global symbol the object defines
        $NM -g --defined-only "$out" | awk -v m="$m" 'NF >= 3 { print m, $3 }' >> "$tmp/defined"
        # "module symbol" for every symbol it uses from elsewhere
        $NM -u "$out" | awk -v m="$m" '{ print m, $NF }' >> "$tmp/used"
    done
done
sort -u "$tmp/defined" -o "$tmp/defined"
sort -u "$tmp/used" -o "$tmp/used"

echo "$modules" | tr ' ' '\n' | tr ':' ' ' > "$tmp/layers"

# Every use of a symbol that one of our modules defines: user, definer,
# symbol, and the verdict.
awk '
    FILENAME == ARGV[1] { layer[$1] = $2; next }
    FILENAME == ARGV[2] { owner[$2] = $1; next }
    ($2 in owner) && owner[$2] != $1 {
        d = owner[$2]
        edge = $1 " -> " d
        if (!(edge in seen)) { seen[edge] = 1; edges[++n] = edge " (" layer[$1] " -> " layer[d] ")" }
        if (layer[d] >= layer[$1]) {
            printf "check_layers: %s.c (layer %d) uses %s of %s.c (layer %d): calls must go down\n",
                $1, layer[$1], $2, d, layer[d]
            bad++
        }
    }
    END {
        for (i = 1; i <= n; i++) print "  " edges[i]
        if (bad) { printf "check_layers: %d uses against the layers\n", bad; exit 1 }
        print "check_layers: every call goes down"
    }
' "$tmp/layers" "$tmp/defined" "$tmp/used"
