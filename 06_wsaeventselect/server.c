/*
 * 06_wsaeventselect - the echo server driven by event objects, with a
 * waiting thread per 63 sockets.
 *
 * Model. Every socket gets an event object, and WSAEventSelect() asks
 * Winsock to set it when FD_READ, FD_WRITE or FD_CLOSE happens on the
 * socket. A group thread waits in WSAWaitForMultipleEvents() on the events
 * of up to 63 sockets plus one wake-up event of its own; when the wait
 * returns, it asks WSAEnumNetworkEvents() what happened on each signalled
 * socket and does the non-blocking recv() and send() itself. The main
 * thread waits on the listener's event (FD_ACCEPT) and the stop event,
 * accepts, and hands each new socket to the first group with room,
 * starting a new group (a thread) when every group is full. Like 03 to 05
 * it is a reactor: Winsock says "you can", the server does.
 *
 * What this step adds over 05. No window and no message queue: an event
 * object can be waited on by any thread, together with other kernel
 * objects (the wake-up event, the stop event), so the connections can be
 * spread over several threads. An event says only "something happened on
 * this socket"; WSAEnumNetworkEvents() then reports which events and
 * their error codes, for this socket alone, so nothing arrives late for a
 * closed socket as 05's messages do. The costs: WSAWaitForMultipleEvents()
 * takes at most WSA_MAXIMUM_WAIT_EVENTS (64) handles, so past 63 sockets
 * a server needs more waiting threads and a race-free way to give them
 * sockets; the wait reports only the lowest signalled index, so a fair
 * server must look at the others too; and the re-enabling rules of 05
 * still hold: FD_READ is recorded again only after recv(), FD_WRITE only
 * after a send() that failed with WSAEWOULDBLOCK.
 *
 * Limits. 63 sockets per group, MAX_GROUPS groups: 16,128 connections;
 * one beyond that is closed at once with a log line. Each group is a
 * thread (64 KiB of stack reserved) and each socket an event object. A
 * group whose thread cannot be created: that connection is closed, the
 * others go on. A client that sends without reading stops being read
 * (backpressure, see on_readable).
 *
 * Left out on purpose. Moving sockets between groups to balance them;
 * ending a group that becomes empty (see group_thread); timeouts; IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 06_wsaeventselect.exe server.c -lws2_32
 * Run:
 *   06_wsaeventselect.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 05:
 *   diff 05_wsaasyncselect/server.c 06_wsaeventselect/server.c
 */
#include "lab.h"
#include <process.h>

#define MODEL "06_wsaeventselect"

/* A group waits on its wake-up event plus one event per socket, and one
 * wait takes at most WSA_MAXIMUM_WAIT_EVENTS (64) handles. */
#define GROUP_SIZE (WSA_MAXIMUM_WAIT_EVENTS - 1)
#define MAX_GROUPS 256

/* Stack reserved for each group thread: the echo buffers live in struct
 * conn on the heap, the arrays in struct group. */
#define GROUP_STACK (64 * 1024)

/* Connections accepted per FD_ACCEPT wake-up before main looks at the
 * stop event again (see accept_ready). */
#define ACCEPT_BATCH 16

/* How often main looks at the backlog itself while FD_ACCEPT may be
 * stuck (Wine: see main). */
#define ACCEPT_POLL_MS 100

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

struct group;

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    size_t len, off;         /* buf[off..len) is still owed to the client */
    int peer_closed;         /* FD_CLOSE came: read to the end (see on_readable) */
    WSAEVENT ev;             /* set by Winsock on FD_READ, FD_WRITE, FD_CLOSE */
    struct group *g;         /* the group that waits on ev, once adopted */
    DWORD slot;              /* its index in g->events and g->conns */
    char buf[LAB_BUF_SIZE];  /* what recv() returned, until it is sent back */
};

/* A waiting thread and its sockets. Main hands sockets over through the
 * queue; only the group's own thread touches the arrays it waits on. */
