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
 * percentiles, and every error.
 *
 * It must not be the bottleneck, so it measures the server and not itself:
 * every connection is driven from one process by a few threads on one I/O
 * completion port (a thread per connection would measure the scheduler).
 * Each connection has one receive always posted (the generator always
 * reads, so it never throttles the server) and at most one send in flight.
 *
 * The payload of connection i at stream offset o is pattern[(o + i * 4099)
 * % PATTERN_SIZE]: any lost, repeated, reordered or corrupted byte fails
 * the comparison, and a check costs a memcmp.
 */
#include "client.h"
#include "bench.h"
#include <mswsock.h>
#include <process.h>

#define PATTERN_SIZE 65536
#define IO_CHUNK 16384            /* bytes per WSARecv / WSASend */
#define MAX_PIPELINE 256
#define CONNECT_BATCH 60          /* sockets per select() while connecting */
#define CONNECT_TIMEOUT_MS 3000
#define ECHO_TIMEOUT_MS 5000      /* an echo later than this is an error */
#define HIST_SUB 32               /* sub-buckets per power of two: ~3% */
#define HIST_BUCKETS (40 * HIST_SUB)

static unsigned char pattern[PATTERN_SIZE];

enum op_kind { OP_RECV, OP_SEND };

struct bconn;

struct bop {
    WSAOVERLAPPED ov;
    enum op_kind kind;
    WSABUF wb;
    struct bconn *c;
    char buf[IO_CHUNK];
};

struct bconn {
    SOCKET s;
    int index;
    CRITICAL_SECTION lock;
    int pending;                    /* posted operations not yet completed */
    int closing;
    int connected;                  /* connect() succeeded */
    int served;                     /* at least one echo came back */
    unsigned long long sent_off;    /* stream bytes handed to WSASend */
    unsigned long long recv_off;    /* stream bytes received and checked */
    unsigned long long released;    /* stream bytes we may send (whole messages) */
    long long msgs_started;         /* messages released for sending */
    long long msgs_done;
    long long msgs_measured;        /* echoes completed inside the measured interval */
    int send_busy;
    LONGLONG *start_ts;             /* QPC time each in-flight message was released,
                                       a ring of cfg.pipeline entries */
    struct bop rop, sop;
};

struct worker {
    HANDLE thread;
    long long msgs;
    unsigned long long bytes;
    unsigned long long hist[HIST_BUCKETS];
};

/* ------------------------------------------------------------------------
 * Run state
 * --------------------------------------------------------------------- */

static struct bench_config cfg;
static HANDLE port;
static struct bconn *conns;
static int nconns;
static struct worker *workers;
static LONGLONG qpc_freq;
static volatile LONG stop_sending;  /* the measured interval is over */
static volatile LONG live_conns;    /* connections whose memory is in use */
static HANDLE all_released;
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

static void fill(const struct bconn *c, unsigned long long off, char *dst, size_t n)
{
    size_t pos = (size_t)((off + (unsigned long long)c->index * 4099u) % PATTERN_SIZE);
    while (n > 0) {
        size_t k = PATTERN_SIZE - pos < n ? PATTERN_SIZE - pos : n;
        memcpy(dst, pattern + pos, k);
        dst += k;
        n -= k;
        pos = 0;
    }
}

static int matches(const struct bconn *c, unsigned long long off, const char *src, size_t n)
{
    size_t pos = (size_t)((off + (unsigned long long)c->index * 4099u) % PATTERN_SIZE);
    while (n > 0) {
        size_t k = PATTERN_SIZE - pos < n ? PATTERN_SIZE - pos : n;
        if (memcmp(src, pattern + pos, k) != 0)
            return 0;
        src += k;
        n -= k;
        pos = 0;
    }
    return 1;
}

/* ------------------------------------------------------------------------
 * Connection I/O (called with c->lock held)
 * --------------------------------------------------------------------- */

static void conn_close_locked(struct bconn *c)
{
    if (!c->closing) {
        c->closing = 1;
        /* Pending operations complete with an error; the last one to
         * complete releases the connection. */
        closesocket(c->s);
    }
}

