/*
 * session.c - the session table: one slot per player, reused safely.
 *
 * A session is a connected client. The table is a fixed array of
 * opt.max_users slots, allocated at start-up; a slot's index is the
 * player's id on the wire (0 .. MAX_USERS-1), so finding a player by id
 * is an index, and nothing is allocated per connection except, the first
 * time a slot is used, its send queue (kept for the next occupant), and
 * its view list as it grows (world.c).
 *
 * A slot's life: FREE (its id waits in the free-id queue) -> ACCEPTED
 * (a client connected; a receive is posted) -> IN_GAME (CS_LOGIN done)
 * -> CLOSING (its socket is closed; it leaves the world; its last I/O
 * completes) -> FREE. The socket may be closed by any thread (a bad
 * packet, a full send queue, Ctrl+C); the *receive side* always finishes
 * the job: one receive is in flight, or being handled, for as long as the
 * session lives, so the worker that sees it end is the one that takes
 * the player out of the world (session_depart).
 *
 * When does a slot become free again? Only when no I/O is pending on it:
 * `pending` counts the receive side (1 until it has left) and the send in
 * flight (0 or 1). The kernel may still write into a buffer, or queue a
 * completion for an OVERLAPPED, until its operation completes; a slot
 * handed to a new client before that would receive the old client's
 * completion. The id goes to the back of a FIFO queue, so an id that was
 * just freed is the last to be reused.
 *
 * What other threads may still do with an old id (one they read from a
 * view list or a sector a moment ago) is harmless: every decision about
 * a player is taken under its lock from its current state (world.c), so
 * a stale id meets a FREE slot, or the new player in it, and acts on
 * what it finds.
 */
#include "game.h"
#include <stdarg.h>

struct session *sessions;
volatile LONG sessions_served; /* connections given a slot (summary) */

static CRITICAL_SECTION free_lock;
static int *free_ids; /* FIFO ring of opt.max_users ids */
static int free_head, free_count;

/* Per worker: the sessions that have packets to send now. session_send
 * only queues the bytes and lists the session here; the worker issues one
 * WSASend per listed session when it has handled everything one wake-up
 * brought (sessions_issue), with no lock held ("Sending", below). Only
 * its own worker touches an outbox. */
struct outbox {
    int *ids;
    int count, cap;
    char cache_line_gap[64]; /* the next worker's outbox on another cache line */
};
static struct outbox *outboxes; /* one per worker and one for the timer thread (main.c) */

void sessions_init(void)
{
    sessions = calloc((size_t)opt.max_users, sizeof *sessions);
    free_ids = calloc((size_t)opt.max_users, sizeof *free_ids);
    outboxes = calloc((size_t)opt.threads + 1, sizeof *outboxes);
    if (sessions == NULL || free_ids == NULL || outboxes == NULL)
        lab_fatal("calloc (session table)", ERROR_NOT_ENOUGH_MEMORY);
    InitializeCriticalSection(&free_lock);
    for (int i = 0; i < opt.max_users; i++) {
        struct session *s = &sessions[i];
        InitializeCriticalSection(&s->lock);
        s->id = i;
        s->state = SESSION_FREE;
        s->sock = INVALID_SOCKET;
        s->close_later = INVALID_SOCKET;
        s->sector = -1;
        s->sector_next = s->sector_prev = -1;
        s->flush.kind = TIMER_FLUSH;
        s->flush.target = i;
        s->drain.kind = TIMER_DRAIN;
        s->drain.target = i;
        free_ids[i] = i;
    }
    free_count = opt.max_users;
}

static void session_depart(struct worker *w, struct session *s);
static void receive(struct worker *w, struct session *s, int have, DWORD bytes, int err);

static struct session_handlers up; /* the world, registered by main() */

void sessions_set_handlers(const struct session_handlers *h)
{
    up = *h;
}

static int take_id(void)
{
    int id = -1;
    EnterCriticalSection(&free_lock);
    if (free_count > 0) {
        id = free_ids[free_head];
        free_head = (free_head + 1) % opt.max_users;
        free_count--;
    }
    LeaveCriticalSection(&free_lock);
    return id;
}

static void put_id(int id)
{
    EnterCriticalSection(&free_lock);
    free_ids[(free_head + free_count) % opt.max_users] = id;
    free_count++;
    LeaveCriticalSection(&free_lock);
}

/* A connection was accepted: give it a slot and post its first receive.
 * Returns 0 when every slot is taken (the caller refuses the client),
 * 1 when the socket was taken care of (served, or closed). */