struct group {
    int index;
    HANDLE thread;
    WSAEVENT wakeup;         /* set by main: sockets queued, or stop */
    CRITICAL_SECTION lock;   /* guards queue, queued, assigned, dead */
    struct conn *queue[GROUP_SIZE];
    int queued;              /* handed over, not adopted yet */
    int assigned;            /* queued + adopted: main's measure of room */
    int dead;                /* its thread has ended: no more sockets */
    /* The thread's own: [0] is the wake-up event, [1..n] the sockets'. */
    DWORD n;
    WSAEVENT events[WSA_MAXIMUM_WAIT_EVENTS];
    struct conn *conns[WSA_MAXIMUM_WAIT_EVENTS];
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;
static WSAEVENT accept_event = WSA_INVALID_EVENT;

/* The groups. Only the main thread touches this array: it creates the
 * groups, hands them sockets, and at the end wakes and joins them. */
static struct group *groups[MAX_GROUPS];
static int group_count;

/* Set by main before it wakes the groups for the last time. */
static volatile LONG closing;

static void group_drop(struct group *g, struct conn *c);

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
    c->ev = WSACreateEvent();
    if (c->ev == WSA_INVALID_EVENT) {
        lab_error("WSACreateEvent", WSAGetLastError());
        closesocket(s);
        free(c);
        return NULL;
    }
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

/* Runs on the group's thread once the group has adopted c, or on the
 * main thread before that. closesocket() cancels the WSAEventSelect()
 * association, so the event can go with it. */
static void conn_free(struct conn *c, const char *why)
{
    if (c->g != NULL)
        group_drop(c->g, c);
    /* Graceful after recv() returned 0 (the client's FIN came, nothing is
     * left unread): what send() took is still delivered, then a FIN. A
     * socket closed with unread input is reset instead (Ctrl+C, below). */
    closesocket(c->s);
    WSACloseEvent(c->ev);
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, why, c->echoed);
    free(c);
}

/* A failed call ends that connection only. A reset is the peer's
 * business, not an error of ours. (Nothing closes sockets behind a group
 * thread's back: at Ctrl+C each group closes its own, so there is no
 * "closed at shutdown" case to tell apart here.) */
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

/* Both run after WSAEnumNetworkEvents said the call would not block.
 * WSAEWOULDBLOCK is still possible and still means "not now": the failed
 * call itself re-enables the event that ends the wait. */

static int on_writable(struct conn *c);

/* One recv() per wake-up. recv() re-enables FD_READ, and if data is still
 * waiting Winsock records FD_READ again and sets the event at once; the
 * next pass of the group takes it. So one busy client gets one buffer per
 * pass and cannot keep the thread from the other 62 sockets, and a second
 * recv() here would only find the data of the next FD_READ gone.
 *
 * Nothing is read while bytes are owed (len > 0): the FD_READ that comes
 * meanwhile is left unanswered, and as only recv() re-enables FD_READ,
 * Winsock records no other. That is the backpressure: a client that does
 * not read its echo stops being read, and its unread data waits in the
 * kernel's buffers and then in its own, not in ours. When the debt is
 * paid, on_events calls this again, and that recv() re-enables FD_READ.
 *
 * After FD_CLOSE (peer_closed) it reads on until recv() returns 0:
 * FD_CLOSE may come while data is still unread, and no FD_READ is
 * promised for the rest. The client sends nothing more, so this ends. */
static void on_readable(struct conn *c)
{
    for (;;) {
        if (c->len > 0)
            return; /* owed: the FD_WRITE path reads again once it is out */
        int n = recv(c->s, c->buf, (int)sizeof c->buf, 0);
        if (n == SOCKET_ERROR) {
            int err = WSAGetLastError();
            if (err != WSAEWOULDBLOCK) /* else taken already: FD_READ is re-enabled */
                conn_fail(c, "recv", err);
            return;
        }
        if (n == 0) {
            /* The client half-closed (shutdown send, or closesocket). We
             * owe nothing: the socket is read only after the last echo
             * went out. */
            conn_free(c, "closed by peer");
            return;
        }
        if (!opt.quiet)
            lab_log("conn %ld: %d bytes", c->id, n);
        c->len = (size_t)n;
        c->off = 0;
        if (!on_writable(c) || !c->peer_closed)
            return; /* FD_WRITE to come, or one recv per wake-up */
    }
}

