/*
 * 09_iocp - I/O completion port: one queue of completions, a pool of
 * worker threads.
 *
 * Model. Every socket is associated with one completion port. The program
 * posts overlapped operations (AcceptEx, WSARecv, WSASend) and the kernel
 * does the I/O; when an operation completes, the kernel queues a
 * completion packet on the port. A pool of worker threads wait in
 * GetQueuedCompletionStatus; whichever worker is free takes the next
 * packet, finds the operation from its OVERLAPPED (CONTAINING_RECORD),
 * does the next step of that connection (echo what arrived, send the
 * rest, receive again, accept again) and posts the next operation. No
 * thread waits for a particular socket, and no thread blocks in accept():
 * the main thread only sets things up and waits for Ctrl+C.
 *
 * What this step adds over 08. In 08 a completion is an APC queued to the
 * thread that posted the operation, so one thread does everything. Here
 * the queue belongs to the port and any worker takes any packet: every
 * processor can work on echoes, and the port wakes the worker that waited
 * last (its stack is still in the cache) and keeps no more of them
 * running than there are processors. Accepting goes through the port
 * too: AcceptEx with sockets created in advance, loaded at run time. The
 * cost is real concurrency: a connection's completions run on different
 * threads one after the other, the code that closes a socket races the
 * code that posts on it (a lock per connection), a connection's memory
 * goes only when its count of pending operations drops to zero, and
 * shutdown must wait for every operation to come back before it stops
 * the workers.
 *
 * Limits. Memory and sockets: a connection holds about 16 KiB and a
 * socket (under Wine also a Unix fd in the wineserver). ACCEPTS accepts
 * are outstanding at any time; a burst of more clients waits in the
 * listen backlog until workers re-post accepts, which they do after every
 * accept completion, failed or not. An accept that cannot be posted, or
 * that fails for want of sockets or memory, is parked and main posts it
 * again after a pause: at once, it would fail at once, again and again.
 * One operation per connection at a time: the next receive is posted
 * only after the echo has gone out, which is the backpressure (a client
 * that does not read stops being read), and it means no two workers ever
 * handle the same connection at once.
 *
 * Left out on purpose. FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (see
 * post_recv), GetQueuedCompletionStatusEx (several packets per call),
 * socket reuse (DisconnectEx, TF_REUSE_SOCKET), AcceptEx receiving the
 * first data (see post_accept), a send queue (an echo has one operation
 * in flight per connection; step 10 needs one), timeouts, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 09_iocp.exe server.c -lws2_32
 * (no mswsock library: AcceptEx and GetAcceptExSockaddrs are looked up at
 * run time, see load_extensions)
 * Run:
 *   09_iocp.exe -p 40100 [-t THREADS]      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 08:
 *   diff 08_overlapped_callback/server.c 09_iocp/server.c
 */
#include "lab.h"
#include <mswsock.h>
#include <process.h>

#define MODEL "09_iocp"

/* Accepts kept posted on the listener. More absorb bigger bursts of
 * connects; each holds a socket created in advance. */
#define ACCEPTS 16

/* AcceptEx wants room for each address plus 16 bytes ("at least 16 bytes
 * more than the maximum address length for the transport protocol"). */
#define ACCEPT_ADDR_LEN ((DWORD)sizeof(struct sockaddr_in) + 16)

/* Pause before posting again an accept that failed for want of sockets
 * or memory: the shortage may last, and retrying at once would spin. */
#define ACCEPT_RETRY_MS 100

/* At Ctrl+C, how long a client may take to read the rest of its echo (at
 * most LAB_BUF_SIZE bytes on the way) before that send is cancelled: long
 * enough for a client that reads, short enough that one that does not
 * cannot hold the server. */
#define SHUTDOWN_GRACE_MS 2000

/* Workers when -t is not given: this many per processor. Chosen by
 * measurement (README.md): a worker that is blocked (a console write, a
 * lock, under Wine every socket call's trip to the wineserver) leaves its
 * processor to a spare one. */
#define WORKERS_PER_CPU 2
#define MAX_WORKERS 256 /* lab_parse_args takes -t 1..256 */

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

enum op_kind { OP_ACCEPT, OP_RECV, OP_SEND };

