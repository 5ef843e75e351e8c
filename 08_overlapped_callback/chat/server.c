/*
 * 08_chat - the n:1 chat server of the lecture, on step 08's model:
 * overlapped I/O with completion routines, one thread, alertable waits.
 *
 * Model. As in step 08: one thread posts overlapped WSARecv/WSASend calls
 * that name a completion routine, waits alertably in
 * WSAWaitForMultipleEvents(..., TRUE) on the listener's FD_ACCEPT event
 * and the Ctrl+C event, and the routines run inside that wait. What
 * changes is what a receive leads to: not an echo to the one sender, but
 * a copy of every whole packet to every connected client.
 *
 * The packet (the lecture's): uint8 size (the whole packet, header
 * included, 5..255), uint32 sender id (little-endian), then size - 5
 * bytes of message text. A client sends it with any id (the server puts
 * in the real one); the server sends every message to every client,
 * the sender included, with the sender's id; id 0 is the server itself,
 * for the "joined" and "left" lines.
 *
 * What this adds over step 08, and what that costs.
 *   - Sends no longer alternate with receives. In the echo server one
 *     buffer served both, because the next receive waited for the echo.
 *     Here a message goes to many clients while each of them keeps
 *     sending, so every send is its own operation with its own OVERLAPPED
 *     and its own copy of the packet (struct io_op below, allocated per
 *     message per receiver), and several may be in flight on one socket.
 *   - TCP is a byte stream: one receive may hold half a packet, or three
 *     and the start of a fourth. The receive buffer keeps the rest of an
 *     incomplete packet, and the next receive appends to it (on_recv_done).
 *   - A receiver that does not read. Its sends stop completing once the
 *     buffers on the way are full. Holding more for it would cost memory
 *     without bound, and waiting for it would stop everyone; so it may
 *     have at most MAX_SENDS operations in flight, and the message that
 *     would be one more disconnects it (log line, "left" line to the
 *     others). The senders are not slowed: the others carry on.
 *
 * Limits. One thread, one CPU, as in 08. Memory per client: a struct
 * conn (about 1 KiB) plus up to MAX_SENDS io_ops of about 300 bytes.
 * Sending a message costs one WSASend per client: n clients chatting
 * cost n * n sends, the reason real chat servers send batches.
 *
 * Left out on purpose. Names, rooms, history, login: the packet carries
 * an id only (client.exe chat puts a name in the text). A send queue with
 * one operation in flight (step 10 does that): here, as in the lecture,
 * each message is its own operation. AcceptEx, IPv6, timeouts.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 08_chat.exe server.c -lws2_32
 * Run:
 *   08_chat.exe -p 40100      and in other consoles:  client.exe chat -p 40100 -n NAME
 *
 * Compare with step 08's echo server:
 *   diff 08_overlapped_callback/server.c 08_overlapped_callback/chat/server.c
 */
#include "lab.h"
#include <stdint.h>

#define MODEL "08_chat"

#define CHAT_HEAD 5    /* uint8 size + uint32 id */
#define CHAT_MAX 255   /* the largest packet: size is one byte */
#define SERVER_ID 0    /* the sender id of the server's own lines */

/* Sends in flight (or queued to be posted) per receiver. A client that
 * reads keeps this near zero: a send completes as soon as the system has
 * taken the bytes into its buffers. Only a client that stops reading gets
 * here, once those buffers are full. 256 messages is far above what a
 * burst of 100 clients typing at once puts in flight for a reader. */
#define MAX_SENDS 256

#define RECV_BUF 1024  /* at least one whole packet plus the next's start */

#define ACCEPT_BATCH 16
#define ACCEPT_POLL_MS 100 /* Wine: see main */

/* ------------------------------------------------------------------------
 * Connections and operations
 * --------------------------------------------------------------------- */

enum op_kind { OP_RECV, OP_SEND };

/* One overlapped operation. A receive uses the connection's recv_op; a
 * send is allocated for one message to one receiver and carries its own
 * copy of the packet, because the kernel reads from that buffer until
 * the routine runs, and other sends to the same client may be in flight
 * at the same time. Never copied, never freed, never reposted while
 * pending. */
struct io_op {
    WSAOVERLAPPED ov;
    enum op_kind kind;
    WSABUF wb;
    struct conn *c;
    struct io_op *later;            /* the queue of operations to post */
    unsigned char data[CHAT_MAX];   /* a send's packet */
};

