/*
 * game.h - what the files of the game server share: the options, the
 * session and worker structures, and the functions each file offers.
 *
 * The files are layers; each calls only the ones below it, and news goes
 * up through handler tables that main.c registers (check_layers.sh checks
 * it from the object files). Bottom up:
 *   protocol.h  the wire protocol: one packed struct per packet
 *   common.c    infrastructure, as in the echo steps' lab.h: command
 *               line and options, log and error lines, the listener, Ctrl+C
 *   packet.c    the codec, pure: checks client packets, builds server ones
 *   timer.c     a generic timer: a heap of due times, one thread that
 *               hands due events to the function main gave it
 *   network.c   the completion port, worker threads, AcceptEx, refusing
 *               when full; reports up through struct net_handlers
 *   session.c   sessions: slots, lifecycle, pending counts, WSARecv and
 *               WSASend and both completions, the send queue, timeouts;
 *               reports up through struct session_handlers
 *   world.c     the rules: packets in, the map, sectors and view lists,
 *               login, move, teleport, chat, leaving; the NPCs
 *   main.c      wires the layers, dispatches due timer events (the
 *               NPCs' moves on the timer thread, the rest to the
 *               workers), the status line every 5 s, shutdown
 *
 * Locking, in one paragraph (README.md has the whole story): each session
 * has one lock for everything other threads may touch (state, socket,
 * position, view list, send queue). At most two session locks are held
 * at once, always the lower id first, so two threads can never wait for
 * each other. An NPC's lock comes after at most one session lock (NPC ids
 * are above every player id: the same order). Sector locks are taken
 * alone, never with a session lock. The few global locks (free ids,
 * accept ops, refusals, the timer heap) are leaves.
 */
#ifndef GAME_H
#define GAME_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601 /* Windows 7: SRW locks, GetTickCount64, inet_pton */
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "protocol.h"

#define MODEL "10_game_server"

struct worker; /* below; sessions take one as a parameter */

/* ------------------------------------------------------------------------
 * Tunables
 * --------------------------------------------------------------------- */

#define GAME_MAX_THREADS 256
#define GAME_MAX_USERS 100000 /* -u limit */
#define GAME_MAX_NPCS 1000000 /* -n limit: about 60 bytes each */
/* -n when not given: one NPC per this many tiles (200,000 on the default
 * 2000x2000 map, 3 on the course's 8x8 board), so that any map is
 * populated as thinly as the default one. */
#define GAME_TILES_PER_NPC 20
#define GAME_MAX_SIDE 32767   /* -m limit: coordinates travel as int16 */

/* Per-session receive buffer: packets are reassembled in it. It must hold
 * a whole packet plus the start of the next (checked below). */
#define RECV_BUF_SIZE 1024

/* Per-session send queue, a ring: everything queued for a client and not
 * yet confirmed sent. It starts at SEND_QUEUE_SIZE (about 2,300 moves)
 * and doubles when a burst needs more, up to SEND_QUEUE_MAX; it goes back
 * to its first size once it is empty. Powers of two. */
#define SEND_QUEUE_SIZE (32 * 1024)
#define SEND_QUEUE_MAX (1024 * 1024)

/* A client that does not read: data queued for it and no byte of it
 * taken by the kernel for SEND_STALL_MS, or more than SEND_QUEUE_MAX
 * queued. A client that reads, however slowly, makes progress and stays:
 * one instant of a full queue says nothing about a client. */
#define SEND_STALL_MS 10000

/* Adding objects to a view (SC_ADD_OBJECT) waits while more than this is
 * queued for the client: a login into a crowd of thousands sends its
 * snapshot in pieces of about this size, each when the client has taken
 * the previous one (world.c, "catching up"). Moves and removals of objects
 * the client knows are never held back. */
#define VIEW_ADD_BACKLOG (16 * 1024)

