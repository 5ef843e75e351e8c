/*
 * 01_blocking - the blocking echo server: one client at a time.
 *
 * Model. One thread does everything with blocking calls: accept() waits
 * for a client, then recv() waits for its data and send() waits until the
 * echo is in the kernel's send buffer. While it serves one client it is
 * blocked on that client, so every other client waits in the listen
 * backlog: its connect() has succeeded (the kernel completed the
 * handshake) but nobody calls recv() for it until the first client leaves.
 *
 * What this step adds. It is the first step: the socket calls of a server
 * in order (socket, bind, listen, accept, recv/send, closesocket) and the
 * rules every later step keeps: TCP has no message boundaries, so the
 * server echoes whatever recv() returned, and send() may take less than
 * it was given, so the echo goes out through a send-all loop.
 *
 * Limits. One client at a time, by design. A client that connects and
 * never sends holds the server forever (there is no timeout). A client
 * that sends without reading stalls in send_all() once both kernel
 * buffers are full: that is TCP's flow control, and it is also this
 * server's backpressure: it stops reading from the client until the echo
 * is out, so memory never grows.
 *
 * Left out on purpose. Timeouts, IPv6, more than one client (that is the
 * next step's job).
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 01_blocking.exe server.c -lws2_32
 * Run:
 *   01_blocking.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with: this is the first step; then read
 *   diff 01_blocking/server.c 02_thread_per_client/server.c
 */
#include "lab.h"

#define MODEL "01_blocking"

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    char buf[LAB_BUF_SIZE];  /* what recv() returned, until it is sent back */
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;

/* The live connection, so that Ctrl+C can wake it from the handler
 * thread. Only the serving thread closes its socket; the lock keeps the
 * handler from touching a socket that is being closed (a socket handle,
 * like any handle, may be reused by the next socket as soon as it is
 * closed, and the handler would then shut down a stranger). */
static CRITICAL_SECTION conns_lock;
static struct conn *live;

static struct conn *conn_new(SOCKET s, const struct sockaddr_in *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        lab_log("out of memory: refusing a connection");
        closesocket(s);
        return NULL;
    }
    c->s = s;
    c->id = lab_next_conn_id();
    lab_addr_str(peer, c->peer, sizeof c->peer);
    EnterCriticalSection(&conns_lock);
    if (lab_stopping()) {
        /* accepted just as Ctrl+C came: wake() has already run and would
         * never wake this one, so do not start serving it */
        LeaveCriticalSection(&conns_lock);
        closesocket(s);
        free(c);
        return NULL;
    }
    live = c;
    LeaveCriticalSection(&conns_lock);
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

static void conn_free(struct conn *c, const char *why)
{
    EnterCriticalSection(&conns_lock);
    live = NULL;
    LeaveCriticalSection(&conns_lock);
    /* Graceful after recv() returned 0 (the client's FIN came, nothing is
     * left unread): what send() took is still delivered, then a FIN. A
     * socket closed with unread input is reset instead (Ctrl+C, below). */
    closesocket(c->s);
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, why, c->echoed);
    free(c);
}

/* A failed recv/send ends that connection only. A reset is the peer's
 * business, not an error of ours; a call failing because Ctrl+C shut the
 * socket down is the shutdown, not an error either. */
static void conn_fail(struct conn *c, const char *call, int err)
{
    if (lab_stopping()) {
        conn_free(c, "closed at shutdown");
    } else if (lab_is_peer_gone(err)) {
        conn_free(c, "reset by peer");
    } else {
        lab_conn_error(c->id, call, err);
        conn_free(c, "closed after an error");
    }
}

/* ------------------------------------------------------------------------
 * Sending and receiving
 * --------------------------------------------------------------------- */

/* send() on a blocking socket returns once the bytes are copied into the
 * kernel's send buffer, not when the peer has them; it may also return
 * less than asked. Loop until all of it is taken. Returns 0 or the WSA
 * error. */
/* SOLUTION BEGIN: Write static int send_all(struct conn *c, const char *p, size_t n): call
 * send() on c->s until all n bytes from p are taken, adding each piece to c->echoed and
 * lab_count_echoed(); return 0, or the WSA error of a send() that failed. */