struct conn {
    SOCKET s;
    long id;                 /* also the chat id (ids start at 1) */
    char peer[32];
    unsigned long long messages; /* whole packets received */
    int pending;             /* operations in flight or queued to be posted */
    int sends;               /* of which sends */
    const char *why;         /* set once the connection is closed */
    int joined;              /* its "joined" line went out: its "left" line will too */
    struct io_op recv_op;
    size_t rlen;             /* bytes of an incomplete packet in rbuf */
    struct conn *prev, *next; /* the list of live connections */
    unsigned char rbuf[RECV_BUF];
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;
static WSAEVENT accept_event = WSA_INVALID_EVENT;
static struct conn *live;

/* Operations the main loop will post (post_later, post_deferred). */
static struct io_op *later_head;
static struct io_op **later_tail = &later_head;

/* Ids of clients that left, to be announced by the main loop. A close can
 * happen in the middle of a broadcast (a receiver cut off): announcing it
 * there would start a broadcast inside a broadcast. */
static long *leaving;
static size_t n_leaving, cap_leaving;

static void CALLBACK on_io_done(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags);
static void broadcast(long from, const char *text, size_t len);

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
    c->next = live;
    if (live != NULL)
        live->prev = c;
    live = c;
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

/* Closes the connection (once) and queues its "left" line; frees it when
 * nothing is pending (as in 08: the routines of its aborted operations
 * still come, with pointers into it). */
static void conn_free(struct conn *c, const char *why)
{
    if (c->why == NULL && c->joined) {
        if (n_leaving == cap_leaving) {
            size_t cap = cap_leaving ? cap_leaving * 2 : 64;
            long *p = realloc(leaving, cap * sizeof *p);
            if (p != NULL) {
                leaving = p;
                cap_leaving = cap;
            }
        }
        if (n_leaving < cap_leaving) /* out of memory: the line is skipped */
            leaving[n_leaving++] = c->id;
    }
    if (c->why == NULL)
        c->why = why;
    if (c->s != INVALID_SOCKET) {
        /* Wine 8 leaves a pending WSASend pending for ever after
         * closesocket (a client that does not read); CancelIoEx ends it.
         * Windows aborts them in closesocket either way. */
        if (c->pending > 0)
            CancelIoEx((HANDLE)c->s, NULL);
        closesocket(c->s);
    }
    c->s = INVALID_SOCKET;
    if (c->pending > 0)
        return;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        live = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    lab_log("conn %ld: %s, %llu messages", c->id, c->why, c->messages);
    free(c);
}

static void conn_fail(struct conn *c, const char *call, int err)
{
    if (lab_is_peer_gone(err)) {
        conn_free(c, "reset by peer");
    } else {
        lab_conn_error(c->id, call, err);
        conn_free(c, "closed after an error");
    }
}

/* One pending thing of c is over. Returns 1 if c was closed meanwhile
 * (the last one frees it). */
static int conn_release(struct conn *c)
{
    c->pending--;
    if (c->why == NULL)
        return 0;
    if (c->pending == 0)
        conn_free(c, c->why);
    return 1;
}

/* ------------------------------------------------------------------------
 * Posting
 * --------------------------------------------------------------------- */

/* Receives into the free part of rbuf, after the incomplete packet kept
 * there. Returns 0 or the WSA error. */
static int post_recv(struct conn *c)
{
    struct io_op *op = &c->recv_op;
    DWORD flags = 0;
    memset(&op->ov, 0, sizeof op->ov);
    op->kind = OP_RECV;
    op->c = c;
    op->wb.buf = (char *)c->rbuf + c->rlen;
    op->wb.len = (ULONG)(sizeof c->rbuf - c->rlen);
    c->pending++;
    if (WSARecv(c->s, &op->wb, 1, NULL, &flags, &op->ov, on_io_done) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) { /* not started: no routine will come */
            c->pending--;
            return err;
        }
    }
    return 0;
}

/* Posts one send (op->wb is set). Returns 0 or the WSA error. */
static int post_send(struct io_op *op)
{
    struct conn *c = op->c;
    memset(&op->ov, 0, sizeof op->ov);
    c->pending++;
    if (WSASend(c->s, &op->wb, 1, NULL, 0, &op->ov, on_io_done) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            c->pending--;
            return err;
        }
    }
    return 0;
}

/* As in step 08, the routines do not post: they queue the operation, and
 * the main loop posts it once the wait has returned, so that one wait
 * runs a bounded number of routines (see 08's server.c, post_later). A
 * queued operation counts as pending. */
static void post_later(struct io_op *op)
{
    op->later = NULL;
    *later_tail = op;
    later_tail = &op->later;
    op->c->pending++;
}