/* One overlapped operation. The WSAOVERLAPPED belongs to Windows from the
 * call that posts it until its completion packet is dequeued: it must stay
 * put (no copying the struct, no freeing) and must not be posted again
 * before then. The packet gives back only the WSAOVERLAPPED pointer; the
 * io_op around it is found with CONTAINING_RECORD. */
struct io_op {
    WSAOVERLAPPED ov;
    enum op_kind kind;
    WSABUF wb;
    struct conn *c; /* NULL for an accept */
};

/* An accept posted in advance. AcceptEx takes the socket that will become
 * the connection, and a buffer for both addresses, before any client
 * arrives; both belong to the operation until it completes. */
struct accept_op {
    struct io_op op;
    SOCKET s;
    int parked;  /* waits for main to post it again (accept_park) */
    int failing; /* parked since its last success: log it once */
    char addrs[2 * ACCEPT_ADDR_LEN];
};

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    size_t len, off;         /* buf[off..len) is still owed to the client */
    volatile LONG pending;   /* operations posted and not handled yet, + 1 at set-up */
    const char *why;         /* set once the connection is closed */
    int draining;            /* Ctrl+C: FIN sent, receives are read and dropped */
    CRITICAL_SECTION lock;   /* s, why, draining: closing against posting */
    struct io_op recv_op, send_op; /* one per operation that can be in flight */
    struct conn *prev, *next; /* the list of live connections */
    char buf[LAB_BUF_SIZE];  /* what WSARecv filled, until it is sent back */
};

static struct lab_options opt;
static HANDLE port;

/* The listener is closed at Ctrl+C while workers may be posting AcceptEx
 * on it; the lock keeps them from using a closed handle (the value may be
 * reused by the next socket as soon as it is closed). */
static CRITICAL_SECTION accept_lock;
static SOCKET listener = INVALID_SOCKET;
static struct accept_op accepts[ACCEPTS];
static HANDLE accept_parked; /* auto-reset: an accept waits for a retry */

static LPFN_ACCEPTEX accept_ex;
static LPFN_GETACCEPTEXSOCKADDRS get_accept_ex_sockaddrs;

/* The live connections, so that Ctrl+C can close them. The lock is needed
 * now: workers add and remove connections while main walks the list. */
static CRITICAL_SECTION conns_lock;
static struct conn *live;

/* Connections and posted accepts, plus one held by main until it stops:
 * the count can reach zero only after that, so `all_released` is set
 * once, when the kernel holds no pointer of ours any more. */
static volatile LONG outstanding = 1;
static HANDLE all_released;

static void release_outstanding(void)
{
    if (InterlockedDecrement(&outstanding) == 0)
        SetEvent(all_released);
}

/* The new connection holds one reference, its creator's, which
 * accept_conn drops with conn_put() once the first receive is posted. */
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
    InitializeCriticalSection(&c->lock);
    lab_addr_str(peer, c->peer, sizeof c->peer);
    EnterCriticalSection(&conns_lock);
    if (lab_stopping()) {
        /* accepted just as Ctrl+C came: main has already closed the live
         * connections and would never close this one */
        LeaveCriticalSection(&conns_lock);
        closesocket(s);
        DeleteCriticalSection(&c->lock);
        free(c);
        return NULL;
    }
    c->next = live;
    if (live != NULL)
        live->prev = c;
    live = c;
    InterlockedIncrement(&outstanding);
    LeaveCriticalSection(&conns_lock);
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

/* Closes the connection: the socket now, the memory when the last
 * reference goes (conn_put). Windows still writes into the io_op (and
 * into buf) of a pending operation, and the packet of the aborted
 * operation still comes, with a pointer into this struct. Called by the
 * worker handling the connection, and by main at Ctrl+C: the lock makes
 * the socket close once, and never while a worker is posting on it. */
static void conn_close(struct conn *c, const char *why)
{
    EnterCriticalSection(&c->lock);
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
    LeaveCriticalSection(&c->lock);
}

/* A failed operation ends that connection only. A reset is the peer's
 * business, not an error of ours; an operation failing because Ctrl+C
 * cancelled it is the shutdown, not an error either. */
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

/* Drops one reference: a completion whose handling is over, or the
 * set-up reference of conn_new. A worker keeps its completion's until it
 * is done: otherwise main, which closes at the same time, could see zero
 * and free the connection under the worker's feet. The last one frees:
 * by then the socket is closed and nothing is pending. */
