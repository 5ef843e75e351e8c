/*
 * 10_game_server - a small MMO server on an I/O completion port: the
 * course's protocol, thousands of players, 200,000 NPCs, a view range,
 * sectors, a timer.
 *
 * Model. Step 09's: one completion port, a pool of worker threads
 * blocked in GetQueuedCompletionStatus, every socket operation
 * overlapped (AcceptEx posted in advance, one WSARecv and at most one
 * WSASend per client), each completion leading back to its operation and
 * its session with CONTAINING_RECORD. The workers take completions in
 * batches (GetQueuedCompletionStatusEx). One timer thread makes the
 * NPCs' due moves itself, and posts the other due events (the lazy
 * flushes of what NPCs sent) to the port: the players' packets never
 * wait in the port behind 30,000 NPC moves a second (on_timer_due). The
 * main thread only starts things, prints the status line and stops
 * things.
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
 * disconnected when the queue fills. And NPCs (-n, default 200,000) in
 * the same sectors and view lists as the players, asleep until a player
 * sees them (a compare-and-swap wakes one, world.c), moving once a second
 * while awake, on a timer (a binary heap and one thread, timer.c). View
 * lists are hash sets of ids, sized by what a player sees: a bitmap of
 * 210,000 ids per player would not scale.
 *
 * Limits and how they are handled. MAX_USERS sessions (-u): the next
 * client gets SC_LOGIN_FAIL and a close. A send queue per player that
 * grows for a burst up to SEND_QUEUE_MAX: a client whose queue makes no
 * progress for SEND_STALL_MS, or passes the cap, is disconnected with a
 * log line. A bad packet closes that client only, with a log line. A
 * connection not logged in within the login timeout (-L), or leaving a
 * packet incomplete that long, is closed; moves, chats and teleports
 * beyond the rate limits (-r) are dropped and counted (session.c,
 * packet.c, README.md "Clients that misbehave"). NPCs
 * sleep unless seen, so their cost follows the players, not -n; their
 * memory (about 60 bytes each) is allocated at start-up.
 *
 * Left out on purpose. NPC behaviour beyond a random walk (no combat:
 * CS_ATTACK is accepted and ignored), a database, obstacles, speed checks,
 * IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 /Fe10_game_server.exe main.c common.c network.c session.c packet.c world.c timer.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 10_game_server.exe *.c -lws2_32
 * (add -DGAME_PROFILE, or /DGAME_PROFILE for cl, for the profiling counters)
 * Run:
 *   10_game_server.exe                     (port 4000, 2000x2000 map, view range 7)
 *   10_game_server.exe -m 50x50 -v 3 -u 100 -p 4000
 * and point the course's client or stress test at port 4000.
 *
 * Compare with step 09: network.c and session.c are 09_iocp/server.c
 * grown up and cut in two (the port and the workers; the connections);
 * the rest is new. The files are layers (game.h, README.md "The files").
 * README.md follows a move packet from WSARecv to its broadcast.
 */
#include "game.h"

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

static LONG64 last_in, last_out, last_timer;
static ULONGLONG last_time;

/* The timer thread, as seen by the layers above: it makes the NPCs'
 * moves (on_timer_due), and so needs what a worker has: an index for its
 * scratch space (world.c) and outbox (session.c), one past the workers',
 * and counters of its own. */
static struct worker npc_thread;
static volatile LONG64 npc_late_ms; /* the latest an NPC move ran since the last status line */

/* The network layer's counts (its workers) and the timer thread's. */
static void packet_counts(LONG64 *in, LONG64 *out, LONG64 *timer_events)
{
    net_packet_counts(in, out, timer_events);
    *out += InterlockedCompareExchange64(&npc_thread.packets_out, 0, 0);
    *timer_events += InterlockedCompareExchange64(&npc_thread.timer_events, 0, 0);
}

/* Players online, NPCs awake, packets and timer events per second since
 * the previous line. */
