/*
 * 07_overlapped_event - overlapped I/O with an event per operation, with a
 * waiting thread per 63 sockets.
 *
 * Model. The server no longer asks "may I read?": it posts a receive with
 * WSARecv() and an OVERLAPPED, and the system does the receive into the
 * connection's buffer whenever data comes, then sets the event in
 * OVERLAPPED.hEvent. A group thread waits in WSAWaitForMultipleEvents() on
 * the events of the operations in flight of up to 63 connections (one
 * each: a receive, or the send of its echo) plus one wake-up event of its
 * own. When an event is set, WSAGetOverlappedResult() tells how the
 * operation ended and how many bytes it moved, and the thread posts the
 * next operation: the echo of what arrived, the rest of a short send, or
 * the next receive. The main thread waits on the listener's event
 * (FD_ACCEPT) and the stop event, accepts, and hands each new socket to
 * the first group with room, starting a new group (a thread) when every
 * group is full, exactly as in 06. This is a proactor: the server says
 * "do this", the system does it and reports "done".
 *
 * What this step adds over 06. The copying between the kernel and the
 * buffer happens inside the system, while no thread of ours runs, and the
 * server is told about finished work instead of readiness: no
 * WSAEWOULDBLOCK, no re-enabling rules, no FD_WRITE. The costs: a buffer
 * and an OVERLAPPED handed to the system belong to it until the
 * operation completes. They must not move, be reused or be freed before
 * then, which is the source of this model's classic bugs; closing a
 * socket does not end that ownership at once, so a closed connection's
 * memory is freed only when its aborted operations have completed (a
 * pending count per connection). And the waiting is 06's, with the same
 * 64-handle limit and the same groups, now over one event per operation.
 *
 * Limits. 63 connections per group, MAX_GROUPS groups: 16,128
 * connections; one beyond that is closed at once with a log line. Each
 * group is a thread (64 KiB of stack reserved); each connection has two
 * event objects, one in each of its io_ops. A client that sends without
 * reading stops being read: the next receive is posted only once the
 * echo has gone out (backpressure).
 *
 * Left out on purpose. AcceptEx (the listener stays a readiness socket,
 * so that the diff with 06 shows the model change and little else); more
 * than one operation in flight per connection; moving connections between
 * groups; ending a group that becomes empty; timeouts; IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 07_overlapped_event.exe server.c -lws2_32
 * Run:
 *   07_overlapped_event.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 06:
 *   diff 06_wsaeventselect/server.c 07_overlapped_event/server.c
 */
#include "lab.h"
#include <process.h>

#define MODEL "07_overlapped_event"

/* A group waits on its wake-up event plus the event of each connection's
 * operation in flight (one per connection), and one wait takes at most
 * WSA_MAXIMUM_WAIT_EVENTS (64) handles. */
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

/* At Ctrl+C, how long a client may take to read the rest of its echo (at
 * most LAB_BUF_SIZE bytes on the way) before that send is cancelled: long
 * enough for a client that reads, short enough that one that does not
 * cannot hold the server. */
#define SHUTDOWN_GRACE_MS 2000

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

struct group;

enum op_kind { OP_RECV, OP_SEND };

/* One overlapped operation. The WSAOVERLAPPED, and the buffer WSABUF
 * points to, belong to the system from the call that posts the operation
 * until it completes: they must stay put (no copying the struct, no
 * freeing) and must not be posted again before then. ov.hEvent is this
 * operation's own event, created once with the connection; the system
 * sets it when the operation completes. The group keeps the WSAOVERLAPPED
 * pointer beside the event, and CONTAINING_RECORD finds the io_op around
 * it, as steps 08 and 09 will with the pointer the system hands back. */