static void conn_put(struct conn *c)
{
    if (InterlockedDecrement(&c->pending) != 0)
        return;
    EnterCriticalSection(&conns_lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        live = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    LeaveCriticalSection(&conns_lock);
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, c->why, c->echoed);
    DeleteCriticalSection(&c->lock);
    free(c);
    release_outstanding();
}

/* ------------------------------------------------------------------------
 * Sending and receiving
 * --------------------------------------------------------------------- */

/* Posts a receive into the whole buffer. Returns 0 or the WSA error (the
 * caller holds a reference, so c survives a failure). Whether WSARecv
 * completes at once (returns 0) or later (WSA_IO_PENDING), the packet is
 * queued either way, so nothing is done here with the result:
 * on_recv_done does it. (SetFileCompletionNotificationModes with
 * FILE_SKIP_COMPLETION_PORT_ON_SUCCESS would skip the packet of an
 * immediate success, saving a trip through the port, at the price of a
 * second path that handles such successes here, inline; this step keeps
 * one path.) A socket main has closed gets nothing posted: 0, and the
 * last reference frees the connection. */
static int post_recv(struct conn *c)
{
    struct io_op *op = &c->recv_op;
    DWORD flags = 0; /* in/out: WSARecv reads it (MSG_PEEK, MSG_OOB...) */
    int err = 0;
    /* Ctrl+C came, and nothing is owed (a receive is posted only then).
     * Closing now would not be enough to deliver the echo: a close with
     * unread data in the receive buffer (the client sent more than we
     * read: backpressure) is answered with a reset, on Windows as on
     * Linux, and the reset drops what is still on its way to the client.
     * So: a FIN after the echo, then receives that read and drop until
     * the client closes too (on_recv_done), bounded by SHUTDOWN_GRACE_MS
     * (close_all). Under the lock, as close_all's cancel, which comes
     * after the stop flag was set: a draining receive is never cancelled.
     * A receive that looked here just before the flag was set, and is
     * posted just after close_all passed, is not cancelled either: it
     * ends with the client's next data, or at the end of the grace. */
    EnterCriticalSection(&c->lock);
    if (c->s != INVALID_SOCKET && lab_stopping() && !c->draining) {
        shutdown(c->s, SD_SEND);
        c->draining = 1;
    }
    LeaveCriticalSection(&c->lock);
    memset(op, 0, sizeof *op); /* a fresh OVERLAPPED for every call */
    op->kind = OP_RECV;
    op->c = c;
    /* SOLUTION BEGIN: Point op->wb at the whole of c->buf; then, holding c->lock and only while
     * c->s is open (main closes it at Ctrl+C), count the operation in c->pending and post an
     * overlapped WSARecv on c->s with &op->ov (its packet comes to the port); WSA_IO_PENDING is
     * success, another failure: undo the count; return the error, else 0 (also when c->s was
     * closed). */
    op->wb.buf = c->buf;
    op->wb.len = (ULONG)sizeof c->buf;
    EnterCriticalSection(&c->lock);
    if (c->s != INVALID_SOCKET) {
        InterlockedIncrement(&c->pending);
        if (WSARecv(c->s, &op->wb, 1, NULL, &flags, &op->ov, NULL) == SOCKET_ERROR) {
            err = WSAGetLastError();
            if (err == WSA_IO_PENDING) /* the usual answer, not an error */
                err = 0;
            else /* not started: no packet will come */
                InterlockedDecrement(&c->pending);
        }
    }
    LeaveCriticalSection(&c->lock);
    /* From here the packet may already be in another worker's hands: the
     * caller must not touch the buffer or len/off any more. */
    return err;
    /* SOLUTION END: (void)flags; err = WSAEOPNOTSUPP; return err; */
}

/* Posts a send of what is still owed, buf[off..len). Returns 0 or the WSA
 * error; as for post_recv, the result comes to on_send_done. */