int session_open(struct worker *w, SOCKET sock, const char *peer)
{
    struct session *s;
    int id = take_id();

    if (id < 0)
        return 0;
    s = &sessions[id];
    if (s->queue == NULL) {
        /* the slot's first use: its send ring, kept after */
        char *mem = malloc(SEND_QUEUE_SIZE);
        if (mem == NULL) {
            put_id(id);
            lab_log("%s: out of memory for a session", peer);
            return 0; /* refused as if full */
        }
        EnterCriticalSection(&s->lock);
        s->queue = mem;
        s->queue_size = SEND_QUEUE_SIZE;
        LeaveCriticalSection(&s->lock);
    }

    /* A WSASend or WSARecv that completes at once (the usual case for a
     * send: the bytes fit in the socket's buffer) queues no completion
     * packet; the caller handles it on the spot (session_issue, receive).
     * Windows then saves a trip through the port for most sends; under
     * Wine each completion is a wineserver request, so this saves one
     * request per send. Only with a provider whose handles are real
     * kernel handles (XP1_IFS_HANDLES): with a layered provider (an old
     * LSP) a completion can still be queued, and would be handled twice. */
    {
        WSAPROTOCOL_INFOW info;
        int len = (int)sizeof info;
        int skip = getsockopt(sock, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) == 0 &&
                   (info.dwServiceFlags1 & XP1_IFS_HANDLES) != 0 &&
                   SetFileCompletionNotificationModes((HANDLE)sock,
                       FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE);
        s->skip_port = skip; /* the slot is ours alone until the receive is posted */
    }

    EnterCriticalSection(&s->lock);
    if (lab_stopping()) {
        /* accepted just as Ctrl+C came: main() may have passed this slot
         * already in sessions_close_all(), so do not start serving it */
        LeaveCriticalSection(&s->lock);
        closesocket(sock);
        put_id(id);
        return 1;
    }
    InterlockedIncrement(&sessions_served);
    s->state = SESSION_ACCEPTED;
    s->sock = sock;
    s->pending = 1; /* the receive side */
    s->sending = 0;
    s->queue_head = s->queue_tail = 0;
    s->lazy_since = 0;
    s->flush_now = 0;
    s->reason[0] = '\0';
    s->reason_is_error = 0;
    s->name[0] = '\0';
    s->rlen = 0;
    s->in_world = 0;
    s->opened_at = s->last_recv = GetTickCount64();
    s->partial_since = 0;
    s->notify_drain = 0;
    s->warned = 0;
    memset(&s->rate_move, 0, sizeof s->rate_move);
    memset(&s->rate_chat, 0, sizeof s->rate_chat);
    memset(&s->rate_teleport, 0, sizeof s->rate_teleport);
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    LeaveCriticalSection(&s->lock);
    /* Logged after the lock: a console that blocks (a full pipe, a
     * selection in the window) must not hold up the workers that need
     * this session. The line may follow the session's first events. */
    if (!opt.quiet)
        lab_log("session %d: connected from %s", id, peer);
    receive(w, s, 0, 0, 0); /* the first WSARecv; from now on the receive side runs it */
    return 1;
}

static DWORD prepare_send(struct session *s);

/* s->lock held, closing, no call on the socket outside the lock. The
 * packets this wake-up queued for the client and has not sent yet (the
 * session is on a worker's outbox: sessions_issue) go out before the
 * close: they answer packets that came before whatever closes it (a good
 * move, then a bad packet, in one receive: the move's answer is sent).
 * Issued here, under the lock, as it is rare. A send that does not
 * complete at once is cancelled by the close, as any pending one is. */
static void last_send(struct session *s)
{
    DWORD pieces = prepare_send(s), sent = 0;
    op_begin();
    if (WSASend(s->sock, s->send_op.wb, pieces, &sent, 0, &s->send_op.ov, NULL) == 0) {
        if (!s->skip_port)
            return; /* its completion comes through the port (on_send_done) */
        s->queue_head += sent; /* done at once, and no completion will come */
    } else if (WSAGetLastError() == WSA_IO_PENDING) {
        return; /* the close cancels it; its completion still comes */
    }
    s->sending = 0;
    s->pending--; /* not the last count: the receive side holds one until it leaves */
    op_end();
}

/* Closes the session's socket, from any thread, with or without s->lock
 * held (a CRITICAL_SECTION may be entered again by its owner). The first
 * reason is kept for the log line. Closing ends the pending receive and
 * send with an error; the receive side then takes the player out of the
 * world. Sends queued from now on are dropped (session_send). */
