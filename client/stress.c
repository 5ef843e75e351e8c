/*
 * stress.c - client.exe stress: the course's stress test for step 10.
 *
 *   client.exe stress [-s HOST] [-p PORT] [--max N] [--duration S]
 *                     [--fixed N] [-T THREADS]
 *
 * Dummies log in, teleport once (so that they do not all crowd the spawn
 * area), then each sends one CS_MOVE per second in a random direction,
 * carrying a millisecond timestamp as move_time. The delay is measured
 * only on a dummy's own SC_MOVE_OBJECT, which echoes that timestamp: the
 * time from the move leaving to the answer arriving, server queueing
 * included. The running median of recent delays steers the ramp:
 *
 *   delay <= 100 ms      add a dummy every 50 ms
 *   delay  > 100 ms      from then on add one only every 500 ms
 *   delay  > 150 ms      record the count as the limit (the first time),
 *                        drop a dummy every 500 ms; add again only below
 *                        95% of the limit
 *
 * --fixed N holds N dummies instead and reports the delay distribution.
 * Every dummy is a connection of the completion-port engine (engine.c),
 * the one bench runs on: this file is what a dummy does per completion
 * (log in, answer packets, queue moves) and the ramp. Past the ~16k
 * ephemeral ports of one source address the dummies spread over
 * 127.0.0.x source addresses (loopback only).
 */
#include "client.h"
#include "engine.h"
#include "game_net.h"

#define DELAY_SLOW_MS 100
#define DELAY_LIMIT_MS 150
#define RAMP_FAST_MS 50
#define RAMP_SLOW_MS 500
#define PER_SOURCE 10000 /* dummies per 127.0.0.x source address */
#define SAMPLES 4096     /* the running median's window */
#define QUEUE_SIZE 1024  /* packets waiting behind the send in flight */

/* What a dummy is doing; D_IDLE while its engine slot is not in use by
 * it. Guarded by the engine's lock of the connection. */
enum dstate { D_IDLE, D_CONNECTING, D_LOGGING_IN, D_ACTIVE, D_LEAVING };

struct dummy {
    enum dstate state;
    int id; /* the server's id, once logged in */
    ULONGLONG next_move_ms;
    struct game_rx rx;      /* reassembly */
    char queue[QUEUE_SIZE]; /* packets waiting for the engine's fill */
    int qlen;
};

static struct engine *eng;
static struct dummy *dummies;
static int max_dummies;
static struct sockaddr_in server_addr;
static int loopback;

static volatile LONG active, connecting;
static volatile LONG pkts_in, pkts_out, failures, logins_failed;
static CRITICAL_SECTION samples_lock;
static unsigned int samples[SAMPLES];
static unsigned long long nsamples;

static void add_sample(unsigned int ms)
{
    EnterCriticalSection(&samples_lock);
    samples[nsamples % SAMPLES] = ms;
    nsamples++;
    LeaveCriticalSection(&samples_lock);
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    return x < y ? -1 : x > y;
}

/* Median (or another percentile) of the window. Sorting 4,096 numbers a
 * few times a second costs nothing next to the network. */
static unsigned int window_percentile(double p, int *have)
{
    static unsigned int copy[SAMPLES];
    size_t n;
    EnterCriticalSection(&samples_lock);
    n = nsamples < SAMPLES ? (size_t)nsamples : SAMPLES;
    memcpy(copy, samples, n * sizeof copy[0]);
    LeaveCriticalSection(&samples_lock);
    *have = (int)n;
    if (n == 0)
        return 0;
    qsort(copy, n, sizeof copy[0], cmp_uint);
    size_t k = (size_t)((double)(n - 1) * p / 100.0);
    return copy[k];
}

/* ------------------------------------------------------------------------
 * Per completion (the engine calls these with the connection's lock held)
 * --------------------------------------------------------------------- */

static void queue_packet(struct eng_conn *c, struct dummy *d, const void *pkt, int len)
{
    if (d->qlen + len > QUEUE_SIZE) {
        /* A dummy whose sends do not drain: the server is not reading. */
        InterlockedIncrement(&failures);
        engine_close(c);
        return;
    }
    memcpy(d->queue + d->qlen, pkt, (size_t)len);
    d->qlen += len;
    InterlockedIncrement(&pkts_out);
    engine_kick(c);
}

