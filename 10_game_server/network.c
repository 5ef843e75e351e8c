/*
 * network.c - the network layer of the game server: one completion port,
 * a pool of worker threads, AcceptEx, the io_op, refusing when full.
 * Nothing here knows a game type: not a session, not a packet, not a
 * timer event. What happens is reported up through the handler table
 * main() registers (struct net_handlers): a connection accepted, an
 * operation of the layer above completed (session.c posts its WSARecv and
 * WSASend on the port), a batch posted by the timer thread.
 *
 * Every socket is associated with the one completion port; every
 * operation is overlapped and carries a struct io_op. The workers block
 * in GetQueuedCompletionStatusEx, which hands over up to WORKER_BATCH
 * completions per call; each completion names its OVERLAPPED, and
 * CONTAINING_RECORD leads from it to the operation, and from the
 * operation to what it belongs to (an accept slot, a session, a refused
 * connection, or whatever the layer above put it in). The completion key
 * is the same for all sockets: the operation says everything. Two other
 * keys are posted, never produced by a socket: posted work (net_post: the
 * timer's batches of due events) and the shutdown packet.
 *
 * Operations in flight are counted (ops_in_flight): at shutdown main()
 * closes every socket, which ends every pending operation with an error,
 * and waits for the count to reach zero before it stops the workers.
 */
#include "game.h"
#include <process.h>

#define KEY_IO 1       /* every socket */
#define KEY_SHUTDOWN 2 /* posted by main() once per worker at the end */
#define KEY_TIMER 3    /* posted work (net_post): the timer's batches of due events */

/* Completions taken per GetQueuedCompletionStatusEx call. One call (one
 * kernel transition) for several completions when the port is busy; few
 * enough that one worker does not sit on work the others could share
 * (the port hands out what is queued at the moment of the call). */
#ifndef WORKER_BATCH
#define WORKER_BATCH 8
#endif

/* AcceptEx writes each address with 16 bytes to spare (its documentation
 * asks for them). */
#define ADDR_SPACE ((DWORD)sizeof(struct sockaddr_in) + 16)

static HANDLE port;
static LPFN_ACCEPTEX accept_ex;
static LPFN_GETACCEPTEXSOCKADDRS get_accept_ex_sockaddrs;

static struct worker *workers;
static int worker_count;
static struct net_handlers up; /* the layer above, registered by main() */

/* Operations posted and not yet handled. At shutdown the last one to end
 * sets `drained`. */
static volatile LONG ops_in_flight;
static HANDLE drained;

void op_begin(void)
{
    InterlockedIncrement(&ops_in_flight);
}

/* Called at the very end of every completion handler (and when a post
 * fails at once, since no completion will come for it). */
void op_end(void)
{
    if (InterlockedDecrement(&ops_in_flight) == 0 && lab_stopping())
        SetEvent(drained);
}

/* The Winsock code of a failed operation. GetQueuedCompletionStatus gives
 * a Win32 code (64, ERROR_NETNAME_DELETED, for a reset);
 * WSAGetOverlappedResult on the socket gives the Winsock code for the
 * same thing (10054, WSAECONNRESET), which the log lines speak. The
 * caller holds the lock that guards `sock`. A socket we closed is not
 * asked: the Win32 code is all there is then (995 on Windows, 676 under
 * Wine, never compared). */
int op_error(SOCKET sock, struct io_op *op, int err)
{
    DWORD n = 0, flags = 0;
    if (err != 0 && sock != INVALID_SOCKET &&
        !WSAGetOverlappedResult(sock, &op->ov, &n, FALSE, &flags) && WSAGetLastError() != 0)
        return WSAGetLastError();
    return err;
}

/* ------------------------------------------------------------------------
 * Accepting: AcceptEx posted in advance
 * --------------------------------------------------------------------- */

/* A client that connects finds an AcceptEx already waiting, with its
 * socket already created: the accept costs no thread and no system call
 * at connection time. ACCEPTS_POSTED of them wait at once; each one that
 * completes is posted again with a new socket. */
struct accept_op {
    struct io_op op;
    SOCKET sock;    /* the socket AcceptEx connects to the client */
    int posted;     /* AcceptEx is pending */
    char addrs[2 * ADDR_SPACE];
};

static struct accept_op accepts[ACCEPTS_POSTED];
static CRITICAL_SECTION accept_lock; /* the listener handle, `posted` */
static SOCKET listener = INVALID_SOCKET;

/* accept_lock held. Returns 0, or the WSA error of the call named in
 * *call: then the slot stays idle and net_tick() tries again later. */