/* Rate limits per session, a token bucket per kind (world.c): -r is the
 * moves per second (default 50, 0 = no limits); chats and teleports get a
 * fifth of it each. A bucket holds RATE_BURST_S seconds' worth and starts
 * full: a session that sends fewer than 500 moves in all never meets the
 * limit, however fast it sends them (a client that was stalled, a test
 * that walks as fast as the answers come). The course's client and
 * stress test send a few moves a second. */
#define RATE_DEFAULT 50
#define RATE_BURST_S 10

/* -L default: a connection must have logged in, and a packet begun must
 * be complete, within this many seconds. */
#define LOGIN_TIMEOUT_DEFAULT 10

#define ACCEPTS_POSTED 64       /* AcceptEx calls kept waiting for clients */
#define REFUSALS_MAX 256        /* refused connections lingering at once */
#define REFUSAL_LINGER_MS 5000  /* how long a refused client may linger */

#define NPC_MOVE_MS 1000 /* an awake NPC moves once a second */

/* What NPCs do is sent lazily: queued, and sent about NPC_FLUSH_MS later
 * (later when the server is behind: the flush is a timer event, and then
 * a completion in the port), or earlier with the player's own next
 * packet. An NPC's move is one 14-byte packet for one or two players;
 * sent at once, it would cost a WSASend per packet (under Wine a round
 * trip to the wineserver, on Windows a kernel transition). One
 * NPC_MOVE_MS: an NPC moves once a second, so a player that stands still
 * gets every NPC's move at most a second late (in bursts every one to two
 * seconds), and one that moves (the course's clients move once a second)
 * gets them with its own move's answer, at no extra WSASend. Measured in
 * README.md ("Profile and scale") with 100, 250, 500 and 1,000 ms at
 * 4,000 players, the NPCs' moves on the timer thread: the median move
 * delay was 581, 378, 105 and 6 ms. Build with -DNPC_FLUSH_MS=... to try
 * another. */
#ifndef NPC_FLUSH_MS
#define NPC_FLUSH_MS NPC_MOVE_MS
#endif
/* A session that could not be listed for its WSASend (a worker's outbox
 * could not grow: no memory) is sent by its flush this much later. */
#define OUTBOX_RETRY_MS 100

/* A view list starts with room for VIEW_MIN_CAP slots (a set of up to half
 * that many ids) and doubles as it fills; a slot freed with more than
 * VIEW_KEEP_CAP gives the memory back, so that one crowd seen once does
 * not cost the slot for ever. Powers of two. */
#define VIEW_MIN_CAP 32
#define VIEW_KEEP_CAP 256

typedef char recv_buf_is_too_small[(RECV_BUF_SIZE >= 2 * CS_PACKET_MAX) ? 1 : -1];
typedef char
    send_queue_is_not_a_power_of_two[((SEND_QUEUE_SIZE & (SEND_QUEUE_SIZE - 1)) == 0) ? 1 : -1];

/* ------------------------------------------------------------------------
 * Options (common.c parses them)
 * --------------------------------------------------------------------- */

struct game_options {
    char addr[INET_ADDRSTRLEN]; /* dotted IPv4 address to listen on */
    unsigned short port;
    int quiet;     /* -q: no status lines, no line per connection */
    int threads;   /* -t, 0 when not given (main.c picks the default) */
    int width;     /* -m WxH */
    int height;
    int range;     /* -v */
    int max_users; /* -u */
    int npcs;      /* -n (game_parse_args computes the default from the map) */
    int login_timeout; /* -L seconds, 0 = none */
    int idle_timeout;  /* -I seconds, 0 = none (the default) */
    int rate;          /* -r moves per second per player, 0 = no rate limits */
};

extern struct game_options opt;

/* ------------------------------------------------------------------------
 * Overlapped operations
 * --------------------------------------------------------------------- */

/* One per outstanding operation. The OVERLAPPED comes first in the
 * structures below only by habit: the completion handler finds its
 * structure with CONTAINING_RECORD, wherever the member is. */
enum op_kind { OP_ACCEPT, OP_RECV, OP_SEND, OP_REFUSE };