struct io_op {
    WSAOVERLAPPED ov;
    enum op_kind kind;
    WSABUF wb;
    struct conn *c;
};

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    size_t len, off;         /* buf[off..len) is still owed to the client */
    int pending;             /* operations posted and not handled yet, + 1 at set-up */
    const char *why;         /* set once the connection is closed */
    int draining;            /* Ctrl+C: FIN sent, receives are read and dropped */
    struct io_op recv_op, send_op; /* one per operation that can be in flight */
    struct group *g;         /* the group that waits on its events, once adopted */
    DWORD slot;              /* its index in g->events and g->ovs */
    char buf[LAB_BUF_SIZE];  /* what WSARecv filled, until it is sent back */
};

/* A waiting thread and its connections. Main hands sockets over through
 * the queue; only the group's own thread touches the arrays it waits on
 * and posts operations on its sockets. */
struct group {
    int index;
    HANDLE thread;
    WSAEVENT wakeup;         /* set by main: sockets queued, or stop */
    CRITICAL_SECTION lock;   /* guards queue, queued, assigned, dead */
    struct conn *queue[GROUP_SIZE];
    int queued;              /* handed over, not adopted yet */
    int assigned;            /* queued + adopted: main's measure of room */
    int dead;                /* its thread has ended: no more sockets */
    /* The thread's own: [0] is the wake-up event, [1..n] the events of
     * the connections' operations in flight, ovs[i] their OVERLAPPEDs. */
    DWORD n;
    WSAEVENT events[WSA_MAXIMUM_WAIT_EVENTS];
    WSAOVERLAPPED *ovs[WSA_MAXIMUM_WAIT_EVENTS];
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
    c->pending = 1;
    lab_addr_str(peer, c->peer, sizeof c->peer);
    /* The second event only once the first exists, so that the error
     * logged is the failed call's and only the first can need closing. */
    c->recv_op.ov.hEvent = WSACreateEvent();
    c->send_op.ov.hEvent = WSA_INVALID_EVENT;
    if (c->recv_op.ov.hEvent != WSA_INVALID_EVENT)
        c->send_op.ov.hEvent = WSACreateEvent();
    if (c->send_op.ov.hEvent == WSA_INVALID_EVENT) {
        lab_error("WSACreateEvent", WSAGetLastError());
        if (c->recv_op.ov.hEvent != WSA_INVALID_EVENT)
            WSACloseEvent(c->recv_op.ov.hEvent);
        closesocket(s);
        free(c);
        return NULL;
    }
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

/* Closes the connection: the socket now, the memory when the last
 * reference goes (conn_put). The system still writes into the io_op (and
 * into buf) of a pending operation, and closesocket() does not stop that
 * at once: it aborts the operation, which then completes with an error
 * and sets its event; on_io_done sees it and drops its reference. Runs on
 * the group's thread once the group has adopted c, or on the main thread
 * before that (no operation has been posted then). */
static void conn_close(struct conn *c, const char *why)
{
    if (c->why == NULL)
        c->why = why;
    if (c->s != INVALID_SOCKET) {
        /* Windows aborts the pending operations of a socket it closes.
         * Wine 8 leaves a pending WSASend pending for ever (a client that
         * does not read, at Ctrl+C); only CancelIoEx ends it (995).
         * Cancel, then close: right on both. At Ctrl+C nothing owed is
         * dropped so before SHUTDOWN_GRACE_MS has passed (see post_recv). */
        CancelIoEx((HANDLE)c->s, NULL);
        closesocket(c->s);
    }
    c->s = INVALID_SOCKET;
}

/* A failed operation ends that connection only. A reset is the peer's
 * business, not an error of ours; an operation failing because Ctrl+C
 * cancelled it is the shutdown, not an error either. (Nothing closes
 * sockets behind a group thread's back: at Ctrl+C each group closes its
 * own, and the operations of a closed socket never reach here, see
 * on_io_done.) */
static void conn_fail(struct conn *c, const char *call, int err)
{
    if (lab_stopping()) {
        conn_close(c, "closed at shutdown");
    } else if (lab_is_peer_gone(err)) {
        conn_close(c, "reset by peer");
    } else {
        lab_conn_error(c->id, call, err);
        conn_close(c, "closed after an error");
    }
}

/* Drops one reference: a completion whose handling is over, or the set-up
 * reference of conn_new (the group drops it once the first receive is
 * posted; whoever closes c before that, drops it then). The last one
 * frees: by then the socket is closed and nothing is pending. */
static void conn_put(struct conn *c)
{
    if (--c->pending != 0)
        return;
    if (c->g != NULL)
        group_drop(c->g, c);
    WSACloseEvent(c->recv_op.ov.hEvent);
    WSACloseEvent(c->send_op.ov.hEvent);
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, c->why, c->echoed);
    free(c);
}