static int send_all(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        int sent = send(c->s, p, chunk, 0);
        if (sent == SOCKET_ERROR)
            return WSAGetLastError();
        p += sent;
        n -= (size_t)sent;
        c->echoed += (unsigned long long)sent;
        lab_count_echoed((size_t)sent);
    }
    return 0;
}
/* SOLUTION END */

/* Serves one client until it leaves. recv() blocks until at least one
 * byte is there and returns what it has: 1 byte or a whole buffer,
 * whatever the client's send() calls were. */
static void serve(struct conn *c)
{
    for (;;) {
        /* SOLUTION BEGIN: Receive into c->buf and send back what arrived with send_all():
         * recv() returning 0 means the client half-closed (conn_free(c, "closed by peer"), or
         * "closed at shutdown" once lab_stopping(), and return); on a failed recv() or
         * send_all(), conn_fail(c, "recv" or "send", err) and return; log "conn %ld: %d bytes"
         * unless opt.quiet. */
        int n = recv(c->s, c->buf, (int)sizeof c->buf, 0);
        if (n == 0) {
            /* The client half-closed (shutdown send, or closesocket), or
             * Ctrl+C shut the socket down. We owe nothing: each piece went
             * back before the next recv. */
            conn_free(c, lab_stopping() ? "closed at shutdown" : "closed by peer");
            return;
        }
        if (n == SOCKET_ERROR) {
            conn_fail(c, "recv", WSAGetLastError());
            return;
        }
        if (!opt.quiet)
            lab_log("conn %ld: %d bytes", c->id, n);
        int err = send_all(c, c->buf, (size_t)n);
        if (err != 0) {
            conn_fail(c, "send", err);
            return;
        }
        /* SOLUTION END: conn_fail(c, "serve (a TODO)", WSAEOPNOTSUPP); return; */
    }
}

/* ------------------------------------------------------------------------
 * Stopping
 * --------------------------------------------------------------------- */

/* Runs on the Ctrl+C handler's thread while the main thread is blocked in
 * accept() or recv()/send(); it then sees lab_stopping() and winds down.
 *
 * A connection is woken, not closed: CancelIoEx() ends the call blocked on
 * it now (a blocking Winsock call is an I/O request on the socket's handle
 * like any other: it fails with 995), and shutdown(SD_BOTH) makes the next
 * call fail at once (WSAESHUTDOWN), so one about to start cannot block
 * either. The thread that serves the connection closes its socket itself.
 * The listener is the one socket closed here: a cancelled accept() would
 * miss a stop that came just before it, and shutdown() does not apply to a
 * listening socket. Closing makes accept() fail now or at once (WSAEINTR on
 * Windows, 995 under Wine); the reuse hazard above shrinks to main's few
 * instructions between reading `listener` and entering accept(): one
 * reason the later steps never block there. */
static void wake(void)
{
    EnterCriticalSection(&conns_lock);
    if (listener != INVALID_SOCKET)
        closesocket(listener);
    listener = INVALID_SOCKET;
    if (live != NULL) {
        shutdown(live->s, SD_BOTH);
        CancelIoEx((HANDLE)live->s, NULL);
    }
    LeaveCriticalSection(&conns_lock);
}

/* ------------------------------------------------------------------------
 * Main: accept one client, serve it, repeat
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    InitializeCriticalSection(&conns_lock);
    listener = lab_listen(&opt, 0);
    lab_on_stop(wake);
    lab_ready(&opt, MODEL);

    while (!lab_stopping()) {
        struct sockaddr_in peer;
        int peer_len = (int)sizeof peer;
        SOCKET s = accept(listener, (struct sockaddr *)&peer, &peer_len);
        if (s == INVALID_SOCKET) {
            int err = WSAGetLastError();
            if (lab_stopping())
                break;
            /* A client that reset while still in the backlog, or a
             * shortage of sockets or memory: not a reason to stop serving.
             * A shortage makes accept() fail at once for as long as it
             * lasts; the pause keeps this loop from spinning meanwhile. */
            lab_error("accept", err);
            if (!lab_accept_gone(err))
                Sleep(100);
            continue;
        }
        struct conn *c = conn_new(s, &peer);
        if (c != NULL)
            serve(c);
    }

    EnterCriticalSection(&conns_lock);
    if (listener != INVALID_SOCKET)
        closesocket(listener);
    listener = INVALID_SOCKET;
    LeaveCriticalSection(&conns_lock);
    return lab_finish();
}
