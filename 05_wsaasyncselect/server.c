/*
 * 05_wsaasyncselect - the echo server driven by window messages.
 *
 * Model. One thread owns a message-only window (parent HWND_MESSAGE: no
 * visible window, no display needed) and sits in GetMessage(). With
 * WSAAsyncSelect() each socket asks Winsock to post a message to that
 * window when something happens on it: FD_ACCEPT on the listener,
 * FD_READ, FD_WRITE and FD_CLOSE on a connection. The window procedure
 * does the I/O itself with non-blocking calls: accept(), one recv(),
 * send() until everything owed is out or it fails with WSAEWOULDBLOCK.
 * Like 03 and 04 it is a reactor: Winsock says "you can", the server does.
 *
 * What this step adds over 04. No sets to rebuild and scan: each message
 * names its socket (wParam) and its one event (lParam), so the work per
 * event does not grow with the number of connections, and there is no
 * FD_SETSIZE: 1,000 connections and more. The costs: a window and its
 * message queue (user32), a message per event through one thread, and
 * rules to get right. An event is posted once, then not again until the
 * call that re-enables it (recv for FD_READ, send failing with
 * WSAEWOULDBLOCK for FD_WRITE, accept for FD_ACCEPT); and messages outlive
 * their socket: they can still be queued after closesocket(), when the
 * handle value may already belong to a new connection.
 *
 * Limits. One thread does all the work, so the window procedure must never
 * block. Connections are found by socket in a hash table (4,096 buckets),
 * so each message costs the same with 10 or 10,000 connections. The
 * queue holds at most 10,000 posted messages by default, and a connection
 * has at most three of its own waiting (FD_READ, FD_WRITE, FD_CLOSE): the
 * contract's 1,000 connections fit with room to spare. Past about 3,000
 * busy ones the queue could fill; Microsoft does not say what Winsock does
 * with a message that does not fit, and a lost FD_READ would stall its
 * connection for good. That, and the one thread, is where this model
 * stops. When accept() runs out of sockets, FD_ACCEPT is switched off and
 * switched on again 100 ms later (a window procedure may not Sleep()). A
 * client that sends without reading stops being read (backpressure, see
 * on_readable).
 *
 * Left out on purpose. A visible window and anything else of a GUI; more
 * than one thread; timeouts; IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib user32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 05_wsaasyncselect.exe server.c -lws2_32 -luser32
 * Run:
 *   05_wsaasyncselect.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 04:
 *   diff 04_select/server.c 05_wsaasyncselect/server.c
 */
/* The Windows SDK marks WSAAsyncSelect deprecated ("Use WSAEventSelect()
 * instead", warning C4996, an error under /W4 /WX): step 06 does. This
 * step is about it, so it takes Microsoft's own switch for the Winsock
 * deprecations, which has to come before <winsock2.h> (lab.h). The code
 * calls no other deprecated function. */
#define _WINSOCK_DEPRECATED_NO_WARNINGS
#include "lab.h"

#define MODEL "05_wsaasyncselect"

/* Our window messages. WM_APP and above are free for a program's own use;
 * the listener and the connections get different messages, so that a
 * message for one can never be taken for the other. */
#define WM_LISTENER_EVENT (WM_APP + 1) /* FD_ACCEPT on the listener */
#define WM_CONN_EVENT (WM_APP + 2)     /* FD_READ, FD_WRITE, FD_CLOSE on a connection */
#define WM_LAB_STOP (WM_APP + 3)       /* from the Ctrl+C handler */

/* The pause after accept() ran out of sockets, as in steps 01 to 04. */
#define ACCEPT_RETRY_TIMER ((UINT_PTR)1)
#define ACCEPT_RETRY_MS 100

/* Hash table buckets; a power of two. */
#define CONN_BUCKETS 4096

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    struct conn *next;       /* the next connection in its bucket of conns[] */
    size_t len, off;         /* buf[off..len) is still owed to the client */
    int peer_closed;         /* FD_CLOSE came: read to the end (see on_readable) */
    char buf[LAB_BUF_SIZE];  /* what recv() returned, until it is sent back */
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;
static HWND msg_window;      /* receives every network event */

