/*
 * game_load.c - a native Linux load generator for 10_game_server: the
 * course's stress-test method, without Wine on the client side.
 *
 *   build/game_load [-s 127.0.0.1] [-p 4000] [-n MAX] [-r PER_SEC] [-d SECONDS]
 *                   [--fixed N] [-w SECONDS] [--limit MS]
 *
 * Each bot connects, logs in (CS_LOGIN), teleports once (CS_TELEPORT, so
 * that the bots do not crowd the spawn area), then sends one CS_MOVE a
 * second in a random direction, with move_time = the time it sent the
 * move (milliseconds since the tool started). The server echoes the
 * move_time in the mover's own SC_MOVE_OBJECT; the time from sending to
 * that echo, server queueing included, is the delay measured. Every other
 * packet is read and thrown away, as fast as it comes: a bot that stopped
 * reading would fill the server's send queue and be cut off, and its
 * delays would measure the bot, not the server.
 *
 * Why native: `client.exe stress` runs under Wine, where every socket call
 * is a round trip to a wineserver, so on one machine the generator
 * competes with the server for the same processors and the same kind of
 * trip. This program costs a few percent of one processor at 4,000 bots:
 * one thread, epoll, non-blocking sockets, packets reassembled per bot.
 *
 * Two modes:
 *   --fixed N   start N bots at -r bots a second, hold them for -d seconds
 *               once all are logged in (or once starting them has had its
 *               time) and -w more seconds have passed, and report the
 *               delay distribution of that hold: the warm-up keeps out the
 *               burst of logins, teleports and NPCs waking up;
 *   (default)   the ramp: add bots at -r a second up to -n, and stop when
 *               the median delay of the recent moves has stayed above
 *               --limit ms for 3 seconds in a row; the limit is the count of
 *               bots logged in when it first passed. -d bounds the run.
 * Disconnected bots are not replaced: they are counted.
 *
 * Exit status: 0; in fixed mode 1 when, at the end, not every bot is
 * logged in, or one was disconnected, or one never got a move of its own
 * back (no timing in that: tools/game_load_check.sh uses it); 2 for a bad
 * command line.
 *
 * Loopback only: it opens thousands of connections, and refuses any
 * server address outside 127.0.0.0/8. It raises its own open-file limit.
 *
 * Build: `make` builds it into build/game_load on Linux with the host cc
 * (a GNU Makefile rule; Makefile.nmake has no such target: it is a Linux
 * tool), or alone: cc -std=c11 -O2 -Wall -Wextra -o build/game_load tools/game_load.c
 * How it was used, and the figures: docs/capacity.md.
 */
#ifdef __linux__
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../10_game_server/protocol.h"

#define DURATION_MAX 3600  /* seconds: the run always ends by itself */
#define WINDOW 4096        /* the ramp's running window of recent delays */
#define LIMIT_SECONDS 3    /* the ramp stops after this many seconds above --limit */
#define TICK_MS 10         /* how often due moves are sent and bots started */
#define RBUF 8192          /* a bot's receive buffer: many packets per read */

enum bot_state { B_FREE, B_CONNECTING, B_LOGGING_IN, B_IN_GAME, B_CLOSED };

struct bot {
    int fd;
    enum bot_state state;
    int32_t id;              /* the server's id for this bot, once logged in */
    uint64_t next_move_ms;
    long moves_back;         /* own moves echoed */
    size_t rlen;             /* bytes of an unfinished packet kept in rbuf */
    unsigned char rbuf[RBUF];
};

/* A growable array of delays, in ms. */
struct samples {
    uint32_t *v;
    size_t n, cap;
};

static struct bot *bots;
static int nbots_max, nstarted;
static struct sockaddr_in server;
static struct timespec t_start;
static volatile sig_atomic_t stop_requested;

/* Counters: cumulative, printed as they are and as rates per second. */
static long n_connected, n_logged_in, n_disconnects, n_refused, n_connect_failed;
static long n_bad_packets, n_send_short, n_closed;
static unsigned long long bytes_in, pkts_in, moves_sent;

