/*
 * 03_nonblocking - the non-blocking echo server: one thread polls every
 * socket, over and over.
 *
 * Model. One thread and no blocking calls: the listener and every client
 * socket are put in non-blocking mode with ioctlsocket(FIONBIO), so that
 * accept(), recv() and send() return at once, and WSAEWOULDBLOCK means
 * "not now". The thread sweeps its sockets in an endless loop: for each
 * client it tries recv() if it owes the client nothing, or send() of the
 * rest of the echo if it does; then it accepts whatever waits in the
 * backlog. Nothing tells the thread which socket is ready: it finds out by
 * trying. The thread waits on nothing and does all the I/O itself.
 *
 * What this step adds over 02. Many clients on one thread, without locks,
 * stacks or context switches per client. The send-all loop of 02 becomes
 * state kept in struct conn from one sweep to the next: how much of the
 * buffer is owed (len) and how much of it has gone out (off). The cost is
 * the polling: the loop never sleeps, so it keeps a CPU core busy even
 * with no client at all, and every sweep makes a system call per
 * connection that mostly answers "not now". That waste is what this step
 * is here to show; step 04 asks the system which sockets are ready
 * instead of asking every socket.
 *
 * Limits. MAX_CONNS clients (1,024; the contract asks for 256): a sweep
 * makes a call per client, so the time between two visits to a client
 * grows with their number. A connection beyond the limit is accepted and
 * closed at once, with a log line. A connection is not read while its
 * echo is owed, so a client that sends without reading stops being read
 * once the kernel's buffers are full: backpressure, and memory stays at
 * one buffer per client. At most ACCEPTS_PER_ROUND connections are
 * accepted per sweep, so that a burst of new clients cannot keep the
 * connected ones waiting.
 *
 * Left out on purpose. Any way of waiting for readiness (that is step
 * 04's), timeouts, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 03_nonblocking.exe server.c -lws2_32
 * Run:
 *   03_nonblocking.exe -p 40100      and in other consoles:  client.exe -p 40100
 *   (and watch the server's CPU use in Task Manager, with and without clients)
 *
 * Compare with step 02:
 *   diff 02_thread_per_client/server.c 03_nonblocking/server.c
 */
#include "lab.h"

#define MODEL "03_nonblocking"

/* Clients served at the same time. Every sweep costs a recv() or send()
 * per client, so with more of them each one is visited less often. */
#define MAX_CONNS 1024

/* accept() is drained until WSAEWOULDBLOCK, but at most this many per
 * round: a burst of connecting clients would otherwise keep the loop
 * accepting while the connected clients wait for their turn. */
#define ACCEPTS_PER_ROUND 64

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    size_t slot;             /* its index in conns[] */
    size_t len, off;         /* buf[off..len) is still owed to the client */
    char buf[LAB_BUF_SIZE];  /* what recv() returned, until it is sent back */
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;

/* The live connections, which the loop sweeps. Only the main thread
 * touches them: the Ctrl+C handler just sets the flag the loop polls, so
 * there is no lock. */
static struct conn *conns[MAX_CONNS];
static size_t nconns;

static struct conn *conn_new(SOCKET s, const struct sockaddr_in *peer)
{
    if (nconns == MAX_CONNS) {
        char addr[32];
        lab_log("refused a connection from %s: %d clients already, the limit",
                lab_addr_str(peer, addr, sizeof addr), MAX_CONNS);
        closesocket(s);
        return NULL;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        lab_log("out of memory: refusing a connection");
        closesocket(s);
        return NULL;
    }
    c->s = s;
    c->id = lab_next_conn_id();
    lab_addr_str(peer, c->peer, sizeof c->peer);
    c->slot = nconns;
    conns[nconns++] = c;
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

static void conn_free(struct conn *c, const char *why)
{
    /* The last connection moves into the freed slot: O(1), and
     * sweep() walks the array backwards, so it has visited that one
     * already. */
    conns[c->slot] = conns[--nconns];
    conns[c->slot]->slot = c->slot;
    /* Graceful after recv() returned 0 (the client's FIN came, nothing is
     * left unread): what send() took is still delivered, then a FIN. A
     * socket closed with unread input is reset instead (Ctrl+C, below). */
    closesocket(c->s);
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, why, c->echoed);
    free(c);
}

/* A failed recv/send ends that connection only. A reset is the peer's
 * business, not an error of ours. (No "closed at shutdown" case here:
 * only this thread closes sockets, so Ctrl+C never makes a call fail.) */
static void conn_fail(struct conn *c, const char *call, int err)
{
    if (lab_is_peer_gone(err)) {
        conn_free(c, "reset by peer");
    } else {
        lab_conn_error(c->id, call, err);
        conn_free(c, "closed after an error");
    }
}

/* ------------------------------------------------------------------------
 * Sending and receiving
 * --------------------------------------------------------------------- */

/* Both are called on every sweep, whether or not the socket is ready:
 * the call itself is the question. WSAEWOULDBLOCK is the answer "not
 * now", the usual one, and the next sweep asks again. */

/* Called only while nothing is owed (len == 0): a connection whose echo
 * has not gone out is not read. That is the backpressure: a client that
 * does not read its echo stops being read, and its unread data waits in
 * the kernel's buffers and then in its own, not in ours. */