struct io_op {
    WSAOVERLAPPED ov; /* zeroed before every use */
    enum op_kind kind;
    WSABUF wb[2];     /* two pieces: the send queue is a ring */
};

/* ------------------------------------------------------------------------
 * The packet codec (packet.c): pure, bytes in and out
 * --------------------------------------------------------------------- */

#define SC_PACKET_MAX 128 /* room for any server packet (SC_CHAT: 106) */

enum codec_verdict { CODEC_WHOLE, CODEC_PARTIAL, CODEC_BAD };

enum codec_verdict codec_next(const char *buf, unsigned len, int logged_in, unsigned *size,
                              char *why, size_t whysz);
const char *codec_printable(const char *name, char *out, size_t size);
unsigned codec_login_info(void *out, int id, int x, int y);
unsigned codec_add_object(void *out, int id, int x, int y, const char *name);
unsigned codec_remove_object(void *out, int id);
unsigned codec_move_object(void *out, int id, int x, int y, uint32_t move_time);
unsigned codec_chat(void *out, int id, const char *mess);
unsigned codec_login_fail(void *out);

/* ------------------------------------------------------------------------
 * The timer (timer.c)
 * --------------------------------------------------------------------- */

enum timer_kind {
    TIMER_NPC_MOVE, /* target: an NPC's index */
    TIMER_FLUSH,    /* target: a session's id; send what was queued lazily */
    TIMER_DRAIN     /* target: a session's id; its client took its backlog (world: catch up) */
};

/* One timer event. Preallocated where it belongs (each NPC has its move,
 * each session its flush and its drain): scheduling one allocates
 * nothing. At most one pending per event. The timer does not look at
 * `kind` and `target`: they are for whoever handles the due event. */
struct timer_event {
    ULONGLONG due;             /* GetTickCount64() time */
    struct timer_event *next;  /* links the events of one posted batch */
    enum timer_kind kind;
    int target;                /* whose event: see timer_kind */
};

/* `capacity`: the most events pending at once. `post`: called on the
 * timer thread with a batch of due events (linked through `next`); main
 * passes its on_timer_due, which makes the NPCs' moves there and posts
 * the rest to the workers. */
void timer_start(int capacity, void (*post)(void *batch, DWORD count));
void timer_add(struct timer_event *e, ULONGLONG due);
void timer_stop(void);
extern volatile LONG timer_dropped;

/* ------------------------------------------------------------------------
 * The network layer (network.c): port, workers, AcceptEx, refusals
 * --------------------------------------------------------------------- */

/* A worker thread: its index (the layers above keep per-worker state in
 * arrays indexed by it: the world's scratch space, the sessions' outbox)
 * and its counters (one set per thread: a shared counter would be one
 * more contended cache line on every packet). main.c gives the timer
 * thread one too, index opt.threads, for the NPCs' moves it makes. */
struct worker {
    HANDLE thread;
    int index;
    volatile LONG64 packets_in;
    volatile LONG64 packets_out;
    volatile LONG64 timer_events;
    /* The workers are an array: without this, one worker's counters and
     * the next one's share a 64-byte cache line, and every increment by
     * one processor takes the line away from the other ("false sharing").
     * 64 bytes of padding put at least 64 bytes between them. (Padding,
     * not _Alignas: the build lines compile in the compilers' default C
     * mode.) */
    char cache_line_gap[64];
};

/* Profiling counters, compiled in only with -DGAME_PROFILE (README.md,
 * "Profile"): system calls and work per second, printed after each status
 * line. Shared counters, so they cost a contended cache line each: not
 * for the normal build. */
#ifdef GAME_PROFILE
struct game_profile {
    volatile LONG64 wsasend, wsarecv, waits, entries, timer_posts, pairs, world_ticks, send_ticks;
    volatile LONG64 send_inline, recv_inline; /* completed at once, handled without the port */
};
extern struct game_profile prof;
#define PROF_ADD(field, n) InterlockedExchangeAdd64(&prof.field, (LONG64)(n))
#else
#define PROF_ADD(field, n) ((void)0)
#endif