/* ------------------------------------------------------------------------
 * Sending and receiving
 * --------------------------------------------------------------------- */

static void group_watch(struct conn *c, struct io_op *op);

/* Gets op ready to be posted. Zeroed first: the system keeps the status
 * and byte count of the last operation in the OVERLAPPED, and Microsoft
 * asks for the members we do not set to be zero at every use. Only then
 * is the op's own event put back, and reset: a wait that found it still
 * set by the last completion would report this operation done before it
 * has started. From then on the group waits on this event for c. */
static void op_prepare(struct conn *c, struct io_op *op, enum op_kind kind)
{
    WSAEVENT ev = op->ov.hEvent;
    memset(op, 0, sizeof *op);
    op->ov.hEvent = ev;
    op->kind = kind;
    op->c = c;
    WSAResetEvent(ev);
    group_watch(c, op);
}

/* Posts a receive into the whole buffer. Returns 0 or the WSA error.
 * Whether WSARecv completes at once (returns 0) or later (WSA_IO_PENDING),
 * the event is set either way, so nothing is done here with the result:
 * on_recv_done does it. */
static int post_recv(struct conn *c)
{
    struct io_op *op = &c->recv_op;
    DWORD flags = 0; /* in/out: WSARecv reads it (MSG_PEEK, MSG_OOB...) */
    /* Ctrl+C came, and nothing is owed (a receive is posted only then).
     * Closing now would not be enough to deliver the echo: a close with
     * unread data in the receive buffer (the client sent more than we
     * read: backpressure) is answered with a reset, on Windows as on
     * Linux, and the reset drops what is still on its way to the client.
     * So: a FIN after the echo, then receives that read and drop until
     * the client closes too (on_recv_done), bounded by SHUTDOWN_GRACE_MS (group_thread). */
    if (lab_stopping() && !c->draining) {
        shutdown(c->s, SD_SEND);
        c->draining = 1;
    }
    op_prepare(c, op, OP_RECV);
    /* SOLUTION BEGIN: Point op->wb at the whole of c->buf, count the operation in c->pending,
     * and post an overlapped WSARecv on c->s with &op->ov (no completion routine: its event is
     * set when it completes); WSA_IO_PENDING is success, any other failure means no completion
     * will come: undo the count and return the error; else return 0. */
    op->wb.buf = c->buf;
    op->wb.len = (ULONG)sizeof c->buf;
    c->pending++;
    /* NULL for the byte count: with an OVERLAPPED the count comes from
     * WSAGetOverlappedResult; Microsoft warns the immediate one may be
     * wrong. */
    if (WSARecv(c->s, &op->wb, 1, NULL, &flags, &op->ov, NULL) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) { /* not started: no completion will come */
            c->pending--;
            return err;
        }
    }
    return 0;
    /* SOLUTION END: (void)flags; return WSAEOPNOTSUPP; */
}

/* Posts a send of what is still owed, buf[off..len). Returns 0 or the WSA
 * error; as for post_recv, the result comes to on_send_done. */