static int post_send(struct conn *c)
{
    struct io_op *op = &c->send_op;
    int err = 0;
    memset(op, 0, sizeof *op);
    op->kind = OP_SEND;
    op->c = c;
    /* SOLUTION BEGIN: Point op->wb at buf[off..len); then, holding c->lock and only while c->s
     * is open, count the operation in c->pending and post an overlapped WSASend on c->s with
     * &op->ov; WSA_IO_PENDING is success, another failure: undo the count; return the error,
     * else 0. */
    op->wb.buf = c->buf + c->off;
    op->wb.len = (ULONG)(c->len - c->off);
    EnterCriticalSection(&c->lock);
    if (c->s != INVALID_SOCKET) {
        InterlockedIncrement(&c->pending);
        if (WSASend(c->s, &op->wb, 1, NULL, 0, &op->ov, NULL) == SOCKET_ERROR) {
            err = WSAGetLastError();
            if (err == WSA_IO_PENDING)
                err = 0;
            else
                InterlockedDecrement(&c->pending);
        }
    }
    LeaveCriticalSection(&c->lock);
    return err;
    /* SOLUTION END: err = WSAEOPNOTSUPP; return err; */
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

/* ------------------------------------------------------------------------
 * Accepting
 * --------------------------------------------------------------------- */

/* AcceptEx and GetAcceptExSockaddrs are Microsoft extensions, and their
 * documentation says to get them at run time with
 * SIO_GET_EXTENSION_FUNCTION_POINTER: they belong to the service provider
 * behind the socket (a layered provider may supply its own), while the
 * exports of mswsock.dll serve only Microsoft's provider and look the
 * function up again on every call. So no mswsock library is linked. */
static void load_extensions(SOCKET s)
{
    GUID accept_ex_id = WSAID_ACCEPTEX;
    GUID sockaddrs_id = WSAID_GETACCEPTEXSOCKADDRS;
    DWORD bytes;

    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &accept_ex_id, sizeof accept_ex_id,
                 &accept_ex, sizeof accept_ex, &bytes, NULL, NULL) == SOCKET_ERROR)
        lab_fatal("WSAIoctl(AcceptEx)", WSAGetLastError());
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &sockaddrs_id, sizeof sockaddrs_id,
                 &get_accept_ex_sockaddrs, sizeof get_accept_ex_sockaddrs, &bytes, NULL,
                 NULL) == SOCKET_ERROR)
        lab_fatal("WSAIoctl(GetAcceptExSockaddrs)", WSAGetLastError());
}

/* An accept that cannot go on now (no sockets or memory): it stops
 * counting in `outstanding`, and main posts it again after a pause (see
 * main). Posting it again at once would fail again at once, and again: a
 * spin. */
static void accept_park(struct accept_op *a, const char *call, int err)
{
    if (!a->failing) /* once per shortage, not at every retry */
        lab_error(call, err);
    a->failing = 1;
    EnterCriticalSection(&accept_lock);
    a->parked = 1;
    LeaveCriticalSection(&accept_lock);
    SetEvent(accept_parked);
    release_outstanding();
}

/* Posts one accept with a fresh socket. The accept counts in `outstanding`
 * on entry; if it cannot be posted it stops counting: at Ctrl+C it is
 * simply over, otherwise it is parked.
 *
 * dwReceiveDataLength is 0: AcceptEx completes as soon as a client
 * connects. With a receive length it would complete only with the
 * client's first data, so clients that connect and send nothing would
 * hold the posted accepts, and ACCEPTS of them would stop the server
 * accepting at all. The price is one more operation per connection (the
 * first WSARecv, instead of data arriving with the accept). */
static void post_accept(struct accept_op *a)
{
    const char *call = NULL;
    DWORD unused; /* set only when AcceptEx succeeds at once; the packet says it again */
    int err = 0;

    memset(&a->op, 0, sizeof a->op);
    a->op.kind = OP_ACCEPT;
    EnterCriticalSection(&accept_lock);
    if (listener == INVALID_SOCKET) { /* Ctrl+C closed it: this accept is over */
        LeaveCriticalSection(&accept_lock);
        release_outstanding();
        return;
    }
    a->s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (a->s == INVALID_SOCKET) {
        call = "socket";
        err = WSAGetLastError();
    } else if (!accept_ex(listener, a->s, a->addrs, 0, ACCEPT_ADDR_LEN, ACCEPT_ADDR_LEN, &unused,
                          &a->op.ov)) {
        err = WSAGetLastError();
        if (err == WSA_IO_PENDING) {
            err = 0;
        } else {
            call = "AcceptEx";
            closesocket(a->s);
            a->s = INVALID_SOCKET;
        }
    }
    LeaveCriticalSection(&accept_lock);
    if (call == NULL)
        return;
    if (lab_stopping())
        release_outstanding();
    else
        accept_park(a, call, err);
}