/* The live connections by socket. Every message names its socket, and a
 * linear search through 1,000 connections for each message would become
 * the server's main work; with a hash table a look-up costs the same at
 * any count. Socket handles are handle values: multiples of 4, handed out
 * from a small dense range. Dropping the two zero bits and keeping the low
 * bits of the rest spreads them evenly, so chains stay short (well under
 * 3 on average even at 10,000 connections). Only the window's thread
 * touches the table: no lock. */
static struct conn *conns[CONN_BUCKETS];

static struct conn **conn_bucket(SOCKET s)
{
    return &conns[((size_t)s >> 2) & (CONN_BUCKETS - 1)];
}

static struct conn *conn_find(SOCKET s)
{
    struct conn *c = *conn_bucket(s);
    while (c != NULL && c->s != s)
        c = c->next;
    return c;
}

static struct conn *conn_new(SOCKET s, const struct sockaddr_in *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        lab_log("out of memory: refusing a connection");
        closesocket(s);
        return NULL;
    }
    struct conn **bucket = conn_bucket(s);
    c->s = s;
    c->id = lab_next_conn_id();
    lab_addr_str(peer, c->peer, sizeof c->peer);
    c->next = *bucket;
    *bucket = c;
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

/* Closing the socket stops new messages for it, but not the ones already
 * queued (Microsoft's WSAAsyncSelect documentation says so): they arrive
 * later with this socket value, which by then may be another connection's.
 * The window procedure copes with both cases (see on_conn_event). */
