/*
 * native_bench.c - a native Linux load generator, to measure the lab's own
 * generator (client.exe bench, under Wine) against: the same load, no Wine
 * on the generator's side.
 *
 *   build/native_bench -p PORT [-c CONNECTIONS] [-b BYTES] [-d SECONDS] [-H HOLD_MS]
 *
 * Loopback only (127.0.0.1). Every connection sends a message of BYTES,
 * waits for the whole echo, checks it, and sends the next (ping-pong, as
 * client.exe bench with -P 1). One thread, epoll. At the end of the
 * interval it prints
 *   native_bench: C connections, N messages in S s = R msgs/s, E errors
 *   result: established=N refused=N served=N messages=N seconds=S p50_ms=..
 * (the second for client.exe compare, which uses it as its generator under
 * Wine), then with -H keeps every connection open and silent for HOLD_MS
 * (compare measures the idle server meanwhile), then "native_bench: done".
 * Bounded in time: connecting gives up after 3 s, the warm-up (a first
 * echo on every connection) after 5 s, the run ends after SECONDS plus
 * HOLD_MS, whatever the server does.
 *
 * docs/comparison.md says how the two generators were compared.
 * Built by the GNU Makefile with the host's cc on Linux only.
 */
#ifdef __linux__
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct bconn {
    int fd;
    int open;   /* connected and not closed */
    size_t got; /* bytes of the current echo received */
    long msgs;  /* echoes completed inside the interval */
    double sent; /* when the message in flight was sent */
    int warm;    /* its warm-up echo came back */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Reads what `b` has of its echo. -1: the server closed or reset it (b is
 * out of epoll and no longer open); 0: nothing, or part of the echo; 1:
 * the whole echo is in (b->got back to 0). A byte that differs from what
 * was sent counts in *mismatch. */
static int read_echo(int ep, struct bconn *b, char *buf, const char *msg, long bytes,
                     long *mismatch)
{
    ssize_t r = read(b->fd, buf, (size_t)bytes - b->got);
    if (r <= 0) {
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            return 0;
        epoll_ctl(ep, EPOLL_CTL_DEL, b->fd, NULL);
        b->open = 0;
        return -1;
    }
    if (memcmp(buf, msg + b->got, (size_t)r) != 0)
        (*mismatch)++;
    b->got += (size_t)r;
    if (b->got < (size_t)bytes)
        return 0;
    b->got = 0;
    return 1;
}

static double percentile(const double *v, long n, double p)
{
    if (n == 0)
        return 0;
    long k = (long)((double)n * p / 100.0);
    return v[k >= n ? n - 1 : k];
}

int main(int argc, char **argv)
{
    long port = 0, conns = 64, bytes = 64, seconds = 5, hold_ms = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = atol(argv[i + 1]);
        if (strcmp(argv[i], "-p") == 0 && v > 0 && v < 65536)
            port = v;
        else if (strcmp(argv[i], "-c") == 0 && v > 0 && v <= 10000)
            conns = v;
        else if (strcmp(argv[i], "-b") == 0 && v > 0 && v <= 4096)
            bytes = v;
        else if (strcmp(argv[i], "-d") == 0 && v > 0 && v <= 600)
            seconds = v;
        else if (strcmp(argv[i], "-H") == 0 && v >= 0 && v <= 60000)
            hold_ms = v;
        else
            port = 0;
    }
    if (port == 0) {
        fprintf(stderr, "usage: native_bench -p PORT [-c CONNECTIONS] [-b BYTES<=4096] "
                        "[-d SECONDS] [-H HOLD_MS]\n");
        return 2;
    }
    char msg[4096], buf[4096];
    for (long k = 0; k < bytes; k++)
        msg[k] = (char)('a' + k % 26);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct bconn *c = calloc((size_t)conns, sizeof *c);
    long rtt_cap = 1 << 16, nrtt = 0;
    double *rtt = malloc((size_t)rtt_cap * sizeof *rtt);
    int ep = epoll_create1(0);
    int one = 1;
    long mismatch = 0, closed = 0, timeouts = 0, established = 0, total = 0;
    struct epoll_event evs[256];
    if (c == NULL || rtt == NULL || ep < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);

    /* Connect: non-blocking, all at once, 3 s at most (a server that does
     * not accept leaves connections in its backlog: those count as
     * established, as for client.exe bench; refused ones do not). */
    long pending = 0;
    for (long i = 0; i < conns; i++) {
        c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c[i].fd < 0)
            continue;
        if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
            close(c[i].fd);
            c[i].fd = -1;
            continue;
        }
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &c[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
        pending++;
    }
    double limit = now_s() + 3.0;
    while (pending > 0 && now_s() < limit) {
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            struct bconn *b = evs[k].data.ptr;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            pending--;
            if (err != 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, b->fd, NULL);
                close(b->fd);
                b->fd = -1;
                continue;
            }
            b->open = 1;
            established++;
            setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = b};
            epoll_ctl(ep, EPOLL_CTL_MOD, b->fd, &ev);
        }
    }

    /* Warm-up: one message on every connection, and up to 5 s for the
     * first echoes. A native connect completes in the kernel at once, while
     * a server under Wine may still be accepting the last connections
     * seconds later: measured at once, the interval would show its accept
     * rate, not its serving. A connection that gets no first echo (01's
     * backlog) simply goes on waiting into the interval. */
    double warm_end = now_s() + 5.0;
    long waiting = 0;
    for (long i = 0; i < conns; i++)
        if (c[i].open) {
            if (write(c[i].fd, msg, (size_t)bytes) != bytes) /* 64 bytes: room in any socket */
                c[i].open = 0;
            else
                waiting++;
        }
    while (waiting > 0 && now_s() < warm_end) {
        int n = epoll_wait(ep, evs, 256, 50);
        for (int k = 0; k < n; k++) {
            struct bconn *b = evs[k].data.ptr;
            int got = read_echo(ep, b, buf, msg, bytes, &mismatch);
            if (got < 0)
                closed++;
            else if (got > 0)
                b->warm = 1;
            if (got != 0)
                waiting--;
        }
    }

    /* The loaded interval: ping-pong on every open connection. */
    double t0 = now_s(), end = t0 + (double)seconds;
    for (long i = 0; i < conns; i++)
        if (c[i].open) {
            c[i].sent = t0;
            if (!c[i].warm)
                continue; /* its first message is still out */
            if (write(c[i].fd, msg, (size_t)bytes) != bytes)
                c[i].open = 0;
        }
    int sending = 1;
    double hold_end = 0;
    for (;;) {
        double t = now_s();
        if (sending && t >= end) {
            /* the interval is over: report, then (with -H) hold every
             * connection open and silent while the server is watched */
            double secs = t - t0, sum = 0;
            long served = 0, least = -1;
            for (long i = 0; i < conns; i++) {
                if (c[i].open && t - c[i].sent > 5.0)
                    timeouts++; /* still waiting for an echo after 5 s */
                if (c[i].msgs == 0)
                    continue;
                served++;
                sum += (double)c[i].msgs;
                if (least < 0 || c[i].msgs < least)
                    least = c[i].msgs;
            }
            qsort(rtt, (size_t)nrtt, sizeof *rtt, cmp_double);
            printf("native_bench: %ld connections, %ld messages in %.2f s = %.0f msgs/s, "
                   "%ld errors\n",
                   established, total, secs, (double)total / secs, mismatch + closed);
            printf("result: established=%ld refused=%ld served=%ld messages=%ld seconds=%.3f "
                   "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f slowest_share=%.3f "
                   "mismatch=%ld closed=%ld timeout=%ld\n",
                   established, conns - established, served, total, secs,
                   percentile(rtt, nrtt, 50) * 1000, percentile(rtt, nrtt, 90) * 1000,
                   percentile(rtt, nrtt, 99) * 1000, nrtt ? rtt[nrtt - 1] * 1000 : 0,
                   served ? (double)least * (double)served / sum : 0, mismatch, closed, timeouts);
            fflush(stdout);
            sending = 0;
            hold_end = t + (double)hold_ms / 1000.0;
        }
        if (!sending && t >= hold_end)
            break;
        int n = epoll_wait(ep, evs, 256, 50);
        for (int k = 0; k < n; k++) {
            struct bconn *b = evs[k].data.ptr;
            int got = read_echo(ep, b, buf, msg, bytes, &mismatch);
            if (got < 0 && sending)
                closed++; /* closed or reset by the server */
            if (got <= 0)
                continue;
            if (!sending)
                continue; /* holding: the echoes in flight come back, nothing more goes out */
            double now = now_s();
            b->msgs++;
            total++;
            if (nrtt == rtt_cap) {
                double *more = realloc(rtt, (size_t)rtt_cap * 2 * sizeof *rtt);
                if (more != NULL) {
                    rtt = more;
                    rtt_cap *= 2;
                }
            }
            if (nrtt < rtt_cap && b->warm) /* not the warm-up message: it waited longer */
                rtt[nrtt++] = now - b->sent;
            b->warm = 1;
            b->sent = now;
            if (write(b->fd, msg, (size_t)bytes) != bytes)
                b->open = 0;
        }
    }
    for (long i = 0; i < conns; i++)
        if (c[i].fd >= 0)
            close(c[i].fd);
    printf("native_bench: done\n");
    free(c);
    free(rtt);
    return 0;
}
#else
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "native_bench: Linux only (epoll)\n");
    return 1;
}
#endif