static int post_send(struct conn *c)
{
    struct io_op *op = &c->send_op;
    op_prepare(c, op, OP_SEND);
    /* SOLUTION BEGIN: Point op->wb at buf[off..len), count the operation in c->pending, and
     * post an overlapped WSASend on c->s with &op->ov; WSA_IO_PENDING is success, any other
     * failure: undo the count and return the error; else return 0. */
    op->wb.buf = c->buf + c->off;
    op->wb.len = (ULONG)(c->len - c->off);
    c->pending++;
    if (WSASend(c->s, &op->wb, 1, NULL, 0, &op->ov, NULL) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            c->pending--;
            return err;
        }
    }
    return 0;
    /* SOLUTION END: return WSAEOPNOTSUPP; */
}

/* A receive completed: echo what arrived. No receive is posted until the
 * echo has gone out, so a client that does not read stops being read:
 * that is the backpressure. */
static void on_recv_done(struct conn *c, DWORD err, DWORD bytes)
{
    int e;
    /* Ctrl+C cancelled this receive, to wake it: the echo that went out
     * before it may still be on its way, and a close now would be reset by
     * the client's next data. So it goes the way of every receive after
     * Ctrl+C: a FIN, then a drain (post_recv). A real failure (a reset)
     * fails the draining receive too, and that one closes. */
    if (err != 0 && lab_stopping() && !c->draining) {
        e = post_recv(c);
        if (e != 0)
            conn_fail(c, "WSARecv", e);
        return;
    }
    if (err != 0) {
        conn_fail(c, "WSARecv", (int)err);
        return;
    }
    if (bytes == 0) {
        /* The client half-closed (shutdown send, or closesocket). We owe
         * nothing: each piece went back before the next receive. */
        conn_close(c, c->draining ? "closed at shutdown" : "closed by peer");
        return;
    }
    if (c->draining) { /* after Ctrl+C: dropped, see post_recv */
        e = post_recv(c);
        if (e != 0)
            conn_fail(c, "WSARecv", e);
        return;
    }
    if (!opt.quiet)
        lab_log("conn %ld: %lu bytes", c->id, bytes);
    c->len = bytes;
    c->off = 0;
    e = post_send(c);
    if (e != 0)
        conn_fail(c, "WSASend", e);
}

/* A send completed. It may have taken less than it was given: then post
 * the rest; once all of it is out, receive again. */
static void on_send_done(struct conn *c, DWORD err, DWORD bytes)
{
    int e;
    if (err != 0) {
        conn_fail(c, "WSASend", (int)err);
        return;
    }
    c->off += bytes;
    c->echoed += bytes;
    lab_count_echoed(bytes);
    if (c->off < c->len) {
        e = post_send(c);
        if (e != 0)
            conn_fail(c, "WSASend", e);
        return;
    }
    c->len = c->off = 0;
    e = post_recv(c);
    if (e != 0)
        conn_fail(c, "WSARecv", e);
}

/* The event of an operation is set: it is over, whether it succeeded,
 * failed, or was aborted because we closed the socket. An aborted
 * operation's code (995 on Windows; under Wine 676 for a receive that
 * closesocket aborted) is never looked at: the connection is closed
 * already. Any other failure is logged with its code, never compared. */
static void on_io_done(WSAOVERLAPPED *ov)
{
    struct io_op *op = CONTAINING_RECORD(ov, struct io_op, ov);
    struct conn *c = op->c;
    DWORD bytes = 0, flags = 0, err = 0;
    /* Closed meanwhile: c->s is no longer this connection's socket (its
     * handle value may already belong to a new one), so the result is not
     * asked for. Its completion alone says the system is done with op. */
    if (c->why != NULL) {
        conn_put(c);
        return;
    }
    /* SOLUTION BEGIN: Collect the outcome of the completed operation: WSAGetOverlappedResult on
     * c->s and ov, without waiting (it is over already), gives bytes; when it returns FALSE,
     * err = WSAGetLastError(). */
    /* FALSE: do not wait, the operation is over. */
    if (!WSAGetOverlappedResult(c->s, ov, &bytes, FALSE, &flags))
        err = (DWORD)WSAGetLastError();
    /* SOLUTION END: err = WSAEOPNOTSUPP; (void)flags; */
    if (op->kind == OP_RECV)
        on_recv_done(c, err, bytes);
    else
        on_send_done(c, err, bytes);
    conn_put(c); /* the completion's reference: its handling is over */
}