static int post_accept(struct accept_op *a, const char **call)
{
    DWORD got = 0;
    *call = "AcceptEx";
    if (listener == INVALID_SOCKET)
        return WSAENOTSOCK; /* closed at shutdown */
    *call = "socket (for AcceptEx)";
    a->sock = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (a->sock == INVALID_SOCKET)
        return WSAGetLastError();
    memset(&a->op.ov, 0, sizeof a->op.ov);
    a->op.kind = OP_ACCEPT;
    op_begin();
    /* Receive length 0: complete as soon as a client connects, not when
     * its first data arrives (a client that connects and says nothing
     * would otherwise hold this AcceptEx, unseen, for ever). */
    *call = "AcceptEx";
    if (!accept_ex(listener, a->sock, a->addrs, 0, ADDR_SPACE, ADDR_SPACE, &got, &a->op.ov)) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            op_end();
            closesocket(a->sock);
            a->sock = INVALID_SOCKET;
            return err;
        }
    }
    a->posted = 1; /* even on immediate success: the completion still comes */
    return 0;
}

static void refuse(struct worker *w, SOCKET s, const char *peer);

static void on_accept_done(struct worker *w, struct accept_op *a, int err)
{
    SOCKET s = a->sock;
    struct sockaddr *local = NULL, *remote = NULL;
    int local_len = 0, remote_len = 0;
    struct sockaddr_in peer;
    char peer_str[32];
    BOOL on = TRUE;

    memset(&peer, 0, sizeof peer);
    EnterCriticalSection(&accept_lock);
    err = op_error(listener, &a->op, err); /* AcceptEx was issued on the listener */
    a->sock = INVALID_SOCKET;
    a->posted = 0;
    if (err == 0) {
        /* The accepted socket inherits the listener's properties only
         * through this call; until then getpeername, shutdown and others
         * fail on Windows (Wine is lenient: do not rely on it). */
        if (setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&listener,
                       (int)sizeof listener) == SOCKET_ERROR) {
            err = WSAGetLastError();
        } else {
            get_accept_ex_sockaddrs(a->addrs, 0, ADDR_SPACE, ADDR_SPACE, &local, &local_len,
                                    &remote, &remote_len);
            if (remote != NULL && remote_len >= (int)sizeof peer)
                memcpy(&peer, remote, sizeof peer);
        }
    }
    /* The next client: a->addrs has been read, the slot may be reused.
     * If that fails, the slot stays idle until net_tick(). */
    if (!lab_stopping()) {
        const char *call;
        int e = post_accept(a, &call);
        if (e != 0)
            lab_error(call, e);
    }
    LeaveCriticalSection(&accept_lock);

    if (err != 0) {
        closesocket(s);
        /* a client that reset while in the backlog, or the listener
         * closed at shutdown: nobody to tell */
        if (!lab_stopping() && !lab_is_peer_gone(err))
            lab_error("AcceptEx (completion)", err);
        op_end();
        return;
    }
    lab_addr_str(&peer, peer_str, sizeof peer_str);
    /* Game packets are small and each one matters at once: without
     * TCP_NODELAY, Nagle's algorithm holds a small packet back until the
     * previous one is acknowledged, and with the client's delayed ACKs a
     * move can wait 200 ms. The send queue already gathers packets. */
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&on, (int)sizeof on);
    if (CreateIoCompletionPort((HANDLE)s, port, KEY_IO, 0) == NULL) {
        char text[256];
        int e = (int)GetLastError();
        lab_log("%s: CreateIoCompletionPort failed: WSA %d: %s", peer_str, e,
                lab_err_text(e, text, sizeof text));
        closesocket(s);
    } else if (!up.on_accept(w, s, peer_str)) {
        refuse(w, s, peer_str);
    }
    op_end();
}

/* ------------------------------------------------------------------------
 * Refusing a client when the server is full
 * --------------------------------------------------------------------- */

/* Every session slot is taken: the client gets SC_LOGIN_FAIL at once and
 * the end of the stream after it. The socket is not closed at once: a
 * socket closed with unread data in it (the client's CS_LOGIN, which may
 * arrive any moment) is reset, and a reset can destroy SC_LOGIN_FAIL in
 * the client's receive buffer before the client reads it. So whatever
 * the client still sends is read and dropped until it closes, for at
 * most REFUSAL_LINGER_MS (net_tick closes stragglers). Rare, so a
 * refusal is allocated; REFUSALS_MAX of them at most. */