/* Sends buf[off..len). Returns 1 when all of it went out (len = off = 0:
 * read again), 0 when the rest waits for FD_WRITE or the connection was
 * closed; either way the caller stops there.
 *
 * FD_WRITE is recorded once after WSAEventSelect(), and after that only
 * when a send() has failed with WSAEWOULDBLOCK and room has appeared
 * again. So this sends until everything is out or until that failure: a
 * non-blocking send() may take less than asked, and stopping after such
 * a short send would wait for an FD_WRITE that never comes. */
static int on_writable(struct conn *c)
{
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
}

/* The event of c is set: what happened since the last look? Unlike 05's
 * messages, the answer and its error codes are about this socket now. */
static void on_events(struct conn *c)
{
    /* SOLUTION BEGIN: Read and reset c's events with WSAEnumNetworkEvents(c->s, c->ev, &ne);
     * conn_fail(c, ...) on a failed call or an error code of FD_READ, FD_WRITE or FD_CLOSE
     * (ne.iErrorCode[FD_*_BIT]); on FD_CLOSE set peer_closed; then, owing and told FD_WRITE or
     * FD_CLOSE, on_writable(c) and once all is paid on_readable(c); owing nothing and told
     * FD_READ or FD_CLOSE, on_readable(c). */
    WSANETWORKEVENTS ne;
    /* Passing the event resets it in the same call that reads and clears
     * the record, so an event recorded just after is not lost between a
     * separate read and reset. */
    if (WSAEnumNetworkEvents(c->s, c->ev, &ne) == SOCKET_ERROR) {
        conn_fail(c, "WSAEnumNetworkEvents", WSAGetLastError());
        return;
    }
    /* A reset arrives as FD_CLOSE with WSAECONNRESET or WSAECONNABORTED,
     * a half-close as FD_CLOSE with 0. (Wine 8 reports a reset as 0 too;
     * then the send or the recv below fails, or recv() returns 0.) */
    if ((ne.lNetworkEvents & FD_READ) && ne.iErrorCode[FD_READ_BIT] != 0) {
        conn_fail(c, "FD_READ", ne.iErrorCode[FD_READ_BIT]);
        return;
    }
    if ((ne.lNetworkEvents & FD_WRITE) && ne.iErrorCode[FD_WRITE_BIT] != 0) {
        conn_fail(c, "FD_WRITE", ne.iErrorCode[FD_WRITE_BIT]);
        return;
    }
    if ((ne.lNetworkEvents & FD_CLOSE) && ne.iErrorCode[FD_CLOSE_BIT] != 0) {
        conn_fail(c, "FD_CLOSE", ne.iErrorCode[FD_CLOSE_BIT]);
        return;
    }
    if (ne.lNetworkEvents & FD_CLOSE)
        c->peer_closed = 1;
    if (c->len > 0) {
        /* Owed. FD_WRITE says there is room again. After FD_CLOSE, try
         * too: a half-close lets the sends go on. An FD_READ alone waits,
         * unanswered: that is the backpressure. */
        if ((ne.lNetworkEvents & (FD_WRITE | FD_CLOSE)) && on_writable(c))
            on_readable(c); /* the FD_READ left unanswered meanwhile */
    } else if (ne.lNetworkEvents & (FD_READ | FD_CLOSE)) {
        /* The first FD_WRITE, with nothing owed, needs nothing. */
        on_readable(c);
    }
    /* SOLUTION END: (void)&on_readable; conn_fail(c, "on_events (a TODO)", WSAEOPNOTSUPP); */
}

/* ------------------------------------------------------------------------
 * Groups: up to 63 sockets per waiting thread
 * --------------------------------------------------------------------- */

/* Takes the sockets main has queued into the arrays. Only this thread
 * writes them, so its wait never sees them half-changed and no lock is
 * held while it waits. */
