/*
 * native_echo.c - a native Linux epoll echo server: the reactor beside the
 * lab's Windows servers, and the row `client.exe compare` adds under Wine
 * to show what this machine does without Wine on the server's side.
 *
 *   build/native_echo [-p PORT] [-a ADDR] [-e] [-q] [-S MS] [-h]
 *
 * The echo servers' command line (-p, -a, -q, -h, the "listening on" ready
 * line), plus:
 *   -e     edge-triggered (EPOLLET): epoll reports a socket once per change
 *          of state, so every wake-up reads until EAGAIN (what is left
 *          unread would never be reported again), and writes until EAGAIN;
 *          without -e level-triggered: reported as long as data is waiting,
 *          one read per wake-up is enough.
 *   -S MS  every MS ms one line "stats: t_ms cpu_ms threads ws_kb ws_peak_kb",
 *          as tools/lab.h prints for the Windows servers (compare reads it).
 *
 * epoll is a reactor: it says a socket is READY, and the program then makes
 * the call (read, write) itself. IOCP (09_iocp) is a proactor: the program
 * hands over the operation and a buffer, and is told when it is DONE.
 * docs/models.md compares the two; docs/comparison.md has the figures.
 *
 * Built by the GNU Makefile with the host's cc on Linux only (not a Windows
 * program): cc -O2 -Wall -Wextra -Werror -o build/native_echo tools/native_echo.c
 * One thread, non-blocking sockets, a buffer per connection; while an echo
 * cannot be written out, the connection stops reading (back-pressure, as
 * the Windows steps do).
 */
#ifdef __linux__
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384

struct conn {
    int fd;
    long id;
    size_t len, off; /* bytes in buf; bytes of them written back */
    char buf[BUF_SIZE];
};

static int edge, quiet, stats_ms;
static int ep;
static long conn_ids;
static unsigned long long bytes_echoed;
static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
    fprintf(f, "usage: native_echo [-p PORT] [-a ADDR] [-e] [-q] [-S MS] [-h]\n"
               "  -p PORT  TCP port, 1..65535 (default 40100)\n"
               "  -a ADDR  IPv4 address to listen on (default 0.0.0.0)\n"
               "  -e       edge-triggered epoll (read and write until EAGAIN)\n"
               "  -q       quiet: no line per message\n"
               "  -S MS    a stats line every MS ms (for client.exe compare)\n"
               "  -h       this help\n");
}

static long num(const char *s, long lo, long hi)
{
    char *end;
    long v;
    if (s == NULL || *s == '\0')
        return -1;
    v = strtol(s, &end, 10);
    return (*end != '\0' || v < lo || v > hi) ? -1 : v;
}

/* Peak and current resident set from /proc/self/status (VmHWM, VmRSS). */
static void memory_kb(long *rss, long *peak)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *rss = *peak = 0;
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = atol(line + 6);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *peak = atol(line + 6);
    }
    fclose(f);
}

static void *stats_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct rusage ru;
        struct timespec now;
        long rss, peak;
        /* RUSAGE_SELF counts every thread; this one costs next to nothing */
        getrusage(RUSAGE_SELF, &ru);
        clock_gettime(CLOCK_MONOTONIC, &now);
        memory_kb(&rss, &peak);
        long long cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
                           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
        printf("stats: t_ms=%lld cpu_ms=%lld threads=1 ws_kb=%ld ws_peak_kb=%ld\n",
               now.tv_sec * 1000LL + now.tv_nsec / 1000000, cpu_ms, rss, peak);
        fflush(stdout);
        usleep((useconds_t)stats_ms * 1000);
    }
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void conn_close(struct conn *c)
{
    if (!quiet)
        printf("conn %ld: closed\n", c->id);
    close(c->fd); /* closing removes it from the epoll set */
    free(c);
}

/* Writes what is owed. Returns 0 when all of it is out, 1 when the socket
 * is full (EAGAIN: wait for EPOLLOUT), -1 when the peer is gone. */