struct refusal {
    struct io_op op;
    SOCKET sock; /* INVALID_SOCKET once closed (under refusal_lock) */
    ULONGLONG since;
    struct refusal *prev, *next;
    char buf[64];
};

static CRITICAL_SECTION refusal_lock;
static struct refusal *refusals;
static int refusal_count;

static void refusal_unlink(struct refusal *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        refusals = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    refusal_count--;
}

/* refusal_lock held. */
static int post_drain(struct refusal *r)
{
    DWORD flags = 0;
    memset(&r->op.ov, 0, sizeof r->op.ov);
    r->op.kind = OP_REFUSE;
    r->op.wb[0].buf = r->buf;
    r->op.wb[0].len = (ULONG)sizeof r->buf;
    op_begin();
    if (WSARecv(r->sock, r->op.wb, 1, NULL, &flags, &r->op.ov, NULL) == SOCKET_ERROR &&
        WSAGetLastError() != WSA_IO_PENDING) {
        op_end();
        return 0;
    }
    return 1;
}

static void refuse(struct worker *w, SOCKET s, const char *peer)
{
    struct refusal *r;

    if (!opt.quiet)
        lab_log("%s: server full (%d players): refused", peer, opt.max_users);
    /* The refusal the layer above gave (SC_LOGIN_FAIL). A plain send() on
     * this overlapped socket: a few bytes into the empty send buffer of a
     * new connection are taken at once, and a send() that is not
     * overlapped queues no completion packet. */
    if (up.refusal_len > 0 &&
        send(s, (const char *)up.refusal, (int)up.refusal_len, 0) == (int)up.refusal_len)
        InterlockedIncrement64(&w->packets_out);
    shutdown(s, SD_SEND); /* the end of the stream follows the packet */

    r = calloc(1, sizeof *r);
    EnterCriticalSection(&refusal_lock);
    if (r != NULL && refusal_count < REFUSALS_MAX && !lab_stopping()) {
        r->sock = s;
        r->since = GetTickCount64();
        r->next = refusals;
        if (refusals != NULL)
            refusals->prev = r;
        refusals = r;
        refusal_count++;
        if (post_drain(r)) {
            r = NULL; /* the completion frees it */
            s = INVALID_SOCKET;
        } else {
            refusal_unlink(r);
        }
    }
    LeaveCriticalSection(&refusal_lock);
    if (s != INVALID_SOCKET)
        closesocket(s); /* too many lingering, or no memory: close now */
    free(r);
}

static void on_refusal_done(struct refusal *r, DWORD bytes, int err)
{
    EnterCriticalSection(&refusal_lock);
    if (err == 0 && bytes > 0 && r->sock != INVALID_SOCKET && post_drain(r)) {
        LeaveCriticalSection(&refusal_lock);
        op_end();
        return;
    }
    /* the client closed (0 bytes), reset, or net_tick closed it */
    refusal_unlink(r);
    if (r->sock != INVALID_SOCKET)
        closesocket(r->sock);
    LeaveCriticalSection(&refusal_lock);
    free(r);
    op_end();
}

/* Closes refused connections older than `age_ms` (0: all). Their pending
 * WSARecv then completes with an error and frees them. */
static void close_refusals(ULONGLONG age_ms)
{
    ULONGLONG now = GetTickCount64();
    EnterCriticalSection(&refusal_lock);
    for (struct refusal *r = refusals; r != NULL; r = r->next) {
        if (r->sock != INVALID_SOCKET && now - r->since >= age_ms) {
            closesocket(r->sock);
            r->sock = INVALID_SOCKET;
        }
    }
    LeaveCriticalSection(&refusal_lock);
}

void net_close_refusals(void)
{
    close_refusals(0);
}

/* ------------------------------------------------------------------------
 * The worker threads
 * --------------------------------------------------------------------- */

#ifdef GAME_PROFILE
struct game_profile prof;
#endif

