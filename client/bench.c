/*
 * bench.c - client.exe bench: the load generator the comparison runs on.
 *
 *   client.exe bench [-s HOST] [-p PORT] -c CONNECTIONS [-b BYTES]
 *                    [-d SECONDS | -n MESSAGES] [-P PIPELINE] [-T THREADS]
 *
 * Opens the connections, then on each sends a message of BYTES, waits for
 * the whole echo, checks it byte for byte, and sends the next (with -P,
 * keeps PIPELINE messages in flight per connection). Reports connections
 * established and refused, messages per second, MB/s, round-trip latency
 * percentiles, how fairly the connections were served, and every error.
 *
 * It must not be the bottleneck, so it measures the server and not itself:
 * the connections run on the completion-port engine (engine.c), a few
 * threads for all of them (a thread per connection would measure the
 * scheduler), one receive always posted (the generator always reads, so it
 * never throttles the server) and at most one send in flight. This file
 * is what bench does per completion: release messages, fill the payload,
 * check the echo, time it.
 *
 * The payload of connection i at stream offset o is pattern[(o + i * 4099)
 * % PATTERN_SIZE]: any lost, repeated, reordered or corrupted byte fails
 * the comparison, and a check costs a memcmp.
 */
#include "client.h"
#include "bench.h"
#include "engine.h"

#define PATTERN_SIZE 65536
#define IO_CHUNK 16384 /* bytes per WSARecv / WSASend */
#define MAX_PIPELINE 256
#define CONNECT_BATCH 60        /* connects in flight at once */
#define CONNECT_TIMEOUT_MS 3000 /* per batch */
#define ECHO_TIMEOUT_MS 5000    /* an echo later than this is an error */
#define CLOSE_WAIT_MS 2000      /* for servers to close after our half-close */
#define HIST_SUB 32             /* sub-buckets per power of two: ~3% */
#define HIST_BUCKETS (40 * HIST_SUB)

static unsigned char pattern[PATTERN_SIZE];

/* What bench keeps per connection (the engine keeps the socket). Guarded
 * by the engine's lock of the connection. */
struct bconn {
    int connected;                 /* the connect completed */
    int settled;                   /* counted in its connect batch */
    int served;                    /* at least one echo inside the interval */
    unsigned long long staged_off; /* stream bytes handed to the engine */
    unsigned long long recv_off;   /* stream bytes received and checked */
    unsigned long long released;   /* stream bytes we may send (whole messages) */
    long long msgs_started;        /* messages released for sending */
    long long msgs_done;
    long long msgs_measured; /* echoes completed inside the measured interval */
    LONGLONG *start_ts;      /* QPC time each in-flight message was released,
                                       a ring of cfg.pipeline entries */
};

struct worker_stats {
    long long msgs;
    unsigned long long bytes;
    unsigned long long hist[HIST_BUCKETS];
};

/* ------------------------------------------------------------------------
 * Run state (one run at a time; bench_run resets it)
 * --------------------------------------------------------------------- */

static struct bench_config cfg;
static struct engine *eng;
static struct bconn *bconns;
static int nconns;
static struct worker_stats *stats;
static LONGLONG qpc_freq;
static volatile LONG stop_sending; /* the measured interval is over */
static volatile LONG batch_left;   /* connects of this batch not settled */
static HANDLE batch_done;          /* auto-reset: batch_left reached 0 */
static volatile LONG err_mismatch, err_reset, err_closed, err_timeout, err_other;
static volatile LONG conns_served;

static LONGLONG now_qpc(void)
{
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return t.QuadPart;
}

static double qpc_to_ms(LONGLONG d)
{
    return (double)d * 1000.0 / (double)qpc_freq;
}

/* Latency histogram: exact below 32 us, then 32 buckets per doubling
 * (about 3% wide), so percentiles cost no sorting and no memory per
 * message. */
static void hist_add(unsigned long long *hist, LONGLONG d)
{
    unsigned long long us = (unsigned long long)(d * 1000000 / qpc_freq);
    int idx;
    if (us < HIST_SUB) {
        idx = (int)us;
    } else {
        int shift = 0;
        while ((us >> shift) >= 2 * HIST_SUB)
            shift++;
        idx = HIST_SUB + shift * HIST_SUB + (int)((us >> shift) - HIST_SUB);
    }
    if (idx >= HIST_BUCKETS)
        idx = HIST_BUCKETS - 1;
    hist[idx]++;
}