void session_close(struct session *s, int is_error, const char *fmt, ...)
{
    va_list ap;
    EnterCriticalSection(&s->lock);
    if (s->sock != INVALID_SOCKET) {
        va_start(ap, fmt);
        vsnprintf(s->reason, sizeof s->reason, fmt, ap);
        va_end(ap);
        s->reason_is_error = is_error;
        if (s->io_busy > 0) {
            /* Another thread is calling WSASend or WSARecv on this handle
             * right now, without the lock (session_issue, receive).
             * Closed now, the handle's value could be given to a new
             * socket (the next AcceptEx's) before that call runs, and the
             * call would act on a stranger's connection. So the session
             * counts as closed from now on (sock is INVALID_SOCKET), and
             * the last of those threads closes the handle (io_end). */
            s->close_later = s->sock;
        } else {
            if (s->out_listed && !s->sending && s->queue_tail != s->queue_head)
                last_send(s);
            /* A graceful close: what the kernel already took is still
             * delivered; sends still pending in the ring are dropped.
             * CancelIoEx first: Windows cancels the socket's pending I/O
             * on close anyway, but Wine 8 leaves a WSASend to a client
             * that does not read pending for ever, and the slot would
             * never be freed. */
            CancelIoEx((HANDLE)s->sock, NULL);
            closesocket(s->sock);
        }
        s->sock = INVALID_SOCKET;
        s->state = SESSION_CLOSING;
    }
    LeaveCriticalSection(&s->lock);
}

int session_is_open(struct session *s)
{
    int open;
    EnterCriticalSection(&s->lock);
    open = s->sock != INVALID_SOCKET;
    LeaveCriticalSection(&s->lock);
    return open;
}

/* The slot's last I/O is over: back to FREE, the id to the free queue. */
static void session_release(struct session *s)
{
    EnterCriticalSection(&s->lock);
    s->state = SESSION_FREE;
    s->queue_head = s->queue_tail = 0;
    if (s->queue_size > SEND_QUEUE_SIZE) { /* grew for a burst: back to its first size */
        char *mem = malloc(SEND_QUEUE_SIZE);
        if (mem != NULL) {
            free(s->queue);
            s->queue = mem;
            s->queue_size = SEND_QUEUE_SIZE;
        }
    }
    /* the view list was emptied (and a big one shrunk) by the world's on_leave */
    LeaveCriticalSection(&s->lock);
    put_id(s->id);
}

/* Drops one of the session's pending counts (a send completed, or the
 * receive side left); the last one frees the slot. */
void session_unref(struct session *s)
{
    int last;
    EnterCriticalSection(&s->lock);
    s->pending--;
    last = s->pending == 0;
    LeaveCriticalSection(&s->lock);
    if (last)
        session_release(s);
}

/* The receive side is over (the socket is closed): leave the world, say
 * why in the log, drop the receive side's count. */
static void session_depart(struct worker *w, struct session *s)
{
    char reason[sizeof s->reason];
    char name[NAME_SIZE + 8];
    char dropped[96] = "";
    int is_error;

    up.on_leave(w, s);
    EnterCriticalSection(&s->lock);
    memcpy(reason, s->reason, sizeof reason);
    is_error = s->reason_is_error;
    codec_printable(s->name, name, sizeof name);
    LeaveCriticalSection(&s->lock);
    /* the rate buckets belong to the receive side, which is us */
    if (s->rate_move.dropped + s->rate_chat.dropped + s->rate_teleport.dropped > 0)
        snprintf(dropped, sizeof dropped, " (over the rate limit: %u moves, %u chats, "
                 "%u teleports dropped)", s->rate_move.dropped, s->rate_chat.dropped,
                 s->rate_teleport.dropped);
    if (is_error || !opt.quiet || dropped[0] != '\0') {
        if (name[0] != '\0')
            lab_log("session %d (%s): %s%s", s->id, name, reason, dropped);
        else
            lab_log("session %d: %s%s", s->id, reason, dropped);
    }
    session_unref(s);
}

/* The session's receive or send failed (CALL: "WSARecv" or "WSASend"):
 * a client that went away is closed quietly, anything else is logged as
 * an error of that call. Called with s->lock held; one place for the
 * four paths that fail (at once or on completion, receive or send). */