static void post_recv(struct bconn *c)
{
    DWORD flags = 0;
    memset(&c->rop.ov, 0, sizeof c->rop.ov);
    c->rop.wb.buf = c->rop.buf;
    c->rop.wb.len = IO_CHUNK;
    c->pending++;
    if (WSARecv(c->s, &c->rop.wb, 1, NULL, &flags, &c->rop.ov, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        c->pending--;
        InterlockedIncrement(&err_other);
        conn_close_locked(c);
    }
}

/* Sends the next piece of the released stream, if no send is in flight. */
static void post_send(struct bconn *c)
{
    unsigned long long todo;
    if (c->send_busy || c->closing || c->sent_off >= c->released)
        return;
    todo = c->released - c->sent_off;
    if (todo > IO_CHUNK)
        todo = IO_CHUNK;
    fill(c, c->sent_off, c->sop.buf, (size_t)todo);
    memset(&c->sop.ov, 0, sizeof c->sop.ov);
    c->sop.wb.buf = c->sop.buf;
    c->sop.wb.len = (ULONG)todo;
    c->send_busy = 1;
    c->pending++;
    if (WSASend(c->s, &c->sop.wb, 1, NULL, 0, &c->sop.ov, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        c->pending--;
        c->send_busy = 0;
        int err = WSAGetLastError();
        if (err == WSAECONNRESET || err == WSAECONNABORTED)
            InterlockedIncrement(&err_reset);
        else
            InterlockedIncrement(&err_other);
        conn_close_locked(c);
    }
}

/* Releases messages for sending up to the pipeline depth. */
static void release_messages(struct bconn *c)
{
    while (!stop_sending && c->msgs_started - c->msgs_done < cfg.pipeline &&
           (cfg.messages == 0 || c->msgs_started < cfg.messages)) {
        c->start_ts[c->msgs_started % cfg.pipeline] = now_qpc();
        c->msgs_started++;
        c->released += (unsigned long long)cfg.bytes;
    }
    post_send(c);
}

static void on_recv(struct bconn *c, struct worker *w, DWORD n)
{
    if (!matches(c, c->recv_off, c->rop.buf, n)) {
        InterlockedIncrement(&err_mismatch);
        conn_close_locked(c);
        return;
    }
    /* More than we handed to WSASend is a mismatch too. (Not sent_off:
     * the echo may be dequeued before our own send's completion.) */
    if (c->recv_off + n > c->sent_off + (c->send_busy ? c->sop.wb.len : 0)) {
        InterlockedIncrement(&err_mismatch);
        conn_close_locked(c);
        return;
    }
    c->recv_off += n;
    w->bytes += n;
    LONGLONG t = now_qpc();
    while (c->msgs_done < c->msgs_started &&
           c->recv_off >= (unsigned long long)(c->msgs_done + 1) * (unsigned long long)cfg.bytes) {
        if (!stop_sending) { /* count only what completes inside the interval */
            hist_add(w->hist, t - c->start_ts[c->msgs_done % cfg.pipeline]);
            w->msgs++;
            c->msgs_measured++;
            if (!c->served) {
                c->served = 1;
                InterlockedIncrement(&conns_served);
            }
        }
        c->msgs_done++;
    }
    release_messages(c);
    if (cfg.messages != 0 && c->msgs_done >= cfg.messages && c->msgs_done == c->msgs_started)
        shutdown(c->s, SD_SEND); /* all done: half-close, the server closes */
    post_recv(c);
}

static void conn_release(struct bconn *c)
{
    (void)c;
    if (InterlockedDecrement(&live_conns) == 0)
        SetEvent(all_released);
}

/* One completed operation. `ok` is false when it ended with an error. */
static void on_completion(struct worker *w, struct bop *op, DWORD n, BOOL ok)
{
    struct bconn *c = op->c;
    int release;
    EnterCriticalSection(&c->lock);
    c->pending--;
    if (!ok) {
        /* The operation is over, with an error: a reset, or our own
         * closesocket (Wine says 676 there, Windows 995). */
        if (!c->closing) {
            DWORD bytes = 0, flags = 0;
            int err = 0;
            if (!WSAGetOverlappedResult(c->s, &op->ov, &bytes, FALSE, &flags))
                err = WSAGetLastError();
            if (err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENETRESET)
                InterlockedIncrement(&err_reset);
            else
                InterlockedIncrement(&err_other);
        }
        conn_close_locked(c);
    } else if (op->kind == OP_SEND) {
        c->send_busy = 0;
        c->sent_off += n; /* a short send: post_send sends the rest */
        post_send(c);
    } else if (n == 0) {
        /* The server closed. Expected after our half-close; else an error. */
        int done = cfg.messages != 0 && c->msgs_done >= cfg.messages;
        if (!c->closing && !done && !stop_sending)
            InterlockedIncrement(&err_closed);
        conn_close_locked(c);
    } else if (!c->closing) {
        on_recv(c, w, n);
    }
    release = c->closing && c->pending == 0;
    LeaveCriticalSection(&c->lock);
    if (release)
        conn_release(c);
}

/* Workers take completions in batches: under Wine every call into the
 * port is a round trip to the wineserver, and one call for up to 64
 * completions keeps the generator's own cost per message down. */
static unsigned __stdcall worker_main(void *arg)
{
    struct worker *w = arg;
    OVERLAPPED_ENTRY done[64];
    for (;;) {
        ULONG count = 0;
        if (!GetQueuedCompletionStatusEx(port, done, 64, &count, INFINITE, FALSE))
            continue; /* nothing dequeued */
        int quit = 0;
        for (ULONG i = 0; i < count; i++) {
            if (done[i].lpOverlapped == NULL) { /* a shutdown packet */
                /* One per worker: a batch that took a second one hands
                 * it back, or another worker would wait for ever. */
                if (quit)
                    PostQueuedCompletionStatus(port, 0, 0, NULL);
                quit = 1;
                continue;
            }
            struct bop *op = CONTAINING_RECORD(done[i].lpOverlapped, struct bop, ov);
            /* Internal holds the operation's status: 0 is success. */
            on_completion(w, op, done[i].dwNumberOfBytesTransferred, done[i].lpOverlapped->Internal == 0);
        }
        if (quit)
            return 0;
    }
}

/* ------------------------------------------------------------------------
 * Connecting: batches of non-blocking connects, each batch with a limit
 * --------------------------------------------------------------------- */

static int connect_all(const struct sockaddr_in *to)
{
    int established = 0;
    for (int first = 0; first < nconns; first += CONNECT_BATCH) {
        int last = first + CONNECT_BATCH < nconns ? first + CONNECT_BATCH : nconns;
        fd_set wr, ex;
        LONGLONG deadline = now_qpc() + qpc_freq * CONNECT_TIMEOUT_MS / 1000;
        int waiting = 0;
        for (int i = first; i < last; i++) {
            u_long nb = 1;
            struct bconn *c = &conns[i];
            c->s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
            if (c->s == INVALID_SOCKET)
                continue;
            ioctlsocket(c->s, FIONBIO, &nb);
            if (connect(c->s, (const struct sockaddr *)to, (int)sizeof *to) == 0 ||
                WSAGetLastError() == WSAEWOULDBLOCK) {
                waiting++;
            } else {
                closesocket(c->s);
                c->s = INVALID_SOCKET;
            }
        }
        while (waiting > 0) {
            LONGLONG left = deadline - now_qpc();
            struct timeval tv;
            if (left <= 0)
                break;
            tv.tv_sec = (long)(left / qpc_freq);
            tv.tv_usec = (long)((left % qpc_freq) * 1000000 / qpc_freq);
            FD_ZERO(&wr);
            FD_ZERO(&ex);
            for (int i = first; i < last; i++)
                if (conns[i].s != INVALID_SOCKET && !conns[i].connected) {
                    FD_SET(conns[i].s, &wr);
                    FD_SET(conns[i].s, &ex);
                }
            if (select(0, NULL, &wr, &ex, &tv) <= 0)
                break;
            for (int i = first; i < last; i++) {
                struct bconn *c = &conns[i];
                if (c->s == INVALID_SOCKET || c->connected)
                    continue;
                if (FD_ISSET(c->s, &ex)) {
                    closesocket(c->s);
                    c->s = INVALID_SOCKET;
                    waiting--;
                } else if (FD_ISSET(c->s, &wr)) {
                    c->connected = 1;
                    waiting--;
                }
            }
        }
        for (int i = first; i < last; i++) {
            struct bconn *c = &conns[i];
            if (c->s != INVALID_SOCKET && !c->connected) { /* timed out */
                closesocket(c->s);
                c->s = INVALID_SOCKET;
            }
            if (c->s != INVALID_SOCKET) {
                u_long b = 0;
                ioctlsocket(c->s, FIONBIO, &b);
                established++;
            }
        }
    }
    return established;
}

/* ------------------------------------------------------------------------
 * The run
 * --------------------------------------------------------------------- */

/* Per-connection counts and the slowest served connection's share of
 * the mean (struct bench_result says what they mean). */
static void fairness(struct bench_result *r)
{
    long long sum = 0, least = -1;
    int served = 0;
    r->conn_msgs = calloc((size_t)nconns, sizeof *r->conn_msgs);
    r->nconn_msgs = r->conn_msgs != NULL ? nconns : 0;
    for (int i = 0; i < nconns; i++) {
        long long n = conns[i].msgs_measured;
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

void bench_result_free(struct bench_result *r)
{
    free(r->conn_msgs);
    r->conn_msgs = NULL;
    r->nconn_msgs = 0;
}

int bench_run(const struct bench_config *config, struct bench_result *r)
{
    struct sockaddr_in to;
    int err;
    LARGE_INTEGER f;

    memset(r, 0, sizeof *r);
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

    err = net_resolve(cfg.host, cfg.port, &to);
    if (err != 0) {
        fprintf(stderr, "bench: cannot resolve %s: ", cfg.host);
        net_print_error("getaddrinfo", err);
        return 1;
    }
    conns = calloc((size_t)nconns, sizeof *conns);
    workers = calloc((size_t)cfg.threads, sizeof *workers);
    all_released = CreateEventW(NULL, TRUE, FALSE, NULL);
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (conns == NULL || workers == NULL || all_released == NULL || port == NULL) {
        fprintf(stderr, "bench: out of memory or handles\n");
        return 1;
    }
    for (int i = 0; i < nconns; i++) {
        conns[i].index = i;
        conns[i].s = INVALID_SOCKET;
        conns[i].rop.kind = OP_RECV;
        conns[i].rop.c = &conns[i];
        conns[i].sop.kind = OP_SEND;
        conns[i].sop.c = &conns[i];
        conns[i].start_ts = calloc((size_t)cfg.pipeline, sizeof *conns[i].start_ts);
        if (conns[i].start_ts == NULL) {
            fprintf(stderr, "bench: out of memory\n");
            return 1;
        }
        InitializeCriticalSection(&conns[i].lock);
    }

    r->established = connect_all(&to);
    r->refused = nconns - r->established;

    for (int i = 0; i < cfg.threads; i++) {
        workers[i].thread = (HANDLE)_beginthreadex(NULL, 0, worker_main, &workers[i], 0, NULL);
        if (workers[i].thread == NULL) {
            fprintf(stderr, "bench: cannot start worker threads\n");
            return 1;
        }
    }

    live_conns = 1; /* our own count, dropped after the run */
    LONGLONG t0 = now_qpc();
    for (int i = 0; i < nconns; i++) {
        struct bconn *c = &conns[i];
        if (c->s == INVALID_SOCKET)
            continue;
        if (CreateIoCompletionPort((HANDLE)c->s, port, (ULONG_PTR)c, 0) == NULL) {
            closesocket(c->s);
            c->s = INVALID_SOCKET;
            r->established--;
            r->refused++;
            continue;
        }
        InterlockedIncrement(&live_conns);
        EnterCriticalSection(&c->lock);
        post_recv(c);
        release_messages(c);
        int release = c->closing && c->pending == 0;
        LeaveCriticalSection(&c->lock);
        if (release)
            conn_release(c);
    }

    /* The main thread keeps time: it wakes every 100 ms to check the end
     * of the run and the echoes that are overdue. */
    LONGLONG end = t0 + (LONGLONG)cfg.seconds * qpc_freq;
    LONGLONG timeout = qpc_freq * (cfg.timeout_ms > 0 ? cfg.timeout_ms : ECHO_TIMEOUT_MS) / 1000;
    for (;;) {
        LONGLONG t = now_qpc();
        int busy = 0;
        if (cfg.messages == 0 && t >= end)
            break;
        for (int i = 0; i < nconns; i++) {
            struct bconn *c = &conns[i];
            if (c->s == INVALID_SOCKET)
                continue;
            EnterCriticalSection(&c->lock);
            if (!c->closing && c->msgs_done < c->msgs_started) {
                busy = 1;
                if (t - c->start_ts[c->msgs_done % cfg.pipeline] > timeout) {
                    InterlockedIncrement(&err_timeout);
                    conn_close_locked(c);
                }
            }
            LeaveCriticalSection(&c->lock);
        }
        if (cfg.messages != 0 && !busy)
            break;
        Sleep(100);
    }
    LONGLONG t1 = now_qpc();
    InterlockedExchange(&stop_sending, 1);
    if (cfg.at_end != NULL)
        cfg.at_end(cfg.at_end_arg);

    /* Let the echoes in flight come back (up to the timeout), then close:
     * half-close first so that the server sees a clean end, not a reset. */
    LONGLONG drain_end = now_qpc() + timeout;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < nconns && !busy; i++) {
            struct bconn *c = &conns[i];
            if (c->s == INVALID_SOCKET)
                continue;
            EnterCriticalSection(&c->lock);
            busy = !c->closing && c->msgs_done < c->msgs_started;
            LeaveCriticalSection(&c->lock);
        }
        if (!busy || now_qpc() > drain_end)
            break;
        Sleep(20);
    }
    for (int i = 0; i < nconns; i++) {
        struct bconn *c = &conns[i];
        if (c->s == INVALID_SOCKET)
            continue;
        EnterCriticalSection(&c->lock);
        if (!c->closing)
            shutdown(c->s, SD_SEND);
        LeaveCriticalSection(&c->lock);
    }
    /* Servers close after our half-close; one that does not gets 2 s. */
    if (InterlockedDecrement(&live_conns) != 0 && WaitForSingleObject(all_released, 2000) == WAIT_TIMEOUT) {
        for (int i = 0; i < nconns; i++) {
            struct bconn *c = &conns[i];
            if (c->s == INVALID_SOCKET)
                continue;
            EnterCriticalSection(&c->lock);
            conn_close_locked(c);
            LeaveCriticalSection(&c->lock);
        }
        WaitForSingleObject(all_released, INFINITE);
    }

    for (int i = 0; i < cfg.threads; i++)
        PostQueuedCompletionStatus(port, 0, 0, NULL);
    for (int i = 0; i < cfg.threads; i++) {
        WaitForSingleObject(workers[i].thread, INFINITE);
        CloseHandle(workers[i].thread);
    }
    CloseHandle(port);
    CloseHandle(all_released);

    static unsigned long long hist[HIST_BUCKETS];
    memset(hist, 0, sizeof hist);
    for (int i = 0; i < cfg.threads; i++) {
        r->messages += (unsigned long long)workers[i].msgs;
        r->bytes += workers[i].bytes;
        for (int b = 0; b < HIST_BUCKETS; b++)
            hist[b] += workers[i].hist[b];
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
    for (int i = 0; i < nconns; i++) {
        DeleteCriticalSection(&conns[i].lock);
        free(conns[i].start_ts);
    }
    free(conns);
    free(workers);
    return 0;
}

void bench_print(const struct bench_config *c, const struct bench_result *r)
{
    printf("bench: %s:%u, %d connections, %d-byte messages, pipeline %d, %s\n", c->host,
           (unsigned)c->port, c->connections, c->bytes, c->pipeline, c->messages ? "fixed count" : "timed");
    printf("connections: %d established, %d refused, %d served\n", r->established, r->refused, r->served);
    printf("messages: %llu in %.2f s = %.0f msgs/s, %.2f MB/s each way\n", r->messages, r->seconds,
           r->msgs_per_sec, r->mb_per_sec);
    printf("latency: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n", r->lat_p50_ms, r->lat_p90_ms,
           r->lat_p99_ms, r->lat_max_ms);
    printf("fairness: slowest served connection at %.2f of the mean\n", r->slowest_share);
    printf("errors: %ld mismatch, %ld reset, %ld closed by server, %ld timeout, %ld other\n", r->err_mismatch,
           r->err_reset, r->err_closed, r->err_timeout, r->err_other);
    fflush(stdout);
}

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: client.exe bench [-s HOST] [-p PORT] -c CONNECTIONS [-b BYTES]\n"
               "                        [-d SECONDS | -n MESSAGES] [-P PIPELINE] [-T THREADS]\n"
               "  Echo load generator: on each connection sends BYTES, waits for the whole echo,\n"
               "  checks it byte for byte, repeats. Reports msgs/s, MB/s, latency and errors.\n"
               "  -c N   connections (1..100000, required)\n"
               "  -b N   message size in bytes (default 64)\n"
               "  -d S   run for S seconds (default 5)\n"
               "  -n N   instead: send N messages on each connection, then stop\n"
               "  -P N   messages in flight per connection (default 1, max %d)\n"
               "  -T N   generator threads on its completion port (default 4)\n"
               "  Exit status: 0 if no errors, 1 on any error (mismatch, reset, timeout...), 2 on bad args.\n",
            MAX_PIPELINE);
    fflush(f);
}

int bench_parse(int argc, char **argv, struct bench_config *c, void (*usage)(FILE *))
{
    long v;
    memset(c, 0, sizeof *c);
    c->host = CLIENT_DEFAULT_HOST;
    c->port = CLIENT_DEFAULT_PORT;
    c->bytes = 64;
    c->seconds = 5;
    c->pipeline = 1;
    c->threads = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        int ok = 1;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-s") == 0 && val != NULL) {
            c->host = val;
        } else if (strcmp(a, "-p") == 0 && (ok = net_parse_num(val, 1, 65535, &v))) {
            c->port = (unsigned short)v;
        } else if (strcmp(a, "-c") == 0 && (ok = net_parse_num(val, 1, 100000, &v))) {
            c->connections = (int)v;
        } else if (strcmp(a, "-b") == 0 && (ok = net_parse_num(val, 1, 16 * 1024 * 1024, &v))) {
            c->bytes = (int)v;
        } else if (strcmp(a, "-d") == 0 && (ok = net_parse_num(val, 1, 3600, &v))) {
            c->seconds = (int)v;
        } else if (strcmp(a, "-n") == 0 && (ok = net_parse_num(val, 1, 1000000000L, &v))) {
            c->messages = v;
        } else if (strcmp(a, "-P") == 0 && (ok = net_parse_num(val, 1, MAX_PIPELINE, &v))) {
            c->pipeline = (int)v;
        } else if (strcmp(a, "-T") == 0 && (ok = net_parse_num(val, 1, 64, &v))) {
            c->threads = (int)v;
        } else {
            fprintf(stderr, "bench: bad or unknown argument: %s%s%s\n", a, val && !ok ? " " : "",
                    val && !ok ? val : "");
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (c->connections == 0) {
        fprintf(stderr, "bench: -c CONNECTIONS is required\n");
        usage(stderr);
        return 2;
    }
    return -1; /* go on */
}

int bench_main(int argc, char **argv)
{
    struct bench_config c;
    struct bench_result r;
    int rc = bench_parse(argc, argv, &c, bench_usage);
    if (rc != -1)
        return rc;
    if (bench_run(&c, &r) != 0)
        return 1;
    bench_print(&c, &r);
    bench_result_free(&r);
    return (r.err_mismatch || r.err_reset || r.err_closed || r.err_timeout || r.err_other) ? 1 : 0;
}
