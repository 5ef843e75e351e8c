/*
 * native_echo.c - a minimal native Linux epoll echo server, for measuring
 * the lab's load generator, not for teaching.
 *
 * `client.exe bench` runs under Wine on Linux. To know that the figures it
 * reports for the Windows servers are the servers' and not its own limit,
 * point it at this server, which costs next to nothing per message:
 *
 *   cc -O2 -o build/native_echo tools/native_echo.c
 *   build/native_echo 40999 &
 *   tools/wine-run.sh build/client.exe bench -p 40999 -c 64 -d 5
 *
 * docs/comparison.md reports the result as the generator's ceiling.
 * Level-triggered epoll, non-blocking sockets, a buffer per connection,
 * the echo written straight back (and EPOLLOUT while a write is partial).
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
#include <unistd.h>

struct conn {
    int fd;
    size_t len, off;
    char buf[16384];
};

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 40999;
    int one = 1;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
        perror("bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    printf("native_echo: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            if (c->len == 0) {
                ssize_t r = read(c->fd, c->buf, sizeof c->buf);
                if (r == 0 || (r < 0 && errno != EAGAIN)) {
                    close(c->fd);
                    free(c);
                    continue;
                }
                if (r < 0)
                    continue;
                c->len = (size_t)r;
                c->off = 0;
            }
            ssize_t w = write(c->fd, c->buf + c->off, c->len - c->off);
            if (w > 0)
                c->off += (size_t)w;
            struct epoll_event ce = {.data.ptr = c};
            if (c->off == c->len) {
                c->len = c->off = 0;
                ce.events = EPOLLIN;
            } else {
                ce.events = EPOLLOUT; /* stop reading until the echo is out */
            }
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce);
        }
    }
}
#else
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "native_echo: Linux only (it measures the generator under Wine)\n");
    return 1;
}
#endif
