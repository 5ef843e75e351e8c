/*
 * 08_board - homework #3 of the course: the multiplayer 8x8 board on
 * step 08's model (overlapped I/O with completion routines, one thread,
 * alertable waits), speaking the game protocol of docs/protocol.md, so
 * that `client.exe game` plays on it.
 *
 * Model. As in step 08: one thread posts overlapped WSARecv/WSASend with
 * a completion routine, waits alertably in WSAWaitForMultipleEvents(...,
 * TRUE) on the listener's FD_ACCEPT event and the Ctrl+C event, and the
 * routines run inside that wait. The routines queue the next operation;
 * the main loop posts it (08's post_later).
 *
 * What changes from 08 (the echo server):
 *   - Packets, not bytes: every packet starts with uint8 size and uint8
 *     type (protocol.h). A receive appends to the connection's buffer,
 *     whole packets are taken out, the rest waits for the next receive;
 *     a packet whose size or type cannot be is the end of that client.
 *   - One thing received, many things sent: a move goes to every player.
 *     So, as in the chat server beside this one (../chat), every packet
 *     to every player is its own send operation with its own copy of the
 *     packet, and a player may have a bounded number of them in flight; one
 *     more, and it is a player that does not read: it is disconnected,
 *     and the others carry on.
 *   - State: the board (who stands where) and the slots that give the
 *     player ids. One thread owns all of it, so no lock anywhere.
 *
 * What step 10 then changes: a pool of threads on a completion port
 * (09), and with it locks; a map of 2000x2000 with view ranges, so a
 * player sees only its neighbours (view lists) instead of everyone; one
 * send in flight per player with a bounded queue behind it, instead of an
 * operation per packet; NPCs and a timer thread; login timeouts and rate
 * limits.
 *
 * Limits. One thread, one CPU. Everyone sees everyone: a move costs one
 * send per player, n players moving cost n * n sends (fine for the
 * homework's 10, the reason step 10 has view ranges). Up to -u players
 * (default 10); more connections may wait, the one that logs in when the
 * board is full gets SC_LOGIN_FAIL and is closed.
 *
 * Left out on purpose: a login timeout (a connection that never logs in
 * keeps its pending receive), rate limits, obstacles, combat (CS_ATTACK
 * is accepted and ignored), AcceptEx, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 08_board.exe server.c -lws2_32
 * Run:
 *   08_board.exe             and in other consoles:  client.exe game -n NAME
 *
 * Compare with step 08's echo server and with the chat server:
 *   diff 08_overlapped_callback/chat/server.c 08_overlapped_callback/board/server.c
 */
#include "lab.h"
#include "protocol.h"

#define MODEL "08_board"

#define BOARD_SIDE 8         /* the homework's board: the default of -m */
#define BOARD_MAX 100        /* -m: everyone sees everyone, so keep it a board */
#define DEFAULT_USERS 10     /* the homework's "up to 10 clients" */
#define MAX_USERS_LIMIT 1000

#define PKT_MAX 128          /* larger than any SC packet (SC_CHAT: 106) */
#define RECV_BUF 512         /* a whole CS packet (102 at most) and more */

/* Sends in flight (or queued) per player: MAX_SENDS_BASE + 2 per player
 * on the board. A player that reads keeps this near zero; only one that
 * stops reading gets here, once the buffers on the way are full. The
 * largest burst a reader gets is a login into a full board (an
 * SC_ADD_OBJECT per player) while every player moves (one more each):
 * the bound is above that, so a reader is never cut off for a burst. */
#define MAX_SENDS_BASE 256

#define ACCEPT_BATCH 16
#define ACCEPT_POLL_MS 100   /* Wine: see main */

/* ------------------------------------------------------------------------
 * Options: step 10's command line where it applies
 * --------------------------------------------------------------------- */

struct board_options {
    struct lab_options net; /* -p -a -q, as lab.h keeps them */
    int max_users;          /* -u */
    int w, h;               /* -m WxH */
};

