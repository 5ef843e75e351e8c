/*
 * engine.c - the completion-port client engine (engine.h says what it
 * does and what the modes do).
 *
 * Per connection: one ConnectEx, then one WSARecv always posted and at
 * most one WSASend in flight, each in its own `struct eng_op` whose
 * OVERLAPPED is found again with CONTAINING_RECORD. `pending` counts the
 * posted operations; a closed connection's slot is free again only when
 * it reaches zero, so that no completion ever arrives for a reused slot.
 */
#include "engine.h"
#include "netutil.h"
#include <mswsock.h>
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64 /* completions taken per GetQueuedCompletionStatusEx */

enum op_kind { OP_CONNECT, OP_RECV, OP_SEND };

struct eng_op {
    WSAOVERLAPPED ov;
    enum op_kind kind;
    WSABUF wb;
    struct eng_conn *c;
};

struct eng_conn {
    struct engine *e;
    int index;
    CRITICAL_SECTION lock;
    SOCKET s;
    enum eng_state state;
    int pending;         /* posted operations not yet completed */
    int send_busy;       /* a WSASend is in flight */
    int fin, fin_done;   /* engine_finish asked; shutdown(SD_SEND) made */
    size_t staged, sent; /* bytes fill gave; of those, bytes sent */
    char *rbuf, *sbuf;
    struct eng_op cop, rop, sop;
};

struct worker {
    struct engine *e;
    int index;
    HANDLE thread;
};

struct engine {
    struct engine_config cfg;
    struct engine_ops ops;
    HANDLE port;
    struct eng_conn *conns;
    char *bufs;
    struct worker *workers;
    int started;     /* worker threads running */
    int conns_ready; /* the slots' locks are initialized */
    LPFN_CONNECTEX connect_ex;
    CRITICAL_SECTION live_lock; /* `live` and `idle` change together */
    long live;                  /* slots not free */
    HANDLE idle;                /* manual-reset: set while live == 0 */
    volatile LONG workers_failed;
};

/* ------------------------------------------------------------------------
 * Slots
 * --------------------------------------------------------------------- */

static void live_add(struct engine *e, long d)
{
    EnterCriticalSection(&e->live_lock);
    e->live += d;
    if (e->live == 0)
        SetEvent(e->idle);
    else
        ResetEvent(e->idle);
    LeaveCriticalSection(&e->live_lock);
}

/* The first cause ends the connection: cancel, close, tell the mode. */
static void conn_end(struct eng_conn *c, enum eng_end why, int err)
{
    if (c->state != ENG_CONNECTING && c->state != ENG_OPEN)
        return;
    c->state = ENG_CLOSING;
    /* Windows aborts the pending operations of a socket it closes. Wine 8
     * leaves a pending WSASend pending (one stuck behind a peer that reads
     * nothing) and its completion would never come, so the slot would
     * never be free: CancelIoEx ends it. Cancel, then close: right on
     * both. */
    CancelIoEx((HANDLE)c->s, NULL);
    closesocket(c->s);
    c->s = INVALID_SOCKET;
    c->e->ops.on_end(c, why, err);
}

static void maybe_free(struct eng_conn *c)
{
    if (c->state == ENG_CLOSING && c->pending == 0) {
        c->state = ENG_FREE;
        live_add(c->e, -1);
    }
}

/* ------------------------------------------------------------------------
 * Operations (lock held)
 * --------------------------------------------------------------------- */

static void post_recv(struct eng_conn *c)
{
    DWORD flags = 0;
    memset(&c->rop.ov, 0, sizeof c->rop.ov);
    c->rop.wb.buf = c->rbuf;
    c->rop.wb.len = (ULONG)c->e->cfg.recv_size;
    c->pending++;
    if (WSARecv(c->s, &c->rop.wb, 1, NULL, &flags, &c->rop.ov, NULL) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            c->pending--;
            conn_end(c, ENG_FAILED, err);
        }
    }
}