/* Main's retry of the parked accepts (see main). */
static void repost_parked_accepts(void)
{
    for (int i = 0; i < ACCEPTS; i++) {
        int retry;
        EnterCriticalSection(&accept_lock);
        retry = accepts[i].parked && !lab_stopping();
        accepts[i].parked = 0;
        LeaveCriticalSection(&accept_lock);
        if (retry) {
            InterlockedIncrement(&outstanding);
            post_accept(&accepts[i]);
        }
    }
}

/* Turns the socket an accept completed into a connection, and posts its
 * first receive. */
static void accept_conn(struct accept_op *a, SOCKET s)
{
    struct sockaddr *local, *remote;
    int local_len, remote_len, rc, err = 0;
    struct sockaddr_in peer;
    struct conn *c;

    /* Until SO_UPDATE_ACCEPT_CONTEXT names its listener, an AcceptEx
     * socket does not know it is connected: getpeername, getsockname,
     * shutdown fail on it on Windows (Wine lets them pass). */
    EnterCriticalSection(&accept_lock);
    if (listener == INVALID_SOCKET) {
        rc = SOCKET_ERROR; /* Ctrl+C: conn_new would refuse it anyway */
    } else {
        rc = setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&listener,
                        (int)sizeof listener);
        if (rc == SOCKET_ERROR)
            err = WSAGetLastError();
    }
    LeaveCriticalSection(&accept_lock);
    if (rc == SOCKET_ERROR) {
        if (err != 0)
            lab_error("setsockopt(SO_UPDATE_ACCEPT_CONTEXT)", err);
        closesocket(s);
        return;
    }
    /* Completion key 0, for every handle: the io_op says everything. (The
     * listener's packets carry the listener's key, not the new
     * connection's; and `(DWORD)socket` as a key, as old samples do,
     * truncates a 64-bit handle.) */
    if (CreateIoCompletionPort((HANDLE)s, port, 0, 0) == NULL) {
        lab_error_win32("CreateIoCompletionPort", GetLastError());
        closesocket(s);
        return;
    }
    /* AcceptEx wrote both addresses into a->addrs in its own format;
     * GetAcceptExSockaddrs returns pointers into that buffer. */
    get_accept_ex_sockaddrs(a->addrs, 0, ACCEPT_ADDR_LEN, ACCEPT_ADDR_LEN, &local, &local_len,
                            &remote, &remote_len);
    memset(&peer, 0, sizeof peer);
    if (remote != NULL && remote_len >= (int)sizeof peer)
        memcpy(&peer, remote, sizeof peer);
    c = conn_new(s, &peer);
    if (c == NULL)
        return;
    err = post_recv(c);
    if (err != 0)
        conn_fail(c, "WSARecv", err);
    conn_put(c); /* the set-up reference of conn_new */
}

/* An accept completed, and whatever happened the operation is over: post
 * it again, so that ACCEPTS stay outstanding. After a client that went
 * away before it was accepted, at once. After a shortage (Wine completes
 * every accept with WSAEINVAL when the wineserver is out of file
 * descriptors, and the client stays in the backlog for the next accept to
 * fail on), after a pause: at once, it would fail at once, again and
 * again. At Ctrl+C post_accept finds the listener closed: it is over. */
static void on_accept_done(struct accept_op *a, DWORD err)
{
    SOCKET s = a->s;
    a->s = INVALID_SOCKET;
    if (err == 0) {
        a->failing = 0;
        accept_conn(a, s);
    } else {
        closesocket(s);
        if (!lab_stopping() && !lab_accept_gone((int)err)) {
            accept_park(a, "AcceptEx", (int)err);
            return;
        }
        if (!lab_stopping())
            lab_error("AcceptEx", (int)err);
    }
    post_accept(a);
}

/* ------------------------------------------------------------------------
 * Workers
 * --------------------------------------------------------------------- */