static void print_status(void)
{
    LONG64 in, out, timer;
    ULONGLONG now = GetTickCount64();
    ULONGLONG ms = now - last_time;
    if (ms == 0)
        ms = 1;
    packet_counts(&in, &out, &timer);
    lab_log("status: %ld players online, %ld NPCs awake, %lld packets/s in, %lld packets/s out, "
            "%lld timer events/s",
            (long)players_online, (long)npcs_awake, (long long)((in - last_in) * 1000 / (LONG64)ms),
            (long long)((out - last_out) * 1000 / (LONG64)ms),
            (long long)((timer - last_timer) * 1000 / (LONG64)ms));
    {
        /* Whether the NPCs keep up (the timer events above count the
         * flushes too). Taken and cleared; a raise by the timer thread in
         * between is one sample lost. (A compare-exchange: Wine's SDK
         * headers, which the MSVC-mode build uses, have no
         * InterlockedExchange64.) */
        LONG64 late = npc_late_ms;
        InterlockedCompareExchange64(&npc_late_ms, 0, late);
        if (late > NPC_MOVE_MS)
            lab_log("timer: NPC moves ran up to %lld ms late: the timer thread is behind",
                    (long long)late);
    }
    last_in = in;
    last_out = out;
    last_timer = timer;
    last_time = now;
#ifdef GAME_PROFILE
    {
        /* what happened per second since the last line */
        static LONG64 last[10];
        LONG64 cur[10];
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        cur[0] = prof.wsasend;
        cur[1] = prof.wsarecv;
        cur[2] = prof.waits;
        cur[3] = prof.entries;
        cur[4] = prof.timer_posts;
        cur[5] = prof.pairs;
        cur[6] = prof.world_ticks;
        cur[7] = prof.send_ticks;
        cur[8] = prof.send_inline;
        cur[9] = prof.recv_inline;
        lab_log("profile: %lld WSASend/s, %lld WSARecv/s, %lld GQCSEx/s (%.2f entries each), "
                "%lld timer posts/s, %lld pair checks/s, world code %.1f%% of one CPU, "
                "WSASend calls %.1f%%, completed at once: %lld sends/s, %lld receives/s",
                (long long)((cur[0] - last[0]) * 1000 / (LONG64)ms),
                (long long)((cur[1] - last[1]) * 1000 / (LONG64)ms),
                (long long)((cur[2] - last[2]) * 1000 / (LONG64)ms),
                cur[2] > last[2] ? (double)(cur[3] - last[3]) / (double)(cur[2] - last[2]) : 0.0,
                (long long)((cur[4] - last[4]) * 1000 / (LONG64)ms),
                (long long)((cur[5] - last[5]) * 1000 / (LONG64)ms),
                100.0 * (double)(cur[6] - last[6]) / (double)f.QuadPart / ((double)ms / 1000.0),
                100.0 * (double)(cur[7] - last[7]) / (double)f.QuadPart / ((double)ms / 1000.0),
                (long long)((cur[8] - last[8]) * 1000 / (LONG64)ms),
                (long long)((cur[9] - last[9]) * 1000 / (LONG64)ms));
        memcpy(last, cur, sizeof last);
    }
#endif
}

/* ------------------------------------------------------------------------
 * The wiring: what each layer reports up, and to whom
 * --------------------------------------------------------------------- */

/* Work posted to the port by the timer thread (net_post, from
 * on_timer_due below): a batch of due events, linked through `next`, in
 * due order. Each goes to its owner: a lazy flush to its session, a
 * session's drain to the world (the NPCs' moves never come this way).
 * `next` is read before each event is handled: the handler may schedule
 * the event again. */
static void on_timer_batch(struct worker *w, void *what, DWORD count)
{
    struct timer_event *e = what;
    (void)count;
    while (e != NULL) {
        struct timer_event *next = e->next;
        InterlockedIncrement64(&w->timer_events);
        if (e->kind == TIMER_FLUSH)
            session_flush(w, &sessions[e->target]);
        else
            world_timer(w, e);
        e = next;
    }
}

/* Due events, as the timer thread hands them over (timer_start's `post`),
 * on the timer thread. The NPCs' moves are made right here, on this
 * thread; then the rest (lazy flushes, drains) go to the workers through
 * the port (net_post), as one batch. (The flushes first was tried too:
 * no better within this machine's noise, and a batch's 16 moves take
 * well under a millisecond.)
 *
 * Why not every event to the workers, as the course's servers do: the
 * port is one FIFO queue. With 30,000 NPCs awake, their moves were most
 * of what the workers took from it, so a player's packet waited behind
 * them: at 4,000 players a median of 0.6 to 0.7 s from move to echo, with
 * the NPCs a third behind their once a second (README.md, "Profile and
 * scale"). Here they no longer queue in front of the players' packets.
 * They still take the same locks as the workers (world.c's pair rule does
 * not care which thread runs it), and what they send is lazy: it waits
 * for the player's next packet or the flush, on a worker. One thread
 * makes every NPC move: some 32,000 a second at 4,000 players here, a
 * quarter of one processor. Should it fall behind, so do the flushes due
 * after the late moves (the heap hands events over in due order), and
 * print_status says so ("NPC moves ran up to ... ms late"). */