static void group_adopt(struct group *g)
{
    struct conn *taken[GROUP_SIZE];
    int count;
    /* Reset before taking the queue: a socket queued after this sets the
     * event again, so none is left waiting. The reset can also erase the
     * wake-up of Ctrl+C, which main sets after `closing`: if this thread
     * looked at `closing` before main set it, and resets after main set
     * the event, nothing would wake it again and main's join would hang.
     * So group_thread looks at `closing` again after this reset: a reset
     * that erased main's set came after it, so after `closing` was set. */
    WSAResetEvent(g->wakeup);
    EnterCriticalSection(&g->lock);
    count = g->queued;
    memcpy(taken, g->queue, (size_t)count * sizeof taken[0]);
    g->queued = 0;
    LeaveCriticalSection(&g->lock);
    for (int i = 0; i < count; i++) {
        struct conn *c = taken[i];
        g->n++;
        g->events[g->n] = c->ev;
        g->conns[g->n] = c;
        c->g = g;
        c->slot = g->n;
    }
}

/* Takes c out of the arrays (the last socket moves into its slot) and
 * gives its room back to main. */
static void group_drop(struct group *g, struct conn *c)
{
    DWORD i = c->slot;
    g->events[i] = g->events[g->n];
    g->conns[i] = g->conns[g->n];
    g->conns[i]->slot = i;
    g->events[g->n] = WSA_INVALID_EVENT;
    g->conns[g->n] = NULL;
    g->n--;
    c->g = NULL;
    EnterCriticalSection(&g->lock);
    g->assigned--;
    LeaveCriticalSection(&g->lock);
}

/* WSAWaitForMultipleEvents() reports only the lowest signalled index. A
 * thread that served just that socket and waited again would, while a
 * client at a low index keeps sending, get that index back on every
 * wake-up, and the sockets above it would starve. So after a wake-up
 * every socket from the reported index on is looked at (those below it
 * were not signalled), each with a zero-timeout wait on its event: a look
 * at the event object, not a question to the socket. */
static void group_scan(struct group *g, DWORD first)
{
    /* SOLUTION BEGIN: Visit every slot from first to g->n: skip one whose event is not set (a
     * zero-timeout WSAWaitForMultipleEvents on it alone), else on_events() it, and visit the
     * same slot again when that ended its connection (g->n dropped: the last one moved in). The
     * stub serves only the slot the wait reported: slots above a busy one starve. */
    DWORD i = first;
    while (i <= g->n) {
        if (WSAWaitForMultipleEvents(1, &g->events[i], TRUE, 0, FALSE) != WSA_WAIT_EVENT_0) {
            i++;
            continue;
        }
        DWORD before = g->n;
        on_events(g->conns[i]);
        /* A connection that ended took the last socket into slot i:
         * look at slot i again. */
        if (g->n == before)
            i++;
    }
    /* SOLUTION END: if (first <= g->n) on_events(g->conns[first]); */
}

/* A group that becomes empty stays: its thread sleeps in the wait at no
 * cost but its stack and two handles, and main fills it again before it
 * starts another. Ending it would save little and need main and the
 * thread to agree, under the lock, that no socket is on its way to it. */
static unsigned __stdcall group_thread(void *arg)
{
    struct group *g = arg;
    const char *why;
    for (;;) {
        /* INFINITE: the wake-up event is always in the set (so the set is
         * never empty), and main sets it for new sockets and at Ctrl+C. */
        DWORD r = WSAWaitForMultipleEvents(g->n + 1, g->events, FALSE, WSA_INFINITE, FALSE);
        if (closing)
            break;
        if (r == WSA_WAIT_FAILED) {
            /* Only a bad handle or count causes it: a bug. Close this
             * group rather than spin; the others go on. */
            lab_error("WSAWaitForMultipleEvents", WSAGetLastError());
            break;
        }
        DWORD first = r - WSA_WAIT_EVENT_0;
        if (first == 0) {
            group_adopt(g);
            if (closing) /* seen only now: see group_adopt */
                break;
            first = 1;
        }
        group_scan(g, first);
    }
    /* Take no more sockets (main queues none once `dead` is set), then
     * close those still queued and those adopted. */
    why = closing ? "closed at shutdown" : "closed after an error";
    EnterCriticalSection(&g->lock);
    g->dead = 1;
    LeaveCriticalSection(&g->lock);
    for (int i = 0; i < g->queued; i++)
        conn_free(g->queue[i], why);
    g->queued = 0;
    /* Ctrl+C closes every connection as it stands, and a client may lose
     * the echo it is owed: the part send() has not taken yet is dropped,
     * and a socket with unread input (the client sent more than was read),
     * or one that input reaches after the close, answers with a reset,
     * which drops what send() took but the client has not received yet.
     * Steps 07 to 09 deliver what is owed, within a bounded grace. */
    while (g->n > 0)
        conn_free(g->conns[g->n], why);
    return 0;
}