static int flush_echo(struct conn *c)
{
    while (c->off < c->len) {
        ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
        if (w < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 1 : -1;
        c->off += (size_t)w;
        bytes_echoed += (unsigned long long)w;
    }
    c->len = c->off = 0;
    return 0;
}

static void watch(struct conn *c, unsigned events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events | (edge ? EPOLLET : 0);
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Reads and echoes. Level-triggered: one read per wake-up, epoll reports
 * the socket again if more is waiting. Edge-triggered: until EAGAIN, since
 * nothing more will be reported for data already there. */
static void on_ready(struct conn *c, unsigned events)
{
    if (c->len > 0) { /* an echo was waiting for room */
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int f = flush_echo(c);
        if (f < 0) {
            conn_close(c);
            return;
        }
        if (f > 0)
            return;        /* still full: EPOLLOUT again */
        watch(c, EPOLLIN); /* out: read again */
    }
    do {
        ssize_t r = read(c->fd, c->buf, sizeof c->buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            conn_close(c);
            return;
        }
        if (r < 0)
            return; /* EAGAIN: all read */
        if (!quiet)
            printf("conn %ld: %zd bytes\n", c->id, r);
        c->len = (size_t)r;
        c->off = 0;
        int f = flush_echo(c);
        if (f < 0) {
            conn_close(c);
            return;
        }
        if (f > 0) {
            watch(c, EPOLLOUT); /* stop reading until the echo is out */
            return;
        }
    } while (edge);
}

static void on_accept(int lfd)
{
    int one = 1, fd;
    /* both modes: accept until EAGAIN (the listener is edge-triggered too with -e) */
    while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        struct conn *c = calloc(1, sizeof *c);
        struct epoll_event ev;
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->id = ++conn_ids;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN | (edge ? EPOLLET : 0);
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        if (!quiet)
            printf("conn %ld: accepted\n", c->id);
    }
}

int main(int argc, char **argv)
{
    const char *addr = "0.0.0.0";
    long port = 40100;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long v = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-e") == 0) {
            edge = 1;
        } else if (strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "-p") == 0 && (v = num(val, 1, 65535)) > 0) {
            port = v;
            i++;
        } else if (strcmp(a, "-S") == 0 && (v = num(val, 10, 60000)) > 0) {
            stats_ms = (int)v;
            i++;
        } else if (strcmp(a, "-a") == 0 && val != NULL) {
            addr = val;
            i++;
        } else {
            fprintf(stderr, "native_echo: bad or unknown argument: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "native_echo: -a needs a dotted IPv4 address: %s\n", addr);
        usage(stderr);
        return 2;
    }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, SOMAXCONN) < 0) {
        fprintf(stderr, "native_echo: bind/listen failed: %d %s\n", errno, strerror(errno));
        return 1;
    }
    ep = epoll_create1(0);
    struct epoll_event lev;
    memset(&lev, 0, sizeof lev);
    lev.events = EPOLLIN | (edge ? EPOLLET : 0);
    lev.data.ptr = NULL; /* NULL: the listener */
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        fprintf(stderr, "native_echo: epoll failed: %d %s\n", errno, strerror(errno));
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN); /* a write to a reset peer: EPIPE, not death */
    printf("native_echo: listening on %s:%ld (%s-triggered epoll)\n", addr, port,
           edge ? "edge" : "level");
    fflush(stdout);
    if (stats_ms > 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, stats_main, NULL) == 0)
            pthread_detach(t);
    }
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno == EINTR)
            continue;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                on_accept(lfd);
            else
                on_ready(evs[i].data.ptr, evs[i].events);
        }
        if (!quiet)
            fflush(stdout);
    }
    printf("stopped: %ld connections served, %llu bytes echoed\n", conn_ids, bytes_echoed);
    return 0;
}
#else
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "native_echo: Linux only (epoll)\n");
    return 1;
}
#endif
