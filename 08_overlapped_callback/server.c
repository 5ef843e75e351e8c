/*
 * 08_overlapped_callback - overlapped I/O with completion routines: one
 * thread, no handle limit.
 *
 * Model. One thread does everything. It posts overlapped WSARecv/WSASend
 * calls that name a completion routine, and the kernel does the I/O. When
 * an operation completes, Windows queues the routine as an APC
 * (asynchronous procedure call) to the thread that issued it; the routine
 * runs only while that thread sits in an alertable wait. The thread waits
 * alertably in WSAWaitForMultipleEvents(..., TRUE) on two events: the
 * listener's FD_ACCEPT event and the Ctrl+C event. The wait runs the
 * queued routines and returns WSA_WAIT_IO_COMPLETION; each routine does
 * the next step of its connection (echo what arrived, send the rest,
 * receive again) and queues the operation that comes next, which the
 * main loop posts before it waits again.
 *
 * What this step adds over 07. The completion no longer signals an event
 * per operation: it is delivered to the thread itself. No handles to wait
 * on means no 64-handle limit and no threads of 63 sockets: one thread
 * serves thousands of connections, and waits on only two events of its
 * own. The cost: everything runs on that one thread, so the server uses
 * one CPU, and a routine that takes long delays every connection. Every
 * wait of the thread must be alertable (a blocking accept() would stop
 * all the routines), and the routines of a thread run only on that
 * thread, so the I/O cannot be spread over a pool (step 09 can).
 *
 * Limits. One thread, one CPU. Memory: one struct conn (about 16 KiB)
 * per connection, nothing per waiting handle. The routines, the accept
 * path and Ctrl+C share the thread, and each can starve the others: an
 * alertable wait returns only once no routine is left to run, so the
 * routines queue their next operation instead of posting it (see
 * post_later); a signalled event wins over queued routines, so the
 * accept path takes at most ACCEPT_BATCH connections and then lets the
 * routines run. A client that sends without reading: its echo stays
 * pending and no receive is posted until the echo has gone out
 * (backpressure).
 *
 * Left out on purpose. AcceptEx (the listener stays a readiness socket
 * here, so that the diff with 07 shows only the completion change), more
 * threads (they would each need their own connections), a send queue
 * (an echo has one operation in flight per connection), timeouts, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 08_overlapped_callback.exe server.c -lws2_32
 * Run:
 *   08_overlapped_callback.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 07:
 *   diff 07_overlapped_event/server.c 08_overlapped_callback/server.c
 */
#include "lab.h"

#define MODEL "08_overlapped_callback"

/* Connections accepted per FD_ACCEPT wake-up before the queued routines
 * get their turn (see accept_ready). */
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

enum op_kind { OP_RECV, OP_SEND };

/* One overlapped operation. The WSAOVERLAPPED belongs to Windows from the
 * call that posts it until its completion routine runs: it must stay put
 * (no copying the struct, no freeing) and must not be posted again before
 * then. The routine gets back only the WSAOVERLAPPED pointer; the io_op
 * around it is found with CONTAINING_RECORD. (With completion routines
 * ov.hEvent is unused, and some code stores a pointer there instead: that
 * works too, but says less than the type does.) */
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
    int pending;             /* operations posted or queued and not handled yet, + 1 at set-up */
    const char *why;         /* set once the connection is closed */
    int draining;            /* Ctrl+C: FIN sent, receives are read and dropped */
    struct io_op recv_op, send_op; /* one per operation that can be in flight */
    enum op_kind next_op;    /* what post_deferred posts for it */
    struct conn *later;      /* the queue of connections waiting for a post */
    struct conn *prev, *next; /* the list of live connections */
    char buf[LAB_BUF_SIZE];  /* what WSARecv filled, until it is sent back */
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;
static WSAEVENT accept_event = WSA_INVALID_EVENT;

/* The live connections, so that Ctrl+C can close them. No lock: the
 * routines run on the thread that posted the operations, and that is the
 * main thread, which also accepts and stops. Nothing else touches them. */
static struct conn *live;

/* Connections whose next operation the main loop will post (post_later). */
static struct conn *later_head;
static struct conn **later_tail = &later_head;

static void CALLBACK on_io_done(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags);

/* The new connection holds one reference, its creator's, which
 * accept_ready drops with conn_put() once the first receive is posted. */
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
    c->next = live;
    if (live != NULL)
        live->prev = c;
    live = c;
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

