/*
 * buffers.c - client.exe buffers: the socket chapter's experiments, run on
 * this machine over the loopback interface, each printing what it saw.
 *
 *   client.exe buffers [tcp|udp|connect|all]      (default all)
 *
 *   tcp      a receiver that does not read: how much a non-blocking send()
 *            takes before WSAEWOULDBLOCK, against SO_SNDBUF and SO_RCVBUF;
 *            then a receiver that reads slowly: the sender is held to the
 *            reader's pace (flow control), nothing is lost
 *   udp      the same with datagrams: sendto() never waits, the datagrams
 *            that find the receive buffer full are dropped, and counted
 *   connect  a non-blocking connect(): WSAEWOULDBLOCK at once, completed
 *            (or refused) later, as select() reports it
 *
 * docs/fundamentals.md says what to expect and why. The figures depend on
 * the system (Windows, or Linux under Wine, sizes its buffers its own way):
 * the program prints what it measured, never what it expects.
 */
#include "client.h"
#include <process.h>

#define SMALL_BUF 8192       /* SO_SNDBUF / SO_RCVBUF asked for */
#define CHUNK 1024
#define SLOW_READ_MS 10      /* the slow reader: CHUNK bytes every 10 ms */
#define SLOW_RUN_MS 1000
#define UDP_COUNT 1000
#define UDP_SIZE 512

static int sock_int(SOCKET s, int opt)
{
    int v = 0, len = (int)sizeof v;
    getsockopt(s, SOL_SOCKET, opt, (char *)&v, &len);
    return v;
}

static void set_int(SOCKET s, int opt, int v)
{
    setsockopt(s, SOL_SOCKET, opt, (const char *)&v, (int)sizeof v);
}

static void set_nonblocking(SOCKET s, u_long on)
{
    ioctlsocket(s, FIONBIO, &on);
}

static void loopback(struct sockaddr_in *sa, unsigned short port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa->sin_port = htons(port);
}