static struct board_options opt;

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [-p PORT] [-a ADDR] [-u MAX_USERS] [-m WxH] [-q] [-h]\n", prog);
    fprintf(f, "  -p PORT       TCP port, 1..65535 (default %d, the course's)\n", PORT_NUM);
    fprintf(f, "  -a ADDR       IPv4 address to listen on (default 0.0.0.0)\n");
    fprintf(f, "  -u MAX_USERS  players at the same time, 1..%d (default %d)\n", MAX_USERS_LIMIT,
            DEFAULT_USERS);
    fprintf(f, "  -m WxH        board size, 2..%d each way (default %dx%d)\n", BOARD_MAX,
            BOARD_SIDE, BOARD_SIDE);
    fprintf(f, "  -q            quiet: no line per move or chat\n");
    fprintf(f, "  -h            this help\n");
    fprintf(f, "  Every player sees every other. Step 10's -v RANGE, -n NPCS and -r MOVES are\n"
               "  taken where they mean the same here: a range that covers the board, 0 NPCs,\n"
               "  0 (no rate limit).\n");
    fflush(f);
}

static void bad_args(const char *prog, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", prog, what, arg ? ": " : "", arg ? arg : "");
    usage(stderr, prog);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "08_board";
    long v;
    for (const char *p = prog; *p; p++)
        if (*p == '\\' || *p == '/')
            prog = p + 1;
    memset(&opt, 0, sizeof opt);
    memcpy(opt.net.addr, "0.0.0.0", sizeof "0.0.0.0");
    opt.net.port = PORT_NUM;
    opt.max_users = DEFAULT_USERS;
    opt.w = opt.h = BOARD_SIDE;
    long range = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "/?") == 0) {
            usage(stdout, prog);
            exit(0);
        } else if (strcmp(a, "-q") == 0) {
            opt.net.quiet = 1;
        } else if (strcmp(a, "-p") == 0) {
            if (!lab_parse_num(val, 1, 65535, &v))
                bad_args(prog, "-p needs a port 1..65535", val);
            opt.net.port = (unsigned short)v;
            i++;
        } else if (strcmp(a, "-a") == 0) {
            struct in_addr probe;
            if (val == NULL || strlen(val) >= sizeof opt.net.addr ||
                inet_pton(AF_INET, val, &probe) != 1)
                bad_args(prog, "-a needs a dotted IPv4 address", val);
            memcpy(opt.net.addr, val, strlen(val) + 1);
            i++;
        } else if (strcmp(a, "-u") == 0) {
            if (!lab_parse_num(val, 1, MAX_USERS_LIMIT, &v))
                bad_args(prog, "-u needs a player count 1..1000", val);
            opt.max_users = (int)v;
            i++;
        } else if (strcmp(a, "-m") == 0) {
            const char *x = val != NULL ? strchr(val, 'x') : NULL;
            char w[8];
            long ww = 0, hh = 0;
            int ok = x != NULL && (size_t)(x - val) < sizeof w;
            if (ok) {
                memcpy(w, val, (size_t)(x - val));
                w[x - val] = '\0';
                ok = lab_parse_num(w, 2, BOARD_MAX, &ww) && lab_parse_num(x + 1, 2, BOARD_MAX, &hh);
            }
            if (!ok)
                bad_args(prog, "-m needs WIDTHxHEIGHT, each 2..100", val);
            opt.w = (int)ww;
            opt.h = (int)hh;
            i++;
        } else if (strcmp(a, "-v") == 0) {
            /* step 10's view range: taken so that its command lines run here,
             * but only one that covers the board (checked below) */
            if (!lab_parse_num(val, 0, 100000, &range))
                bad_args(prog, "-v needs a range", val);
            i++;
        } else if (strcmp(a, "-n") == 0) {
            if (val == NULL || strcmp(val, "0") != 0)
                bad_args(prog, "-n: the board has no NPCs (only -n 0)", val);
            i++;
        } else if (strcmp(a, "-r") == 0) {
            /* step 10's rate limit, taken as "-r 0" (none), which is what
             * the board does: its cases flood chat to fill a slow reader */
            if (val == NULL || strcmp(val, "0") != 0)
                bad_args(prog, "-r: the board has no rate limits (only -r 0)", val);
            i++;
        } else {
            bad_args(prog, "unknown argument", a);
        }
    }
    if (range >= 0 && (range < opt.w - 1 || range < opt.h - 1))
        bad_args(prog, "-v: every player sees every other here; a range must cover the board",
                 NULL);
}

