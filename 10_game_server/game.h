/*
 * game.h - what the files of the game server share: the options, the
 * session and worker structures, and the functions each file offers.
 *
 * The files, in reading order:
 *   protocol.h  the wire protocol: one packed struct per packet
 *   main.c      start-up, the status line every 5 s, shutdown
 *   network.c   the completion port: worker threads, AcceptEx, WSARecv and
 *               WSASend, the per-session send queue, refusing when full
 *   session.c   the session table: slots and ids, opening, closing, and
 *               when a slot may be used again
 *   packet.c    packets in (reassembly, validation, dispatch) and out
 *               (building SC packets)
 *   world.c     the map, sectors and view lists: login, move, teleport,
 *               chat, leaving
 *   common.c    infrastructure, as in the echo steps' lab.h: command
 *               line, log and error lines, the listener, Ctrl+C
 *
 * Locking, in one paragraph (README.md has the whole story): each session
 * has one lock for everything other threads may touch (state, socket,
 * position, view list, send queue). At most two session locks are held
 * at once, always the lower id first, so two threads can never wait for
 * each other. Sector locks are taken alone, never with a session lock.
 * The few global locks (free ids, accept ops, refusals) are leaves.
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
#define GAME_MAX_USERS 100000 /* -u limit: a view list is MAX_USERS bits */
#define GAME_MAX_SIDE 32767   /* -m limit: coordinates travel as int16 */

/* Per-session receive buffer: packets are reassembled in it. It must hold
 * a whole packet plus the start of the next (checked below). */
#define RECV_BUF_SIZE 1024

/* Per-session send queue, a ring: everything queued for a client and not
 * yet confirmed sent. A client that lets it fill up (it stopped reading)
 * is disconnected. 32 KiB holds about 2,300 moves, or a login burst of
 * about 1,000 players in view. A power of two. */
#define SEND_QUEUE_SIZE (32 * 1024)

#define ACCEPTS_POSTED 64       /* AcceptEx calls kept waiting for clients */
#define REFUSALS_MAX 256        /* refused connections lingering at once */
#define REFUSAL_LINGER_MS 5000  /* how long a refused client may linger */

typedef char recv_buf_is_too_small[(RECV_BUF_SIZE >= 2 * CS_PACKET_MAX) ? 1 : -1];
typedef char send_queue_is_not_a_power_of_two[((SEND_QUEUE_SIZE & (SEND_QUEUE_SIZE - 1)) == 0) ? 1 : -1];

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
    int pending;           /* 1 for the receive side until it has left, +1 while a send is in flight */
    int sending;           /* send_op is in flight */
    char *queue;           /* send ring, SEND_QUEUE_SIZE bytes */
    unsigned queue_head;   /* sent up to here (free-running counters: */
    unsigned queue_tail;   /*  tail - head = bytes queued) */
    uint64_t *view;        /* view list: bit i set = this player sees player i */
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
    int sector;            /* the cell it is listed in, -1 when none */
    int in_world;          /* logged in and not yet left */
    unsigned rlen;         /* bytes in rbuf */
    char peer[32];         /* "a.b.c.d:port" */
    char rbuf[RECV_BUF_SIZE];
};

extern struct session *sessions; /* opt.max_users of them */
extern volatile LONG players_online;
extern volatile LONG sessions_served;

void sessions_init(void);
int session_open(struct worker *w, SOCKET sock, const char *peer);
void session_close(struct session *s, int is_error, const char *fmt, ...);
int session_is_open(struct session *s);
void on_recv_done(struct worker *w, struct session *s, DWORD bytes, int err);
void session_unref(struct session *s);
void sessions_close_all(void);

/* ------------------------------------------------------------------------
 * Worker threads (network.c)
 * --------------------------------------------------------------------- */

/* What a worker thread carries around: scratch space for the world (so a
 * move allocates nothing), a random generator, and its packet counters
 * (one per thread: a shared counter would be one more contended cache
 * line on every packet). */
struct worker {
    HANDLE thread;
    int index;
    int *nearby;         /* ids found in the sectors around a player */
    uint64_t *old_view;  /* copy of a view list, bitmap */
    uint64_t *mark;      /* scratch bitmap: drops duplicates from `nearby` */
    uint64_t rng;
    volatile LONG64 packets_in;
    volatile LONG64 packets_out;
};

void net_start(SOCKET listener, int threads);
void net_tick(void);
void net_stop_accepting(void);
void net_close_refusals(void);
void net_wait_drained(void);
void net_stop_workers(void);
void net_packet_counts(LONG64 *in, LONG64 *out);
void net_send(struct worker *w, struct session *s, const void *pkt, unsigned n);
int post_recv(struct session *s);
int op_error(SOCKET sock, struct io_op *op, int err);
void op_end(void);

/* ------------------------------------------------------------------------
 * Packets (packet.c)
 * --------------------------------------------------------------------- */

void packet_process(struct worker *w, struct session *s);
void send_login_info(struct worker *w, struct session *to);
void send_add_object(struct worker *w, struct session *to, const struct session *obj);
void send_remove_object(struct worker *w, struct session *to, int id);
void send_chat(struct worker *w, struct session *to, const SC_CHAT_PACKET *p);
const char *printable_name(const char *name, char *out, size_t size);

/* ------------------------------------------------------------------------
 * The world (world.c)
 * --------------------------------------------------------------------- */

void world_init(void);
void world_worker_init(struct worker *w);
void world_login(struct worker *w, struct session *s, const char *name);
void world_move(struct worker *w, struct session *s, int direction, uint32_t move_time);
void world_teleport(struct worker *w, struct session *s);
void world_chat(struct worker *w, struct session *s, const char *mess);
void world_leave(struct worker *w, struct session *s);

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