static struct samples sec_samples;  /* this second's delays */
static struct samples hold_samples; /* the fixed mode's hold, or the whole ramp */
static uint32_t window[WINDOW];     /* the ramp's recent delays (a ring) */
static size_t window_n, window_next;

/* Milliseconds since the start, from 1: move_time 0 is the teleport's echo. */
static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t ms = (int64_t)(t.tv_sec - t_start.tv_sec) * 1000 +
                 (int64_t)(t.tv_nsec - t_start.tv_nsec) / 1000000;
    return (uint64_t)ms + 1;
}

static void samples_add(struct samples *s, uint32_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint32_t *nv = realloc(s->v, cap * sizeof *nv);
        if (nv == NULL)
            return; /* out of memory: lose the sample, not the run */
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of n values, sorted in place. */
static uint32_t percentile(uint32_t *v, size_t n, int p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u32);
    size_t rank = (n * (size_t)p + 99) / 100;
    return v[rank == 0 ? 0 : rank - 1];
}

static uint32_t window_median(void)
{
    static uint32_t copy[WINDOW];
    memcpy(copy, window, window_n * sizeof *copy);
    return percentile(copy, window_n, 50);
}

/* ---------------------------------------------------------------- bots */

static void bot_close(struct bot *b, int counted_as_disconnect)
{
    if (b->fd >= 0)
        close(b->fd); /* close also takes it out of the epoll set */
    b->fd = -1;
    if (counted_as_disconnect)
        n_disconnects++;
    if (b->state == B_IN_GAME)
        n_logged_in--;
    if (b->state == B_LOGGING_IN || b->state == B_IN_GAME)
        n_connected--;
    if (b->state != B_CLOSED)
        n_closed++;
    b->state = B_CLOSED;
}

/* The bots send little (22, 2 and 7 bytes, one move a second) into a
 * socket buffer that is empty, so a short send means the server stopped
 * reading for a long time: it is counted and the packet dropped, rather
 * than queued, so that the figure shows it. */
static void bot_send(struct bot *b, const void *p, size_t len)
{
    ssize_t r = send(b->fd, p, len, MSG_NOSIGNAL);
    if (r == (ssize_t)len)
        return;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        bot_close(b, 1);
        return;
    }
    n_send_short++;
}

static int bot_start(int ep)
{
    struct bot *b = &bots[nstarted];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        perror("game_load: socket");
        return -1;
    }
    int one = 1;
    /* The server sets TCP_NODELAY too: a 7-byte move must not wait for
     * the acknowledgement of the previous one (Nagle). */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    b->fd = fd;
    b->state = B_CONNECTING;
    b->id = -1;
    b->rlen = 0;
    nstarted++;
    if (connect(fd, (struct sockaddr *)&server, sizeof server) < 0 && errno != EINPROGRESS) {
        n_connect_failed++;
        bot_close(b, 0);
        return 0;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = b};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static void bot_connected(int ep, struct bot *b)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        n_connect_failed++;
        bot_close(b, 0);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = b};
    epoll_ctl(ep, EPOLL_CTL_MOD, b->fd, &ev);
    b->state = B_LOGGING_IN;
    n_connected++;
    CS_LOGIN_PACKET p;
    memset(&p, 0, sizeof p);
    p.size = sizeof p;
    p.type = CS_LOGIN;
    snprintf(p.name, sizeof p.name, "load%d", (int)(b - bots));
    bot_send(b, &p, sizeof p);
}

