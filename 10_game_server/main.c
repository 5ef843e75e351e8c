/*
 * 10_game_server - a small MMO server on an I/O completion port: the
 * course's protocol, thousands of players, a view range, sectors.
 *
 * Model. Step 09's: one completion port, a pool of worker threads
 * blocked in GetQueuedCompletionStatus, every socket operation
 * overlapped (AcceptEx posted in advance, one WSARecv and at most one
 * WSASend per client), each completion leading back to its operation and
 * its session with CONTAINING_RECORD. The main thread only starts things,
 * prints the status line and stops things.
 *
 * What this step adds over 09. Meaning. The bytes are packets now
 * (packet.c reassembles and validates them), the clients are players on
 * a map (world.c), and what one client sends goes to others: a move is
 * answered to the mover and sent to every player that sees it. That
 * makes two problems the echo server never had: *who* must hear of an
 * event (sectors and view lists answer it in time proportional to the
 * neighbours, not to the server), and *shared state* touched by several
 * workers at once (a lock per session, two at most, in id order). And
 * one the echo server solved by not reading: a client that does not read
 * cannot slow the others down, so its send queue is bounded and it is
 * disconnected when the queue fills.
 *
 * Limits and how they are handled. MAX_USERS sessions (-u): the next
 * client gets SC_LOGIN_FAIL and a close. A send queue of SEND_QUEUE_SIZE
 * bytes per player: a client that lets it fill is disconnected with a log
 * line. A bad packet closes that client only, with a log line. A player
 * sees at most everyone (view lists are MAX_USERS-bit bitmaps).
 *
 * Left out on purpose. NPCs (-n accepts only 0), combat (CS_ATTACK is
 * accepted and ignored), a database, obstacles, login timeouts, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /Fe10_game_server.exe main.c common.c network.c session.c packet.c world.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -O2 -o 10_game_server.exe *.c -lws2_32
 * Run:
 *   10_game_server.exe                     (port 4000, 2000x2000 map, view range 7)
 *   10_game_server.exe -m 50x50 -v 3 -u 100 -p 4000
 * and point the course's client or stress test at port 4000.
 *
 * Compare with step 09: network.c is 09_iocp/server.c grown up; the rest
 * is new. README.md follows a move packet from WSARecv to its broadcast.
 */
#include "game.h"

struct game_options opt;

/* Workers per processor when -t is not given. Measured (README.md, "How
 * many workers"): under Wine a worker blocks in every socket call (each
 * is a round trip to the wineserver), so one worker per processor leaves
 * processors idle; two per processor did best, and more lost again to
 * lock and wineserver contention. */
#define WORKERS_PER_CPU 2

static int default_threads(void)
{
    SYSTEM_INFO si;
    int n;
    GetSystemInfo(&si);
    n = (int)si.dwNumberOfProcessors * WORKERS_PER_CPU;
    if (n < 1)
        n = 1;
    if (n > GAME_MAX_THREADS)
        n = GAME_MAX_THREADS;
    return n;
}

/* ------------------------------------------------------------------------
 * The status line
 * --------------------------------------------------------------------- */

static LONG64 last_in, last_out;
static ULONGLONG last_time;

/* Players online, NPCs awake (none yet), packets per second since the
 * previous line. */
static void print_status(void)
{
    LONG64 in, out;
    ULONGLONG now = GetTickCount64();
    ULONGLONG ms = now - last_time;
    if (ms == 0)
        ms = 1;
    net_packet_counts(&in, &out);
    lab_log("status: %ld players online, 0 NPCs awake, %lld packets/s in, %lld packets/s out",
            (long)players_online, (long long)((in - last_in) * 1000 / (LONG64)ms),
            (long long)((out - last_out) * 1000 / (LONG64)ms));
    last_in = in;
    last_out = out;
    last_time = now;
}

/* ------------------------------------------------------------------------
 * Main: start, tick, stop
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    SOCKET listener;
    LONG64 in, out;
    int ticks = 0;

    game_parse_args(argc, argv, &opt);
    if (opt.threads == 0)
        opt.threads = default_threads();
    lab_startup();
    sessions_init();
    world_init();
    listener = lab_listen(&opt);
    lab_on_stop();
    net_start(listener, opt.threads);
    last_time = GetTickCount64();
    lab_log("%s: map %dx%d, view range %d, up to %d players, %d worker threads", MODEL, opt.width,
            opt.height, opt.range, opt.max_users, opt.threads);
    lab_log("%s: listening on %s:%u", MODEL, opt.addr, (unsigned)opt.port);

    /* A tick a second: re-post missing accepts, close refused clients
     * that linger, and every fifth tick the status line. The workers do
     * all the rest. */
    while (WaitForSingleObject(lab_stop_event_handle(), 1000) == WAIT_TIMEOUT) {
        net_tick();
        if (++ticks % 5 == 0 && !opt.quiet)
            print_status();
    }

    /* Ctrl+C: stop accepting, close every socket, let every pending
     * operation complete (the sessions leave the world on the way), then
     * stop the workers. Order matters: a worker must not find the port
     * closed while operations are still due. */
    net_stop_accepting();
    sessions_close_all();
    net_close_refusals();
    net_wait_drained();
    net_stop_workers();
    print_status();
    net_packet_counts(&in, &out);
    lab_log("stopped: %ld connections served, %lld packets in, %lld packets out", (long)sessions_served,
            (long long)in, (long long)out);
    lab_done();
    return 0;
}
