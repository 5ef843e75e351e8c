/*
 * native_bench.c - a native Linux load generator, to measure the lab's own
 * generator (client.exe bench, under Wine) against: the same load, no Wine
 * on the generator's side.
 *
 *   build/native_bench -p PORT [-c CONNECTIONS] [-b BYTES] [-d SECONDS]
 *
 * Loopback only (127.0.0.1). Every connection sends a message of BYTES,
 * waits for the whole echo, checks it, and sends the next (ping-pong, as
 * client.exe bench with -P 1). One thread, epoll. Prints one line:
 *   native_bench: C connections, N messages in S s = R msgs/s, E errors
 * Bounded in time: connecting gives up after 3 s, the run ends after
 * SECONDS, whatever the server does.
 *
 * docs/comparison.md says how the two generators were compared.
 * Built by the GNU Makefile with the host's cc on Linux only.
 */
#ifdef __linux__
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct bconn {
    int fd;
    size_t got; /* bytes of the current echo received */
    long msgs;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long port = 0, conns = 64, bytes = 64, seconds = 5;
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
        else
            port = 0;
    }
    if (port == 0) {
        fprintf(stderr,
                "usage: native_bench -p PORT [-c CONNECTIONS] [-b BYTES<=4096] [-d SECONDS]\n");
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
    int ep = epoll_create1(0);
    int one = 1;
    long errors = 0, open_conns = 0;
    for (long i = 0; i < conns; i++) {
        c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        /* blocking connect on loopback: immediate, or refused */
        if (c[i].fd < 0 || connect(c[i].fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            errors++;
            if (c[i].fd >= 0)
                close(c[i].fd);
            c[i].fd = -1;
            continue;
        }
        setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval tv = {3, 0}; /* no write may hang the tool */
        setsockopt(c[i].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
        open_conns++;
    }
    double t0 = now_s(), end = t0 + (double)seconds;
    for (long i = 0; i < conns; i++)
        if (c[i].fd >= 0 && write(c[i].fd, msg, (size_t)bytes) != bytes)
            errors++;
    struct epoll_event evs[256];
    long total = 0;
    for (;;) {
        double t = now_s();
        if (t >= end)
            break;
        int n = epoll_wait(ep, evs, 256, (int)((end - t) * 1000) + 1);
        for (int k = 0; k < n; k++) {
            struct bconn *b = evs[k].data.ptr;
            ssize_t r = read(b->fd, buf, (size_t)bytes - b->got);
            if (r <= 0) {
                if (r < 0 && errno == EINTR)
                    continue;
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, b->fd, NULL);
                continue;
            }
            if (memcmp(buf, msg + b->got, (size_t)r) != 0)
                errors++;
            b->got += (size_t)r;
            if (b->got == (size_t)bytes) {
                b->got = 0;
                b->msgs++;
                total++;
                if (write(b->fd, msg, (size_t)bytes) != bytes)
                    errors++;
            }
        }
    }
    double secs = now_s() - t0;
    printf("native_bench: %ld connections, %ld messages in %.2f s = %.0f msgs/s, %ld errors\n",
           open_conns, total, secs, (double)total / secs, errors);
    for (long i = 0; i < conns; i++)
        if (c[i].fd >= 0)
            close(c[i].fd);
    free(c);
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