static size_t stress_fill(struct eng_conn *c, char *buf, size_t room)
{
    struct dummy *d = &dummies[engine_index(c)];
    size_t n = (size_t)d->qlen;
    if (n > room) /* not with QUEUE_SIZE <= the engine's send_size */
        n = room;
    memcpy(buf, d->queue, n);
    memmove(d->queue, d->queue + n, (size_t)d->qlen - n);
    d->qlen -= (int)n;
    return n;
}

static void on_packet(struct eng_conn *c, struct dummy *d, const unsigned char *p)
{
    InterlockedIncrement(&pkts_in);
    switch (p[1]) {
    case SC_LOGIN_INFO: {
        unsigned char tp[2];
        d->id = game_get_i32(p + 2);
        if (d->state == D_LOGGING_IN) {
            d->state = D_ACTIVE;
            InterlockedDecrement(&connecting);
            InterlockedIncrement(&active);
        }
        game_make_simple(tp, CS_TELEPORT); /* leave the crowded spawn */
        queue_packet(c, d, tp, 2);
        d->next_move_ms = GetTickCount64() + (ULONGLONG)(rand() % 1000);
        break;
    }
    case SC_MOVE_OBJECT:
        if (game_get_i32(p + 2) == d->id) {
            unsigned int sent = game_get_u32(p + 10);
            unsigned int now = game_now_ms32();
            /* unsigned subtraction: right across the 32-bit wrap */
            unsigned int delay = now - sent;
            if (sent != 0 && delay < 600000u) /* 0: our teleport's answer */
                add_sample(delay);
        }
        break;
    case SC_LOGIN_FAIL:
        InterlockedIncrement(&logins_failed);
        engine_close(c);
        break;
    case SC_ADD_OBJECT:
    case SC_REMOVE_OBJECT:
    case SC_CHAT:
        break;
    default:
        /* The course's stress test stops at any other type; we count it. */
        InterlockedIncrement(&failures);
        engine_close(c);
        break;
    }
}

static void stress_on_recv(struct eng_conn *c, int worker, const char *data, size_t n)
{
    struct dummy *d = &dummies[engine_index(c)];
    const unsigned char *pkt;
    int err = 0;
    (void)worker;
    if (game_rx_push(&d->rx, data, n) != 0)
        err = 1;
    while (!err && engine_state(c) == ENG_OPEN && (pkt = game_rx_next(&d->rx, &err)) != NULL)
        on_packet(c, d, pkt);
    if (err) {
        InterlockedIncrement(&failures);
        engine_close(c);
    }
}

static void stress_on_open(struct eng_conn *c)
{
    struct dummy *d = &dummies[engine_index(c)];
    unsigned char login[CS_LOGIN_SIZE];
    char name[32];
    snprintf(name, sizeof name, "dummy%d", engine_index(c));
    game_make_login(login, name);
    d->state = D_LOGGING_IN;
    queue_packet(c, d, login, CS_LOGIN_SIZE);
}

static void stress_on_end(struct eng_conn *c, enum eng_end why, int err)
{
    struct dummy *d = &dummies[engine_index(c)];
    (void)err;
    /* refused, reset or closed by the server: a failure, unless we had
     * logged out (D_LEAVING) or closed it ourselves */
    if (why != ENG_CLOSED && d->state != D_LEAVING)
        InterlockedIncrement(&failures);
    if (d->state == D_ACTIVE)
        InterlockedDecrement(&active);
    if (d->state == D_CONNECTING || d->state == D_LOGGING_IN)
        InterlockedDecrement(&connecting);
    d->state = D_IDLE;
}

static const struct engine_ops stress_ops = {stress_on_open, stress_on_recv, stress_fill,
                                             stress_on_end};

/* ------------------------------------------------------------------------
 * The main thread: starting, dropping and moving dummies
 * --------------------------------------------------------------------- */