/* ------------------------------------------------------------------------
 * Groups: up to 63 connections per waiting thread
 * --------------------------------------------------------------------- */

/* Takes the sockets main has queued into the arrays and posts the first
 * receive on each. Only this thread writes the arrays, so its wait never
 * sees them half-changed and no lock is held while it waits. */
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
        int err;
        g->n++;
        c->g = g;
        c->slot = g->n;
        err = post_recv(c); /* fills events[slot] and ovs[slot] */
        if (err != 0)
            conn_fail(c, "WSARecv", err);
        conn_put(c); /* the set-up reference of conn_new */
    }
}

/* From now on the group waits for op on behalf of c. A connection has one
 * operation in flight at a time, so it keeps one slot, whose event and
 * OVERLAPPED change with each operation posted. */
static void group_watch(struct conn *c, struct io_op *op)
{
    c->g->events[c->slot] = op->ov.hEvent;
    c->g->ovs[c->slot] = &op->ov;
}

/* Takes c out of the arrays (the last connection moves into its slot) and
 * gives its room back to main. */
static void group_drop(struct group *g, struct conn *c)
{
    DWORD i = c->slot;
    g->events[i] = g->events[g->n];
    g->ovs[i] = g->ovs[g->n];
    CONTAINING_RECORD(g->ovs[i], struct io_op, ov)->c->slot = i;
    g->events[g->n] = WSA_INVALID_EVENT;
    g->ovs[g->n] = NULL;
    g->n--;
    c->g = NULL;
    EnterCriticalSection(&g->lock);
    g->assigned--;
    LeaveCriticalSection(&g->lock);
}

/* WSAWaitForMultipleEvents() reports only the lowest signalled index. A
 * thread that served just that operation and waited again would, while a
 * client at a low index keeps sending, get that index back on every
 * wake-up, and the connections above it would starve. So after a wake-up
 * every slot from the reported index on is looked at (those below it were
 * not signalled). The look is HasOverlappedIoCompleted, not a zero-timeout
 * wait on each event: it reads the status the system writes into the
 * OVERLAPPED (STATUS_PENDING until the operation is over), in user mode,
 * where a wait per slot is a system call per slot, 63 per wake-up (under
 * Wine, 63 trips to the wineserver). It is valid here because each slot's
 * operation was started (posts that fail drop their slot at once). A
 * completion posts at most one new operation, into the same slot, so a
 * fast client gets one operation per pass. */