static struct group *group_new(void)
{
    struct group *g = calloc(1, sizeof *g);
    if (g == NULL) {
        lab_log("out of memory: no new group");
        return NULL;
    }
    g->index = group_count;
    g->wakeup = WSACreateEvent();
    if (g->wakeup == WSA_INVALID_EVENT) {
        lab_error("WSACreateEvent", WSAGetLastError());
        free(g);
        return NULL;
    }
    g->events[0] = g->wakeup;
    InitializeCriticalSection(&g->lock);
    /* _beginthreadex, not CreateThread: the thread uses the C runtime
     * (printf). STACK_SIZE_PARAM_IS_A_RESERVATION makes GROUP_STACK the
     * reserved size instead of the committed one. */
    uintptr_t th = _beginthreadex(NULL, GROUP_STACK, group_thread, g,
                                  STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (th == 0) {
        lab_error_win32("_beginthreadex", GetLastError());
        DeleteCriticalSection(&g->lock);
        WSACloseEvent(g->wakeup);
        free(g);
        return NULL;
    }
    g->thread = (HANDLE)th;
    groups[group_count++] = g;
    lab_log("group %d: started (%d sockets per group)", g->index, GROUP_SIZE);
    return g;
}

/* Queues c for the group if it has room, and wakes its thread, which
 * adopts c itself. Returns 0 when the group is full (or dead). */
static int group_add(struct group *g, struct conn *c)
{
    int ok = 0;
    EnterCriticalSection(&g->lock);
    if (!g->dead && g->assigned < GROUP_SIZE) {
        g->queue[g->queued++] = c;
        g->assigned++;
        ok = 1;
    }
    LeaveCriticalSection(&g->lock);
    if (ok)
        WSASetEvent(g->wakeup);
    return ok;
}

/* The first group with room takes c, else a new group. A full group is
 * not disturbed: the 64th connection wakes the second group's thread, and
 * the first group's thread never hears of it. */
static void hand_over(struct conn *c)
{
    for (int i = 0; i < group_count; i++)
        if (group_add(groups[i], c))
            return;
    if (group_count == MAX_GROUPS) {
        conn_free(c, "closed: server full");
        return;
    }
    struct group *g = group_new();
    if (g == NULL || !group_add(g, c))
        conn_free(c, "closed: no group for it");
}

/* ------------------------------------------------------------------------
 * Accepting
 * --------------------------------------------------------------------- */

/* The listener's FD_ACCEPT event is set: accept what the backlog holds.
 * WSAEventSelect made the listener non-blocking, so accept() fails with
 * WSAEWOULDBLOCK when the backlog is empty instead of blocking. Returns
 * how many clients it accepted. */
static int accept_ready(void)
{
    WSANETWORKEVENTS ne;
    int accepted = 0;

    /* Resets the event. Each accept() call re-enables FD_ACCEPT, and the
     * event is set again while the backlog is not empty. */
    if (WSAEnumNetworkEvents(listener, accept_event, &ne) == SOCKET_ERROR)
        lab_error("WSAEnumNetworkEvents", WSAGetLastError());
    else if ((ne.lNetworkEvents & FD_ACCEPT) && ne.iErrorCode[FD_ACCEPT_BIT] != 0)
        lab_error("FD_ACCEPT", ne.iErrorCode[FD_ACCEPT_BIT]);

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_in peer;
        int peer_len = (int)sizeof peer;
        SOCKET s = accept(listener, (struct sockaddr *)&peer, &peer_len);
        if (s == INVALID_SOCKET) {
            int err = WSAGetLastError();
            if (err == WSAEWOULDBLOCK) /* the backlog is empty */
                break;
            /* A client that reset while still in the backlog, or a
             * shortage of sockets or memory: not a reason to stop serving.
             * A shortage makes accept() fail at once for as long as it
             * lasts; the pause keeps this loop from spinning meanwhile. */
            lab_error("accept", err);
            if (lab_accept_gone(err))
                continue;
            Sleep(100);
            break;
        }
        accepted++;
        struct conn *c = conn_new(s, &peer);
        if (c == NULL)
            continue;
        /* The accepted socket inherits the listener's WSAEventSelect():
         * accept_event and FD_ACCEPT (and non-blocking mode, which is what
         * a reactor wants). Give it its own event and a connection's
         * events. Winsock then records FD_WRITE at once (the socket is
         * writable) and FD_READ if data is already there: nothing that
         * happened since accept() is lost. */
        if (WSAEventSelect(s, c->ev, FD_READ | FD_WRITE | FD_CLOSE) == SOCKET_ERROR) {
            conn_fail(c, "WSAEventSelect", WSAGetLastError());
            continue;
        }
        hand_over(c);
    }
    return accepted;
}