static void conn_free(struct conn *c, const char *why)
{
    struct conn **p = conn_bucket(c->s);
    while (*p != c)
        p = &(*p)->next;
    *p = c->next;
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

/* Both run on a message that said the call would not block. WSAEWOULDBLOCK
 * is still possible (the message may be old, see on_conn_event) and still
 * means "not now": the failed call itself re-enables the message that
 * ends the wait. */

static int on_writable(struct conn *c);

/* One recv() per FD_READ message. recv() re-enables FD_READ, and if data
 * is still waiting Winsock posts a new FD_READ at once; a second recv()
 * for the same message could empty the socket before that new message is
 * handled, which then finds nothing (a spurious FD_READ, WSAEWOULDBLOCK).
 * Microsoft's documentation: "a single recv in response to each FD_READ
 * message is appropriate".
 *
 * Nothing is read while bytes are owed (len > 0): the FD_READ that comes
 * meanwhile is left unanswered, and as only recv() re-enables FD_READ,
 * Winsock posts no other. That is the backpressure: a client that does
 * not read its echo stops being read, and its unread data waits in the
 * kernel's buffers and then in its own, not in ours. When the debt is
 * paid, the FD_WRITE path calls this again, and that recv() re-enables
 * FD_READ. (The other way, WSAAsyncSelect without FD_READ and back again,
 * costs two calls per stall, and an FD_READ already queued arrives
 * anyway, so the len > 0 test would still be needed.)
 *
 * After FD_CLOSE (peer_closed) it reads on until recv() returns 0:
 * Windows posts no FD_READ to announce the end of the data, and the
 * close may have come while data was still unread. (The FD_READs these
 * extra calls may cause find WSAEWOULDBLOCK or a socket already closed.) */
static void on_readable(struct conn *c)
{
    for (;;) {
        if (c->len > 0)
            return; /* owed: the FD_WRITE path reads again once it is out */
        int n = recv(c->s, c->buf, (int)sizeof c->buf, 0);
        if (n == SOCKET_ERROR) {
            int err = WSAGetLastError();
            if (err == WSAEWOULDBLOCK)
                /* Nothing there: a spurious FD_READ, or an FD_CLOSE meant
                 * for an earlier socket with this handle value (after a
                 * real one recv() returns 0 or an error, never this). */
                c->peer_closed = 0;
            else
                conn_fail(c, "recv", err);
            return;
        }
        if (n == 0) {
            /* The client half-closed (shutdown send, or closesocket). We
             * owe nothing: the socket is read only after the last echo
             * went out. (Under Wine a reset ends here too: Wine posts
             * FD_CLOSE with error 0 and recv() returns 0, where Windows
             * fails recv() with WSAECONNRESET.) */
            conn_free(c, "closed by peer");
            return;
        }
        if (!opt.quiet)
            lab_log("conn %ld: %d bytes", c->id, n);
        c->len = (size_t)n;
        c->off = 0;
        if (!on_writable(c) || !c->peer_closed)
            return; /* FD_WRITE to come, or one recv per FD_READ */
    }
}

/* Sends buf[off..len). Returns 1 when all of it went out (len = off = 0:
 * read again), 0 when the rest waits for FD_WRITE or the connection was
 * closed; either way the caller stops there.
 *
 * FD_WRITE is posted once after accept, and after that only when a send()
 * has failed with WSAEWOULDBLOCK and room has appeared again. So this
 * sends until everything is out or until that failure: a non-blocking
 * send() may take less than asked, and stopping after such a short send
 * would wait for an FD_WRITE that never comes. */
static int on_writable(struct conn *c)
{
    /* SOLUTION BEGIN: Send buf[off..len) until all of it is out or send() fails with
     * WSAEWOULDBLOCK (return 0: FD_WRITE comes once there is room); another error conn_fail(c,
     * "send", err), return 0; count what went out (off, c->echoed, lab_count_echoed); all out:
     * len = off = 0, return 1. */
    while (c->off < c->len) {
        int sent = send(c->s, c->buf + c->off, (int)(c->len - c->off), 0);
        if (sent == SOCKET_ERROR) {
            int err = WSAGetLastError();
            if (err != WSAEWOULDBLOCK) /* else the client is not reading */
                conn_fail(c, "send", err);
            return 0;
        }
        c->off += (size_t)sent;
        c->echoed += (unsigned long long)sent;
        lab_count_echoed((size_t)sent);
    }
    c->len = c->off = 0; /* all of it went out: read again */
    return 1;
    /* SOLUTION END: conn_fail(c, "on_writable (a TODO)", WSAEOPNOTSUPP); return 0; */
}

/* When to select FD_ACCEPT again after a pause; 0 while accepting. */
static ULONGLONG accept_resume_at;

/* accept() re-enables FD_ACCEPT "even one that fails" (Microsoft's words),
 * so with a client waiting and no socket to give it (WSAEMFILE,
 * WSAENOBUFS) Winsock would post FD_ACCEPT again at once for as long as
 * the shortage lasts: a spin through the message queue. Steps 01 to 04
 * Sleep(100) here; a window procedure must not sleep, so FD_ACCEPT is
 * switched off for 100 ms instead. A timer wakes an idle queue when the
 * time is up. It cannot be the only way back: WM_TIMER, like WM_QUIT, is
 * generated only when no posted message is waiting, so busy connections
 * would hold it off indefinitely; main() also checks after every message. */
static void pause_accepting(void)
{
    if (WSAAsyncSelect(listener, msg_window, 0, 0) == SOCKET_ERROR)
        lab_error("WSAAsyncSelect", WSAGetLastError());
    accept_resume_at = GetTickCount64() + ACCEPT_RETRY_MS;
    if (SetTimer(msg_window, ACCEPT_RETRY_TIMER, ACCEPT_RETRY_MS, NULL) == 0) {
        lab_error_win32("SetTimer", GetLastError());
        accept_resume_at = 1; /* better a spin than a server that never accepts */
    }
}

/* After every message, and on the timer. */
static void check_accept_pause(void)
{
    if (accept_resume_at == 0 || GetTickCount64() < accept_resume_at)
        return; /* not paused, or not yet: the timer repeats until killed */
    accept_resume_at = 0;
    KillTimer(msg_window, ACCEPT_RETRY_TIMER);
    /* Re-selecting posts FD_ACCEPT at once if a client is already waiting. */
    if (WSAAsyncSelect(listener, msg_window, WM_LISTENER_EVENT, FD_ACCEPT) == SOCKET_ERROR) {
        lab_error("WSAAsyncSelect", WSAGetLastError());
        pause_accepting();
    }
}

/* One accept() per FD_ACCEPT: it re-enables FD_ACCEPT, and Winsock posts
 * the next one at once if more clients are waiting. */
static void accept_new(void)
{
    struct sockaddr_in peer;
    int peer_len = (int)sizeof peer;
    SOCKET s = accept(listener, (struct sockaddr *)&peer, &peer_len);
    if (s == INVALID_SOCKET) {
        int err = WSAGetLastError();
        if (err == WSAEWOULDBLOCK)
            return; /* a stale FD_ACCEPT: nobody is waiting any more */
        /* A client that reset while still in the backlog, or a shortage
         * of sockets or memory: not a reason to stop serving. Only a
         * shortage lasts, and only it pauses accepting: pausing for a
         * reset client would drain a backlog of them at 10 a second. */
        lab_error("accept", err);
        if (!lab_accept_gone(err) && !lab_is_peer_gone(err))
            pause_accepting();
        return;
    }
    struct conn *c = conn_new(s, &peer);
    if (c == NULL)
        return;
    /* The accepted socket inherits the listener's selection (FD_ACCEPT,
     * WM_LISTENER_EVENT); this replaces it. Winsock then posts FD_WRITE at
     * once (the socket is writable) and FD_READ if data is already there. */
    if (WSAAsyncSelect(s, msg_window, WM_CONN_EVENT, FD_READ | FD_WRITE | FD_CLOSE) ==
        SOCKET_ERROR) {
        lab_conn_error(c->id, "WSAAsyncSelect", WSAGetLastError());
        conn_free(c, "closed after an error");
    }
}

/* ------------------------------------------------------------------------
 * The window procedure: one network event per message
 * --------------------------------------------------------------------- */

/* A message can name a socket that is gone: closing a socket does not take
 * its messages out of the queue. If the handle value has not been reused,
 * the look-up fails and the message is dropped. If it has (Windows hands
 * out freed handle values again, often at the very next accept), the
 * message reaches a new connection it was never meant for. So no event is
 * taken on the message's word: each one only leads to a call on the
 * socket (recv, send), and the call's result decides. A stale FD_READ or
 * FD_CLOSE then ends in WSAEWOULDBLOCK, a stale FD_WRITE sends only what
 * this connection really owes. That is also why the error code in lParam
 * (WSAECONNRESET for a reset) is not used: recv() reports the same. */
static void on_conn_event(SOCKET s, int event)
{
    struct conn *c = conn_find(s);
    if (c == NULL)
        return; /* a message for a socket already closed */
    switch (event) {
    case FD_READ:
        on_readable(c);
        break;
    /* SOLUTION BEGIN: Add the cases FD_WRITE (if bytes are owed, on_writable(c), and once that
     * paid all, on_readable(c) for the FD_READ left unanswered meanwhile) and FD_CLOSE (set
     * c->peer_closed, pay what is owed, then on_readable(c) to read what is left until recv()
     * returns 0). */
    case FD_WRITE:
        /* Nothing owed: the first FD_WRITE after accept, or a stale one. */
        if (c->len > 0 && on_writable(c))
            on_readable(c); /* the FD_READ left unanswered meanwhile */
        break;
    case FD_CLOSE:
        /* A half-close or a reset. Pay what is owed first: a reset makes
         * send() fail (so a connection waiting for an FD_WRITE that will
         * never come is not left behind), a half-close lets it go on.
         * Then read what is left, and recv() returning 0 closes. */
        c->peer_closed = 1;
        if (c->len == 0 || on_writable(c))
            on_readable(c);
        break;
    /* SOLUTION END */
    default:
        break;
    }
}

static LRESULT CALLBACK window_proc(HWND w, UINT msg, WPARAM wp, LPARAM lp)
{
    switch (msg) {
    case WM_LISTENER_EVENT:
        /* wParam is the socket, the low word of lParam the one event. */
        if ((SOCKET)wp == listener && WSAGETSELECTEVENT(lp) == FD_ACCEPT)
            accept_new();
        return 0;
    case WM_CONN_EVENT:
        on_conn_event((SOCKET)wp, WSAGETSELECTEVENT(lp));
        return 0;
    case WM_TIMER:
        if (wp == ACCEPT_RETRY_TIMER)
            check_accept_pause();
        return 0;
    case WM_LAB_STOP:
        /* Nothing to do: its arrival wakes GetMessage(), and the loop in
         * main() sees lab_stopping(). Not PostQuitMessage(): WM_QUIT is a
         * flag on the queue that GetMessage() reports only once no posted
         * message is waiting, and busy connections keep posting. */
        return 0;
    default:
        return DefWindowProcW(w, msg, wp, lp);
    }
}

/* The message-only window. A top-level window would need a desktop to
 * appear on (and fails under Wine without a display); a server has nothing
 * to show, only a queue to receive from. */
static HWND create_msg_window(void)
{
    WNDCLASSEXW wc;
    HWND w;
    memset(&wc, 0, sizeof wc);
    wc.cbSize = (UINT)sizeof wc;
    wc.lpfnWndProc = window_proc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"lab_echo_server";
    if (RegisterClassExW(&wc) == 0)
        lab_fatal_win32("RegisterClassEx", GetLastError());
    w = CreateWindowExW(0, wc.lpszClassName, L"", 0, 0, 0, 0, 0, HWND_MESSAGE, NULL,
                        wc.hInstance, NULL);
    if (w == NULL)
        lab_fatal_win32("CreateWindowEx", GetLastError());
    return w;
}

/* ------------------------------------------------------------------------
 * Stopping
 * --------------------------------------------------------------------- */

/* Runs on the Ctrl+C handler's thread. The connections belong to the
 * window's thread, so this only posts a message; it joins the queue behind
 * the network events already there. PostMessage() can fail: when the queue
 * is full (10,000 posted messages, ERROR_NOT_ENOUGH_QUOTA), and for causes
 * Microsoft does not list (a desktop heap out of memory). A lost message
 * would leave an idle loop asleep in GetMessage() for good, so try again,
 * whatever the error, until it is posted or the window is gone (main()
 * destroys it only after the loop has ended). */
static void wake(void)
{
    while (!PostMessageW(msg_window, WM_LAB_STOP, 0, 0) && IsWindow(msg_window))
        Sleep(10);
}

/* ------------------------------------------------------------------------
 * Main: create the window, select FD_ACCEPT, run the message loop
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    msg_window = create_msg_window();
    listener = lab_listen(&opt, 0);
    /* Makes the listener non-blocking too; posts FD_ACCEPT when a client
     * is waiting. */
    if (WSAAsyncSelect(listener, msg_window, WM_LISTENER_EVENT, FD_ACCEPT) == SOCKET_ERROR)
        lab_fatal("WSAAsyncSelect", WSAGetLastError());
    lab_on_stop(wake);
    lab_ready(&opt, MODEL);

    while (!lab_stopping()) {
        MSG m;
        /* Waits (INFINITE) until a message is posted to this thread. */
        BOOL r = GetMessageW(&m, NULL, 0, 0);
        if (r == -1) {
            /* Only for a bad window handle or pointer, which cannot
             * happen here; stopping beats retrying a lasting error. */
            lab_error_win32("GetMessage", GetLastError());
            break;
        }
        if (r == 0)
            break; /* WM_QUIT: nobody here posts it, but it ends any loop */
        DispatchMessageW(&m); /* calls window_proc */
        check_accept_pause();
    }

    /* Ctrl+C closes every connection as it stands, and a client may lose
     * the echo it is owed: the part send() has not taken yet is dropped,
     * and a socket with unread input (the client sent more than was read),
     * or one that input reaches after the close, answers with a reset,
     * which drops what send() took but the client has not received yet.
     * Steps 07 to 09 deliver what is owed, within a bounded grace. */
    for (size_t i = 0; i < CONN_BUCKETS; i++)
        while (conns[i] != NULL)
            conn_free(conns[i], "closed at shutdown");
    closesocket(listener);
    listener = INVALID_SOCKET;
    DestroyWindow(msg_window); /* messages still queued go with it */
    return lab_finish();
}
