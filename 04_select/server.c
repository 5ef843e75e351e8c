/*
 * 04_select - the select() echo server: one thread sleeps until some
 * socket is ready.
 *
 * Model. One thread, the same non-blocking sockets and the same
 * per-connection state as in 03; what changes is how the thread finds
 * the sockets that are ready. Every round it builds two sets, a read set
 * (the listener and every client it owes nothing) and a write set (every
 * client it still owes bytes), and blocks in select() until a socket of
 * either set is ready. select() shrinks the sets to the ready sockets; the
 * thread does the I/O on those itself, then builds the sets again. The
 * system says "this call will not block now"; the program makes the call:
 * a reactor.
 *
 * What this step adds over 03. The thread sleeps while nothing happens:
 * no CPU when idle, and no call on a socket that has nothing to give. The
 * cost is the fd_set: it holds FD_SETSIZE sockets at most (64 unless the
 * build raises it), it is rebuilt every round because select() overwrites
 * it, and on Windows it is a count and an array of handles that FD_SET and
 * FD_ISSET search linearly, so a round with n sockets costs up to n * n
 * steps in this code, besides select()'s own look at all n.
 *
 * Limits. FD_SETSIZE - 1 clients (63 by default): the listener takes one
 * slot of the read set. A client beyond that is accepted and closed at
 * once, with a log line: FD_SET would drop it without a word, and it would
 * never be served. Raise the limit at build time (-DFD_SETSIZE=1024 with
 * gcc, /DFD_SETSIZE=1024 with cl). A client it owes bytes is in the write
 * set and not in the read set, so it is not read until it has taken its
 * echo: backpressure, as in 03. select() cannot wait for the Ctrl+C
 * event, so it returns every STOP_CHECK_MS to look at the flag.
 *
 * Left out on purpose. WSAPoll (no fixed set size, same linear cost),
 * timeouts, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 04_select.exe server.c -lws2_32
 *   (add /DFD_SETSIZE=1024 or -DFD_SETSIZE=1024 for more clients)
 * Run:
 *   04_select.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 03:
 *   diff 03_nonblocking/server.c 04_select/server.c
 */
/* An fd_set's capacity. Winsock's own default is 64; it takes effect only
 * when defined before <winsock2.h> (which lab.h includes), and the #ifndef
 * lets a build flag win. */
#ifndef FD_SETSIZE
#define FD_SETSIZE 64
#endif
#include "lab.h"

#define MODEL "04_select"

/* Clients served at the same time. A client is in one set at a time (read
 * or write) and the listener is always in the read set, so with at most
 * FD_SETSIZE - 1 clients no set can overflow. */
#define MAX_CONNS (FD_SETSIZE - 1)

/* accept() is drained until WSAEWOULDBLOCK, but at most this many per
 * round: a burst of connecting clients would otherwise keep the loop
 * accepting while the connected clients wait for their turn. */
#define ACCEPTS_PER_ROUND 64

/* select() waits for sockets only; it cannot also wait for the Ctrl+C
 * event. Its timeout has one purpose, noticing Ctrl+C: the loop looks at
 * the flag at least this often, and an idle server wakes five times a
 * second for it, which costs nothing measurable. */
#define STOP_CHECK_MS 200

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

/* The live connections, put in the sets every round. Only the main thread
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
     * serve_ready() walks the array backwards, so it has visited that one
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

/* Both run when select() said the call would not block. WSAEWOULDBLOCK
 * is still possible (the answer is a snapshot) and still means "not now":
 * the socket stays in its set and the next round tries again. */

/* Called only while nothing is owed (len == 0): a connection whose echo
 * has not gone out is not in the read set. That is the backpressure: a
 * client that does not read its echo stops being read, and its unread
 * data waits in the kernel's buffers and then in its own, not in ours. */
static void on_readable(struct conn *c)
{
    int n = recv(c->s, c->buf, (int)sizeof c->buf, 0);
    if (n == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK) /* else not now: rare, but possible */
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
}

/* Called while buf[off..len) is owed. "Writable" promises room for some
 * bytes, not for all we owe: a non-blocking send() takes what fits,
 * possibly less than asked, and off remembers how far it came. (This is
 * why the sockets stay non-blocking: a blocking send() would wait for
 * room for the rest, that is for the client to read, and the whole server
 * would wait with it.) */
static void on_writable(struct conn *c)
{
    int sent = send(c->s, c->buf + c->off, (int)(c->len - c->off), 0);
    if (sent == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK) /* else not now: rare, but possible */
            conn_fail(c, "send", err);
        return;
    }
    c->off += (size_t)sent;
    c->echoed += (unsigned long long)sent;
    lab_count_echoed((size_t)sent);
    if (c->off == c->len)
        c->len = c->off = 0; /* all of it went out: read again */
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

