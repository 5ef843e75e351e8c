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
 * Every dummy lives in this one process on one completion port; past the
 * ~16k ephemeral ports of one source address they spread over 127.0.0.x
 * source addresses (loopback only).
 */
#include "client.h"
#include "game_net.h"
#include <mswsock.h>
#include <process.h>

#define DELAY_SLOW_MS 100
#define DELAY_LIMIT_MS 150
#define RAMP_FAST_MS 50
#define RAMP_SLOW_MS 500
#define PER_SOURCE 10000   /* dummies per 127.0.0.x source address */
#define SAMPLES 4096       /* the running median's window */

enum dstate { D_FREE, D_CONNECTING, D_LOGGING_IN, D_ACTIVE, D_CLOSING };

struct dummy;

struct sop {
    WSAOVERLAPPED ov;
    int kind; /* 0 connect, 1 recv, 2 send */
    WSABUF wb;
    struct dummy *d;
};

struct dummy {
    SOCKET s;
    int index;
    CRITICAL_SECTION lock;
    enum dstate state;
    int pending;
    int id;                       /* the server's id, once logged in */
    ULONGLONG next_move_ms;
    struct game_rx rx;            /* reassembly */
    char rbuf[4096];
    char sbuf[1024];              /* what is waiting to be sent */
    int slen, sbusy;              /* bytes waiting; bytes in flight */
    char inflight[1024];
    struct sop cop, rop, wop;
};

static struct dummy *dummies;
static int max_dummies;
static HANDLE port;
static LPFN_CONNECTEX connect_ex;
static struct sockaddr_in server_addr;
static int loopback;
static LONGLONG qpc_freq;

static volatile LONG active, connecting;
static volatile LONG pkts_in, pkts_out, failures, logins_failed;
static CRITICAL_SECTION samples_lock;
static unsigned int samples[SAMPLES];
static unsigned long long nsamples;

static unsigned int now_ms32(void)
{
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return (unsigned int)((unsigned long long)t.QuadPart * 1000ull / (unsigned long long)qpc_freq);
}

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
 * Dummy I/O (c->lock held)
 * --------------------------------------------------------------------- */

static void dummy_close(struct dummy *d)
{
    if (d->state != D_CLOSING && d->state != D_FREE) {
        if (d->state == D_ACTIVE)
            InterlockedDecrement(&active);
        if (d->state == D_CONNECTING || d->state == D_LOGGING_IN)
            InterlockedDecrement(&connecting);
        d->state = D_CLOSING;
        closesocket(d->s);
        d->s = INVALID_SOCKET;
    }
}

static void maybe_free(struct dummy *d)
{
    if (d->state == D_CLOSING && d->pending == 0)
        d->state = D_FREE;
}

static void flush_send(struct dummy *d)
{
    if (d->sbusy || d->slen == 0 || d->state == D_CLOSING)
        return;
    memcpy(d->inflight, d->sbuf, (size_t)d->slen);
    d->sbusy = d->slen;
    d->slen = 0;
    memset(&d->wop.ov, 0, sizeof d->wop.ov);
    d->wop.wb.buf = d->inflight;
    d->wop.wb.len = (ULONG)d->sbusy;
    d->pending++;
    if (WSASend(d->s, &d->wop.wb, 1, NULL, 0, &d->wop.ov, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        d->pending--;
        d->sbusy = 0;
        InterlockedIncrement(&failures);
        dummy_close(d);
    }
}

static void queue_packet(struct dummy *d, const void *pkt, int len)
{
    if (d->slen + len > (int)sizeof d->sbuf) {
        /* A dummy whose sends do not drain: the server is not reading. */
        InterlockedIncrement(&failures);
        dummy_close(d);
        return;
    }
    memcpy(d->sbuf + d->slen, pkt, (size_t)len);
    d->slen += len;
    InterlockedIncrement(&pkts_out);
    flush_send(d);
}

static void post_recv(struct dummy *d)
{
    DWORD flags = 0;
    memset(&d->rop.ov, 0, sizeof d->rop.ov);
    d->rop.wb.buf = d->rbuf;
    d->rop.wb.len = (ULONG)sizeof d->rbuf;
    d->pending++;
    if (WSARecv(d->s, &d->rop.wb, 1, NULL, &flags, &d->rop.ov, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        d->pending--;
        InterlockedIncrement(&failures);
        dummy_close(d);
    }
}

static void on_packet(struct dummy *d, const unsigned char *p)
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
        queue_packet(d, tp, 2);
        d->next_move_ms = GetTickCount64() + (ULONGLONG)(rand() % 1000);
        break;
    }
    case SC_MOVE_OBJECT:
        if (game_get_i32(p + 2) == d->id) {
            unsigned int sent = game_get_u32(p + 10);
            unsigned int now = now_ms32();
            /* unsigned subtraction: right across the 32-bit wrap */
            unsigned int delay = now - sent;
            if (sent != 0 && delay < 600000u) /* 0: our teleport's answer */
                add_sample(delay);
        }
        break;
    case SC_LOGIN_FAIL:
        InterlockedIncrement(&logins_failed);
        dummy_close(d);
        break;
    case SC_ADD_OBJECT:
    case SC_REMOVE_OBJECT:
    case SC_CHAT:
        break;
    default:
        /* The course's stress test stops at any other type; we count it. */
        InterlockedIncrement(&failures);
        dummy_close(d);
        break;
    }
}