/* Closes the connection: the socket now, the memory when the last
 * reference goes (conn_put). Windows still writes into the io_op (and
 * into buf) of an operation in flight, and the routine of the aborted
 * operation still comes, with a pointer into this struct; a connection
 * queued for a post is still named by the queue. */
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
 * cancelled it is the shutdown, not an error either. (The operations of
 * a socket closed meanwhile never reach here, see on_io_done.) */
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

/* Drops one reference: a completion whose routine is done, a queued post
 * that left the queue, or the set-up reference of conn_new. The last one
 * frees: by then the socket is closed, nothing is pending and the queue
 * does not name c. */
static void conn_put(struct conn *c)
{
    if (--c->pending != 0)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        live = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, c->why, c->echoed);
    free(c);
}

/* ------------------------------------------------------------------------
 * Sending and receiving
 * --------------------------------------------------------------------- */

/* Posts a receive into the whole buffer. Returns 0 or the WSA error.
 * Whether WSARecv completes at once (returns 0) or later (WSA_IO_PENDING),
 * the routine is queued either way, so nothing is done here with the
 * result: on_recv_done does it. */
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
     * the client closes too (on_recv_done), bounded by SHUTDOWN_GRACE_MS (close_all). */
    if (lab_stopping() && !c->draining) {
        shutdown(c->s, SD_SEND);
        c->draining = 1;
    }
    memset(op, 0, sizeof *op); /* a fresh OVERLAPPED for every call */
    op->kind = OP_RECV;
    op->c = c;
    /* SOLUTION BEGIN: Point op->wb at the whole of c->buf, count the operation in c->pending,
     * and post an overlapped WSARecv on c->s with &op->ov and on_io_done as its completion
     * routine; WSA_IO_PENDING is success, any other failure means no routine will come: undo
     * the count and return the error; else return 0. */
    op->wb.buf = c->buf;
    op->wb.len = (ULONG)sizeof c->buf;
    c->pending++;
    /* NULL for the byte count: with an OVERLAPPED the count comes to the
     * routine; Microsoft warns the immediate one may be wrong. */
    if (WSARecv(c->s, &op->wb, 1, NULL, &flags, &op->ov, on_io_done) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) { /* not started: no routine will come */
            c->pending--;
            return err;
        }
    }
    return 0;
    /* SOLUTION END: (void)flags; (void)&on_io_done; return WSAEOPNOTSUPP; */
}

/* Posts a send of what is still owed, buf[off..len). Returns 0 or the WSA
 * error; as for post_recv, the result comes to on_send_done. */
static int post_send(struct conn *c)
{
    struct io_op *op = &c->send_op;
    memset(op, 0, sizeof *op);
    op->kind = OP_SEND;
    op->c = c;
    /* SOLUTION BEGIN: Point op->wb at buf[off..len), count the operation in c->pending, and
     * post an overlapped WSASend on c->s with &op->ov and on_io_done as its completion routine;
     * WSA_IO_PENDING is success, any other failure: undo the count and return the error; else
     * return 0. */
    op->wb.buf = c->buf + c->off;
    op->wb.len = (ULONG)(c->len - c->off);
    c->pending++;
    if (WSASend(c->s, &op->wb, 1, NULL, 0, &op->ov, on_io_done) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            c->pending--;
            return err;
        }
    }
    return 0;
    /* SOLUTION END: return WSAEOPNOTSUPP; */
}

/* The routines do not post the next operation themselves: they queue
 * the connection here, and the main loop posts it (post_deferred) as soon
 * as the wait has returned. The reason is how an alertable wait ends: it
 * runs the routines queued to the thread until none is left, and only
 * then returns. A routine that posts an operation that completes at once
 * (data already there, room in the send buffer) or while the others run
 * adds a routine to the queue being emptied; under load the queue never
 * empties, the wait never returns, and nothing else runs: no accept, no
 * Ctrl+C. Posting from the main loop bounds one wait to one routine per
 * operation that was in flight when it began. A queued post counts as
 * pending: the connection is not freed while the queue names it. */
static void post_later(struct conn *c, enum op_kind kind)
{
    c->next_op = kind;
    c->later = NULL;
    *later_tail = c;
    later_tail = &c->later;
    c->pending++;
}

static void post_deferred(void)
{
    while (later_head != NULL) {
        struct conn *c = later_head;
        int err;
        later_head = c->later;
        if (later_head == NULL)
            later_tail = &later_head;
        if (c->why == NULL) { /* else closed while it waited */
            err = c->next_op == OP_RECV ? post_recv(c) : post_send(c);
            if (err != 0)
                conn_fail(c, c->next_op == OP_RECV ? "WSARecv" : "WSASend", err);
        }
        conn_put(c); /* the queue's reference */
    }
}