static void on_io_done(struct worker *w, OVERLAPPED *ov, DWORD bytes)
{
    struct io_op *op = CONTAINING_RECORD(ov, struct io_op, ov);
    /* GetQueuedCompletionStatusEx reports no per-entry error: the
     * operation's status is in its OVERLAPPED's Internal member (an
     * NTSTATUS, negative for a failure; documented under OVERLAPPED). Only "did it
     * fail" is taken from it: the handlers ask the socket for the Winsock
     * code (op_error, WSAGetOverlappedResult), and never branch on an
     * exact code, which differs between Windows and Wine anyway (a
     * receive ended by closesocket: 995 on Windows, 676 under Wine). */
    int err = (LONG)ov->Internal >= 0 ? 0 : (int)(DWORD)ov->Internal; /* NT_SUCCESS */

    switch (op->kind) {
    case OP_ACCEPT:
        on_accept_done(w, CONTAINING_RECORD(op, struct accept_op, op), err);
        break;
    case OP_REFUSE:
        on_refusal_done(CONTAINING_RECORD(op, struct refusal, op), bytes, err);
        break;
    default: /* the layer above's (a session's receive or send) */
        up.on_io(w, op, bytes, err);
        break;
    }
}

static unsigned __stdcall worker_main(void *arg)
{
    struct worker *w = arg;
    OVERLAPPED_ENTRY entries[WORKER_BATCH];
    for (;;) {
        ULONG got = 0;
        int stop = 0;
        if (!GetQueuedCompletionStatusEx(port, entries, WORKER_BATCH, &got, INFINITE, FALSE)) {
            lab_error("GetQueuedCompletionStatusEx",
                      (int)GetLastError()); /* the port itself failed */
            break;
        }
        PROF_ADD(waits, 1);
        PROF_ADD(entries, got);
        for (ULONG i = 0; i < got; i++) {
            OVERLAPPED_ENTRY *en = &entries[i];
            if (en->lpCompletionKey == KEY_SHUTDOWN) {
                /* One shutdown packet per worker: a worker that took two
                 * in one call passes the extra one on, or a worker would
                 * wait for ever. Nothing is posted after them, so every
                 * entry after the first is a shutdown packet too. */
                if (stop && !PostQueuedCompletionStatus(port, 0, KEY_SHUTDOWN, NULL))
                    lab_error("PostQueuedCompletionStatus", (int)GetLastError());
                stop = 1;
            } else if (en->lpCompletionKey == KEY_TIMER) {
                up.on_posted(w, en->lpOverlapped, en->dwNumberOfBytesTransferred);
            } else if (en->lpOverlapped != NULL) {
                on_io_done(w, en->lpOverlapped, en->dwNumberOfBytesTransferred);
            }
        }
        /* Everything this wake-up produced for the clients goes out now,
         * one WSASend per session however many packets each one got
         * (session.c, "Sending"). */
        up.on_wake_done(w);
        if (stop)
            break;
    }
    return 0;
}

/* From any thread (the timer's): `what` for a worker, which hands it to
 * the layer above's on_posted with `count`. PostQueuedCompletionStatus
 * passes lpOverlapped through untouched, so it may carry any pointer;
 * the key tells the worker it is not an I/O operation. */
void net_post(void *what, DWORD count)
{
    PROF_ADD(timer_posts, 1);
    if (!PostQueuedCompletionStatus(port, count, KEY_TIMER, (OVERLAPPED *)what))
        lab_error("PostQueuedCompletionStatus (posted work)", (int)GetLastError());
}

/* An operation of the layer above that completed at once, handed back to
 * the port as if the kernel had queued its completion: a worker (maybe
 * this one, later) gets it through on_io with `bytes`. The layer above
 * uses it when it would otherwise handle completions inline without end
 * (session.c: a receive that keeps completing at once). The operation's
 * status (OVERLAPPED.Internal) is what the call that completed set.
 * 0 when the port refused it (no memory): the caller handles it itself. */
int net_requeue(struct io_op *op, DWORD bytes)
{
    return PostQueuedCompletionStatus(port, bytes, KEY_IO, &op->ov) != 0;
}

/* Loads an extension function (AcceptEx and its helper live in
 * mswsock.dll; asking the provider for them through WSAIoctl is the
 * documented way, and needs no mswsock.lib). */
static void load_extension(SOCKET s, GUID guid, void *fn, size_t fn_size, const char *name)
{
    DWORD got = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, (DWORD)sizeof guid, fn,
                 (DWORD)fn_size, &got, NULL, NULL) == SOCKET_ERROR)
        lab_fatal(name, WSAGetLastError());
}

/* Creates the completion port and the workers, and posts the accepts.
 * Any failure here is a start-up failure: exit 1. */