/* What the network layer reports up (main registers it). */
struct net_handlers {
    /* A client connected (its socket associated with the port): take it.
     * 0 when there is no room: the client is then refused with `refusal`. */
    int (*on_accept)(struct worker *w, SOCKET s, const char *peer);
    /* An operation posted by the layer above completed (err 0: success). */
    void (*on_io)(struct worker *w, struct io_op *op, DWORD bytes, int err);
    /* Work posted with net_post. */
    void (*on_posted)(struct worker *w, void *what, DWORD count);
    /* The worker handled every completion of one wake-up (one
     * GetQueuedCompletionStatusEx call): the layer above issues what it
     * gathered meanwhile (the sessions: one WSASend per session). */
    void (*on_wake_done)(struct worker *w);
    const void *refusal; /* sent to a client refused when full */
    unsigned refusal_len;
};

void net_start(SOCKET listener, int threads, const struct net_handlers *h);
void net_tick(void);
void net_stop_accepting(void);
void net_close_refusals(void);
void net_wait_drained(void);
void net_stop_workers(void);
void net_packet_counts(LONG64 *in, LONG64 *out, LONG64 *timer_events);
void net_post(void *what, DWORD count);
int net_requeue(struct io_op *op, DWORD bytes);
void op_begin(void);
void op_end(void);
int op_error(SOCKET sock, struct io_op *op, int err);

/* ------------------------------------------------------------------------
 * View lists (world.c)
 * --------------------------------------------------------------------- */

/* The ids (players and NPCs) a player's client has been told about: a
 * hash set, open addressing with linear probing, at most half full. Its
 * size follows what the player sees, not the size of the id space. */
struct view_set {
    int *slot;    /* cap entries, -1 = empty; NULL until the first add */
    unsigned cap; /* 0 or a power of two */
    unsigned count;
};


/* ------------------------------------------------------------------------
 * Sessions (session.c)
 * --------------------------------------------------------------------- */

enum session_state {
    SESSION_FREE,     /* in the free-id queue */
    SESSION_ACCEPTED, /* connected, no CS_LOGIN yet */
    SESSION_IN_GAME,  /* logged in: in a sector, visible to others */
    SESSION_CLOSING   /* socket closed; leaving; waiting for its I/O */
};

struct session {
    CRITICAL_SECTION lock;
    int id; /* index in the table = the player's id on the wire */

    /* Under `lock`: */
    enum session_state state;
    SOCKET sock;           /* INVALID_SOCKET once closed */
    int pending; /* 1 for the receive side until it has left, +1 while a send is in flight */
    int sending;           /* send_op is in flight (or about to be issued) */
    int out_listed;        /* in a worker's outbox: a WSASend is wanted at the end of its wake-up */
    int io_busy;           /* threads issuing a WSASend or WSARecv on `sock` without the lock */
    SOCKET close_later;    /* closed while io_busy: the last of those threads closes this handle */
    int skip_port;         /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on `sock` */
    int flush_pending;     /* `flush` is scheduled (only its handler clears it) */
    ULONGLONG lazy_since;  /* when the oldest packet queued lazily and not yet handed
                            * to a WSASend was queued; 0: there is none */
    int flush_now;         /* the flush is for packets that could not be listed
                            * (no memory): it sends, it does not wait again */
    struct timer_event flush; /* sends what was queued lazily (session_send) */
    char *queue;           /* send ring, queue_size bytes */
    char *queue_retired;   /* the ring before it grew: a WSASend in flight reads it */
    unsigned queue_size;   /* SEND_QUEUE_SIZE, doubled up to SEND_QUEUE_MAX */
    unsigned queue_head;   /* sent up to here (free-running counters: */
    unsigned queue_tail;   /*  tail - head = bytes queued) */
    ULONGLONG send_progress; /* when the queue last became non-empty or the kernel took bytes */
    ULONGLONG opened_at;   /* when the connection was accepted */
    ULONGLONG last_recv;   /* when the client last sent bytes */
    ULONGLONG partial_since; /* when an incomplete packet began waiting, 0 when none */
    int notify_drain;      /* the world wants to hear when the backlog is taken */
    int drain_pending;     /* `drain` is scheduled (cleared when the world handled it) */
    struct timer_event drain; /* tells the world the client took its backlog */
    struct view_set view;  /* the players and NPCs this player's client knows */
    short x, y;
    char name[NAME_SIZE];
    char reason[128];      /* why it closed (the first reason wins) */
    int reason_is_error;   /* logged even with -q */
    struct io_op send_op;