/* ------------------------------------------------------------------------
 * Connections, players and operations
 * --------------------------------------------------------------------- */

enum op_kind { OP_RECV, OP_SEND };

/* One overlapped operation (see ../chat/server.c): a receive uses the
 * connection's recv_op; every packet sent is an io_op of its own with
 * its own copy of the packet. */
struct io_op {
    WSAOVERLAPPED ov;
    enum op_kind kind;
    WSABUF wb;
    struct conn *c;
    struct io_op *later;
    unsigned char data[PKT_MAX];
};

struct conn {
    SOCKET s;
    long conn_id;            /* for the log */
    char peer[32];
    int id;                  /* player id (its slot), -1 before CS_LOGIN */
    unsigned long long login_seq; /* when it logged in (see struct leave) */
    char name[NAME_SIZE];    /* NUL-padded, as sent in SC_ADD_OBJECT */
    int x, y;
    int pending;             /* operations in flight or queued */
    int sends;               /* of which sends */
    const char *closing;     /* set: close once what was queued has gone (see
                              * conn_close_after_sends); nothing more is queued */
    const char *why;         /* set once closed */
    struct io_op recv_op;
    size_t rlen;
    struct conn *prev, *next;
    unsigned char rbuf[RECV_BUF];
};

static SOCKET listener = INVALID_SOCKET;
static WSAEVENT accept_event = WSA_INVALID_EVENT;
static struct conn *live;
static struct io_op *later_head;
static struct io_op **later_tail = &later_head;

/* Player ids are slots: taken from the login until every other player
 * has been sent the SC_REMOVE_OBJECT of the one that left. */
static unsigned char *slot_taken;

/* Logins and closes are numbered in one sequence, so that a leave is
 * announced exactly to those who were told about the player: those who
 * logged in before it left (a player logging in gets SC_ADD_OBJECT for
 * everyone on the board, and everyone gets its own). */
static unsigned long long seq;

/* Players that left, to be announced by the main loop. A close can
 * happen in the middle of a broadcast (a player cut off): announcing it
 * there would start a broadcast inside a broadcast. */
struct leave {
    int id;
    unsigned long long close_seq;
};
static struct leave *leaving;
static size_t n_leaving, cap_leaving;

static void CALLBACK on_io_done(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov, DWORD flags);

static struct conn *conn_new(SOCKET s, const struct sockaddr_in *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        lab_log("out of memory: refusing a connection");
        closesocket(s);
        return NULL;
    }
    c->s = s;
    c->conn_id = lab_next_conn_id();
    c->id = -1;
    lab_addr_str(peer, c->peer, sizeof c->peer);
    c->next = live;
    if (live != NULL)
        live->prev = c;
    live = c;
    lab_log("conn %ld: connected from %s", c->conn_id, c->peer);
    return c;
}

/* Closes the connection (once); a player's leave is queued for the main
 * loop. The memory goes when nothing is pending (as in 08). */