void net_start(SOCKET l, int threads, const struct net_handlers *handlers)
{
    GUID accept_ex_guid = WSAID_ACCEPTEX;
    GUID sockaddrs_guid = WSAID_GETACCEPTEXSOCKADDRS;

    listener = l;
    up = *handlers;
    InitializeCriticalSection(&accept_lock);
    InitializeCriticalSection(&refusal_lock);
    drained = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (drained == NULL)
        lab_fatal("CreateEvent", (int)GetLastError());
    /* Concurrency 0: the port lets as many workers run at once as there
     * are processors; the others wait their turn, or take over while a
     * running one blocks (on a lock, on the wineserver under Wine). */
    port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (port == NULL)
        lab_fatal("CreateIoCompletionPort", (int)GetLastError());
    if (CreateIoCompletionPort((HANDLE)listener, port, KEY_IO, 0) == NULL)
        lab_fatal("CreateIoCompletionPort (listener)", (int)GetLastError());
    load_extension(listener, accept_ex_guid, &accept_ex, sizeof accept_ex, "WSAIoctl(AcceptEx)");
    load_extension(listener, sockaddrs_guid, &get_accept_ex_sockaddrs,
                   sizeof get_accept_ex_sockaddrs, "WSAIoctl(GetAcceptExSockaddrs)");

    worker_count = threads;
    workers = calloc((size_t)threads, sizeof *workers);
    if (workers == NULL)
        lab_fatal("calloc", ERROR_NOT_ENOUGH_MEMORY);
    for (int i = 0; i < threads; i++) {
        struct worker *w = &workers[i];
        w->index = i;
        /* _beginthreadex, not CreateThread: the workers use the C runtime */
        w->thread = (HANDLE)_beginthreadex(NULL, 0, worker_main, w, 0, NULL);
        if (w->thread == NULL)
            lab_fatal("_beginthreadex", (int)GetLastError());
    }

    EnterCriticalSection(&accept_lock);
    for (int i = 0; i < ACCEPTS_POSTED; i++) {
        const char *call;
        int err;
        accepts[i].sock = INVALID_SOCKET;
        err = post_accept(&accepts[i], &call);
        if (err != 0)
            lab_fatal(call, err);
    }
    LeaveCriticalSection(&accept_lock);
}

/* Once a second, from main(): re-post the accepts that could not be
 * posted (a shortage of sockets), close refused clients that linger. */
void net_tick(void)
{
    EnterCriticalSection(&accept_lock);
    for (int i = 0; i < ACCEPTS_POSTED; i++) {
        const char *call;
        int err;
        if (accepts[i].posted)
            continue;
        err = post_accept(&accepts[i], &call);
        if (err != 0) {
            if (!lab_stopping())
                lab_error(call, err);
            break; /* the next ones would fail the same way */
        }
    }
    LeaveCriticalSection(&accept_lock);
    close_refusals(REFUSAL_LINGER_MS);
}

/* Closing the listener ends every pending AcceptEx with an error; their
 * handlers close the accept sockets and post no more (listener is
 * INVALID_SOCKET, under the same lock). */
void net_stop_accepting(void)
{
    EnterCriticalSection(&accept_lock);
    if (listener != INVALID_SOCKET)
        closesocket(listener);
    listener = INVALID_SOCKET;
    LeaveCriticalSection(&accept_lock);
}

/* Every socket is closed: wait for the last pending operation to end. */
void net_wait_drained(void)
{
    if (InterlockedCompareExchange(&ops_in_flight, 0, 0) != 0)
        WaitForSingleObject(drained, INFINITE); /* op_end sets it at zero */
}

/* One shutdown packet per worker: each worker takes one and returns
 * (the timer is stopped already, so they come after every timer batch).
 * Closing the port would not do it: Wine does not wake threads blocked in
 * GetQueuedCompletionStatus when the port is closed. Then the port is
 * closed, once nobody waits on it. */
void net_stop_workers(void)
{
    for (int i = 0; i < worker_count; i++)
        if (!PostQueuedCompletionStatus(port, 0, KEY_SHUTDOWN, NULL))
            lab_error("PostQueuedCompletionStatus", (int)GetLastError());
    for (int i = 0; i < worker_count; i++) {
        WaitForSingleObject(workers[i].thread, INFINITE);
        CloseHandle(workers[i].thread);
    }
    CloseHandle(port);
}

void net_packet_counts(LONG64 *in, LONG64 *out, LONG64 *timer_events)
{
    *in = 0;
    *out = 0;
    *timer_events = 0;
    for (int i = 0; i < worker_count; i++) {
        *in += InterlockedCompareExchange64(&workers[i].packets_in, 0, 0);
        *out += InterlockedCompareExchange64(&workers[i].packets_out, 0, 0);
        *timer_events += InterlockedCompareExchange64(&workers[i].timer_events, 0, 0);
    }
}