static void post_deferred(void)
{
    while (later_head != NULL) {
        struct io_op *op = later_head;
        struct conn *c = op->c;
        int err;
        later_head = op->later;
        if (later_head == NULL)
            later_tail = &later_head;
        if (conn_release(c)) { /* closed while it waited */
            if (op->kind == OP_SEND) {
                c->sends--;
                free(op);
            }
            continue;
        }
        if (op->kind == OP_RECV) {
            err = post_recv(c);
            if (err != 0)
                conn_fail(c, "WSARecv", err);
        } else {
            err = post_send(op);
            if (err != 0) {
                c->sends--;
                free(op);
                conn_fail(c, "WSASend", err);
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Chat: one copy of the packet per receiver
 * --------------------------------------------------------------------- */

/* Sends the packet {size, from, text} to every open connection, the
 * sender included. A receiver that already has MAX_SENDS operations in
 * flight does not read: it is disconnected instead, and the others get
 * the message. */
static void broadcast(long from, const char *text, size_t len)
{
    struct conn *c, *next;
    uint32_t id = (uint32_t)from;
    if (len > CHAT_MAX - CHAT_HEAD)
        len = CHAT_MAX - CHAT_HEAD;
    for (c = live; c != NULL; c = next) {
        struct io_op *op;
        next = c->next;
        if (c->why != NULL)
            continue;
        if (c->sends >= MAX_SENDS) {
            lab_log("conn %ld: does not read: %d messages in flight, disconnecting", c->id,
                    c->sends);
            conn_free(c, "cut off (does not read)");
            continue;
        }
        op = malloc(sizeof *op);
        if (op == NULL) {
            conn_free(c, "out of memory");
            continue;
        }
        memset(op, 0, offsetof(struct io_op, data));
        op->kind = OP_SEND;
        op->c = c;
        op->data[0] = (unsigned char)(CHAT_HEAD + len);
        /* little-endian, as the course's packets: written byte by byte,
         * so that it does not depend on the machine's order */
        op->data[1] = (unsigned char)(id & 0xFF);
        op->data[2] = (unsigned char)((id >> 8) & 0xFF);
        op->data[3] = (unsigned char)((id >> 16) & 0xFF);
        op->data[4] = (unsigned char)((id >> 24) & 0xFF);
        memcpy(op->data + CHAT_HEAD, text, len);
        op->wb.buf = (char *)op->data;
        op->wb.len = (ULONG)(CHAT_HEAD + len);
        c->sends++;
        post_later(op);
    }
}

/* The server's own line, from id 0. */
static void announce(const char *fmt, ...)
{
    char text[CHAT_MAX];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof text)
        n = (int)sizeof text - 1;
    broadcast(SERVER_ID, text, (size_t)n);
}

static void announce_leaves(void)
{
    /* announce() may cut off more receivers: they join the end of the
     * list, and this loop announces them too */
    for (size_t i = 0; i < n_leaving; i++)
        announce("user %ld left", leaving[i]);
    n_leaving = 0;
}

/* ------------------------------------------------------------------------
 * Routines
 * --------------------------------------------------------------------- */

/* A receive completed: take out every whole packet, keep the rest for
 * the next receive, and receive again at once (the copies have their own
 * buffers, so nothing waits for the sends). */
static void on_recv_done(struct conn *c, DWORD err, DWORD bytes)
{
    size_t off = 0;
    if (err != 0) {
        conn_fail(c, "WSARecv", (int)err);
        return;
    }
    if (bytes == 0) {
        conn_free(c, "closed by peer");
        return;
    }
    c->rlen += bytes;
    while (c->rlen - off >= 1) {
        size_t size = c->rbuf[off];
        if (size < CHAT_HEAD) {
            /* a size that cannot be: the stream is out of step, and every
             * later byte would be read wrong */
            lab_log("conn %ld: bad packet size %u, disconnecting", c->id, (unsigned)size);
            conn_free(c, "closed after a bad packet");
            return;
        }
        if (c->rlen - off < size)
            break; /* the rest of it comes with a later receive */
        c->messages++;
        if (!opt.quiet)
            lab_log("conn %ld: message of %u bytes", c->id, (unsigned)(size - CHAT_HEAD));
        broadcast(c->id, (const char *)c->rbuf + off + CHAT_HEAD, size - CHAT_HEAD);
        off += size;
        if (c->why != NULL) /* broadcast cut off the sender itself */
            return;
    }
    /* Keep the incomplete packet at the start of the buffer. RECV_BUF is
     * more than one whole packet, so the receive always has room. */
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    post_later(&c->recv_op);
}

/* A send completed. On a stream socket an overlapped send completes with
 * all its bytes unless the connection failed; a short one cannot be
 * finished by posting the rest, because the sends queued behind it would
 * then overtake it. So it ends the connection. */
static void on_send_done(struct io_op *op, DWORD err, DWORD bytes)
{
    struct conn *c = op->c;
    ULONG len = op->wb.len;
    free(op);
    if (err != 0) {
        conn_fail(c, "WSASend", (int)err);
        return;
    }
    lab_count_echoed(bytes);
    if (bytes < len) {
        lab_log("conn %ld: a send completed with %lu of %lu bytes", c->id, bytes,
                (unsigned long)len);
        conn_free(c, "closed after a short send");
    }
}

static void CALLBACK on_io_done(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags)
{
    struct io_op *op = CONTAINING_RECORD(ov, struct io_op, ov);
    struct conn *c = op->c;
    (void)flags;
    if (op->kind == OP_SEND)
        c->sends--;
    if (conn_release(c)) {
        if (op->kind == OP_SEND)
            free(op);
        return;
    }
    if (op->kind == OP_RECV)
        on_recv_done(c, err, bytes);
    else
        on_send_done(op, err, bytes);
}

/* ------------------------------------------------------------------------
 * Accepting (as in step 08)
 * --------------------------------------------------------------------- */

static int accept_ready(void)
{
    WSANETWORKEVENTS ne;
    u_long blocking = 0;
    int accepted = 0;

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
            if (err == WSAEWOULDBLOCK)
                break;
            lab_error("accept", err);
            if (lab_accept_gone(err))
                continue;
            SleepEx(100, TRUE); /* a shortage: alertable, the chat goes on */
            break;
        }
        accepted++;
        struct conn *c = conn_new(s, &peer);
        if (c == NULL)
            continue;
        /* leave the listener's WSAEventSelect and non-blocking mode (08) */
        if (WSAEventSelect(s, NULL, 0) == SOCKET_ERROR) {
            conn_fail(c, "WSAEventSelect", WSAGetLastError());
            continue;
        }
        if (ioctlsocket(s, FIONBIO, &blocking) == SOCKET_ERROR) {
            conn_fail(c, "ioctlsocket(FIONBIO)", WSAGetLastError());
            continue;
        }
        int err = post_recv(c);
        if (err != 0) {
            conn_fail(c, "WSARecv", err);
            continue;
        }
        /* everyone, the newcomer included (it learns its id) */
        announce("user %ld joined from %s", c->id, c->peer);
        c->joined = 1;
    }
    SleepEx(0, TRUE); /* the routines queued meanwhile (see 08) */
    return accepted;
}

/* ------------------------------------------------------------------------
 * Stopping
 * --------------------------------------------------------------------- */

/* Ctrl+C: close everything, then wait alertably until every routine of
 * an aborted operation has run and every queued post is let go. */
static void close_all(void)
{
    struct conn *c, *next;
    closesocket(listener);
    listener = INVALID_SOCKET;
    for (c = live; c != NULL; c = next) {
        next = c->next;
        conn_free(c, "closed at shutdown");
    }
    n_leaving = 0; /* nobody is left to tell */
    post_deferred();
    while (live != NULL)
        SleepEx(INFINITE, TRUE);
}

/* ------------------------------------------------------------------------
 * Main
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    WSAEVENT waits[2];
    DWORD poll_ms = WSA_INFINITE;
    ULONGLONG tried = 0;

    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    listener = lab_listen(&opt, WSA_FLAG_OVERLAPPED);
    accept_event = WSACreateEvent();
    if (accept_event == WSA_INVALID_EVENT)
        lab_fatal("WSACreateEvent", WSAGetLastError());
    if (WSAEventSelect(listener, accept_event, FD_ACCEPT) == SOCKET_ERROR)
        lab_fatal("WSAEventSelect", WSAGetLastError());
    lab_on_stop(NULL);
    lab_ready(&opt, MODEL);

    waits[0] = lab_stop_event;
    waits[1] = accept_event;
    while (!lab_stopping()) {
        DWORD r;
        announce_leaves();
        post_deferred();
        r = WSAWaitForMultipleEvents(2, waits, FALSE, poll_ms, TRUE); /* routines run here */
        if (r == WSA_WAIT_EVENT_0)
            continue;
        if (r == WSA_WAIT_FAILED) {
            lab_error("WSAWaitForMultipleEvents", WSAGetLastError());
            break;
        }
        /* Wine 8 may leave FD_ACCEPT switched off after an accept() that
         * found the backlog empty (see step 08's main): look at the
         * backlog every ACCEPT_POLL_MS until a client comes. */
        if (r == WSA_WAIT_EVENT_0 + 1 || r == WSA_WAIT_TIMEOUT ||
            (poll_ms != WSA_INFINITE && GetTickCount64() - tried >= poll_ms)) {
            poll_ms = accept_ready() > 0 ? WSA_INFINITE : ACCEPT_POLL_MS;
            tried = GetTickCount64();
        }
    }

    close_all();
    free(leaving);
    WSACloseEvent(accept_event);
    return lab_finish();
}