/* The lower bound of a bucket, in microseconds. */
static double hist_value(int idx)
{
    if (idx < HIST_SUB)
        return (double)idx;
    int shift = (idx - HIST_SUB) / HIST_SUB;
    int sub = (idx - HIST_SUB) % HIST_SUB;
    return (double)((unsigned long long)(HIST_SUB + sub) << shift);
}

static double hist_percentile(const unsigned long long *hist, unsigned long long total, double p)
{
    unsigned long long want = (unsigned long long)((double)total * p / 100.0), seen = 0;
    if (total == 0)
        return 0;
    if (want >= total)
        want = total - 1;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > want)
            return hist_value(i) / 1000.0;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Payload
 * --------------------------------------------------------------------- */

/* Connection `index`'s stream from offset `off`, n bytes: copied into dst,
 * or, when dst is NULL, compared with src. 0 on a difference. */
static int pattern_span(int index, unsigned long long off, char *dst, const char *src, size_t n)
{
    size_t pos = (size_t)((off + (unsigned long long)index * 4099u) % PATTERN_SIZE);
    while (n > 0) {
        size_t k = PATTERN_SIZE - pos < n ? PATTERN_SIZE - pos : n;
        if (dst != NULL) {
            memcpy(dst, pattern + pos, k);
            dst += k;
        } else {
            if (memcmp(src, pattern + pos, k) != 0)
                return 0;
            src += k;
        }
        n -= k;
        pos = 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------
 * Per completion (the engine calls these with the connection's lock held)
 * --------------------------------------------------------------------- */

static void batch_settle(struct bconn *b)
{
    if (!b->settled) {
        b->settled = 1;
        if (InterlockedDecrement(&batch_left) == 0)
            SetEvent(batch_done);
    }
}

/* Releases messages for sending up to the pipeline depth. */
static void release_messages(struct eng_conn *c, struct bconn *b)
{
    while (!stop_sending && b->msgs_started - b->msgs_done < cfg.pipeline &&
           (cfg.messages == 0 || b->msgs_started < cfg.messages)) {
        b->start_ts[b->msgs_started % cfg.pipeline] = now_qpc();
        b->msgs_started++;
        b->released += (unsigned long long)cfg.bytes;
    }
    engine_kick(c);
}

static void bench_on_open(struct eng_conn *c)
{
    struct bconn *b = &bconns[engine_index(c)];
    b->connected = 1;
    batch_settle(b); /* the traffic starts for all at once, in bench_run */
}

static size_t bench_fill(struct eng_conn *c, char *buf, size_t room)
{
    struct bconn *b = &bconns[engine_index(c)];
    unsigned long long todo = b->released - b->staged_off;
    if (todo > room)
        todo = room;
    pattern_span(engine_index(c), b->staged_off, buf, NULL, (size_t)todo);
    b->staged_off += todo;
    return (size_t)todo;
}

static void bench_on_recv(struct eng_conn *c, int worker, const char *data, size_t n)
{
    struct bconn *b = &bconns[engine_index(c)];
    struct worker_stats *w = &stats[worker];
    /* More than we handed to the engine is a mismatch too. */
    if (b->recv_off + n > b->staged_off ||
        !pattern_span(engine_index(c), b->recv_off, NULL, data, n)) {
        InterlockedIncrement(&err_mismatch);
        engine_close(c);
        return;
    }
    b->recv_off += n;
    w->bytes += n;
    LONGLONG t = now_qpc();
    while (b->msgs_done < b->msgs_started &&
           b->recv_off >= (unsigned long long)(b->msgs_done + 1) * (unsigned long long)cfg.bytes) {
        if (!stop_sending) { /* count only what completes inside the interval */
            hist_add(w->hist, t - b->start_ts[b->msgs_done % cfg.pipeline]);
            w->msgs++;
            b->msgs_measured++;
            if (!b->served) {
                b->served = 1;
                InterlockedIncrement(&conns_served);
            }
        }
        b->msgs_done++;
    }
    release_messages(c, b);
    if (cfg.messages != 0 && b->msgs_done >= cfg.messages && b->msgs_done == b->msgs_started)
        engine_finish(c); /* all done: half-close, the server closes */
}

static void bench_on_end(struct eng_conn *c, enum eng_end why, int err)
{
    struct bconn *b = &bconns[engine_index(c)];
    int done = cfg.messages != 0 && b->msgs_done >= cfg.messages;
    batch_settle(b); /* a connect that failed, or was given up */
    if (!b->connected)
        return;
    if (why == ENG_EOF && !done && !stop_sending)
        InterlockedIncrement(&err_closed); /* expected only after our half-close */
    else if (why == ENG_FAILED &&
             (err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENETRESET))
        InterlockedIncrement(&err_reset);
    else if (why == ENG_FAILED)
        InterlockedIncrement(&err_other);
    /* ENG_CLOSED: ours, after a mismatch or a timeout, counted there */
}

static const struct engine_ops bench_ops = {bench_on_open, bench_on_recv, bench_fill, bench_on_end};

/* ------------------------------------------------------------------------
 * The run
 * --------------------------------------------------------------------- */

/* Connects in batches, each with a limit: a connection the server never
 * answers is given up, not waited for. Returns how many are open. */
static int connect_all(const struct sockaddr_in *to)
{
    int established = 0;
    for (int first = 0; first < nconns; first += CONNECT_BATCH) {
        int last = first + CONNECT_BATCH < nconns ? first + CONNECT_BATCH : nconns;
        /* One count of our own while posting, so that the batch cannot
         * look finished before all of it is posted. */
        batch_left = 1;
        ResetEvent(batch_done);
        for (int i = first; i < last; i++) {
            struct eng_conn *c = engine_conn(eng, i);
            int failed;
            InterlockedIncrement(&batch_left);
            engine_lock(c);
            failed = engine_connect(c, to, NULL) != 0; /* then no callback follows */
            if (failed)
                bconns[i].settled = 1;
            engine_unlock(c);
            if (failed)
                InterlockedDecrement(&batch_left);
        }
        if (InterlockedDecrement(&batch_left) != 0)
            WaitForSingleObject(batch_done, CONNECT_TIMEOUT_MS);
        for (int i = first; i < last; i++) {
            struct eng_conn *c = engine_conn(eng, i);
            engine_lock(c);
            if (engine_state(c) == ENG_CONNECTING) /* unanswered: given up */
                engine_close(c);
            engine_unlock(c);
        }
    }
    for (int i = 0; i < nconns; i++)
        established += bconns[i].connected;
    return established;
}

/* The main thread keeps time: it wakes every 100 ms to check the end of
 * the run and the echoes that are overdue. Returns when the interval is
 * over (timed run) or every connection is done (fixed count). */
static void keep_time(LONGLONG t0, LONGLONG timeout)
{
    LONGLONG end = t0 + (LONGLONG)cfg.seconds * qpc_freq;
    for (;;) {
        LONGLONG t = now_qpc();
        int busy = 0;
        if (cfg.messages == 0 && t >= end)
            return;
        for (int i = 0; i < nconns; i++) {
            struct eng_conn *c = engine_conn(eng, i);
            struct bconn *b = &bconns[i];
            engine_lock(c);
            if (engine_state(c) == ENG_OPEN && b->msgs_done < b->msgs_started) {
                busy = 1;
                if (t - b->start_ts[b->msgs_done % cfg.pipeline] > timeout) {
                    InterlockedIncrement(&err_timeout);
                    engine_close(c);
                }
            }
            engine_unlock(c);
        }
        if (cfg.messages != 0 && !busy)
            return;
        Sleep(100);
    }
}

/* Lets the echoes in flight come back (up to the timeout), then ends
 * every connection: half-close first so that the server sees a clean
 * end, not a reset; a server that does not close in CLOSE_WAIT_MS is
 * closed on. */
static void wind_down(LONGLONG timeout)
{
    LONGLONG drain_end = now_qpc() + timeout;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < nconns && !busy; i++) {
            struct eng_conn *c = engine_conn(eng, i);
            engine_lock(c);
            busy = engine_state(c) == ENG_OPEN && bconns[i].msgs_done < bconns[i].msgs_started;
            engine_unlock(c);
        }
        if (!busy || now_qpc() > drain_end)
            break;
        Sleep(20);
    }
    for (int i = 0; i < nconns; i++) {
        struct eng_conn *c = engine_conn(eng, i);
        engine_lock(c);
        engine_finish(c);
        engine_unlock(c);
    }
    if (engine_wait_idle(eng, CLOSE_WAIT_MS) != 0)
        engine_close_all(eng);
}

/* Per-connection counts and the slowest served connection's share of
 * the mean (struct bench_result says what they mean). */
static void fairness(struct bench_result *r)
{
    long long sum = 0, least = -1;
    int served = 0;
    r->conn_msgs = calloc((size_t)nconns, sizeof *r->conn_msgs);
    r->nconn_msgs = r->conn_msgs != NULL ? nconns : 0;
    for (int i = 0; i < nconns; i++) {
        long long n = bconns[i].msgs_measured;
        if (r->conn_msgs != NULL)
            r->conn_msgs[i] = n;
        if (n == 0)
            continue;
        served++;
        sum += n;
        if (least < 0 || n < least)
            least = n;
    }
    r->slowest_share = served > 0 ? (double)least * served / (double)sum : 0;
}

static void summarize(struct bench_result *r, LONGLONG t0, LONGLONG t1)
{
    static unsigned long long hist[HIST_BUCKETS];
    memset(hist, 0, sizeof hist);
    for (int i = 0; i < cfg.threads; i++) {
        r->messages += (unsigned long long)stats[i].msgs;
        r->bytes += stats[i].bytes;
        for (int b = 0; b < HIST_BUCKETS; b++)
            hist[b] += stats[i].hist[b];
    }
    for (int b = HIST_BUCKETS - 1; b >= 0; b--)
        if (hist[b] != 0) {
            r->lat_max_ms = hist_value(b) / 1000.0;
            break;
        }
    r->seconds = qpc_to_ms(t1 - t0) / 1000.0;
    r->msgs_per_sec = r->seconds > 0 ? (double)r->messages / r->seconds : 0;
    r->mb_per_sec = r->seconds > 0 ? (double)r->messages * cfg.bytes / r->seconds / 1e6 : 0;
    r->lat_p50_ms = hist_percentile(hist, r->messages, 50);
    r->lat_p90_ms = hist_percentile(hist, r->messages, 90);
    r->lat_p99_ms = hist_percentile(hist, r->messages, 99);
    r->served = conns_served;
    r->err_mismatch = err_mismatch;
    r->err_reset = err_reset;
    r->err_closed = err_closed;
    r->err_timeout = err_timeout;
    r->err_other = err_other;
    fairness(r);
}

static void run_reset(const struct bench_config *config)
{
    LARGE_INTEGER f;
    cfg = *config;
    nconns = cfg.connections;
    QueryPerformanceFrequency(&f);
    qpc_freq = f.QuadPart;
    stop_sending = 0;
    err_mismatch = err_reset = err_closed = err_timeout = err_other = 0;
    conns_served = 0;
    srand(12345);
    for (int i = 0; i < PATTERN_SIZE; i++)
        pattern[i] = (unsigned char)(rand() >> 4);
}

/* Everything a run holds, from any point of bench_run: compare calls it
 * many times in one process. */
static void run_free(void)
{
    engine_destroy(eng);
    eng = NULL;
    if (bconns != NULL)
        for (int i = 0; i < nconns; i++)
            free(bconns[i].start_ts);
    free(bconns);
    bconns = NULL;
    free(stats);
    stats = NULL;
    if (batch_done != NULL)
        CloseHandle(batch_done);
    batch_done = NULL;
}

int bench_run(const struct bench_config *config, struct bench_result *r)
{
    struct engine_config ec;
    struct sockaddr_in to;
    int err;

    memset(r, 0, sizeof *r);
    run_reset(config);
    err = net_resolve(cfg.host, cfg.port, &to);
    if (err != 0) {
        fprintf(stderr, "bench: cannot resolve %s: ", cfg.host);
        net_print_error("getaddrinfo", err);
        return 1;
    }
    bconns = calloc((size_t)nconns, sizeof *bconns);
    stats = calloc((size_t)cfg.threads, sizeof *stats);
    batch_done = CreateEventW(NULL, FALSE, FALSE, NULL);
    for (int i = 0; bconns != NULL && i < nconns; i++)
        if ((bconns[i].start_ts = calloc((size_t)cfg.pipeline, sizeof(LONGLONG))) == NULL)
            break;
    if (bconns == NULL || stats == NULL || batch_done == NULL ||
        bconns[nconns - 1].start_ts == NULL) {
        fprintf(stderr, "bench: out of memory or handles\n");
        run_free();
        return 1;
    }
    memset(&ec, 0, sizeof ec);
    ec.conns = nconns;
    ec.threads = cfg.threads;
    ec.recv_size = IO_CHUNK;
    ec.send_size = IO_CHUNK;
    eng = engine_create(&ec, &bench_ops);
    if (eng == NULL) {
        run_free();
        return 1;
    }

    r->established = connect_all(&to);
    r->refused = nconns - r->established;

    LONGLONG timeout = qpc_freq * (cfg.timeout_ms > 0 ? cfg.timeout_ms : ECHO_TIMEOUT_MS) / 1000;
    LONGLONG t0 = now_qpc();
    for (int i = 0; i < nconns; i++) {
        struct eng_conn *c = engine_conn(eng, i);
        engine_lock(c);
        if (engine_state(c) == ENG_OPEN)
            release_messages(c, &bconns[i]);
        engine_unlock(c);
    }
    keep_time(t0, timeout);
    LONGLONG t1 = now_qpc();
    InterlockedExchange(&stop_sending, 1);
    if (cfg.at_end != NULL)
        cfg.at_end(cfg.at_end_arg);
    wind_down(timeout);

    summarize(r, t0, t1);
    run_free();
    return 0;
}

void bench_result_free(struct bench_result *r)
{
    free(r->conn_msgs);
    r->conn_msgs = NULL;
    r->nconn_msgs = 0;
}

void bench_print(const struct bench_config *c, const struct bench_result *r)
{
    printf("bench: %s:%u, %d connections, %d-byte messages, pipeline %d, %s\n", c->host,
           (unsigned)c->port, c->connections, c->bytes, c->pipeline,
           c->messages ? "fixed count" : "timed");
    printf("connections: %d established, %d refused, %d served\n", r->established, r->refused,
           r->served);
    printf("messages: %llu in %.2f s = %.0f msgs/s, %.2f MB/s each way\n", r->messages, r->seconds,
           r->msgs_per_sec, r->mb_per_sec);
    printf("latency: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n", r->lat_p50_ms,
           r->lat_p90_ms, r->lat_p99_ms, r->lat_max_ms);
    printf("fairness: slowest served connection at %.2f of the mean\n", r->slowest_share);
    printf("errors: %ld mismatch, %ld reset, %ld closed by server, %ld timeout, %ld other\n",
           r->err_mismatch, r->err_reset, r->err_closed, r->err_timeout, r->err_other);
    fflush(stdout);
}

/* ------------------------------------------------------------------------
 * Options
 * --------------------------------------------------------------------- */

static struct bench_config opt_cfg; /* where bench_options stores */

static const struct opt bench_options[] = {
    {"-s", OPT_STR, &opt_cfg.host, 0, 0, "HOST", "server name or address (default 127.0.0.1)"},
    {"-p", OPT_PORT, &opt_cfg.port, 0, 0, "PORT", "server port (default 40100)"},
    {"-c", OPT_INT, &opt_cfg.connections, 1, 100000, "N", "connections (1..100000, required)"},
    {"-b", OPT_INT, &opt_cfg.bytes, 1, 16 * 1024 * 1024, "N", "message size in bytes (default 64)"},
    {"-d", OPT_INT, &opt_cfg.seconds, 1, 3600, "S", "run for S seconds (default 5)"},
    {"-n", OPT_LONG, &opt_cfg.messages, 1, 1000000000L, "N",
     "instead: send N messages on each connection, then stop"},
    {"-P", OPT_INT, &opt_cfg.pipeline, 1, MAX_PIPELINE, "N",
     "messages in flight per connection (default 1, max 256)"},
    {"-T", OPT_INT, &opt_cfg.threads, 1, 64, "N",
     "generator threads on its completion port (default 4)"},
    OPT_END,
};

static const struct opt_spec bench_spec = {
    "bench",
    "usage: client.exe bench [-s HOST] [-p PORT] -c CONNECTIONS [-b BYTES]\n"
    "                        [-d SECONDS | -n MESSAGES] [-P PIPELINE] [-T THREADS]\n"
    "  Echo load generator: on each connection sends BYTES, waits for the whole echo,\n"
    "  checks it byte for byte, repeats. Reports msgs/s, MB/s, latency, fairness and errors.\n",
    bench_options,
    "  Exit status: 0 if no errors, 1 on any error (mismatch, reset, timeout...), 2 on bad args.\n",
};

int bench_parse(int argc, char **argv, struct bench_config *c, void (*usage)(FILE *))
{
    int rc;
    (void)usage; /* the option table prints the help */
    memset(&opt_cfg, 0, sizeof opt_cfg);
    opt_cfg.host = CLIENT_DEFAULT_HOST;
    opt_cfg.port = CLIENT_DEFAULT_PORT;
    opt_cfg.bytes = 64;
    opt_cfg.seconds = 5;
    opt_cfg.pipeline = 1;
    opt_cfg.threads = 4;
    rc = opt_parse(&bench_spec, argc, argv);
    if (rc == -1 && opt_cfg.connections == 0)
        rc = opt_fail(&bench_spec, "-c CONNECTIONS is required");
    *c = opt_cfg;
    return rc;
}

int bench_main(int argc, char **argv)
{
    struct bench_config c;
    struct bench_result r;
    int rc = bench_parse(argc, argv, &c, NULL);
    if (rc != -1)
        return rc;
    if (bench_run(&c, &r) != 0)
        return 1;
    bench_print(&c, &r);
    bench_result_free(&r);
    return (r.err_mismatch || r.err_reset || r.err_closed || r.err_timeout || r.err_other) ? 1 : 0;
}