/* Starts one dummy in a free slot. Returns 0 or -1. */
static int dummy_start(void)
{
    static int hint; /* main thread only: where the last free slot was */
    struct eng_conn *c = NULL;
    for (int k = 0; k < max_dummies && c == NULL; k++) {
        int i = (hint + k) % max_dummies;
        c = engine_conn(eng, i);
        engine_lock(c);
        if (engine_state(c) == ENG_FREE) {
            hint = i + 1;
        } else {
            engine_unlock(c);
            c = NULL;
        }
    }
    if (c == NULL)
        return -1;
    /* c's lock held */
    struct dummy *d = &dummies[engine_index(c)];
    struct sockaddr_in local;
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = loopback ? htonl(0x7f000001u + (u_long)(engine_index(c) / PER_SOURCE))
                                     : htonl(INADDR_ANY);
    game_rx_init(&d->rx);
    d->id = -1;
    d->qlen = 0;
    d->state = D_CONNECTING;
    InterlockedIncrement(&connecting);
    if (engine_connect(c, &server_addr, &local) != 0) { /* no callback follows */
        InterlockedDecrement(&connecting);
        InterlockedIncrement(&failures);
        d->state = D_IDLE;
        engine_unlock(c);
        return -1;
    }
    engine_unlock(c);
    return 0;
}

/* Logs out the active dummy with the highest index (the newest): the
 * logout goes out, then the half-close, and the server closes. */
static void dummy_drop(void)
{
    for (int i = max_dummies - 1; i >= 0; i--) {
        struct eng_conn *c = engine_conn(eng, i);
        struct dummy *d = &dummies[i];
        engine_lock(c);
        if (d->state == D_ACTIVE) {
            unsigned char out[2];
            game_make_simple(out, CS_LOGOUT);
            queue_packet(c, d, out, 2);
            if (d->state == D_ACTIVE) {
                d->state = D_LEAVING;
                InterlockedDecrement(&active);
                engine_finish(c);
            }
            engine_unlock(c);
            return;
        }
        engine_unlock(c);
    }
}

/* Sends the moves that are due. Called by the main thread every tick. */
static void send_moves(void)
{
    ULONGLONG now = GetTickCount64();
    for (int i = 0; i < max_dummies; i++) {
        struct eng_conn *c = engine_conn(eng, i);
        struct dummy *d = &dummies[i];
        engine_lock(c);
        if (d->state == D_ACTIVE && now >= d->next_move_ms) {
            unsigned char mv[CS_MOVE_SIZE];
            unsigned int t = game_now_ms32();
            game_make_move(mv, (unsigned char)(rand() % 4), t == 0 ? 1 : t);
            queue_packet(c, d, mv, CS_MOVE_SIZE);
            d->next_move_ms = now + 1000;
        }
        engine_unlock(c);
    }
}

/* ------------------------------------------------------------------------
 * Entry
 * --------------------------------------------------------------------- */

static const char *opt_host = CLIENT_DEFAULT_HOST;
static unsigned short opt_port = 4000;
static int opt_max = 20000, opt_threads = 4;
static long opt_duration, opt_fixed;

static const struct opt stress_options[] = {
    {"-s", OPT_STR, &opt_host, 0, 0, "HOST", "server (default 127.0.0.1)"},
    {"-p", OPT_PORT, &opt_port, 0, 0, "PORT", "port (default 4000)"},
    {"--max", OPT_INT, &opt_max, 1, 200000, "N", "never more than N dummies (default 20000)"},
    {"--duration", OPT_LONG, &opt_duration, 1, 86400, "S",
     "stop after S seconds (default: run until Ctrl+C)"},
    {"--fixed", OPT_LONG, &opt_fixed, 1, 200000, "N",
     "hold N dummies (no ramp) and report the delay distribution"},
    {"-T", OPT_INT, &opt_threads, 1, 64, "THREADS", "completion-port threads (default 4)"},
    OPT_END,
};

static const struct opt_spec stress_spec = {
    "stress",
    "usage: client.exe stress [-s HOST] [-p PORT] [--max N] [--duration S] [--fixed N]\n"
    "                         [-T THREADS]\n"
    "  The course's stress test for 10_game_server: dummies log in, teleport once, and\n"
    "  move once a second; the delay of each dummy's own move echo drives a ramp that\n"
    "  finds how many players the server holds at a median delay of 100-150 ms.\n",
    stress_options,
    NULL,
};