/* ------------------------------------------------------------------------
 * Main: wait for FD_ACCEPT or Ctrl+C, accept, hand sockets to groups
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    WSAEVENT waits[2];
    DWORD poll_ms = WSA_INFINITE;

    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    listener = lab_listen(&opt, 0);
    accept_event = WSACreateEvent();
    if (accept_event == WSA_INVALID_EVENT)
        lab_fatal("WSACreateEvent", WSAGetLastError());
    if (WSAEventSelect(listener, accept_event, FD_ACCEPT) == SOCKET_ERROR)
        lab_fatal("WSAEventSelect", WSAGetLastError());
    lab_on_stop(NULL); /* no wake(): main waits on lab_stop_event and wakes the groups */
    lab_ready(&opt, MODEL);

    /* The stop event first: when both are set, the wait reports the lower
     * index, and a stream of connections must not delay Ctrl+C. */
    waits[0] = lab_stop_event;
    waits[1] = accept_event;
    while (!lab_stopping()) {
        DWORD r = WSAWaitForMultipleEvents(2, waits, FALSE, poll_ms, FALSE);
        if (r == WSA_WAIT_EVENT_0) /* Ctrl+C: the loop ends */
            continue;
        if (r == WSA_WAIT_EVENT_0 + 1 || r == WSA_WAIT_TIMEOUT) {
            /* Wine 8 re-enables FD_ACCEPT only on an accept() that
             * succeeds, not on one that fails with WSAEWOULDBLOCK as
             * Microsoft documents ("even one that fails"), and it can
             * record an FD_ACCEPT for a client that accept() has already
             * taken. The accept() that then finds the backlog empty leaves
             * FD_ACCEPT switched off: no later client would set the event.
             * So after a wake-up that accepted nobody, the wait gets a
             * timeout and main looks at the backlog itself until a client
             * comes. On Windows this happens only when a client gave up
             * while in the backlog. */
            poll_ms = accept_ready() > 0 ? WSA_INFINITE : ACCEPT_POLL_MS;
            continue;
        }
        /* WSA_WAIT_FAILED: only invalid handles cause it, and these two
         * live as long as the program. Stop rather than spin. */
        lab_error("WSAWaitForMultipleEvents", WSAGetLastError());
        break;
    }

    /* Each group sees `closing` when its wake-up event is set, closes
     * its sockets and ends; then the summary. */
    closesocket(listener);
    listener = INVALID_SOCKET;
    InterlockedExchange(&closing, 1);
    for (int i = 0; i < group_count; i++)
        WSASetEvent(groups[i]->wakeup);
    for (int i = 0; i < group_count; i++) {
        WaitForSingleObject(groups[i]->thread, INFINITE);
        CloseHandle(groups[i]->thread);
        WSACloseEvent(groups[i]->wakeup);
        DeleteCriticalSection(&groups[i]->lock);
        free(groups[i]);
    }
    WSACloseEvent(accept_event);
    return lab_finish();
}