static void close_on_error(struct session *s, const char *call, int err)
{
    char text[256];
    if (lab_is_peer_gone(err))
        session_close(s, 0, "reset by peer");
    else
        session_close(s, 1, "%s failed: WSA %d: %s", call, err,
                      lab_err_text(err, text, sizeof text));
}

/* What a completed (or failed) receive brought: the packets go up to the
 * world; an error or the client's FIN closes the session. */
static void on_recv_done(struct worker *w, struct session *s, DWORD bytes, int err)
{
    if (err != 0) {
        /* If the socket is closed already, we closed it: the error is just
         * the close, and the reason is set. */
        EnterCriticalSection(&s->lock);
        if (s->sock != INVALID_SOCKET) {
            err = op_error(s->sock, &s->recv_op, err);
            if (lab_stopping())
                session_close(s, 0, "closed at shutdown");
            else
                close_on_error(s, "WSARecv", err);
        }
        LeaveCriticalSection(&s->lock);
    } else if (bytes == 0) {
        session_close(s, 0, "closed by peer"); /* the client's FIN */
    } else {
        s->rlen += bytes;
        s->last_recv = GetTickCount64(); /* read by sessions_tick: under the lock below */
#ifdef GAME_PROFILE
        {
            LARGE_INTEGER t0, t1;
            QueryPerformanceCounter(&t0);
            up.on_bytes(w, s);
            QueryPerformanceCounter(&t1);
            PROF_ADD(world_ticks, t1.QuadPart - t0.QuadPart);
        }
#else
        up.on_bytes(w, s); /* the world takes out the whole packets */
#endif
    }
}

/* s->lock held: a thread is done with its call on the socket outside the
 * lock. The last one closes the handle if the session was closed
 * meanwhile (session_close). */
static void io_end(struct session *s)
{
    if (--s->io_busy == 0 && s->close_later != INVALID_SOCKET) {
        CancelIoEx((HANDLE)s->close_later, NULL); /* Wine workaround: see session_close */
        closesocket(s->close_later);
        s->close_later = INVALID_SOCKET;
    }
}

/* How many receives in a row one worker handles on the spot, for one
 * session, before it hands the next one to the port: a client that keeps
 * its receive buffer full would otherwise keep one worker for itself. */
#define RECV_INLINE_MAX 8

/* The receive side: one WSARecv in flight per session, into the free end
 * of its reassembly buffer. `have`: a receive completed with `bytes` and
 * `err` (on_io), handle it first; 0: none yet (session_open). Then post
 * the next one, and repeat as long as a receive completes at once
 * (skip_port: no completion packet comes for it). When none can be
 * posted (the socket is closed, or WSARecv failed and closed it), the
 * receive side leaves.
 *
 * WSARecv is called without the session's lock: under Wine it waits for
 * the wineserver, and any worker that needs this player (a neighbour's
 * move, an NPC's) would wait behind it. The lock is held only to read
 * the socket and to mark it busy (io_busy, so that no other thread
 * closes it during the call); only this worker touches recv_op and rbuf. */
static void receive(struct worker *w, struct session *s, int have, DWORD bytes, int err)
{
    for (int round = 0;; round++) {
        SOCKET sock;
        DWORD got = 0, flags = 0; /* flags: in and out, must be initialised */
        int rc, e = 0, inline_done = 0;

        if (have)
            on_recv_done(w, s, bytes, err);
        EnterCriticalSection(&s->lock);
        /* An incomplete packet waits in rbuf: since when (the login
         * timeout applies to it too, sessions_tick). */
        if (s->rlen == 0)
            s->partial_since = 0;
        else if (s->partial_since == 0)
            s->partial_since = GetTickCount64();
        sock = s->sock;
        if (sock != INVALID_SOCKET)
            s->io_busy++; /* (the receive side's count in `pending` keeps the slot ours) */
        LeaveCriticalSection(&s->lock);
        if (sock == INVALID_SOCKET) {
            session_depart(w, s); /* the socket is closed: the receive side leaves */
            if (have)
                op_end();
            return;
        }

        memset(&s->recv_op.ov, 0, sizeof s->recv_op.ov);
        s->recv_op.kind = OP_RECV;
        s->recv_op.wb[0].buf = s->rbuf + s->rlen;
        s->recv_op.wb[0].len = (ULONG)(RECV_BUF_SIZE - s->rlen);
        op_begin();
        PROF_ADD(wsarecv, 1);
        rc = WSARecv(sock, s->recv_op.wb, 1, &got, &flags, &s->recv_op.ov, NULL);
        if (rc == SOCKET_ERROR)
            e = WSAGetLastError();

        EnterCriticalSection(&s->lock);
        io_end(s);
        if (rc == 0 && s->skip_port) {
            inline_done = 1; /* done at once, and no completion packet will come */
        } else if (rc == SOCKET_ERROR && e != WSA_IO_PENDING) {
            op_end(); /* no completion will come for it */
            close_on_error(s, "WSARecv", e);
        }
        LeaveCriticalSection(&s->lock);
        if (have)
            op_end(); /* the receive handled above is over */

        if (rc == SOCKET_ERROR && e != WSA_IO_PENDING) {
            have = 0; /* next round: the socket is closed, so leave */
            continue;
        }
        if (!inline_done)
            return; /* pending: its completion comes through the port */
        PROF_ADD(recv_inline, 1);
        if (round + 1 >= RECV_INLINE_MAX && net_requeue(&s->recv_op, got))
            return; /* enough for one client: the rest through the port, in turn */
        have = 1;
        bytes = got;
        err = 0;
    }
}