static void conn_free(struct conn *c, const char *why)
{
    if (c->why == NULL) {
        c->why = why;
        if (c->id >= 0) {
            if (n_leaving == cap_leaving) {
                size_t cap = cap_leaving ? cap_leaving * 2 : 64;
                struct leave *p = realloc(leaving, cap * sizeof *p);
                if (p != NULL) {
                    leaving = p;
                    cap_leaving = cap;
                }
            }
            if (n_leaving < cap_leaving) {
                leaving[n_leaving].id = c->id;
                leaving[n_leaving].close_seq = ++seq;
                n_leaving++;
            } else {
                slot_taken[c->id] = 0; /* out of memory: nobody is told */
            }
        }
    }
    if (c->s != INVALID_SOCKET) {
        /* Wine 8 leaves a pending WSASend pending for ever after
         * closesocket (a player that does not read); CancelIoEx ends it.
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
    if (c->id >= 0)
        lab_log("conn %ld: player %d left: %s", c->conn_id, c->id, c->why);
    else
        lab_log("conn %ld: %s", c->conn_id, c->why);
    free(c);
}

static void conn_fail(struct conn *c, const char *call, int err)
{
    if (lab_is_peer_gone(err)) {
        conn_free(c, "reset by peer");
    } else {
        lab_conn_error(c->conn_id, call, err);
        conn_free(c, "closed after an error");
    }
}

/* Closes the connection once the packets already queued for it have gone
 * out: the answers to what it sent before its CS_LOGOUT, its bad packet,
 * or its SC_LOGIN_FAIL are still delivered. Nothing more is received or
 * queued for it meanwhile; the last send's routine closes it. */
static void conn_close_after_sends(struct conn *c, const char *why)
{
    if (c->sends == 0)
        conn_free(c, why);
    else if (c->closing == NULL)
        c->closing = why;
}

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
 * Posting (as in the chat server)
 * --------------------------------------------------------------------- */

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
        if (err != WSA_IO_PENDING) {
            c->pending--;
            return err;
        }
    }
    return 0;
}

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