/* ------------------------------------------------------------------------
 * The sets
 * --------------------------------------------------------------------- */

/* Builds this round's sets; select() overwrote the last ones. On Windows
 * an fd_set is a count and an array of up to FD_SETSIZE handles, not the
 * Unix bitmap indexed by descriptor number: FD_SET appends (after a linear
 * search for a duplicate) and, when the array is full, drops the socket
 * without a word. MAX_CONNS keeps it from ever being full.
 *
 * A client it owes bytes goes in the write set only: out of the read set,
 * it is not read until it has taken its echo. The listener is always in
 * the read set, even at MAX_CONNS (the extra clients are accepted to be
 * closed), and it stays open until the loop ends, so the sets are never
 * all empty: select() fails at once with WSAEINVAL when they are (it does
 * not sleep for the timeout), and the loop would spin. */
static void build_sets(fd_set *rd, fd_set *wr)
{
    FD_ZERO(rd);
    FD_ZERO(wr);
    FD_SET(listener, rd);
    /* SOLUTION BEGIN: Put each connection in exactly one set (FD_SET): wr while it owes bytes
     * (len > 0), rd otherwise. */
    for (size_t i = 0; i < nconns; i++) {
        if (conns[i]->len > 0)
            FD_SET(conns[i]->s, wr);
        else
            FD_SET(conns[i]->s, rd);
    }
    /* SOLUTION END */
}

/* Serves the sockets select() left in the sets. FD_ISSET is a linear
 * search of the (shrunken) set. Walks backwards because conn_free() fills
 * the freed slot with the last connection, which this walk has already
 * visited. The listener comes last: a socket closed above may lend its
 * handle value to one accepted now, which must not be taken for a member
 * of this round's sets. */
static void serve_ready(fd_set *rd, fd_set *wr)
{
    for (size_t i = nconns; i-- > 0;) {
        struct conn *c = conns[i];
        /* SOLUTION BEGIN: Serve c only if select() left it in a set: on_readable(c) if c->s is
         * in rd, else on_writable(c) if it is in wr (FD_ISSET); the stub below closes every
         * connection it reaches. */
        if (FD_ISSET(c->s, rd))
            on_readable(c);
        else if (FD_ISSET(c->s, wr))
            on_writable(c);
        /* SOLUTION END: (void)wr; (void)&on_readable; (void)&on_writable;
         * conn_fail(c, "serve_ready (a TODO)", WSAEOPNOTSUPP); */
    }
    if (FD_ISSET(listener, rd))
        accept_new();
}

/* ------------------------------------------------------------------------
 * Main: build the sets, wait in select(), serve the ready sockets, repeat
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    u_long nonblocking = 1;

    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    listener = lab_listen(&opt, 0);
    /* Non-blocking although select() says when a client waits: accept_new()
     * takes all of them, until WSAEWOULDBLOCK says the backlog is empty. */
    if (ioctlsocket(listener, FIONBIO, &nonblocking) == SOCKET_ERROR)
        lab_fatal("ioctlsocket(FIONBIO)", WSAGetLastError());
    lab_on_stop(NULL); /* the loop polls lab_stopping(): nothing to wake */
    lab_ready(&opt, MODEL);
    lab_log("FD_SETSIZE is %d: at most %d clients", FD_SETSIZE, MAX_CONNS);

    while (!lab_stopping()) {
        fd_set rd, wr;
        struct timeval timeout;
        build_sets(&rd, &wr);
        /* The timeout is only for Ctrl+C (see STOP_CHECK_MS). The other way
         * out, closing the listener from wake() on the handler's thread,
         * leans on what select() does when a socket in its sets is closed
         * under it, which Microsoft does not document, and a closed
         * handle's value may be reused. */
        timeout.tv_sec = 0;
        timeout.tv_usec = STOP_CHECK_MS * 1000;
        /* The first argument (the highest descriptor + 1 on Unix) is
         * ignored on Windows: each set carries its own count. */
        int n = select(0, &rd, &wr, NULL, &timeout);
        if (n == SOCKET_ERROR) {
            /* Not a full set and not an empty one (see build_sets): a
             * shortage of memory, or the network stack going away. Log it
             * and pause, so that a lasting failure cannot spin the loop. */
            lab_error("select", WSAGetLastError());
            Sleep(100);
            continue;
        }
        if (n > 0)
            serve_ready(&rd, &wr);
    }

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