/* Once a second, from main(): the clients that hold a slot and do not
 * play by the rules. Each check takes the session's lock only to read
 * its clock and close it; the reason is logged when it leaves
 * (session_depart), outside every lock.
 *   - not logged in within the login timeout (-L): an idle connection,
 *     or one that sends a byte of CS_LOGIN and stops, would otherwise
 *     hold its slot (and lock out real players when the server is full);
 *   - an incomplete packet waiting that long, logged in or not;
 *   - with -I, a player that sent nothing that long;
 *   - data queued and no byte of it taken for SEND_STALL_MS: the client
 *     does not read. A client that reads, however slowly, makes progress
 *     and stays. */
/* Milliseconds from `then` to `now`; 0 when `then` is later (a worker
 * stamped it after this tick read the clock: unsigned subtraction would
 * make that a huge age, and close a healthy client). */
static ULONGLONG age(ULONGLONG now, ULONGLONG then)
{
    return then < now ? now - then : 0;
}

void sessions_tick(void)
{
    ULONGLONG now = GetTickCount64();
    ULONGLONG login_ms = (ULONGLONG)opt.login_timeout * 1000;
    ULONGLONG idle_ms = (ULONGLONG)opt.idle_timeout * 1000;

    for (int i = 0; i < opt.max_users; i++) {
        struct session *s = &sessions[i];
        EnterCriticalSection(&s->lock);
        if (s->sock == INVALID_SOCKET) {
            /* free or closing: nothing to judge */
        } else if (login_ms > 0 && s->state == SESSION_ACCEPTED &&
                   age(now, s->opened_at) >= login_ms) {
            session_close(s, 1, "no CS_LOGIN within %d s (login timeout), disconnected",
                          opt.login_timeout);
        } else if (login_ms > 0 && s->partial_since != 0 &&
                   age(now, s->partial_since) >= login_ms) {
            session_close(s, 1, "a packet left incomplete for %d s (login timeout), disconnected",
                          opt.login_timeout);
        } else if (idle_ms > 0 && s->state == SESSION_IN_GAME &&
                   age(now, s->last_recv) >= idle_ms) {
            session_close(s, 0, "sent nothing for %d s (idle timeout), disconnected",
                          opt.idle_timeout);
        } else if (s->queue_tail != s->queue_head && age(now, s->send_progress) >= SEND_STALL_MS) {
            session_close(s, 1, "send queue: %u bytes, none taken for %d s: the client does not "
                          "read, disconnected", s->queue_tail - s->queue_head,
                          SEND_STALL_MS / 1000);
        }
        LeaveCriticalSection(&s->lock);
    }
}

/* ------------------------------------------------------------------------
 * Receiving and sending: the session's two overlapped operations
 * --------------------------------------------------------------------- */

/* Sending: a queue per session, one WSASend in flight.
 *
 * session_send copies a packet into the session's ring, under the
 * session's lock (the world holds it), and that is all: if no send is in
 * flight, the session goes on the worker's outbox. When the worker has
 * handled everything one wake-up brought (up to WORKER_BATCH completions,
 * or a timer batch), sessions_issue issues one WSASend per listed
 * session, with no lock held. Two things are saved that way:
 *   - system calls: a session that got five packets during the wake-up
 *     (its own move, a neighbour's, an NPC's...) gets one WSASend, not
 *     one per packet; under Wine each WSASend is a wineserver request,
 *     on Windows a kernel transition;
 *   - waiting: WSASend under Wine waits for the wineserver. Called with
 *     the session's lock held (as this server did first), every other
 *     worker that needs the player (a neighbour's move, an NPC's) waited
 *     behind that round trip.
 * While the call runs outside the lock, `sending` is already 1 (nobody
 * else issues one) and io_busy is counted (nobody closes the handle
 * under it: session_close leaves that to io_end). */