static void on_readable(struct conn *c)
{
    /* SOLUTION BEGIN: Try recv() into c->buf: WSAEWOULDBLOCK means nothing has arrived yet
     * (return, the next sweep asks again), another error conn_fail(c, "recv", err), 0 the
     * client half-closed (conn_free(c, "closed by peer")); else log the count unless opt.quiet
     * and set len = n, off = 0, now owed. */
    int n = recv(c->s, c->buf, (int)sizeof c->buf, 0);
    if (n == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK) /* else not now: nothing has arrived */
            conn_fail(c, "recv", err);
        return;
    }
    if (n == 0) {
        /* The client half-closed (shutdown send, or closesocket). We owe
         * nothing: the socket is read only after the last echo went out. */
        conn_free(c, "closed by peer");
        return;
    }
    if (!opt.quiet)
        lab_log("conn %ld: %d bytes", c->id, n);
    c->len = (size_t)n;
    c->off = 0;
    /* SOLUTION END: conn_fail(c, "on_readable (a TODO)", WSAEOPNOTSUPP); */
}

/* Called while buf[off..len) is owed. A non-blocking send() takes what
 * fits in the kernel's send buffer, possibly less than asked, and
 * WSAEWOULDBLOCK when nothing fits: off remembers how far it came, and the
 * next sweep goes on from there. */
static void on_writable(struct conn *c)
{
    /* SOLUTION BEGIN: Try send() of buf[off..len): WSAEWOULDBLOCK means no room yet (return,
     * the next sweep tries again), another error conn_fail(c, "send", err); else move off past
     * what was taken, count it (c->echoed, lab_count_echoed) and, once off reaches len, set len
     * = off = 0 to read again. */
    int sent = send(c->s, c->buf + c->off, (int)(c->len - c->off), 0);
    if (sent == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK) /* else not now: the client reads slowly */
            conn_fail(c, "send", err);
        return;
    }
    c->off += (size_t)sent;
    c->echoed += (unsigned long long)sent;
    lab_count_echoed((size_t)sent);
    if (c->off == c->len)
        c->len = c->off = 0; /* all of it went out: read again */
    /* SOLUTION END: conn_fail(c, "on_writable (a TODO)", WSAEOPNOTSUPP); */
}

/* Accepts what waits in the backlog, up to ACCEPTS_PER_ROUND. */
static void accept_new(void)
{
    for (int tries = 0; tries < ACCEPTS_PER_ROUND; tries++) {
        struct sockaddr_in peer;
        int peer_len = (int)sizeof peer;
        u_long nonblocking = 1;
        SOCKET s = accept(listener, (struct sockaddr *)&peer, &peer_len);
        if (s == INVALID_SOCKET) {
            int err = WSAGetLastError();
            if (err == WSAEWOULDBLOCK)
                break; /* not now: the backlog is empty */
            /* A client that reset while still in the backlog, or a
             * shortage of sockets or memory: not a reason to stop serving.
             * A shortage makes accept() fail at once for as long as it
             * lasts; the pause keeps the log from flooding meanwhile (it
             * holds up every client too, but a shortage is rare). */
            lab_error("accept", err);
            if (!lab_accept_gone(err)) {
                Sleep(100);
                break;
            }
            continue;
        }
        struct conn *c = conn_new(s, &peer);
        /* On Windows an accepted socket already has the listener's
         * non-blocking mode (on Linux it would not); setting it again
         * costs one call and keeps the code from depending on that. */
        if (c != NULL && ioctlsocket(c->s, FIONBIO, &nonblocking) == SOCKET_ERROR)
            conn_fail(c, "ioctlsocket(FIONBIO)", WSAGetLastError());
    }
}

/* One round of the loop, a sweep: a pass over every socket. Nothing says
 * which one is ready, so each is asked: a client it owes bytes is tried
 * for sending, the others for receiving, then the listener for new
 * clients. Walks backwards because conn_free() fills the freed slot with
 * the last connection, which this walk has already visited. */
static void sweep(void)
{
    for (size_t i = nconns; i-- > 0;) {
        struct conn *c = conns[i];
        if (c->len > 0)
            on_writable(c);
        else
            on_readable(c);
    }
    accept_new();
}

/* ------------------------------------------------------------------------
 * Main: sweep every socket, accept, repeat
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    u_long nonblocking = 1;

    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    listener = lab_listen(&opt, 0);
    /* accept() on a non-blocking listener answers WSAEWOULDBLOCK when no
     * client is waiting, instead of waiting for one. */
    if (ioctlsocket(listener, FIONBIO, &nonblocking) == SOCKET_ERROR)
        lab_fatal("ioctlsocket(FIONBIO)", WSAGetLastError());
    lab_on_stop(NULL); /* the loop polls lab_stopping(): nothing to wake */
    lab_ready(&opt, MODEL);

    /* The polling loop: a busy loop, on purpose. It never blocks and never
     * sleeps: with no client at all it calls accept() as fast as it can,
     * and with a thousand idle clients it makes a thousand recv() calls per
     * sweep that all answer WSAEWOULDBLOCK. It keeps a CPU core busy (Task
     * Manager shows it; under Wine, top shows this process and the
     * wineserver it calls), and that is the cost step 04 removes. A sleep
     * after a sweep that found nothing would save the CPU, but a message
     * arriving meanwhile would wait for the sleep to end, and Sleep(1)
     * lasts a whole timer tick on Windows (15.6 ms by default): polling
     * trades CPU for latency, it cannot have both. Ctrl+C is noticed at the
     * next sweep. */
    while (!lab_stopping())
        sweep();

    /* Ctrl+C closes every connection as it stands, and a client may lose
     * the echo it is owed: the part send() has not taken yet is dropped,
     * and a socket with unread input (the client sent more than was read),
     * or one that input reaches after the close, answers with a reset,
     * which drops what send() took but the client has not received yet.
     * Steps 07 to 09 deliver what is owed, within a bounded grace. */
    while (nconns > 0)
        conn_free(conns[nconns - 1], "closed at shutdown");
    closesocket(listener);
    listener = INVALID_SOCKET;
    return lab_finish();
}