static void post_send(struct eng_conn *c)
{
    memset(&c->sop.ov, 0, sizeof c->sop.ov);
    c->sop.wb.buf = c->sbuf + c->sent;
    c->sop.wb.len = (ULONG)(c->staged - c->sent);
    c->send_busy = 1;
    c->pending++;
    if (WSASend(c->s, &c->sop.wb, 1, NULL, 0, &c->sop.ov, NULL) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            c->pending--;
            c->send_busy = 0;
            conn_end(c, ENG_FAILED, err);
        }
    }
}

void engine_kick(struct eng_conn *c)
{
    if (c->state != ENG_OPEN || c->send_busy)
        return;
    if (c->sent < c->staged) { /* the rest of a short send goes first */
        post_send(c);
        return;
    }
    c->staged = c->sent = 0;
    if (c->fin) {
        if (!c->fin_done) {
            c->fin_done = 1;
            shutdown(c->s, SD_SEND);
        }
        return;
    }
    c->staged = c->e->ops.fill(c, c->sbuf, c->e->cfg.send_size);
    if (c->staged > 0)
        post_send(c);
}

void engine_finish(struct eng_conn *c)
{
    c->fin = 1;
    engine_kick(c);
}

void engine_close(struct eng_conn *c)
{
    conn_end(c, ENG_CLOSED, 0);
    maybe_free(c);
}

int engine_connect(struct eng_conn *c, const struct sockaddr_in *to, const struct sockaddr_in *from)
{
    struct sockaddr_in any;
    int err;
    if (c->state != ENG_FREE)
        return WSAEALREADY;
    if (from == NULL) {
        memset(&any, 0, sizeof any);
        any.sin_family = AF_INET;
        any.sin_addr.s_addr = htonl(INADDR_ANY);
        from = &any;
    }
    c->s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (c->s == INVALID_SOCKET)
        return WSAGetLastError();
    /* ConnectEx wants a bound socket. */
    if (bind(c->s, (const struct sockaddr *)from, (int)sizeof *from) == SOCKET_ERROR) {
        err = WSAGetLastError();
        goto fail;
    }
    if (CreateIoCompletionPort((HANDLE)c->s, c->e->port, 0, 0) == NULL) {
        err = (int)GetLastError();
        goto fail;
    }
    c->send_busy = c->fin = c->fin_done = 0;
    c->staged = c->sent = 0;
    memset(&c->cop.ov, 0, sizeof c->cop.ov);
    c->pending = 1;
    if (!c->e->connect_ex(c->s, (const struct sockaddr *)to, (int)sizeof *to, NULL, 0, NULL,
                          &c->cop.ov)) {
        err = WSAGetLastError();
        if (err != ERROR_IO_PENDING) {
            c->pending = 0;
            goto fail;
        }
    }
    c->state = ENG_CONNECTING;
    live_add(c->e, 1);
    return 0;
fail:
    closesocket(c->s);
    c->s = INVALID_SOCKET;
    return err;
}

/* ------------------------------------------------------------------------
 * Completions
 * --------------------------------------------------------------------- */