/* A receive completed: echo what arrived. No receive is posted until the
 * echo has gone out, so a client that does not read stops being read:
 * that is the backpressure. */
static void on_recv_done(struct conn *c, DWORD err, DWORD bytes)
{
    /* Ctrl+C cancelled this receive, to wake it: the echo that went out
     * before it may still be on its way, and a close now would be reset by
     * the client's next data. So it goes the way of every receive after
     * Ctrl+C: a FIN, then a drain (post_recv). A real failure (a reset)
     * fails the draining receive too, and that one closes. */
    if (err != 0 && lab_stopping() && !c->draining) {
        post_later(c, OP_RECV);
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
        post_later(c, OP_RECV);
        return;
    }
    if (!opt.quiet)
        lab_log("conn %ld: %lu bytes", c->id, bytes);
    c->len = bytes;
    c->off = 0;
    post_later(c, OP_SEND);
}

/* A send completed. It may have taken less than it was given: then post
 * the rest; once all of it is out, receive again. */
static void on_send_done(struct conn *c, DWORD err, DWORD bytes)
{
    if (err != 0) {
        conn_fail(c, "WSASend", (int)err);
        return;
    }
    c->off += bytes;
    c->echoed += bytes;
    lab_count_echoed(bytes);
    if (c->off < c->len) {
        post_later(c, OP_SEND);
        return;
    }
    c->len = c->off = 0;
    post_later(c, OP_RECV);
}

/* The completion routine of every operation. Windows calls it on the
 * thread that posted the operation, from inside one of its alertable
 * waits, once per operation: also when the operation failed or was
 * aborted by closesocket (the code is then 995 on Windows, 676 under
 * Wine; it is never compared: c->why says the socket was closed). */
static void CALLBACK on_io_done(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
    struct io_op *op = CONTAINING_RECORD(ov, struct io_op, ov);
    struct conn *c = op->c;
    (void)flags;
    if (c->why != NULL) { /* closed meanwhile: the outcome does not matter */
        conn_put(c);
        return;
    }
    if (op->kind == OP_RECV)
        on_recv_done(c, err, bytes);
    else
        on_send_done(c, err, bytes);
    conn_put(c); /* the completion's reference: its handling is over */
}

/* ------------------------------------------------------------------------
 * Accepting
 * --------------------------------------------------------------------- */

/* The listener's FD_ACCEPT event is set: accept what the backlog holds.
 * WSAEventSelect made the listener non-blocking, so accept() fails with
 * WSAEWOULDBLOCK when the backlog is empty instead of blocking. A
 * blocking accept() here would be the classic bug of this model: while
 * the thread sits in it, no routine runs, and every connection stalls
 * until the next client arrives. Returns how many clients it accepted. */
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
             * lasts; the pause keeps this loop from spinning meanwhile,
             * and it is alertable, so the connections go on during it. */
            lab_error("accept", err);
            if (lab_accept_gone(err))
                continue;
            SleepEx(100, TRUE);
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
        int err = post_recv(c);
        if (err != 0)
            conn_fail(c, "WSARecv", err);
        conn_put(c); /* the set-up reference of conn_new */
    }

    /* The routines that were queued meanwhile run now. The wait would not
     * run them while the listener's event is set (a signalled event wins
     * over queued routines), so during a burst of connections they would
     * wait for the whole burst without this. It returns once they have
     * run: they queue their posts instead of making more routines. */
    SleepEx(0, TRUE);
    return accepted;
}

/* ------------------------------------------------------------------------
 * Stopping
 * --------------------------------------------------------------------- */

/* Ctrl+C: end every connection, then keep waiting alertably until the
 * routine of every pending operation has run (closesocket aborts the
 * operation but does not cancel its routine: it still comes, and until it
 * has, Windows may still write into the io_op). Outside a routine every
 * live connection has exactly one operation in flight or one queued
 * post. A receive in flight is cancelled, only to wake it: on_recv_done
 * then sends the FIN and drains, as after any echo. An echo on the way (a send)
 * gets SHUTDOWN_GRACE_MS for the client to take it and to close in turn
 * (see post_recv); only then are the sockets still open closed, their
 * operations cancelled. post_deferred posts what the routines queued, or
 * lets go of it for a closed connection; each operation brings one
 * routine, and the last reference empties the list. */
