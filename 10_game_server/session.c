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

void sessions_init(void)
{
    sessions = calloc((size_t)opt.max_users, sizeof *sessions);
    free_ids = calloc((size_t)opt.max_users, sizeof *free_ids);
    if (sessions == NULL || free_ids == NULL)
        lab_fatal("calloc (session table)", ERROR_NOT_ENOUGH_MEMORY);
    InitializeCriticalSection(&free_lock);
    for (int i = 0; i < opt.max_users; i++) {
        struct session *s = &sessions[i];
        InitializeCriticalSection(&s->lock);
        s->id = i;
        s->state = SESSION_FREE;
        s->sock = INVALID_SOCKET;
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
static int post_recv(struct session *s);

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
    int posted;

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
    posted = post_recv(s);
    LeaveCriticalSection(&s->lock);
    /* Logged after the lock: a console that blocks (a full pipe, a
     * selection in the window) must not hold up the workers that need
     * this session. The line may follow the session's first events. */
    if (!opt.quiet)
        lab_log("session %d: connected from %s", id, peer);
    if (!posted)
        session_depart(w, s); /* post_recv closed it and said why */
    return 1;
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
        /* A graceful close: what the kernel already took is still
         * delivered; sends still pending in the ring are dropped.
         * CancelIoEx first: Windows cancels the socket's pending I/O on
         * close anyway, but Wine 8 leaves a WSASend to a client that does
         * not read pending for ever, and the slot would never be freed. */
        CancelIoEx((HANDLE)s->sock, NULL);
        closesocket(s->sock);
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

/* A receive completed (or failed): handle the packets, then receive
 * again, or leave. */
static void on_recv_done(struct worker *w, struct session *s, DWORD bytes, int err)
{
    int posted;

    if (err != 0) {
        /* If the socket is closed already, we closed it: the error is just
         * the close, and the reason is set. */
        char text[256];
        EnterCriticalSection(&s->lock);
        if (s->sock != INVALID_SOCKET) {
            err = op_error(s->sock, &s->recv_op, err);
            if (lab_stopping())
                session_close(s, 0, "closed at shutdown");
            else if (lab_is_peer_gone(err))
                session_close(s, 0, "reset by peer");
            else
                session_close(s, 1, "WSARecv failed: WSA %d: %s", err, lab_err_text(err, text, sizeof text));
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

    EnterCriticalSection(&s->lock);
    /* An incomplete packet waits in rbuf: since when (the login timeout
     * applies to it too, sessions_tick). */
    if (s->rlen == 0)
        s->partial_since = 0;
    else if (s->partial_since == 0)
        s->partial_since = GetTickCount64();
    posted = post_recv(s); /* 0 once the socket is closed */
    LeaveCriticalSection(&s->lock);
    if (!posted)
        session_depart(w, s);
    op_end();
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

/* s->lock held. One receive in flight per session, into the free end of
 * its reassembly buffer. Returns 0 when none could be posted (the socket
 * is closed, or WSARecv failed at once and closed it): the caller, the
 * receive side, then leaves. */
static int post_recv(struct session *s)
{
    DWORD flags = 0; /* in and out: must be initialised */
    if (s->sock == INVALID_SOCKET)
        return 0;
    memset(&s->recv_op.ov, 0, sizeof s->recv_op.ov);
    s->recv_op.kind = OP_RECV;
    s->recv_op.wb[0].buf = s->rbuf + s->rlen;
    s->recv_op.wb[0].len = (ULONG)(RECV_BUF_SIZE - s->rlen);
    op_begin();
    PROF_ADD(wsarecv, 1);
    if (WSARecv(s->sock, s->recv_op.wb, 1, NULL, &flags, &s->recv_op.ov, NULL) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            char text[256];
            op_end();
            if (lab_is_peer_gone(err))
                session_close(s, 0, "reset by peer");
            else
                session_close(s, 1, "WSARecv failed: WSA %d: %s", err, lab_err_text(err, text, sizeof text));
            return 0;
        }
    }
    return 1;
}

/* Sending: a queue per session, one WSASend in flight. */

/* s->lock held, something queued, no send in flight. One WSASend takes
 * everything queued so far (two pieces when the ring wraps): the packets
 * queued while it is in flight go out together with the next one. The
 * bytes stay in the ring until the completion says they were taken. */
static void post_send(struct session *s)
{
    unsigned queued = s->queue_tail - s->queue_head;
    unsigned off = s->queue_head & (s->queue_size - 1);
    unsigned first = s->queue_size - off;
    DWORD pieces = 1;

    if (first > queued)
        first = queued;
    memset(&s->send_op.ov, 0, sizeof s->send_op.ov);
    s->send_op.kind = OP_SEND;
    s->send_op.wb[0].buf = s->queue + off;
    s->send_op.wb[0].len = first;
    if (queued > first) {
        s->send_op.wb[1].buf = s->queue;
        s->send_op.wb[1].len = queued - first;
        pieces = 2;
    }
    s->sending = 1;
    s->pending++;
    op_begin();
#ifdef GAME_PROFILE
    LARGE_INTEGER t0, t1;
    int rc;
    PROF_ADD(wsasend, 1);
    QueryPerformanceCounter(&t0);
    rc = WSASend(s->sock, s->send_op.wb, pieces, NULL, 0, &s->send_op.ov, NULL);
    QueryPerformanceCounter(&t1);
    PROF_ADD(send_ticks, t1.QuadPart - t0.QuadPart);
    if (rc == SOCKET_ERROR) {
#else
    if (WSASend(s->sock, s->send_op.wb, pieces, NULL, 0, &s->send_op.ov, NULL) == SOCKET_ERROR) {
#endif
        int err = WSAGetLastError();
        if (err != WSA_IO_PENDING) {
            char text[256];
            s->sending = 0;
            s->pending--;
            op_end();
            if (lab_is_peer_gone(err))
                session_close(s, 0, "reset by peer");
            else
                session_close(s, 1, "WSASend failed: WSA %d: %s", err, lab_err_text(err, text, sizeof text));
        }
    }
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
    if (s->sending)
        return; /* goes with the next WSASend, when this one completes */
    if (!lazy) {
        post_send(s);
    } else if (!s->flush_pending) {
        s->flush_pending = 1;
        timer_add(&s->flush, GetTickCount64() + NPC_FLUSH_MS);
    }
}

/* The lazy flush is due (a timer event, on a worker). The slot may hold
 * another player by now, or something may have gone out already: then
 * there is nothing to do. */
void session_flush(struct session *s)
{
    EnterCriticalSection(&s->lock);
    s->flush_pending = 0;
    if (!s->sending && s->queue_tail != s->queue_head && s->state == SESSION_IN_GAME &&
        s->sock != INVALID_SOCKET)
        post_send(s);
    LeaveCriticalSection(&s->lock);
}

static void on_send_done(struct session *s, DWORD bytes, int err)
{
    EnterCriticalSection(&s->lock);
    s->sending = 0;
    if (err == 0 && bytes == 0)
        err = WSAECONNABORTED; /* never seen; would otherwise post the same bytes for ever */
    err = op_error(s->sock, &s->send_op, err);
    if (err != 0) {
        if (s->sock != INVALID_SOCKET) { /* not our own close */
            char text[256];
            if (lab_is_peer_gone(err))
                session_close(s, 0, "reset by peer");
            else
                session_close(s, 1, "WSASend failed: WSA %d: %s", err, lab_err_text(err, text, sizeof text));
        }
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
        post_send(s);
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
        on_recv_done(w, CONTAINING_RECORD(op, struct session, recv_op), bytes, err);
    else
        on_send_done(CONTAINING_RECORD(op, struct session, send_op), bytes, err);
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