/* The routines queue, the main loop posts (08's post_later). */
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
        if (conn_release(c)) {
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

/* Queues one packet (its first byte is its size) to one connection. A
 * connection already at its bound of sends in flight (see MAX_SENDS_BASE)
 * does not read: it is disconnected instead. */
static void send_packet(struct conn *c, const void *pkt)
{
    size_t len = ((const unsigned char *)pkt)[0];
    struct io_op *op;
    if (c->why != NULL || c->closing != NULL)
        return;
    if (c->sends >= MAX_SENDS_BASE + 2 * opt.max_users) {
        lab_log("conn %ld: does not read: %d packets in flight, disconnecting", c->conn_id,
                c->sends);
        conn_free(c, "cut off (does not read)");
        return;
    }
    op = malloc(sizeof *op);
    if (op == NULL) {
        conn_free(c, "out of memory");
        return;
    }
    memset(op, 0, offsetof(struct io_op, data));
    op->kind = OP_SEND;
    op->c = c;
    memcpy(op->data, pkt, len);
    op->wb.buf = (char *)op->data;
    op->wb.len = (ULONG)len;
    c->sends++;
    post_later(op);
}

/* To every logged-in, open player (`except` excluded, may be NULL). */
static void send_to_all(const void *pkt, const struct conn *except)
{
    struct conn *c, *next;
    for (c = live; c != NULL; c = next) {
        next = c->next; /* send_packet may close c, never free it */
        if (c != except && c->id >= 0)
            send_packet(c, pkt);
    }
}

/* ------------------------------------------------------------------------
 * The game: packets built, packets handled
 * --------------------------------------------------------------------- */

static void make_add(SC_ADD_OBJECT_PACKET *p, const struct conn *of)
{
    memset(p, 0, sizeof *p);
    p->size = (uint8_t)sizeof *p;
    p->type = SC_ADD_OBJECT;
    p->id = of->id;
    p->x = (int16_t)of->x;
    p->y = (int16_t)of->y;
    memcpy(p->name, of->name, NAME_SIZE);
}

static void make_move(SC_MOVE_OBJECT_PACKET *p, const struct conn *of, uint32_t move_time)
{
    p->size = (uint8_t)sizeof *p;
    p->type = SC_MOVE_OBJECT;
    p->id = of->id;
    p->x = (int16_t)of->x;
    p->y = (int16_t)of->y;
    p->move_time = move_time;
}

/* The main loop tells those who knew a leaver that it is gone, then
 * frees its id. */
static void announce_leaves(void)
{
    /* sends may cut off more players: they join the end of the list */
    for (size_t i = 0; i < n_leaving; i++) {
        /* SOLUTION BEGIN: Send SC_REMOVE_OBJECT{id leaving[i].id} (send_packet) to every player
         * c in `live` that was told about the leaver: logged in (c->id >= 0) before it left
         * (c->login_seq < leaving[i].close_seq). send_packet may close c, never free it. */
        SC_REMOVE_OBJECT_PACKET p;
        struct conn *c, *next;
        p.size = (uint8_t)sizeof p;
        p.type = SC_REMOVE_OBJECT;
        p.id = leaving[i].id;
        for (c = live; c != NULL; c = next) {
            next = c->next;
            if (c->id >= 0 && c->login_seq < leaving[i].close_seq)
                send_packet(c, &p);
        }
        /* SOLUTION END */
        slot_taken[leaving[i].id] = 0;
    }
    n_leaving = 0;
}

static void on_login(struct conn *c, const CS_LOGIN_PACKET *in)
{
    SC_LOGIN_INFO_PACKET info;
    int id = -1;
    if (c->id >= 0) {
        lab_log("conn %ld: a second CS_LOGIN, ignored", c->conn_id);
        return;
    }
    for (int i = 0; i < opt.max_users && id < 0; i++)
        if (!slot_taken[i])
            id = i;
    if (id < 0) {
        SC_LOGIN_FAIL_PACKET f;
        f.size = (uint8_t)sizeof f;
        f.type = SC_LOGIN_FAIL;
        lab_log("conn %ld: the board is full (%d players), login refused", c->conn_id,
                opt.max_users);
        send_packet(c, &f);
        conn_close_after_sends(c, "refused: the board is full");
        return;
    }
    slot_taken[id] = 1;
    c->id = id;
    c->login_seq = ++seq;
    memcpy(c->name, in->name, NAME_SIZE);
    c->name[NAME_SIZE - 1] = '\0';
    c->x = rand() % opt.w;
    c->y = rand() % opt.h;
    lab_log("conn %ld: player %d \"%s\" logged in at (%d,%d)", c->conn_id, id, c->name, c->x,
            c->y);

    memset(&info, 0, sizeof info);
    info.size = (uint8_t)sizeof info;
    info.type = SC_LOGIN_INFO;
    info.id = id;
    info.hp = info.max_hp = 100;
    info.exp = 0;
    info.level = 1;
    info.x = (int16_t)c->x;
    info.y = (int16_t)c->y;
    send_packet(c, &info);
    /* SOLUTION BEGIN: Everyone on the board to the newcomer, the newcomer to everyone: for
     * every other logged-in, open player o in `live` (o->id >= 0, o->why NULL), send c an
     * SC_ADD_OBJECT of o and o an SC_ADD_OBJECT of c (make_add, send_packet). */
    SC_ADD_OBJECT_PACKET add;
    struct conn *o, *next;
    make_add(&add, c);
    for (o = live; o != NULL; o = next) {
        SC_ADD_OBJECT_PACKET theirs;
        next = o->next;
        if (o == c || o->id < 0 || o->why != NULL)
            continue;
        make_add(&theirs, o);
        send_packet(c, &theirs);
        send_packet(o, &add);
    }
    /* SOLUTION END: (void)&make_add; */
}

static void on_move(struct conn *c, int dir, uint32_t move_time)
{
    SC_MOVE_OBJECT_PACKET p;
    /* SOLUTION BEGIN: Move c one tile in `dir` (DIR_UP y-1, DIR_DOWN y+1, DIR_LEFT x-1,
     * DIR_RIGHT x+1); a step off the opt.w x opt.h board, or a direction that does not
     * exist, goes nowhere but is answered all the same. Then SC_MOVE_OBJECT{c, move_time}
     * (make_move) to c first, then to every other player (send_to_all). */
    /* a step off the board, or a direction that does not exist, goes
     * nowhere; it is answered all the same */
    if (dir == DIR_UP && c->y > 0)
        c->y--;
    else if (dir == DIR_DOWN && c->y < opt.h - 1)
        c->y++;
    else if (dir == DIR_LEFT && c->x > 0)
        c->x--;
    else if (dir == DIR_RIGHT && c->x < opt.w - 1)
        c->x++;
    if (!opt.net.quiet)
        lab_log("conn %ld: player %d to (%d,%d)", c->conn_id, c->id, c->x, c->y);
    make_move(&p, c, move_time);
    send_packet(c, &p); /* the mover first */
    send_to_all(&p, c);
    /* SOLUTION END: (void)dir; make_move(&p, c, move_time); send_packet(c, &p); */
}

static void on_teleport(struct conn *c)
{
    SC_MOVE_OBJECT_PACKET p;
    c->x = rand() % opt.w;
    c->y = rand() % opt.h;
    make_move(&p, c, 0);
    send_packet(c, &p);
    send_to_all(&p, c);
}

static void on_chat(struct conn *c, const CS_CHAT_PACKET *in)
{
    SC_CHAT_PACKET p;
    size_t len = 0;
    while (len < CHAT_SIZE - 1 && in->mess[len] != '\0')
        len++;
    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = SC_CHAT;
    p.id = c->id;
    memcpy(p.mess, in->mess, len);
    if (!opt.net.quiet)
        lab_log("conn %ld: player %d says %u bytes", c->conn_id, c->id, (unsigned)len);
    send_packet(c, &p);
    send_to_all(&p, c);
}

/* The size each client packet type must have, 0 for an unknown type. */
static size_t cs_size(unsigned type)
{
    switch (type) {
    case CS_LOGIN: return sizeof(CS_LOGIN_PACKET);
    case CS_MOVE: return sizeof(CS_MOVE_PACKET);
    case CS_CHAT: return sizeof(CS_CHAT_PACKET);
    case CS_ATTACK: return sizeof(CS_ATTACK_PACKET);
    case CS_TELEPORT: return sizeof(CS_TELEPORT_PACKET);
    case CS_LOGOUT: return sizeof(CS_LOGOUT_PACKET);
    default: return 0;
    }
}

/* Handles one whole packet. Returns 0 when the connection is over. */
static int on_packet(struct conn *c, const unsigned char *p)
{
    switch (p[1]) {
    case CS_LOGIN:
        on_login(c, (const CS_LOGIN_PACKET *)p);
        return c->closing == NULL && c->why == NULL;
    case CS_MOVE: {
        const CS_MOVE_PACKET *m = (const CS_MOVE_PACKET *)p;
        on_move(c, m->direction, m->move_time);
        return 1;
    }
    case CS_CHAT:
        on_chat(c, (const CS_CHAT_PACKET *)p);
        return 1;
    case CS_TELEPORT:
        on_teleport(c);
        return 1;
    case CS_LOGOUT:
        conn_close_after_sends(c, "logged out");
        return 0;
    default: /* CS_ATTACK: no combat yet */
        return 1;
    }
}

/* ------------------------------------------------------------------------
 * Routines
 * --------------------------------------------------------------------- */

/* A receive completed: handle every whole packet, keep the rest. A bad
 * size or type is found as soon as the first two bytes are there. */
static void on_recv_done(struct conn *c, DWORD err, DWORD bytes)
{
    if (err != 0) {
        conn_fail(c, "WSARecv", (int)err);
        return;
    }
    if (bytes == 0) {
        conn_free(c, "closed by peer");
        return;
    }
    c->rlen += bytes;
    /* SOLUTION BEGIN: Take every whole packet out of rbuf[0..rlen). Check each as soon as
     * its bytes are there: a size below 2 (the first byte), an unknown type (cs_size 0), a
     * size that is not cs_size(type), or anything but CS_LOGIN while c->id < 0 (the first
     * two): log why, conn_close_after_sends(c, "closed after a bad packet") (what the
     * packets before it caused still goes out) and return. Stop at an incomplete packet;
     * hand each whole one to on_packet, and return when it returns 0 or c->why is set. Then
     * move the incomplete rest to the front of rbuf (rlen shrinks) and
     * post_later(&c->recv_op). */
    size_t off = 0;
    while (c->rlen - off >= 1) {
        const unsigned char *p = c->rbuf + off;
        size_t want = c->rlen - off >= 2 ? cs_size(p[1]) : 0;
        const char *bad = NULL;
        if (p[0] < 2) /* known from the first byte: no need to wait for the type */
            bad = "size below 2";
        else if (c->rlen - off < 2)
            break;
        else if (want == 0)
            bad = "unknown type";
        else if (p[0] != want)
            bad = "size does not match the type";
        else if (c->id < 0 && p[1] != CS_LOGIN)
            bad = "a packet before CS_LOGIN";
        if (bad != NULL) {
            lab_log("conn %ld: bad packet (size %u, type %u): %s, disconnecting", c->conn_id,
                    (unsigned)p[0], c->rlen - off >= 2 ? (unsigned)p[1] : 0u, bad);
            conn_close_after_sends(c, "closed after a bad packet");
            return;
        }
        if (c->rlen - off < want)
            break;
        off += want;
        if (!on_packet(c, p) || c->why != NULL)
            return; /* logged out, refused, or cut off meanwhile */
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
    post_later(&c->recv_op);
    /* SOLUTION END: (void)&on_packet; (void)&cs_size; conn_free(c, "the packet loop is a TODO"); */
}

/* A send completed (see ../chat: a short one ends the connection). */
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
        lab_log("conn %ld: a send completed with %lu of %lu bytes", c->conn_id, bytes,
                (unsigned long)len);
        conn_free(c, "closed after a short send");
    } else if (c->closing != NULL && c->sends == 0) {
        conn_free(c, c->closing);
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
            SleepEx(100, TRUE); /* a shortage: alertable, the game goes on */
            break;
        }
        accepted++;
        struct conn *c = conn_new(s, &peer);
        if (c == NULL)
            continue;
        if (WSAEventSelect(s, NULL, 0) == SOCKET_ERROR) {
            conn_fail(c, "WSAEventSelect", WSAGetLastError());
            continue;
        }
        if (ioctlsocket(s, FIONBIO, &blocking) == SOCKET_ERROR) {
            conn_fail(c, "ioctlsocket(FIONBIO)", WSAGetLastError());
            continue;
        }
        /* small packets that a player waits for: no Nagle delay */
        BOOL one = TRUE;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
        int err = post_recv(c);
        if (err != 0)
            conn_fail(c, "WSARecv", err);
    }
    SleepEx(0, TRUE); /* the routines queued meanwhile (see 08) */
    return accepted;
}

/* ------------------------------------------------------------------------
 * Stopping and main
 * --------------------------------------------------------------------- */

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

int main(int argc, char **argv)
{
    WSAEVENT waits[2];
    DWORD poll_ms = WSA_INFINITE;
    ULONGLONG tried = 0;

    parse_args(argc, argv);
    slot_taken = calloc((size_t)opt.max_users, 1);
    if (slot_taken == NULL)
        lab_fatal("calloc", ERROR_NOT_ENOUGH_MEMORY);
    srand((unsigned)GetTickCount());
    lab_startup();
    listener = lab_listen(&opt.net, WSA_FLAG_OVERLAPPED);
    accept_event = WSACreateEvent();
    if (accept_event == WSA_INVALID_EVENT)
        lab_fatal("WSACreateEvent", WSAGetLastError());
    if (WSAEventSelect(listener, accept_event, FD_ACCEPT) == SOCKET_ERROR)
        lab_fatal("WSAEventSelect", WSAGetLastError());
    lab_on_stop(NULL);
    lab_log("%s: %dx%d board, up to %d players", MODEL, opt.w, opt.h, opt.max_users);
    lab_ready(&opt.net, MODEL);

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
    free(slot_taken);
    WSACloseEvent(accept_event);
    return lab_finish();
}