static void on_recv(struct dummy *d, DWORD n)
{
    const unsigned char *pkt;
    int err = 0;
    if (game_rx_push(&d->rx, d->rbuf, n) != 0)
        err = 1;
    while (!err && d->state != D_CLOSING && (pkt = game_rx_next(&d->rx, &err)) != NULL)
        on_packet(d, pkt);
    if (err) {
        InterlockedIncrement(&failures);
        dummy_close(d);
    }
    if (d->state != D_CLOSING)
        post_recv(d);
}

static void on_connected(struct dummy *d)
{
    unsigned char login[CS_LOGIN_SIZE];
    char name[32];
    setsockopt(d->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0);
    snprintf(name, sizeof name, "dummy%d", d->index);
    game_make_login(login, name);
    d->state = D_LOGGING_IN;
    post_recv(d);
    queue_packet(d, login, CS_LOGIN_SIZE);
}

static unsigned __stdcall worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        DWORD n = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(port, &n, &key, &ov, INFINITE);
        if (ov == NULL) {
            if (!ok)
                continue;
            return 0; /* shutdown packet */
        }
        struct sop *op = CONTAINING_RECORD(ov, struct sop, ov);
        struct dummy *d = op->d;
        EnterCriticalSection(&d->lock);
        d->pending--;
        if (!ok || (op->kind == 1 && n == 0)) {
            if (d->state != D_CLOSING)
                InterlockedIncrement(&failures); /* refused, reset or closed */
            dummy_close(d);
        } else if (d->state == D_CLOSING) {
            /* completed after we closed: nothing to do */
        } else if (op->kind == 0) {
            on_connected(d);
        } else if (op->kind == 1) {
            on_recv(d, n);
        } else {
            d->sbusy = 0;
            if (n < (DWORD)d->wop.wb.len) { /* short send: resend the rest first */
                int rest = (int)d->wop.wb.len - (int)n;
                memmove(d->sbuf + rest, d->sbuf, (size_t)d->slen);
                memcpy(d->sbuf, d->inflight + n, (size_t)rest);
                d->slen += rest;
            }
            flush_send(d);
        }
        maybe_free(d);
        LeaveCriticalSection(&d->lock);
    }
}