/* A socket of `type` bound to 127.0.0.1 on a port the system picks. */
static SOCKET bound_local(int type, int rcvbuf, unsigned short *port)
{
    struct sockaddr_in sa;
    int len = (int)sizeof sa;
    SOCKET s = socket(AF_INET, type, type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
    if (s == INVALID_SOCKET)
        return s;
    if (rcvbuf > 0)
        set_int(s, SO_RCVBUF, rcvbuf); /* before listen: accepted sockets inherit it */
    loopback(&sa, 0);
    if (bind(s, (struct sockaddr *)&sa, (int)sizeof sa) == SOCKET_ERROR ||
        getsockname(s, (struct sockaddr *)&sa, &len) == SOCKET_ERROR) {
        closesocket(s);
        return INVALID_SOCKET;
    }
    *port = ntohs(sa.sin_port);
    return s;
}

/* ------------------------------------------------------------------------
 * TCP: a receiver that does not read, then one that reads slowly
 * --------------------------------------------------------------------- */

/* The stream carries a running pattern, byte k being k % 251 (a prime, so
 * that it does not line up with the chunks), and the receiver checks every
 * byte: "nothing was lost" is then something measured. */
static void pattern_fill(char *buf, int n, long long offset)
{
    for (int i = 0; i < n; i++)
        buf[i] = (char)((offset + i) % 251);
}

struct slow_reader {
    SOCKET s;
    long long got; /* bytes received; written by the reader thread until it ends */
    long long bad; /* the offset of the first byte out of pattern, or -1 */
};

/* Checks n received bytes against the pattern and counts them. */
static void reader_take(struct slow_reader *r, const char *buf, int n)
{
    for (int i = 0; i < n && r->bad < 0; i++)
        if (buf[i] != (char)((r->got + i) % 251))
            r->bad = r->got + i;
    r->got += n;
}

static unsigned __stdcall slow_read(void *arg)
{
    struct slow_reader *r = (struct slow_reader *)arg;
    char buf[CHUNK];
    ULONGLONG end = GetTickCount64() + SLOW_RUN_MS;
    while (GetTickCount64() < end) {
        int n = recv(r->s, buf, (int)sizeof buf, 0);
        if (n <= 0)
            break;
        reader_take(r, buf, n);
        Sleep(SLOW_READ_MS); /* the point of the experiment: a slow reader */
    }
    return 0;
}

static int run_tcp(void)
{
    struct sockaddr_in sa;
    unsigned short port;
    SOCKET l, snd, rcv;
    char chunk[CHUNK];
    long long filled = 0, more = 0;
    int waits = 0, err;
    struct slow_reader r;
    HANDLE t;
    ULONGLONG end;

    l = bound_local(SOCK_STREAM, SMALL_BUF, &port);
    if (l == INVALID_SOCKET || listen(l, 1) == SOCKET_ERROR) {
        net_print_error("buffers: tcp listener", WSAGetLastError());
        return 1;
    }
    snd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    set_int(snd, SO_SNDBUF, SMALL_BUF);
    loopback(&sa, port);
    if (connect(snd, (struct sockaddr *)&sa, (int)sizeof sa) == SOCKET_ERROR ||
        (rcv = accept(l, NULL, NULL)) == INVALID_SOCKET) {
        net_print_error("buffers: tcp connect", WSAGetLastError());
        closesocket(snd);
        closesocket(l);
        return 1;
    }
    closesocket(l);
    printf("tcp: asked for %d-byte buffers; the system says sender SO_SNDBUF %d, receiver "
           "SO_RCVBUF %d\n", SMALL_BUF, sock_int(snd, SO_SNDBUF), sock_int(rcv, SO_RCVBUF));

    /* 1. Nobody reads: send until the buffers on the way are full. */
    set_nonblocking(snd, 1);
    for (;;) {
        int n;
        pattern_fill(chunk, (int)sizeof chunk, filled);
        n = send(snd, chunk, (int)sizeof chunk, 0);
        if (n == SOCKET_ERROR) {
            err = WSAGetLastError();
            break;
        }
        filled += n;
        if (filled > (64LL << 20)) { /* no limit found: say so rather than loop */
            err = 0;
            break;
        }
    }
    if (err == WSAEWOULDBLOCK)
        printf("tcp: the receiver does not read: send() took %lld bytes, then failed with "
               "WSAEWOULDBLOCK (a blocking send() would wait here)\n", filled);
    else
        printf("tcp: the receiver does not read: send() took %lld bytes, then WSA %d\n", filled,
               err);
    printf("tcp: those bytes are in the receiver's receive buffer and the sender's send "
           "buffer; the receiver's window is 0, nothing moves\n");

    /* 2. The receiver reads slowly: the sender gets exactly what it frees. */
    r.s = rcv;
    r.got = 0;
    r.bad = -1;
    t = (HANDLE)_beginthreadex(NULL, 0, slow_read, &r, 0, NULL);
    end = GetTickCount64() + SLOW_RUN_MS;
    while (t != NULL && GetTickCount64() < end) {
        fd_set wr;
        struct timeval tv = {0, 100 * 1000}; /* look at the clock at least every 100 ms */
        int n;
        pattern_fill(chunk, (int)sizeof chunk, filled + more);
        n = send(snd, chunk, (int)sizeof chunk, 0);
        if (n > 0) {
            more += n;
            continue;
        }
        if (WSAGetLastError() != WSAEWOULDBLOCK)
            break;
        waits++;
        FD_ZERO(&wr);
        FD_SET(snd, &wr);
        select(0, NULL, &wr, NULL, &tv);
    }
    if (t != NULL) {
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
    }
    printf("tcp: the receiver read %d bytes every %d ms for %d ms: %lld bytes; the sender, "
           "sending as fast as it could, got %lld more bytes in, and met WSAEWOULDBLOCK %d "
           "times\n", CHUNK, SLOW_READ_MS, SLOW_RUN_MS, r.got, more, waits);
    printf("tcp: the sender went at the reader's pace (flow control): %lld bytes were still on "
           "the way, in the buffers\n", filled + more - r.got);

    /* 3. The sender closes its side; the receiver reads to the end and
     * checks every byte (a blocking recv, bounded by SO_RCVTIMEO should the
     * end never come). */
    shutdown(snd, SD_SEND);
    set_nonblocking(rcv, 0);
    set_int(rcv, SO_RCVTIMEO, 5000);
    {
        long long before = r.got;
        int n;
        while ((n = recv(rcv, chunk, (int)sizeof chunk, 0)) > 0)
            reader_take(&r, chunk, n);
        err = n == 0 ? 0 : WSAGetLastError();
        printf("tcp: then the sender closed its side and the receiver read to the end: %lld more "
               "bytes, %lld in all of the %lld sent", r.got - before, r.got, filled + more);
        if (err != 0)
            printf(", then WSA %d\n", err);
        else if (r.bad >= 0)
            printf(", byte %lld out of order: something was lost\n", r.bad);
        else if (r.got != filled + more)
            printf(": something was lost\n");
        else
            printf(", every byte in order: nothing was lost\n");
    }
    closesocket(snd);
    closesocket(rcv);
    return err != 0 || r.bad >= 0 || r.got != filled + more;
}

/* ------------------------------------------------------------------------
 * UDP: the same with datagrams
 * --------------------------------------------------------------------- */

static int run_udp(void)
{
    struct sockaddr_in to;
    unsigned short port;
    SOCKET rcv, snd;
    unsigned char dgram[UDP_SIZE];
    int sent = 0, failed = 0, got = 0, lowest = -1, highest = -1;
    u_long on = 1;

    rcv = bound_local(SOCK_DGRAM, SMALL_BUF, &port);
    snd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (rcv == INVALID_SOCKET || snd == INVALID_SOCKET) {
        net_print_error("buffers: udp socket", WSAGetLastError());
        return 1;
    }
    printf("udp: receiver SO_RCVBUF %d (asked for %d)\n", sock_int(rcv, SO_RCVBUF), SMALL_BUF);
    loopback(&to, port);
    memset(dgram, 0, sizeof dgram);
    for (int i = 0; i < UDP_COUNT; i++) {
        memcpy(dgram, &i, sizeof i); /* the sequence number */
        if (sendto(snd, (const char *)dgram, (int)sizeof dgram, 0, (struct sockaddr *)&to,
                   (int)sizeof to) == SOCKET_ERROR)
            failed++;
        else
            sent++;
    }
    printf("udp: sent %d datagrams of %d bytes while the receiver did not read; sendto() "
           "failed %d times (it never waits for the receiver)\n", sent, UDP_SIZE, failed);
    ioctlsocket(rcv, FIONBIO, &on);
    for (;;) {
        int seq;
        int n = recv(rcv, (char *)dgram, (int)sizeof dgram, 0);
        if (n == SOCKET_ERROR)
            break; /* WSAEWOULDBLOCK: the buffer is empty */
        memcpy(&seq, dgram, sizeof seq);
        if (lowest < 0 || seq < lowest)
            lowest = seq;
        if (seq > highest)
            highest = seq;
        got++;
    }
    printf("udp: then the receiver found %d of them in its buffer: %d were dropped, and "
           "neither side got an error\n", got, sent - got);
    if (got > 0)
        printf("udp: the ones it kept were numbered %d to %d: those that came while the buffer "
               "had room\n", lowest, highest);
    closesocket(snd);
    closesocket(rcv);
    return 0;
}

/* ------------------------------------------------------------------------
 * A non-blocking connect, completed through select()
 * --------------------------------------------------------------------- */

static void try_connect(const char *what, unsigned short port)
{
    struct sockaddr_in sa;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    fd_set wr, ex;
    struct timeval tv = {10, 0}; /* a loopback connect answers long before */
    LARGE_INTEGER f, t0, t1;
    int r, err;

    set_nonblocking(s, 1);
    loopback(&sa, port);
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t0);
    r = connect(s, (struct sockaddr *)&sa, (int)sizeof sa);
    err = r == SOCKET_ERROR ? WSAGetLastError() : 0;
    printf("connect: %s: connect() returned %s\n", what,
           r == 0 ? "0 (connected at once)" : err == WSAEWOULDBLOCK ? "WSAEWOULDBLOCK at once"
                                                                    : "another error");
    if (r == SOCKET_ERROR && err == WSAEWOULDBLOCK) {
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        FD_SET(s, &wr);
        FD_SET(s, &ex); /* Winsock reports a failed connect in the except set */
        r = select(0, NULL, &wr, &ex, &tv);
        QueryPerformanceCounter(&t1);
        double ms = (double)(t1.QuadPart - t0.QuadPart) * 1000.0 / (double)f.QuadPart;
        if (r == 0)
            printf("connect: %s: select() saw nothing within 10 s\n", what);
        else if (FD_ISSET(s, &wr))
            printf("connect: %s: select() reported it writable after %.1f ms: connected\n", what,
                   ms);
        else if (FD_ISSET(s, &ex))
            printf("connect: %s: select() reported it in the except set after %.1f ms; SO_ERROR "
                   "%d (10061 is WSAECONNREFUSED)\n", what, ms, sock_int(s, SO_ERROR));
    }
    closesocket(s);
}