/* s->lock held, something queued, no send in flight. Prepares one WSASend
 * for everything queued so far (two pieces when the ring wraps) and marks
 * it in flight: the packets queued while it is in flight go out together
 * with the next one. The bytes stay in the ring until the completion
 * says they were taken. Returns the number of pieces. */
static DWORD prepare_send(struct session *s)
{
    unsigned queued = s->queue_tail - s->queue_head;
    unsigned off = s->queue_head & (s->queue_size - 1);
    unsigned first = s->queue_size - off;
    DWORD pieces = 1;

    if (first > queued)
        first = queued;
    memset(&s->send_op.ov, 0, sizeof s->send_op.ov);
    s->send_op.kind = OP_SEND;
    s->lazy_since = 0; /* whatever NPCs queued goes with this send */
    s->send_op.wb[0].buf = s->queue + off;
    s->send_op.wb[0].len = first;
    if (queued > first) {
        s->send_op.wb[1].buf = s->queue;
        s->send_op.wb[1].len = queued - first;
        pieces = 2;
    }
    s->sending = 1;
    s->pending++; /* the send in flight */
    return pieces;
}

/* s->lock held. s has bytes to send now: list it on the worker's outbox,
 * once. If the outbox cannot grow (no memory), the flush sends it: soon
 * (OUTBOX_RETRY_MS) if none is scheduled, else when the scheduled one is
 * due (at most NPC_FLUSH_MS); either way without waiting again. */
static void want_send(struct worker *w, struct session *s)
{
    struct outbox *o = &outboxes[w->index];
    if (s->out_listed || s->sending)
        return;
    if (o->count == o->cap) {
        int cap = o->cap ? o->cap * 2 : 64;
        int *ids = realloc(o->ids, (size_t)cap * sizeof *ids);
        if (ids == NULL) {
            s->flush_now = 1;
            if (!s->flush_pending) {
                s->flush_pending = 1;
                timer_add(&s->flush, GetTickCount64() + OUTBOX_RETRY_MS);
            }
            return;
        }
        o->ids = ids;
        o->cap = cap;
    }
    o->ids[o->count++] = s->id;
    s->out_listed = 1;
}

static void on_send_done(struct worker *w, struct session *s, DWORD bytes, int err);

/* No lock held. Issues the WSASend for s if it still has something to
 * send (the slot may have been closed, freed or reused since it was
 * listed: everything is decided again under the lock). */
static void issue_send(struct worker *w, struct session *s)
{
    SOCKET sock;
    DWORD pieces, sent = 0;
    int rc, e = 0;

    EnterCriticalSection(&s->lock);
    s->out_listed = 0;
    sock = s->sock;
    if (s->sending || s->queue_tail == s->queue_head || s->state != SESSION_IN_GAME ||
        sock == INVALID_SOCKET) {
        LeaveCriticalSection(&s->lock);
        return;
    }
    pieces = prepare_send(s);
    s->io_busy++;
    LeaveCriticalSection(&s->lock);

    op_begin();
#ifdef GAME_PROFILE
    {
        LARGE_INTEGER t0, t1;
        PROF_ADD(wsasend, 1);
        QueryPerformanceCounter(&t0);
        rc = WSASend(sock, s->send_op.wb, pieces, &sent, 0, &s->send_op.ov, NULL);
        QueryPerformanceCounter(&t1);
        PROF_ADD(send_ticks, t1.QuadPart - t0.QuadPart);
    }
#else
    rc = WSASend(sock, s->send_op.wb, pieces, &sent, 0, &s->send_op.ov, NULL);
#endif
    if (rc == SOCKET_ERROR)
        e = WSAGetLastError();

    EnterCriticalSection(&s->lock);
    io_end(s);
    if (rc == SOCKET_ERROR && e != WSA_IO_PENDING) {
        /* failed at once: no completion will come */
        s->sending = 0;
        s->pending--; /* not the last count: the receive side holds one until it leaves */
        op_end();
        close_on_error(s, "WSASend", e);
    }
    LeaveCriticalSection(&s->lock);
    if (rc == 0 && s->skip_port) {
        /* Done at once, and no completion packet will come: this is the
         * completion, handled here on the same path as one from the port
         * (one completion path, as libuv does it). s->skip_port is
         * stable: set before the first receive, while the slot was ours. */
        PROF_ADD(send_inline, 1);
        on_send_done(w, s, sent, 0);
    }
}