static void close_all(void)
{
    ULONGLONG cut_at = GetTickCount64() + SHUTDOWN_GRACE_MS;
    closesocket(listener);
    listener = INVALID_SOCKET;
    for (struct conn *c = live; c != NULL; c = c->next)
        if (c->s != INVALID_SOCKET && !c->draining) /* else its receive is a drain already */
            CancelIoEx((HANDLE)c->s, &c->recv_op.ov);
    for (;;) {
        DWORD wait_ms = INFINITE;
        ULONGLONG now = GetTickCount64();
        post_deferred();
        if (live == NULL)
            break;
        if (cut_at != 0 && now < cut_at) {
            wait_ms = (DWORD)(cut_at - now);
        } else if (cut_at != 0) {
            for (struct conn *c = live; c != NULL; c = c->next)
                conn_close(c, "closed at shutdown, after the grace");
            cut_at = 0;
            continue; /* post_deferred first: queued posts hold references */
        }
        SleepEx(wait_ms, TRUE); /* returns after routines have run, or at the cut */
    }
}

/* ------------------------------------------------------------------------
 * Main: wait alertably, accept when the listener is ready, repeat
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    WSAEVENT waits[2];
    DWORD poll_ms = WSA_INFINITE;
    ULONGLONG tried = 0; /* when accept_ready last ran, while polling */

    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    /* WSA_FLAG_OVERLAPPED: accepted sockets inherit it, and without it
     * WSARecv/WSASend ignore the OVERLAPPED and the routine and block. */
    listener = lab_listen(&opt, WSA_FLAG_OVERLAPPED);
    accept_event = WSACreateEvent();
    if (accept_event == WSA_INVALID_EVENT)
        lab_fatal("WSACreateEvent", WSAGetLastError());
    if (WSAEventSelect(listener, accept_event, FD_ACCEPT) == SOCKET_ERROR)
        lab_fatal("WSAEventSelect", WSAGetLastError());
    lab_on_stop(NULL); /* no wake(): the wait below includes lab_stop_event */
    lab_ready(&opt, MODEL);

    /* The stop event first: when both are set, the wait reports the lower
     * index, and a stream of connections must not delay Ctrl+C. */
    waits[0] = lab_stop_event;
    waits[1] = accept_event;
    while (!lab_stopping()) {
        DWORD r;
        post_deferred(); /* what the routines of the last wait asked for */
        /* SOLUTION BEGIN: Wait for the stop event or the listener's (waits, poll_ms) alertably,
         * so that the completion routines of finished operations run inside the wait (it then
         * returns WSA_WAIT_IO_COMPLETION); the stub is step 07's wait, in which no routine ever
         * runs. */
        /* Alertable: this is where the routines run. */
        r = WSAWaitForMultipleEvents(2, waits, FALSE, poll_ms, TRUE);
        /* SOLUTION END: r = WSAWaitForMultipleEvents(2, waits, FALSE, poll_ms, FALSE); */
        if (r == WSA_WAIT_EVENT_0) /* Ctrl+C: the loop ends */
            continue;
        if (r == WSA_WAIT_FAILED) {
            /* Only invalid handles cause it, and these two live as long
             * as the program. Stop rather than spin. */
            lab_error("WSAWaitForMultipleEvents", WSAGetLastError());
            break;
        }
        /* Wine 8 re-enables FD_ACCEPT only on an accept() that succeeds,
         * not on one that fails with WSAEWOULDBLOCK as Microsoft documents
         * ("even one that fails"), and it can record an FD_ACCEPT for a
         * client that accept() has already taken. The accept() that then
         * finds the backlog empty leaves FD_ACCEPT switched off: no later
         * client would set the event. So after a wake-up that accepted
         * nobody, main looks at the backlog itself every ACCEPT_POLL_MS
         * until a client comes: on the wait's timeout, or, while routines
         * keep the wait returning early, when that much time has passed.
         * On Windows this happens only when a client gave up while in the
         * backlog. */
        if (r == WSA_WAIT_EVENT_0 + 1 || r == WSA_WAIT_TIMEOUT ||
            (poll_ms != WSA_INFINITE && GetTickCount64() - tried >= poll_ms)) {
            poll_ms = accept_ready() > 0 ? WSA_INFINITE : ACCEPT_POLL_MS;
            tried = GetTickCount64();
        }
        /* Otherwise WSA_WAIT_IO_COMPLETION: routines ran; post what they
         * queued and wait again. */
    }

    close_all();
    WSACloseEvent(accept_event);
    return lab_finish();
}