/* The Winsock error of a failed completion. GetQueuedCompletionStatus
 * gives a Win32 code (a reset is ERROR_NETNAME_DELETED, 64);
 * WSAGetOverlappedResult on the socket the operation was posted on reads
 * the same status from the OVERLAPPED and gives the Winsock code for it
 * (WSAECONNRESET, 10054), which the log and lab_is_peer_gone() speak. A
 * socket we have closed is not asked (its handle value may already be a
 * new socket's): our close aborted the operation, and Winsock's name for
 * that is WSA_OPERATION_ABORTED (the port says 995 on Windows, 676 under
 * Wine). Nothing logs it then: it comes only at Ctrl+C. */
static DWORD op_error(struct io_op *op)
{
    CRITICAL_SECTION *lock = op->c != NULL ? &op->c->lock : &accept_lock;
    DWORD err = WSA_OPERATION_ABORTED, n, flags;
    EnterCriticalSection(lock);
    SOCKET s = op->c != NULL ? op->c->s : listener;
    if (s != INVALID_SOCKET && !WSAGetOverlappedResult(s, &op->ov, &n, FALSE, &flags) &&
        WSAGetLastError() != 0)
        err = (DWORD)WSAGetLastError();
    LeaveCriticalSection(lock);
    return err;
}

/* One dequeued packet: the operation is over, successful or not. A
 * failure goes through the same handlers as a success, and the
 * completion's reference is dropped only when its handler is done. */
static void on_io_done(struct io_op *op, DWORD err, DWORD bytes)
{
    struct conn *c = op->c;
    if (op->kind == OP_ACCEPT) {
        on_accept_done(CONTAINING_RECORD(op, struct accept_op, op), err);
        return;
    }
    if (op->kind == OP_RECV)
        on_recv_done(c, err, bytes);
    else
        on_send_done(c, err, bytes);
    conn_put(c); /* the completion's reference: its handling is over */
}

static unsigned __stdcall worker(void *arg)
{
    (void)arg;
    /* SOLUTION BEGIN: Loop: take the next packet with GetQueuedCompletionStatus(port, ...,
     * INFINITE); without an OVERLAPPED it is main's shutdown packet (or the port failed: log
     * that): return 0; else find the io_op around it with CONTAINING_RECORD and pass it to
     * on_io_done() with 0, or if the call returned FALSE the Winsock error op_error() reads for
     * it, and the byte count. */
    for (;;) {
        DWORD bytes = 0;
        ULONG_PTR key;
        OVERLAPPED *ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(port, &bytes, &key, &ov, INFINITE);
        DWORD err = ok ? 0 : GetLastError();
        if (ov == NULL) {
            /* Nothing dequeued: main's shutdown packet (posted with no
             * OVERLAPPED), or the port itself failed. */
            if (!ok)
                lab_error_win32("GetQueuedCompletionStatus", err);
            return 0;
        }
        /* FALSE with an OVERLAPPED: that operation failed, and is over. */
        struct io_op *op = CONTAINING_RECORD(ov, struct io_op, ov);
        on_io_done(op, ok ? 0 : op_error(op), bytes);
    }
    /* SOLUTION END: (void)&on_io_done; (void)&op_error; return 0; */
}

/* ------------------------------------------------------------------------
 * Stopping
 * --------------------------------------------------------------------- */

/* Ctrl+C: end every connection, then wait until every pending operation
 * has come back (closesocket aborts an operation, but its packet still
 * comes, and until a worker has dequeued it Windows may still write into
 * the io_op). A connection with a receive in flight has it cancelled,
 * only to wake it: on_recv_done then sends the FIN and drains, as after
 * any echo. One with a send in flight owes the rest of an echo: the
 * client gets SHUTDOWN_GRACE_MS to take it and to close in turn (see
 * post_recv); only then are the sockets still open closed, their
 * operations cancelled. The workers handle the packets, and the last
 * reference sets all_released. */
static void close_all(void)
{
    EnterCriticalSection(&accept_lock);
    closesocket(listener);
    listener = INVALID_SOCKET;
    LeaveCriticalSection(&accept_lock);
    EnterCriticalSection(&conns_lock);
    for (struct conn *c = live; c != NULL; c = c->next) {
        EnterCriticalSection(&c->lock);
        if (c->s != INVALID_SOCKET && !c->draining) /* else its receive is a drain already */
            CancelIoEx((HANDLE)c->s, &c->recv_op.ov);
        LeaveCriticalSection(&c->lock);
    }
    LeaveCriticalSection(&conns_lock);
    if (InterlockedDecrement(&outstanding) == 0) /* main's own count */
        return;
    if (WaitForSingleObject(all_released, SHUTDOWN_GRACE_MS) == WAIT_OBJECT_0)
        return;
    EnterCriticalSection(&conns_lock);
    for (struct conn *c = live; c != NULL; c = c->next)
        conn_close(c, "closed at shutdown, after the grace");
    LeaveCriticalSection(&conns_lock);
    WaitForSingleObject(all_released, INFINITE);
}