static int run_connect(void)
{
    unsigned short port, dead_port;
    SOCKET l = bound_local(SOCK_STREAM, 0, &port);
    SOCKET d = bound_local(SOCK_STREAM, 0, &dead_port); /* bound, never listening */
    if (l == INVALID_SOCKET || d == INVALID_SOCKET || listen(l, 1) == SOCKET_ERROR) {
        net_print_error("buffers: connect listener", WSAGetLastError());
        return 1;
    }
    try_connect("to a listening port", port);
    try_connect("to a port nobody listens on", dead_port);
    closesocket(d);
    closesocket(l);
    return 0;
}

/* ------------------------------------------------------------------------
 * Entry
 * --------------------------------------------------------------------- */

static void buffers_usage(FILE *f)
{
    fprintf(f, "usage: client.exe buffers [tcp|udp|connect|all]\n"
               "  The socket chapter's experiments, over the loopback interface (default all):\n"
               "  tcp      a receiver that does not read, then one that reads slowly\n"
               "  udp      the same with datagrams: what is dropped\n"
               "  connect  a non-blocking connect completed through select()\n");
    fflush(f);
}

int buffers_main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    int all = strcmp(which, "all") == 0, rc = 0;
    if (strcmp(which, "-h") == 0 || strcmp(which, "--help") == 0) {
        buffers_usage(stdout);
        return 0;
    }
    if (argc > 2 || (!all && strcmp(which, "tcp") != 0 && strcmp(which, "udp") != 0 &&
                     strcmp(which, "connect") != 0)) {
        fprintf(stderr, "buffers: unknown argument: %s\n", argc > 2 ? argv[2] : which);
        buffers_usage(stderr);
        return 2;
    }
    if (all || strcmp(which, "tcp") == 0)
        rc |= run_tcp();
    if (all || strcmp(which, "udp") == 0)
        rc |= run_udp();
    if (all || strcmp(which, "connect") == 0)
        rc |= run_connect();
    fflush(stdout);
    return rc;
}