static void on_timer_due(void *batch, DWORD count)
{
    struct timer_event *e = batch, *rest = NULL, **tail = &rest;
    DWORD n = 0;
    ULONGLONG now = GetTickCount64();
    LONG64 late = 0, seen;
    (void)count;
    while (e != NULL) {
        struct timer_event *next = e->next; /* a move schedules e again */
        if (e->kind == TIMER_NPC_MOVE) {
            if ((LONG64)(now - e->due) > late)
                late = (LONG64)(now - e->due);
            InterlockedIncrement64(&npc_thread.timer_events);
            world_timer(&npc_thread, e);
        } else {
            e->next = NULL;
            *tail = e;
            tail = &e->next;
            n++;
        }
        e = next;
    }
    seen = npc_late_ms;
    if (late > seen) /* print_status takes and clears it */
        InterlockedCompareExchange64(&npc_late_ms, late, seen);
    /* What an NPC sends is lazy and lists nothing on this thread's
     * outbox; should anything ever be listed, it goes out here, not
     * never. */
    sessions_issue(&npc_thread);
    if (n > 0)
        net_post(rest, n);
}

/* Calls go one way: the network layer reports to the sessions, the
 * sessions report to the world, the timer hands due events to
 * on_timer_due, which makes the NPCs' moves and posts the rest through
 * the network layer, which reports them here. Nothing lower names anything
 * higher: the tables below are the only links, and main, on top, makes
 * them (README.md, "The files"). */
static void wire_layers(struct net_handlers *net)
{
    static char refusal[SC_PACKET_MAX];
    static const struct session_handlers to_world = {world_on_bytes, world_leave};
    sessions_set_handlers(&to_world);
    net->on_accept = session_open;
    net->on_io = session_on_io;
    net->on_posted = on_timer_batch;
    net->on_wake_done = sessions_issue;
    net->refusal = refusal;
    net->refusal_len = codec_login_fail(refusal);
}

/* ------------------------------------------------------------------------
 * Main: start, tick, stop
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    SOCKET listener;
    struct net_handlers net;
    LONG64 in, out, timer;
    int ticks = 0;
    LONG timers_reported = 0;

    game_parse_args(argc, argv, &opt);
    if (opt.threads == 0)
        opt.threads = default_threads();
    lab_startup();
    sessions_init();
    world_init();
    listener = lab_listen(&opt);
    lab_on_stop();
    wire_layers(&net);
    /* one event per NPC, two (flush, drain) per session; before the first
     * login can wake an NPC */
    npc_thread.index = opt.threads;
    timer_start(opt.npcs + 2 * opt.max_users, on_timer_due);
    net_start(listener, opt.threads, &net);
    last_time = GetTickCount64();
    lab_log("%s: map %dx%d, view range %d, up to %d players, %d NPCs, %d worker threads", MODEL,
            opt.width, opt.height, opt.range, opt.max_users, opt.npcs, opt.threads);
    lab_log("%s: login timeout %d s, idle timeout %d s, rate limit %d moves/s (0 = none)", MODEL,
            opt.login_timeout, opt.idle_timeout, opt.rate);
    lab_log("%s: listening on %s:%u", MODEL, opt.addr, (unsigned)opt.port);

    /* A tick a second: re-post missing accepts, close refused clients
     * that linger, and every fifth tick the status line. The workers do
     * all the rest. */
    while (WaitForSingleObject(lab_stop_event_handle(), 1000) == WAIT_TIMEOUT) {
        LONG dropped = timer_dropped;
        net_tick();
        sessions_tick(); /* login, incomplete-packet, idle and send-stall timeouts */
        if (dropped != timers_reported) {
            lab_log("timer: queue full, %ld events dropped so far", (long)dropped);
            timers_reported = dropped;
        }
        if (++ticks % 5 == 0 && !opt.quiet)
            print_status();
    }

    /* Ctrl+C: stop accepting, close every socket, let every pending
     * operation complete (the sessions leave the world on the way), then
     * stop the workers. Order matters: a worker must not find the port
     * closed while operations are still due, and the timer stops before
     * the workers so that no timer batch follows their shutdown packets. */
    net_stop_accepting();
    sessions_close_all();
    net_close_refusals();
    timer_stop();
    net_wait_drained();
    net_stop_workers();
    print_status();
    packet_counts(&in, &out, &timer);
    lab_log("stopped: %ld connections served, %lld packets in, %lld packets out",
            (long)sessions_served, (long long)in, (long long)out);
    lab_done();
    return 0;
}