/* ------------------------------------------------------------------------
 * Main: set up the port, start the workers, post the accepts, wait
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static HANDLE workers[MAX_WORKERS];
    HANDLE waits[2];
    SYSTEM_INFO si;
    int nworkers;

    lab_parse_args(argc, argv, &opt, LAB_OPT_THREADS);
    lab_startup();
    InitializeCriticalSection(&conns_lock);
    InitializeCriticalSection(&accept_lock);
    all_released = CreateEventW(NULL, TRUE, FALSE, NULL);
    accept_parked = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (all_released == NULL || accept_parked == NULL)
        lab_fatal_win32("CreateEvent", GetLastError());
    GetSystemInfo(&si);
    nworkers = opt.threads > 0 ? opt.threads : WORKERS_PER_CPU * (int)si.dwNumberOfProcessors;
    if (nworkers > MAX_WORKERS)
        nworkers = MAX_WORKERS;

    /* Concurrency 0: the port lets as many workers run at once as there
     * are processors, and releases a spare one while a running worker is
     * blocked. */
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (port == NULL)
        lab_fatal_win32("CreateIoCompletionPort", GetLastError());
    /* WSA_FLAG_OVERLAPPED: AcceptEx is overlapped I/O on the listener. */
    listener = lab_listen(&opt, WSA_FLAG_OVERLAPPED);
    load_extensions(listener);
    /* Accepts complete on the listener's handle, so it joins the port. */
    if (CreateIoCompletionPort((HANDLE)listener, port, 0, 0) == NULL)
        lab_fatal_win32("CreateIoCompletionPort", GetLastError());
    lab_on_stop(NULL); /* no wake(): main waits on lab_stop_event below */

    for (int i = 0; i < nworkers; i++) {
        uintptr_t th = _beginthreadex(NULL, 0, worker, NULL, 0, NULL);
        if (th == 0)
            lab_fatal_win32("_beginthreadex", GetLastError());
        workers[i] = (HANDLE)th;
    }
    for (int i = 0; i < ACCEPTS; i++) {
        accepts[i].s = INVALID_SOCKET;
        InterlockedIncrement(&outstanding);
        post_accept(&accepts[i]);
    }
    lab_ready(&opt, MODEL);

    /* The workers serve. Main waits for Ctrl+C, and for parked accepts,
     * which it retries after a pause that Ctrl+C cuts short. The stop
     * event first: when both are set, the wait reports the lower index. */
    waits[0] = lab_stop_event;
    waits[1] = accept_parked;
    for (;;) {
        DWORD r = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
        if (r == WAIT_OBJECT_0) /* Ctrl+C */
            break;
        if (r != WAIT_OBJECT_0 + 1) {
            /* WAIT_FAILED: only invalid handles cause it, and these two
             * live as long as the program. Stop rather than spin. */
            lab_error_win32("WaitForMultipleObjects", GetLastError());
            break;
        }
        if (WaitForSingleObject(lab_stop_event, ACCEPT_RETRY_MS) == WAIT_OBJECT_0)
            break;
        repost_parked_accepts();
    }

    close_all();
    /* One shutdown packet per worker; each worker takes one and returns.
     * Closing the port instead would not do: under Wine CloseHandle does
     * not wake threads blocked in GetQueuedCompletionStatus, and on
     * Windows a port closed under its waiting threads is nothing to build
     * on. So: stop the workers, join them, then close the port. */
    for (int i = 0; i < nworkers; i++)
        if (!PostQueuedCompletionStatus(port, 0, 0, NULL))
            lab_fatal_win32("PostQueuedCompletionStatus", GetLastError());
    for (int i = 0; i < nworkers; i++) {
        WaitForSingleObject(workers[i], INFINITE);
        CloseHandle(workers[i]);
    }
    CloseHandle(port);
    return lab_finish();
}