static void on_packet(struct bot *b, const unsigned char *p, uint64_t now)
{
    pkts_in++;
    if (p[1] == SC_LOGIN_INFO && p[0] == sizeof(SC_LOGIN_INFO_PACKET) &&
        b->state == B_LOGGING_IN) {
        SC_LOGIN_INFO_PACKET li;
        memcpy(&li, p, sizeof li);
        b->id = li.id;
        b->state = B_IN_GAME;
        n_logged_in++;
        CS_TELEPORT_PACKET t = {sizeof t, CS_TELEPORT};
        bot_send(b, &t, sizeof t);
        /* Spread the bots' moves over the second, not all on one tick. */
        b->next_move_ms = now + 1 + (uint64_t)(rand() % 1000);
    } else if (p[1] == SC_LOGIN_FAIL) {
        n_refused++;
        bot_close(b, 0);
    } else if (p[1] == SC_MOVE_OBJECT && p[0] == sizeof(SC_MOVE_OBJECT_PACKET)) {
        SC_MOVE_OBJECT_PACKET m;
        memcpy(&m, p, sizeof m);
        /* move_time 0 is the teleport's echo (the bots' clock starts at 1). */
        if (m.id == b->id && m.move_time != 0) {
            b->moves_back++;
            uint32_t d = (uint32_t)now - m.move_time;
            samples_add(&sec_samples, d);
            samples_add(&hold_samples, d);
            window[window_next] = d;
            window_next = (window_next + 1) % WINDOW;
            if (window_n < WINDOW)
                window_n++;
        }
    }
}

/* Read until the socket is empty, taking out whole packets by their size
 * byte; an unfinished one is moved to the front of the buffer. */
static void bot_readable(struct bot *b)
{
    for (;;) {
        ssize_t r = recv(b->fd, b->rbuf + b->rlen, RBUF - b->rlen, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            bot_close(b, 1); /* end of stream or reset: the server dropped us */
            return;
        }
        bytes_in += (unsigned long long)r;
        uint64_t now = now_ms();
        size_t len = b->rlen + (size_t)r, off = 0;
        while (len - off >= 2 && len - off >= b->rbuf[off]) {
            if (b->rbuf[off] < 2) {
                n_bad_packets++;
                bot_close(b, 1);
                return;
            }
            on_packet(b, b->rbuf + off, now);
            if (b->state == B_CLOSED)
                return;
            off += b->rbuf[off];
        }
        memmove(b->rbuf, b->rbuf + off, len - off);
        b->rlen = len - off;
    }
}