/* net_handlers.on_wake_done: the worker has handled one wake-up's
 * completions; one WSASend for each session that has something to send.
 * A send that completes at once may list its session again (more was
 * queued meanwhile): the loop reaches it too. */
void sessions_issue(struct worker *w)
{
    struct outbox *o = &outboxes[w->index];
    for (int i = 0; i < o->count; i++)
        issue_send(w, &sessions[o->ids[i]]);
    o->count = 0;
}

/* s->lock held. Makes the ring twice as big, keeping every queued byte at
 * the same free-running position. A WSASend in flight still reads the old
 * ring: it is kept until that send completes (a ring that grew twice
 * during one send is not read by anyone: freed at once). 0: no memory. */
static int queue_grow(struct session *s)
{
    unsigned size = s->queue_size * 2;
    char *mem = malloc(size);
    if (mem == NULL)
        return 0;
    for (unsigned pos = s->queue_head; pos != s->queue_tail;) {
        unsigned from = pos & (s->queue_size - 1), to = pos & (size - 1);
        unsigned n = s->queue_tail - pos;
        if (n > s->queue_size - from)
            n = s->queue_size - from;
        if (n > size - to)
            n = size - to;
        memcpy(mem + to, s->queue + from, n);
        pos += n;
    }
    if (s->sending && s->queue_retired == NULL)
        s->queue_retired = s->queue;
    else
        free(s->queue);
    s->queue = mem;
    s->queue_size = size;
    return 1;
}

/* s->lock held. Queues one packet for a player in the game; the hot path
 * of the server: a copy into the ring and, only when no send is in
 * flight, a WSASend. With `lazy` (the world passes it while an NPC acts:
 * what NPCs do may wait), not even that: a flush
 * is scheduled NPC_FLUSH_MS later (once), and what the NPCs queue
 * meanwhile goes out in one WSASend then, or with the player's next
 * packet that is sent at once, whichever comes first.
 *
 * A burst (a login into a crowd, a busy neighbourhood) may need more
 * than the ring holds: it grows. Whether the client reads is judged over
 * time (sessions_tick: no progress for SEND_STALL_MS), not here; here
 * only the hard cap, SEND_QUEUE_MAX, far above any burst the server
 * makes for a client that reads (view additions wait at
 * VIEW_ADD_BACKLOG). */
void session_send(struct worker *w, struct session *s, const void *pkt, unsigned n, int lazy)
{
    unsigned used = s->queue_tail - s->queue_head;
    unsigned off, first;

    if (s->state != SESSION_IN_GAME || s->sock == INVALID_SOCKET)
        return; /* closing: nobody reads it any more */
    while (s->queue_size - used < n) {
        if (s->queue_size >= SEND_QUEUE_MAX || !queue_grow(s)) {
            session_close(s, 1, "send queue over %u bytes: the client does not read, "
                          "disconnected", used);
            return;
        }
    }
    if (used == 0)
        s->send_progress = GetTickCount64(); /* the stall clock starts now */
    off = s->queue_tail & (s->queue_size - 1);
    first = s->queue_size - off;
    if (first > n)
        first = n;
    memcpy(s->queue + off, pkt, first);
    memcpy(s->queue, (const char *)pkt + first, n - first);
    s->queue_tail += n;
    InterlockedIncrement64(&w->packets_out);
    if (s->sending || s->out_listed)
        return; /* goes with the next WSASend: when this one completes, or at the wake-up's end */
    if (!lazy) {
        want_send(w, s);
    } else {
        ULONGLONG now = GetTickCount64();
        if (s->lazy_since == 0)
            s->lazy_since = now;
        if (!s->flush_pending) {
            s->flush_pending = 1;
            timer_add(&s->flush, now + NPC_FLUSH_MS);
        }
    }
}

/* The lazy flush is due (a timer event, on a worker). The slot may hold
 * another player by now, or something may have gone out already: then
 * there is nothing to do. What went out may also have been followed by
 * more lazy packets: the flush was scheduled for the first ones, which a
 * send has taken since, and the oldest left has not waited NPC_FLUSH_MS
 * yet. Then the flush waits for it, again once: a client that moves
 * every second gets every NPC's move with its own move's answers and
 * never a WSASend of the flush's own (README.md, "Profile and scale":
 * at 4,000 players, 5,000 WSASend calls a second instead of up to
 * 7,000). Bytes queued with lazy_since 0 are in a send in flight (then
 * want_send does nothing: its completion sends the rest) or could not be
 * listed (flush_now): send them. */