int stress_main(int argc, char **argv)
{
    struct engine_config ec;
    long fixed, duration;
    int rc = opt_parse(&stress_spec, argc, argv), err;
    if (rc != -1)
        return rc;
    fixed = opt_fixed;
    duration = opt_duration;
    max_dummies = opt_max;
    if (fixed > max_dummies)
        max_dummies = (int)fixed;

    srand((unsigned)GetTickCount());
    err = net_resolve(opt_host, opt_port, &server_addr);
    if (err != 0) {
        net_print_error("stress: getaddrinfo", err);
        return 1;
    }
    loopback = (ntohl(server_addr.sin_addr.s_addr) >> 24) == 127;

    dummies = calloc((size_t)max_dummies, sizeof *dummies);
    if (dummies == NULL) {
        fprintf(stderr, "stress: out of memory\n");
        return 1;
    }
    memset(&ec, 0, sizeof ec);
    ec.conns = max_dummies;
    ec.threads = opt_threads;
    ec.recv_size = 4096; /* game_rx_push takes at most that at a time */
    ec.send_size = QUEUE_SIZE;
    ec.nodelay = 1; /* small packets, each timed: no Nagle delay */
    eng = engine_create(&ec, &stress_ops);
    if (eng == NULL) {
        free(dummies);
        return 1;
    }
    InitializeCriticalSection(&samples_lock);

    printf("stress: %s:%u, %s\n", opt_host, (unsigned)opt_port,
           fixed ? "fixed number of dummies" : "ramp");
    fflush(stdout);

    /* The main thread is the clock: every 50 ms it sends the moves that
     * are due and steers the ramp; once a second it prints a line. */
    ULONGLONG t0 = GetTickCount64(), last_add = 0, last_print = t0;
    long limit = 0, last_in = 0, last_out = 0;
    int slow = 0;
    for (;;) {
        ULONGLONG now = GetTickCount64();
        int have;
        unsigned int delay = window_percentile(50, &have);
        if (duration > 0 && now - t0 >= (ULONGLONG)duration * 1000)
            break;
        send_moves();
        long count = active + connecting;
        if (fixed) {
            while (count < fixed && dummy_start() == 0)
                count++;
        } else if (have > 0 && delay > DELAY_LIMIT_MS) {
            if (limit == 0)
                limit = active;
            if (now - last_add >= RAMP_SLOW_MS && active > 1) {
                dummy_drop();
                last_add = now;
            }
        } else {
            if (have > 0 && delay > DELAY_SLOW_MS)
                slow = 1;
            int may_add = count < max_dummies && (limit == 0 || count < limit - limit / 20);
            if (may_add && now - last_add >= (ULONGLONG)(slow ? RAMP_SLOW_MS : RAMP_FAST_MS)) {
                dummy_start();
                last_add = now;
            }
        }
        if (now - last_print >= 1000) {
            long in = pkts_in, out = pkts_out;
            double secs = (double)(now - last_print) / 1000.0;
            printf("stress: %4llu s, %ld dummies (%ld connecting), delay %u ms (median of %d), "
                   "in %.0f pkt/s, out %.0f pkt/s, failures %ld\n",
                   (now - t0) / 1000, (long)active, (long)connecting, delay, have,
                   (double)(in - last_in) / secs, (double)(out - last_out) / secs, (long)failures);
            fflush(stdout);
            last_in = in;
            last_out = out;
            last_print = now;
        }
        Sleep(RAMP_FAST_MS);
    }

    int have;
    unsigned int p50 = window_percentile(50, &have), p90 = window_percentile(90, &have),
                 p99 = window_percentile(99, &have), pmax = window_percentile(100, &have);
    if (fixed)
        printf("stress: result: %ld dummies held, delay p50 %u ms, p90 %u ms, p99 %u ms, max %u ms "
               "(last %d moves), failures %ld, logins refused %ld\n",
               (long)active, p50, p90, p99, pmax, have, (long)failures, (long)logins_failed);
    else if (limit > 0)
        printf("stress: result: limit %ld dummies (median delay passed %d ms), failures %ld\n",
               limit, DELAY_LIMIT_MS, (long)failures);
    else
        printf(
            "stress: result: no limit reached: %ld dummies at median delay %u ms, failures %ld\n",
            (long)active, p50, (long)failures);
    fflush(stdout);

    engine_close_all(eng);
    engine_destroy(eng);
    DeleteCriticalSection(&samples_lock);
    free(dummies);
    return failures > 0 && fixed ? 1 : 0;
}