static void group_scan(struct group *g, DWORD first)
{
    DWORD i = first;
    while (i <= g->n) {
        int done = HasOverlappedIoCompleted(g->ovs[i]);
        if (!done && i == first) {
            /* The wait reported this slot (or, after an adoption, it is
             * slot 1), yet its operation is pending. A set event is then
             * from the operation before: the system writes the status,
             * then sets the event, and this thread may have seen the
             * status in between, served it and posted again (op_prepare
             * reset the event too early). Reset it, or every wait would
             * return at once; then look again, since an operation that
             * completed just before the reset lost its set. */
            WSAResetEvent(g->events[i]);
            done = HasOverlappedIoCompleted(g->ovs[i]);
        }
        if (!done) {
            i++;
            continue;
        }
        DWORD before = g->n;
        on_io_done(g->ovs[i]);
        /* A connection that ended took the last connection into slot i:
         * look at slot i again. */
        if (g->n == before)
            i++;
    }
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
     * close those still queued (nothing posted on them yet: the set-up
     * reference is their last). */
    why = closing ? "closed at shutdown" : "closed after an error";
    EnterCriticalSection(&g->lock);
    g->dead = 1;
    LeaveCriticalSection(&g->lock);
    for (int i = 0; i < g->queued; i++) {
        conn_close(g->queue[i], why);
        conn_put(g->queue[i]);
    }
    g->queued = 0;
    /* Every adopted connection has one operation in flight. A receive
     * is cancelled, only to wake it: on_recv_done then sends the FIN and
     * drains, as after any echo. (One that completed with data meanwhile is
     * not cancelled: its echo goes out.) A send owes the rest of an echo:
     * the client gets SHUTDOWN_GRACE_MS to take it and to close in turn
     * (see post_recv); only then is the send cancelled. A receive that
     * drains is left too. After an error, everything closes now. */
    for (DWORD i = g->n; i >= 1; i--) {
        struct io_op *op = CONTAINING_RECORD(g->ovs[i], struct io_op, ov);
        if (!closing)
            conn_close(op->c, why);
        else if (op->kind == OP_RECV && !op->c->draining)
            CancelIoEx((HANDLE)op->c->s, &op->ov);
    }
    /* closesocket() aborted the operations of those closed, but their
     * memory stays the system's until they complete. Wait for every
     * completion; the last reference of each connection frees it
     * (on_io_done, conn_put) and drops its slot. The wait ends when the
     * grace ends, and is INFINITE once everything is closed: an aborted
     * operation completes and sets its event, and only slots with an
     * operation in flight are in the set, which is never empty inside the
     * loop. */
    ULONGLONG cut_at = closing ? GetTickCount64() + SHUTDOWN_GRACE_MS : 0;
    while (g->n > 0) {
        DWORD wait_ms = WSA_INFINITE;
        ULONGLONG now = GetTickCount64();
        if (cut_at != 0 && now < cut_at) {
            wait_ms = (DWORD)(cut_at - now);
        } else if (cut_at != 0) {
            for (DWORD i = g->n; i >= 1; i--)
                conn_close(CONTAINING_RECORD(g->ovs[i], struct io_op, ov)->c,
                           "closed at shutdown, after the grace");
            cut_at = 0;
        }
        DWORD r = WSAWaitForMultipleEvents(g->n, &g->events[1], FALSE, wait_ms, FALSE);
        if (r == WSA_WAIT_TIMEOUT)
            continue;
        if (r == WSA_WAIT_FAILED) {
            /* A bug; leave the memory to the system rather than spin. */
            lab_error("WSAWaitForMultipleEvents", WSAGetLastError());
            break;
        }
        group_scan(g, r - WSA_WAIT_EVENT_0 + 1);
    }
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
 * adopts c and posts its first receive itself. Returns 0 when the group
 * is full (or dead). */
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
        conn_close(c, "closed: server full");
        conn_put(c);
        return;
    }
    struct group *g = group_new();
    if (g == NULL || !group_add(g, c)) {
        conn_close(c, "closed: no group for it");
        conn_put(c);
    }
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
    u_long blocking = 0;
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
        /* The accepted socket inherits the listener's WSAEventSelect: the
         * association with accept_event and the non-blocking mode that
         * comes with it. Cancel the association (it is the only way to
         * leave non-blocking mode: FIONBIO fails with WSAEINVAL while it
         * is there), then go back to blocking mode, so that the overlapped
         * calls follow the overlapped rules only: complete, or pend with
         * WSA_IO_PENDING, never the non-blocking WSAEWOULDBLOCK. */
        if (WSAEventSelect(s, NULL, 0) == SOCKET_ERROR) {
            conn_fail(c, "WSAEventSelect", WSAGetLastError());
            conn_put(c);
            continue;
        }
        if (ioctlsocket(s, FIONBIO, &blocking) == SOCKET_ERROR) {
            conn_fail(c, "ioctlsocket(FIONBIO)", WSAGetLastError());
            conn_put(c);
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
    /* WSA_FLAG_OVERLAPPED: accepted sockets inherit it, and without it
     * WSARecv/WSASend ignore the OVERLAPPED and block. */
    listener = lab_listen(&opt, WSA_FLAG_OVERLAPPED);
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
     * its sockets, waits for their aborted operations and ends; then the
     * summary. */
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