static void send_due_moves(uint64_t now)
{
    for (int i = 0; i < nstarted; i++) {
        struct bot *b = &bots[i];
        if (b->state != B_IN_GAME || now < b->next_move_ms)
            continue;
        CS_MOVE_PACKET m;
        m.size = sizeof m;
        m.type = CS_MOVE;
        m.direction = (int8_t)(rand() % 4);
        m.move_time = (uint32_t)now;
        b->next_move_ms += 1000;
        if (b->next_move_ms <= now) /* we fell behind: do not send a burst */
            b->next_move_ms = now + 1000;
        moves_sent++;
        bot_send(b, &m, sizeof m);
    }
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: game_load [-s 127.x.x.x] [-p PORT] [-n MAX] [-r PER_SEC] [-d SECONDS]\n"
            "                 [--fixed N] [-w SECONDS] [--limit MS]\n"
            "  Native load generator for 10_game_server: bots log in, teleport once and move\n"
            "  once a second; the delay of each bot's own echoed move is measured.\n"
            "  -s ADDR      server address, loopback only (default 127.0.0.1)\n"
            "  -p PORT      server port (default %d)\n"
            "  -n MAX       most bots the ramp adds (default 10000)\n"
            "  -r PER_SEC   bots started per second (default 50)\n"
            "  -d SECONDS   fixed: how long to hold all bots; ramp: the whole run\n"
            "               (default 30 fixed, 300 ramp; at most %d)\n"
            "  --fixed N    hold N bots and report the delay distribution\n"
            "  -w SECONDS   fixed: warm-up after the last login, not measured (default 5)\n"
            "  --limit MS   ramp: stop when the median stays above MS for %d s (default 100)\n",
            PORT_NUM, DURATION_MAX, LIMIT_SECONDS);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int raise_fd_limit(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur >= (rlim_t)need)
        return 0;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)need ? (rlim_t)need
                                                                              : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < (rlim_t)need) {
        fprintf(stderr, "game_load: need %d open files, the hard limit is %llu\n", need,
                (unsigned long long)rl.rlim_max);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = PORT_NUM, max = 10000, rate = 50, duration = -1, fixed = 0, limit_ms = 100;
    long warmup = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long *target = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-s") == 0 && i + 1 < argc) {
            host = argv[++i];
            continue;
        } else if (strcmp(a, "-p") == 0)
            target = &port;
        else if (strcmp(a, "-n") == 0)
            target = &max;
        else if (strcmp(a, "-r") == 0)
            target = &rate;
        else if (strcmp(a, "-d") == 0)
            target = &duration;
        else if (strcmp(a, "--fixed") == 0)
            target = &fixed;
        else if (strcmp(a, "-w") == 0)
            target = &warmup;
        else if (strcmp(a, "--limit") == 0)
            target = &limit_ms;
        char *end = NULL;
        if (target != NULL && i + 1 < argc)
            *target = strtol(argv[++i], &end, 10);
        if (target == NULL || end == NULL || *end != '\0' || *target < 0) {
            fprintf(stderr, "game_load: bad or unknown argument: %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (duration < 0)
        duration = fixed ? 30 : 300;
    if (port < 1 || port > 65535 || rate < 1 || warmup > 600 || duration < 1 ||
        duration > DURATION_MAX || (fixed ? fixed : max) < 1 || (fixed ? fixed : max) > 60000) {
        fprintf(stderr, "game_load: out of range: -p 1..65535, -r >= 1, -d 1..%d, bots 1..60000\n",
                DURATION_MAX);
        return 2;
    }
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1 ||
        (ntohl(server.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "game_load: %s: only a loopback address (127.x.x.x) is accepted\n", host);
        return 2;
    }
    nbots_max = (int)(fixed ? fixed : max);
    if (raise_fd_limit(nbots_max + 64) < 0)
        return 1;
    bots = calloc((size_t)nbots_max, sizeof *bots);
    int ep = epoll_create1(0);
    if (bots == NULL || ep < 0) {
        fprintf(stderr, "game_load: out of memory or no epoll\n");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    srand((unsigned)time(NULL));

    printf("game_load: %s:%ld, %s %d bots, %ld bots/s, %s %ld s\n", host, port,
           fixed ? "fixed" : "ramp up to", nbots_max, rate,
           fixed ? "hold" : "at most", duration);
    fflush(stdout);

    uint64_t t0 = now_ms(), next_print = t0 + 1000, hold_start = 0;
    uint64_t start_deadline = t0 + (uint64_t)nbots_max * 1000 / (uint64_t)rate + 30000;
    uint64_t last_bytes = 0, last_pkts = 0, last_moves = 0;
    uint64_t ready = 0;
    long limit = 0, limit_first = 0;
    int above = 0, end_reason = 0;
    struct epoll_event evs[512];
    while (!stop_requested) {
        uint64_t now = now_ms();
        /* Start the bots that are due at this rate. */
        long due = (long)((now - t0) * (uint64_t)rate / 1000) + 1;
        while (nstarted < nbots_max && nstarted < due && (fixed || limit == 0))
            if (bot_start(ep) < 0)
                break;
        send_due_moves(now);

        int n = epoll_wait(ep, evs, 512, TICK_MS);
        for (int i = 0; i < n; i++) {
            struct bot *b = evs[i].data.ptr;
            if (b->state == B_CONNECTING)
                bot_connected(ep, b);
            else if (b->state == B_LOGGING_IN || b->state == B_IN_GAME)
                bot_readable(b);
        }

        now = now_ms();
        /* Ready: every bot started is in the game or gone (none still
         * connecting or logging in), or starting them has had its time. */
        if (fixed && ready == 0 &&
            ((nstarted == nbots_max && n_logged_in + n_closed == nstarted) ||
             now >= start_deadline))
            ready = now;
        if (ready != 0 && hold_start == 0 && now - ready >= (uint64_t)warmup * 1000) {
            hold_start = now;
            hold_samples.n = 0; /* the hold's figures start here */
            printf("game_load: hold starts: %ld bots logged in\n", n_logged_in);
        }
        if (now < next_print)
            continue;
        next_print += 1000;
        uint32_t p50 = percentile(sec_samples.v, sec_samples.n, 50);
        uint32_t p99 = percentile(sec_samples.v, sec_samples.n, 99);
        printf("game_load: %3llu s, bots %d started, %ld connected, %ld logged in, "
               "own-move delay p50 %u ms p99 %u ms (%zu moves), disconnects %ld, "
               "in %llu KB/s %llu pkt/s, moves out %llu/s\n",
               (unsigned long long)((now - t0) / 1000), nstarted, n_connected, n_logged_in,
               p50, p99, sec_samples.n, n_disconnects, (bytes_in - last_bytes) / 1024,
               pkts_in - last_pkts, moves_sent - last_moves);
        fflush(stdout);
        sec_samples.n = 0;
        last_bytes = bytes_in;
        last_pkts = pkts_in;
        last_moves = moves_sent;

        if (fixed) {
            if (hold_start != 0 && now - hold_start >= (uint64_t)duration * 1000) {
                end_reason = 1;
                break;
            }
        } else {
            /* The ramp: the window's median, checked once a second. */
            uint32_t med = window_median();
            if (window_n > 0 && med > (uint32_t)limit_ms) {
                if (above++ == 0)
                    limit_first = n_logged_in;
                if (above >= LIMIT_SECONDS) {
                    limit = limit_first;
                    end_reason = 2;
                    break;
                }
            } else {
                above = 0;
            }
            if (now - t0 >= (uint64_t)duration * 1000) {
                end_reason = 1;
                break;
            }
        }
    }

    size_t nh = hold_samples.n;
    uint32_t p50 = percentile(hold_samples.v, nh, 50), p90 = percentile(hold_samples.v, nh, 90);
    uint32_t p99 = percentile(hold_samples.v, nh, 99), pmax = percentile(hold_samples.v, nh, 100);
    unsigned long long held = hold_start ? (now_ms() - hold_start) / 1000 : 0;
    const char *how = end_reason == 0 ? " (interrupted)" : "";
    if (fixed)
        printf("game_load: result: fixed %ld, %ld logged in at the end, hold %llu s, "
               "own-move delay p50 %u ms p90 %u ms p99 %u ms max %u ms (%zu moves), "
               "disconnects %ld, refused %ld, connect failures %ld, short sends %ld, "
               "bytes in %llu%s\n",
               fixed, n_logged_in, held, p50, p90, p99, pmax, nh, n_disconnects, n_refused,
               n_connect_failed, n_send_short, bytes_in, how);
    else if (limit > 0)
        printf("game_load: result: limit %ld bots (median passed %ld ms for %d s), "
               "disconnects %ld, refused %ld, connect failures %ld, bytes in %llu\n",
               limit, limit_ms, LIMIT_SECONDS, n_disconnects, n_refused, n_connect_failed,
               bytes_in);
    else
        printf("game_load: result: no limit reached: %ld bots logged in, median %u ms over the "
               "run (%zu moves), disconnects %ld, refused %ld, connect failures %ld, "
               "bytes in %llu%s\n",
               n_logged_in, p50, nh, n_disconnects, n_refused, n_connect_failed, bytes_in, how);
    if (n_bad_packets > 0)
        printf("game_load: %ld bots closed on a packet with size < 2\n", n_bad_packets);
    long silent = 0;
    for (int i = 0; i < nstarted; i++)
        if (bots[i].state == B_IN_GAME && bots[i].moves_back == 0)
            silent++;
    if (fixed && silent > 0) /* in a ramp, the newest bots have not moved yet */
        printf("game_load: %ld bots logged in got none of their own moves back\n", silent);
    fflush(stdout);
    for (int i = 0; i < nstarted; i++)
        if (bots[i].fd >= 0)
            close(bots[i].fd);
    if (fixed && (n_logged_in != fixed || n_disconnects > 0 || silent > 0))
        return 1;
    return 0;
}
#else
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "game_load: Linux only (epoll); on Windows use client.exe stress\n");
    return 1;
}
#endif