static void on_connected(struct eng_conn *c)
{
    /* Without it, getpeername, shutdown and friends do not work on a
     * ConnectEx socket (Microsoft: SO_UPDATE_CONNECT_CONTEXT). */
    setsockopt(c->s, SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0);
    if (c->e->cfg.nodelay) {
        int one = 1;
        setsockopt(c->s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    }
    c->state = ENG_OPEN;
    post_recv(c);
    if (c->state == ENG_OPEN)
        c->e->ops.on_open(c);
}

static void on_completion(struct eng_conn *c, int worker, struct eng_op *op, DWORD n, BOOL ok)
{
    EnterCriticalSection(&c->lock);
    c->pending--;
    if (op->kind == OP_SEND)
        c->send_busy = 0;
    if (c->state == ENG_CLOSING) {
        /* over after our close (Wine says 676 there, Windows 995) */
    } else if (!ok) {
        DWORD bytes = 0, flags = 0;
        int err = 0;
        if (!WSAGetOverlappedResult(c->s, &op->ov, &bytes, FALSE, &flags))
            err = WSAGetLastError();
        conn_end(c, op->kind == OP_CONNECT ? ENG_CONNECT_FAILED : ENG_FAILED, err);
    } else if (op->kind == OP_CONNECT) {
        on_connected(c);
    } else if (op->kind == OP_RECV && n == 0) {
        conn_end(c, ENG_EOF, 0);
    } else if (op->kind == OP_RECV) {
        c->e->ops.on_recv(c, worker, c->rbuf, n);
        if (c->state == ENG_OPEN)
            post_recv(c);
    } else {
        c->sent += n; /* short: engine_kick sends the rest first */
        engine_kick(c);
    }
    maybe_free(c);
    LeaveCriticalSection(&c->lock);
}

/* Workers take completions in batches: under Wine every call into the
 * port is a round trip to the wineserver, and one call for up to 64
 * completions keeps the generator's own cost per message down. */
static unsigned __stdcall worker_main(void *arg)
{
    struct worker *w = arg;
    struct engine *e = w->e;
    OVERLAPPED_ENTRY done[BATCH];
    for (;;) {
        ULONG count = 0;
        int quit = 0;
        if (!GetQueuedCompletionStatusEx(e->port, done, BATCH, &count, INFINITE, FALSE)) {
            /* With an INFINITE wait it fails only when the port itself is
             * unusable: waiting again would fail again at once, a spin.
             * Stop this worker, and wake whoever waits for the slots. */
            char text[256];
            DWORD err = GetLastError();
            fprintf(stderr, "engine: GetQueuedCompletionStatusEx failed: error %lu: %s\n", err,
                    net_err_text((int)err, text, sizeof text));
            fflush(stderr);
            InterlockedIncrement(&e->workers_failed);
            SetEvent(e->idle);
            return 1;
        }
        for (ULONG i = 0; i < count; i++) {
            struct eng_op *op;
            if (done[i].lpOverlapped == NULL) { /* a shutdown packet */
                /* One per worker: a batch that took a second one hands
                 * it back, or another worker would wait for ever. */
                if (quit)
                    PostQueuedCompletionStatus(e->port, 0, 0, NULL);
                quit = 1;
                continue;
            }
            op = CONTAINING_RECORD(done[i].lpOverlapped, struct eng_op, ov);
            /* Internal holds the operation's status: 0 is success. */
            on_completion(op->c, w->index, op, done[i].dwNumberOfBytesTransferred,
                          done[i].lpOverlapped->Internal == 0);
        }
        if (quit)
            return 0;
    }
}

/* ------------------------------------------------------------------------
 * The engine
 * --------------------------------------------------------------------- */

static int load_connect_ex(struct engine *e)
{
    /* ConnectEx is an extension function: asked for through WSAIoctl. */
    GUID guid = WSAID_CONNECTEX;
    DWORD bytes = 0;
    int rc = 0;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET ||
        WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &e->connect_ex,
                 sizeof e->connect_ex, &bytes, NULL, NULL) == SOCKET_ERROR) {
        net_print_error("engine: WSAIoctl(ConnectEx)", WSAGetLastError());
        rc = -1;
    }
    if (s != INVALID_SOCKET)
        closesocket(s);
    return rc;
}