/* Starts one dummy in a free slot. Returns 0 or -1. */
static int dummy_start(void)
{
    static int hint; /* main thread only: where the last free slot was */
    struct dummy *d = NULL;
    for (int k = 0; k < max_dummies && d == NULL; k++) {
        int i = (hint + k) % max_dummies;
        EnterCriticalSection(&dummies[i].lock);
        if (dummies[i].state == D_FREE) {
            d = &dummies[i];
            hint = i + 1;
        } else {
            LeaveCriticalSection(&dummies[i].lock);
        }
    }
    if (d == NULL)
        return -1;
    /* d->lock held */
    struct sockaddr_in local;
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = loopback ? htonl(0x7f000001u + (u_long)(d->index / PER_SOURCE)) : htonl(INADDR_ANY);
    d->s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (d->s == INVALID_SOCKET || bind(d->s, (struct sockaddr *)&local, sizeof local) == SOCKET_ERROR ||
        CreateIoCompletionPort((HANDLE)d->s, port, 0, 0) == NULL) {
        if (d->s != INVALID_SOCKET)
            closesocket(d->s);
        d->s = INVALID_SOCKET;
        InterlockedIncrement(&failures);
        LeaveCriticalSection(&d->lock);
        return -1;
    }
    int one = 1;
    setsockopt(d->s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    game_rx_init(&d->rx);
    d->id = -1;
    d->slen = d->sbusy = 0;
    d->pending = 0;
    d->state = D_CONNECTING;
    InterlockedIncrement(&connecting);
    memset(&d->cop.ov, 0, sizeof d->cop.ov);
    d->pending++;
    if (!connect_ex(d->s, (struct sockaddr *)&server_addr, sizeof server_addr, NULL, 0, NULL, &d->cop.ov) &&
        WSAGetLastError() != ERROR_IO_PENDING) {
        d->pending--;
        InterlockedIncrement(&failures);
        dummy_close(d);
        maybe_free(d);
    }
    LeaveCriticalSection(&d->lock);
    return 0;
}

/* Drops the active dummy with the highest index (the newest). */
static void dummy_drop(void)
{
    for (int i = max_dummies - 1; i >= 0; i--) {
        struct dummy *d = &dummies[i];
        EnterCriticalSection(&d->lock);
        if (d->state == D_ACTIVE) {
            unsigned char out[2];
            game_make_simple(out, CS_LOGOUT);
            queue_packet(d, out, 2);
            dummy_close(d);
            maybe_free(d);
            LeaveCriticalSection(&d->lock);
            return;
        }
        LeaveCriticalSection(&d->lock);
    }
}

/* Sends the moves that are due. Called by the main thread every tick. */
static void send_moves(void)
{
    ULONGLONG now = GetTickCount64();
    for (int i = 0; i < max_dummies; i++) {
        struct dummy *d = &dummies[i];
        EnterCriticalSection(&d->lock);
        if (d->state == D_ACTIVE && now >= d->next_move_ms) {
            unsigned char mv[CS_MOVE_SIZE];
            unsigned int t = now_ms32();
            game_make_move(mv, (unsigned char)(rand() % 4), t == 0 ? 1 : t);
            queue_packet(d, mv, CS_MOVE_SIZE);
            d->next_move_ms = now + 1000;
        }
        LeaveCriticalSection(&d->lock);
    }
}

static void stress_usage(FILE *f)
{
    fprintf(f, "usage: client.exe stress [-s HOST] [-p PORT] [--max N] [--duration S] [--fixed N] [-T THREADS]\n"
               "  The course's stress test for 10_game_server: dummies log in, teleport once, and\n"
               "  move once a second; the delay of each dummy's own move echo drives a ramp that\n"
               "  finds how many players the server holds at a median delay of 100-150 ms.\n"
               "  -s HOST        server (default 127.0.0.1)\n"
               "  -p PORT        port (default 4000)\n"
               "  --max N        never more than N dummies (default 20000)\n"
               "  --duration S   stop after S seconds (default: run until Ctrl+C)\n"
               "  --fixed N      hold N dummies (no ramp) and report the delay distribution\n"
               "  -T THREADS     completion-port threads (default 4)\n");
    fflush(f);
}

int stress_main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port_num = 4000, v, duration = 0, fixed = 0, threads = 4;
    LARGE_INTEGER f;
    max_dummies = 20000;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        int ok = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            stress_usage(stdout);
            return 0;
        }
        if (strcmp(a, "-s") == 0 && val != NULL) {
            host = val;
            ok = 1;
        } else if (strcmp(a, "-p") == 0) {
            ok = net_parse_num(val, 1, 65535, &port_num);
        } else if (strcmp(a, "--max") == 0 && (ok = net_parse_num(val, 1, 200000, &v))) {
            max_dummies = (int)v;
        } else if (strcmp(a, "--duration") == 0) {
            ok = net_parse_num(val, 1, 86400, &duration);
        } else if (strcmp(a, "--fixed") == 0) {
            ok = net_parse_num(val, 1, 200000, &fixed);
        } else if (strcmp(a, "-T") == 0) {
            ok = net_parse_num(val, 1, 64, &threads);
        }
        if (!ok) {
            fprintf(stderr, "stress: bad or unknown argument: %s\n", a);
            stress_usage(stderr);
            return 2;
        }
        i++;
    }
    if (fixed > max_dummies)
        max_dummies = (int)fixed;

    QueryPerformanceFrequency(&f);
    qpc_freq = f.QuadPart;
    srand((unsigned)GetTickCount());
    int err = net_resolve(host, (unsigned short)port_num, &server_addr);
    if (err != 0) {
        net_print_error("stress: getaddrinfo", err);
        return 1;
    }
    loopback = (ntohl(server_addr.sin_addr.s_addr) >> 24) == 127;

    /* ConnectEx is an extension function: asked for through WSAIoctl. */
    {
        GUID guid = WSAID_CONNECTEX;
        DWORD bytes = 0;
        SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (s == INVALID_SOCKET ||
            WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &connect_ex, sizeof connect_ex,
                     &bytes, NULL, NULL) == SOCKET_ERROR) {
            net_print_error("stress: WSAIoctl(ConnectEx)", WSAGetLastError());
            return 1;
        }
        closesocket(s);
    }

    dummies = calloc((size_t)max_dummies, sizeof *dummies);
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (dummies == NULL || port == NULL) {
        fprintf(stderr, "stress: out of memory\n");
        return 1;
    }
    InitializeCriticalSection(&samples_lock);
    for (int i = 0; i < max_dummies; i++) {
        struct dummy *d = &dummies[i];
        d->index = i;
        d->s = INVALID_SOCKET;
        d->state = D_FREE;
        d->cop.kind = 0;
        d->rop.kind = 1;
        d->wop.kind = 2;
        d->cop.d = d->rop.d = d->wop.d = d;
        InitializeCriticalSection(&d->lock);
    }
    HANDLE *th = calloc((size_t)threads, sizeof *th);
    for (long i = 0; th != NULL && i < threads; i++) {
        th[i] = (HANDLE)_beginthreadex(NULL, 0, worker_main, NULL, 0, NULL);
        if (th[i] == NULL) {
            fprintf(stderr, "stress: cannot start worker threads\n");
            return 1;
        }
    }
    if (th == NULL)
        return 1;

    printf("stress: %s:%ld, %s\n", host, port_num, fixed ? "fixed number of dummies" : "ramp");
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
                   (now - t0) / 1000, (long)active, (long)connecting, delay, have, (double)(in - last_in) / secs,
                   (double)(out - last_out) / secs, (long)failures);
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
        printf("stress: result: limit %ld dummies (median delay passed %d ms), failures %ld\n", limit,
               DELAY_LIMIT_MS, (long)failures);
    else
        printf("stress: result: no limit reached: %ld dummies at median delay %u ms, failures %ld\n",
               (long)active, p50, (long)failures);
    fflush(stdout);

    /* Close every dummy, let the aborted operations complete, stop. */
    for (int i = 0; i < max_dummies; i++) {
        EnterCriticalSection(&dummies[i].lock);
        dummy_close(&dummies[i]);
        maybe_free(&dummies[i]);
        LeaveCriticalSection(&dummies[i].lock);
    }
    for (int tries = 0; tries < 100; tries++) {
        int busy = 0;
        for (int i = 0; i < max_dummies && !busy; i++)
            busy = dummies[i].state != D_FREE;
        if (!busy)
            break;
        Sleep(50); /* the aborted completions arrive on the workers */
    }
    for (long i = 0; i < threads; i++)
        PostQueuedCompletionStatus(port, 0, 0, NULL);
    WaitForMultipleObjects((DWORD)threads, th, TRUE, 10000);
    return failures > 0 && fixed ? 1 : 0;
}