    /* Under the lock of the sector the session is listed in: */
    int sector_next, sector_prev;

    /* Owned by the receive side: one WSARecv is in flight at a time, so
     * one worker at a time runs this session's packets. No lock. */
    struct io_op recv_op;
    int sector;            /* the sector it is listed in, -1 when none */
    int in_world;          /* logged in and not yet left */
    unsigned rlen;         /* bytes in rbuf */
    struct rate_bucket { /* a token bucket: tokens, in thousandths */
        long long tokens;
        ULONGLONG at;    /* when it was last filled */
        unsigned dropped;
    } rate_move, rate_chat, rate_teleport;
    int warned;            /* bad behaviour already logged, one bit per kind (world.c) */
    char peer[32];         /* "a.b.c.d:port" */
    char rbuf[RECV_BUF_SIZE];
};

extern struct session *sessions; /* opt.max_users of them */
extern volatile LONG sessions_served;

/* What the sessions report up, to the world (main registers it): bytes
 * arrived in s->rbuf (take out the whole packets); s's receive side ends
 * (take the player out of the world). */
struct session_handlers {
    void (*on_bytes)(struct worker *w, struct session *s);
    void (*on_leave)(struct worker *w, struct session *s);
};

void sessions_init(void);
void sessions_set_handlers(const struct session_handlers *h);
int session_open(struct worker *w, SOCKET sock, const char *peer); /* net_handlers.on_accept */
void session_on_io(struct worker *w, struct io_op *op, DWORD bytes, int err); /* .on_io */
void session_close(struct session *s, int is_error, const char *fmt, ...);
int session_is_open(struct session *s);
void session_send(struct worker *w, struct session *s, const void *pkt, unsigned n, int lazy);
void session_flush(struct worker *w, struct session *s);
void sessions_issue(struct worker *w); /* net_handlers.on_wake_done */
unsigned session_backlog(const struct session *s);
void session_notify_drained(struct session *s);
void session_drain_done(struct session *s);
void sessions_close_all(void);
void sessions_tick(void);

/* ------------------------------------------------------------------------
 * The world (world.c)
 * --------------------------------------------------------------------- */

/* After opt.threads is set: a scratch per worker, and one for the timer thread. */
void world_init(void);
void world_on_bytes(struct worker *w, struct session *s); /* session_handlers.on_bytes */
void world_leave(struct worker *w, struct session *s);    /* session_handlers.on_leave */
void world_timer(struct worker *w, struct timer_event *e); /* TIMER_NPC_MOVE, TIMER_DRAIN */

extern volatile LONG npcs_awake;
extern volatile LONG players_online;

/* ------------------------------------------------------------------------
 * Infrastructure (common.c)
 * --------------------------------------------------------------------- */

void lab_log(const char *fmt, ...);
const char *lab_err_text(int err, char *text, size_t size);
void lab_error(const char *call, int err);
void lab_fatal(const char *call, int err);
const char *lab_addr_str(const struct sockaddr_in *sa, char *buf, size_t size);
int lab_is_peer_gone(int err);
void game_parse_args(int argc, char **argv, struct game_options *o);
void lab_startup(void);
SOCKET lab_listen(const struct game_options *o);
void lab_on_stop(void);
int lab_stopping(void);
HANDLE lab_stop_event_handle(void);
void lab_done(void);

#endif /* GAME_H */