struct engine *engine_create(const struct engine_config *cfg, const struct engine_ops *ops)
{
    struct engine *e = calloc(1, sizeof *e);
    size_t per = cfg->recv_size + cfg->send_size;
    if (e == NULL) {
        fprintf(stderr, "engine: out of memory\n");
        return NULL;
    }
    e->cfg = *cfg;
    e->ops = *ops;
    InitializeCriticalSection(&e->live_lock);
    e->idle = CreateEventW(NULL, TRUE, TRUE, NULL);
    e->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    e->conns = calloc((size_t)cfg->conns, sizeof *e->conns);
    e->bufs = calloc((size_t)cfg->conns, per);
    e->workers = calloc((size_t)cfg->threads, sizeof *e->workers);
    if (e->idle == NULL || e->port == NULL || e->conns == NULL || e->bufs == NULL ||
        e->workers == NULL) {
        fprintf(stderr, "engine: out of memory or handles for %d connections\n", cfg->conns);
        engine_destroy(e);
        return NULL;
    }
    for (int i = 0; i < cfg->conns; i++) {
        struct eng_conn *c = &e->conns[i];
        c->e = e;
        c->index = i;
        c->s = INVALID_SOCKET;
        c->rbuf = e->bufs + (size_t)i * per;
        c->sbuf = c->rbuf + cfg->recv_size;
        c->cop.kind = OP_CONNECT;
        c->rop.kind = OP_RECV;
        c->sop.kind = OP_SEND;
        c->cop.c = c->rop.c = c->sop.c = c;
        InitializeCriticalSection(&c->lock);
    }
    e->conns_ready = 1;
    if (load_connect_ex(e) != 0) {
        engine_destroy(e);
        return NULL;
    }
    for (int i = 0; i < cfg->threads; i++) {
        e->workers[i].e = e;
        e->workers[i].index = i;
        e->workers[i].thread = (HANDLE)_beginthreadex(NULL, 0, worker_main, &e->workers[i], 0,
                                                      NULL);
        if (e->workers[i].thread == NULL) {
            fprintf(stderr, "engine: cannot start worker threads\n");
            engine_destroy(e);
            return NULL;
        }
        e->started++;
    }
    return e;
}

void engine_destroy(struct engine *e)
{
    if (e == NULL)
        return;
    /* CloseHandle on the port does not wake a worker under Wine: one
     * shutdown packet per worker, join them, then close the port. */
    for (int i = 0; i < e->started; i++)
        PostQueuedCompletionStatus(e->port, 0, 0, NULL);
    for (int i = 0; i < e->started; i++) {
        WaitForSingleObject(e->workers[i].thread, INFINITE);
        CloseHandle(e->workers[i].thread);
    }
    if (e->conns_ready)
        for (int i = 0; i < e->cfg.conns; i++) {
            if (e->conns[i].s != INVALID_SOCKET) /* only when the workers failed */
                closesocket(e->conns[i].s);
            DeleteCriticalSection(&e->conns[i].lock);
        }
    if (e->port != NULL)
        CloseHandle(e->port);
    if (e->idle != NULL)
        CloseHandle(e->idle);
    DeleteCriticalSection(&e->live_lock);
    free(e->workers);
    free(e->bufs);
    free(e->conns);
    free(e);
}

void engine_close_all(struct engine *e)
{
    for (int i = 0; i < e->cfg.conns; i++) {
        struct eng_conn *c = &e->conns[i];
        EnterCriticalSection(&c->lock);
        engine_close(c);
        LeaveCriticalSection(&c->lock);
    }
    /* INFINITE: every operation of a cancelled and closed socket
     * completes, and the slots' memory must outlive them. It returns at
     * once if the workers failed. */
    engine_wait_idle(e, INFINITE);
}

int engine_wait_idle(struct engine *e, DWORD ms)
{
    long live;
    WaitForSingleObject(e->idle, ms);
    EnterCriticalSection(&e->live_lock);
    live = e->live;
    LeaveCriticalSection(&e->live_lock);
    return live == 0 ? 0 : -1;
}

struct eng_conn *engine_conn(struct engine *e, int index)
{
    return &e->conns[index];
}

int engine_index(const struct eng_conn *c)
{
    return c->index;
}

void engine_lock(struct eng_conn *c)
{
    EnterCriticalSection(&c->lock);
}

void engine_unlock(struct eng_conn *c)
{
    LeaveCriticalSection(&c->lock);
}

enum eng_state engine_state(const struct eng_conn *c)
{
    return c->state;
}