void session_flush(struct worker *w, struct session *s)
{
    int now_please;
    EnterCriticalSection(&s->lock);
    s->flush_pending = 0;
    now_please = s->flush_now;
    s->flush_now = 0;
    if (s->queue_tail != s->queue_head && s->state == SESSION_IN_GAME &&
        s->sock != INVALID_SOCKET) {
        ULONGLONG due = s->lazy_since + NPC_FLUSH_MS;
        if (!now_please && s->lazy_since != 0 && due > GetTickCount64()) {
            s->flush_pending = 1;
            timer_add(&s->flush, due);
        } else {
            want_send(w, s);
        }
    }
    LeaveCriticalSection(&s->lock);
}

/* A send completed: from the port (session_on_io), or at once
 * (issue_send). */
static void on_send_done(struct worker *w, struct session *s, DWORD bytes, int err)
{
    EnterCriticalSection(&s->lock);
    s->sending = 0;
    if (err == 0 && bytes == 0)
        err = WSAECONNABORTED; /* never seen; would otherwise post the same bytes for ever */
    err = op_error(s->sock, &s->send_op, err);
    if (err != 0) {
        if (s->sock != INVALID_SOCKET) /* not our own close */
            close_on_error(s, "WSASend", err);
    } else {
        /* A short completion (fewer bytes than asked) leaves the rest
         * queued: it goes out with the next WSASend. */
        s->queue_head += bytes;
        s->send_progress = GetTickCount64();
    }
    /* The ring the completed send read from, if it grew meanwhile. */
    free(s->queue_retired);
    s->queue_retired = NULL;
    if (err == 0 && s->queue_head != s->queue_tail && s->sock != INVALID_SOCKET) {
        want_send(w, s); /* what was queued meanwhile: at the end of this wake-up */
    } else if (err == 0 && s->queue_size > SEND_QUEUE_SIZE) {
        /* empty, nothing in flight: a ring that grew for a burst shrinks */
        char *mem = malloc(SEND_QUEUE_SIZE);
        if (mem != NULL) {
            free(s->queue);
            s->queue = mem;
            s->queue_size = SEND_QUEUE_SIZE;
            s->queue_head = s->queue_tail = 0;
        }
    }
    /* The client has taken its backlog: if the layer above asked to hear
     * of it (session_notify_drained: objects wait to be added to the
     * view), the session's drain event tells it, on a worker, now. */
    if (err == 0 && s->notify_drain && !s->drain_pending && s->state == SESSION_IN_GAME &&
        s->queue_tail - s->queue_head < VIEW_ADD_BACKLOG) {
        s->notify_drain = 0;
        s->drain_pending = 1;
        timer_add(&s->drain, GetTickCount64());
    }
    LeaveCriticalSection(&s->lock);
    session_unref(s); /* this send is over; maybe the session's last I/O */
    op_end();
}


/* The network layer's on_io: a session's receive or send completed. Both
 * completions are handled here, in the module that posted them. */
void session_on_io(struct worker *w, struct io_op *op, DWORD bytes, int err)
{
    if (op->kind == OP_RECV)
        receive(w, CONTAINING_RECORD(op, struct session, recv_op), 1, bytes, err);
    else
        on_send_done(w, CONTAINING_RECORD(op, struct session, send_op), bytes, err);
}

/* s->lock held. The layer above wants to hear when s's client has taken
 * its backlog (below VIEW_ADD_BACKLOG): once, through the session's drain
 * event (a timer event of kind TIMER_DRAIN, handled by the world). */
void session_notify_drained(struct session *s)
{
    s->notify_drain = 1;
}

/* s->lock held. The drain event has been handled: another may be
 * scheduled. */
void session_drain_done(struct session *s)
{
    s->drain_pending = 0;
}

/* s->lock held. Bytes queued for s's client and not yet taken. */
unsigned session_backlog(const struct session *s)
{
    return s->queue_tail - s->queue_head;
}

/* Ctrl+C: close every session's socket. Their pending I/O completes, the
 * receive sides leave and the slots go back to FREE; main() waits for
 * that with net_wait_drained(). */
void sessions_close_all(void)
{
    for (int i = 0; i < opt.max_users; i++)
        session_close(&sessions[i], 0, "closed at shutdown");
}
