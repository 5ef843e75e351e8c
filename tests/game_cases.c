/*
 * game_cases.c - the cases of step 10, the game server, against the
 * behaviour contract ("Game server (10)" and its wire protocol).
 *
 * Each case starts its own server with the options it needs, always with
 * -n 0 (no NPCs) unless it is about NPCs: the server's default is 200,000
 * of them. The players are driven over real sockets (struct gp below);
 * the client programs (client.exe game --script, client.exe stress) are
 * run as child processes by their own cases.
 *
 * What a player receives is checked two ways:
 *   - exactly, packet by packet (gp_expect), where the contract fixes what
 *     comes: "A moves right: A gets SC_MOVE_OBJECT{A, x+1, y, 123456789},
 *     and so does B";
 *   - always, by the tracker (gp_track), which keeps what each player's
 *     client has been told (its view: SC_ADD_OBJECT adds, SC_REMOVE_OBJECT
 *     removes) and fails on what the contract rules out: a type other than
 *     2..6 in play, a move or a chat from an object never added, a second
 *     add, a remove of an unknown object, a position off the map.
 *
 * "Nothing else arrives" is checked without waiting for silence: the
 * player sends a marker, a CS_MOVE in no valid direction (the contract
 * answers every move, "always"; such a move goes nowhere), and the next
 * packet must be the marker's answer. The server handles a client's
 * packets in order, so whatever its earlier packets caused for it is
 * queued before that answer. Other players in view get the marker too
 * (an unchanged position): the tracker checks and drops those. Only
 * where a packet is left half sent does a case wait for silence.
 *
 * No case asserts a rate or a duration: every limit below only keeps a
 * hung server from hanging the driver.
 */
#include "tests.h"
#include "../10_game_server/protocol.h"

#define PKT_MAX 128           /* larger than any SC packet (SC_CHAT: 106) */
#define MARK_TAG 0x5A000000u  /* move_time of a marker: 0x5A plus 24 bits */
#define MARK_MASK 0xFF000000u
#define DIR_NOWHERE 9         /* a direction that does not exist */
#define CLIENT_MS 30000       /* a run of client.exe game or stress */

/* ------------------------------------------------------------------------
 * Packets
 * --------------------------------------------------------------------- */

/* The size of each server packet type, 0 for a type that does not exist. */
static unsigned sc_size(unsigned type)
{
    switch (type) {
    case SC_LOGIN_INFO:
        return (unsigned)sizeof(SC_LOGIN_INFO_PACKET);
    case SC_ADD_OBJECT:
        return (unsigned)sizeof(SC_ADD_OBJECT_PACKET);
    case SC_REMOVE_OBJECT:
        return (unsigned)sizeof(SC_REMOVE_OBJECT_PACKET);
    case SC_MOVE_OBJECT:
        return (unsigned)sizeof(SC_MOVE_OBJECT_PACKET);
    case SC_CHAT:
        return (unsigned)sizeof(SC_CHAT_PACKET);
    case SC_LOGIN_OK:
        return (unsigned)sizeof(SC_LOGIN_OK_PACKET);
    case SC_LOGIN_FAIL:
        return (unsigned)sizeof(SC_LOGIN_FAIL_PACKET);
    case SC_STAT_CHANGE:
        return (unsigned)sizeof(SC_STAT_CHANGE_PACKET);
    default:
        return 0;
    }
}

static size_t mk_login(unsigned char *out, const char *name)
{
    CS_LOGIN_PACKET p;
    size_t n = strlen(name);
    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = CS_LOGIN;
    memcpy(p.name, name, n < NAME_SIZE ? n : NAME_SIZE);
    memcpy(out, &p, sizeof p);
    return sizeof p;
}

static size_t mk_move(unsigned char *out, int dir, uint32_t move_time)
{
    CS_MOVE_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = CS_MOVE;
    p.direction = (int8_t)dir;
    p.move_time = move_time;
    memcpy(out, &p, sizeof p);
    return sizeof p;
}

/* `len` bytes of `text` (no NUL added: the caller says how many). */
static size_t mk_chat(unsigned char *out, const char *text, size_t len)
{
    CS_CHAT_PACKET p;
    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = CS_CHAT;
    memcpy(p.mess, text, len < CHAT_SIZE ? len : CHAT_SIZE);
    memcpy(out, &p, sizeof p);
    return sizeof p;
}

/* CS_ATTACK, CS_TELEPORT, CS_LOGOUT: a header only. */
static size_t mk_simple(unsigned char *out, int type)
{
    out[0] = 2;
    out[1] = (unsigned char)type;
    return 2;
}

static void sc_move(unsigned char *out, int id, int x, int y, uint32_t move_time)
{
    SC_MOVE_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_MOVE_OBJECT;
    p.id = id;
    p.x = (int16_t)x;
    p.y = (int16_t)y;
    p.move_time = move_time;
    memcpy(out, &p, sizeof p);
}

static void sc_add(unsigned char *out, int id, int x, int y, const char *name)
{
    SC_ADD_OBJECT_PACKET p;
    size_t n = strlen(name);
    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = SC_ADD_OBJECT;
    p.id = id;
    p.x = (int16_t)x;
    p.y = (int16_t)y;
    memcpy(p.name, name, n < NAME_SIZE ? n : NAME_SIZE);
    memcpy(out, &p, sizeof p);
}

static void sc_remove(unsigned char *out, int id)
{
    SC_REMOVE_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_REMOVE_OBJECT;
    p.id = id;
    memcpy(out, &p, sizeof p);
}

/* The text NUL-terminated and NUL-padded, as the server sends it. */
static void sc_chat(unsigned char *out, int id, const char *text, size_t len)
{
    SC_CHAT_PACKET p;
    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = SC_CHAT;
    p.id = id;
    memcpy(p.mess, text, len < CHAT_SIZE - 1 ? len : CHAT_SIZE - 1);
    memcpy(out, &p, sizeof p);
}

/* Up to `max` bytes of `src` (stopping at a NUL) as printable ASCII. */
static void printable(char *dst, size_t dstsz, const char *src, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < max && src[i] != '\0' && k + 1 < dstsz; i++)
        dst[k++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    dst[k] = '\0';
}

/* The next line of `*text` (changed in place: the line ends at its CR or
 * LF), or NULL at the end. strtok would do, but MSVC deprecates it. */
static char *take_line(char **text)
{
    char *line = *text, *end;
    while (*line == '\r' || *line == '\n')
        line++;
    if (*line == '\0')
        return NULL;
    end = line + strcspn(line, "\r\n");
    *text = *end != '\0' ? end + 1 : end;
    *end = '\0';
    return line;
}

/* A packet in words, for the reasons: "SC_MOVE_OBJECT{id 3, x 1, y 2,
 * move_time 77}". */
static const char *pkt_text(const unsigned char *p, char *buf, size_t bufsz)
{
    char text[CHAT_SIZE + 1];
    switch (p[1]) {
    case SC_LOGIN_INFO: {
        SC_LOGIN_INFO_PACKET q;
        memcpy(&q, p, sizeof q);
        snprintf(buf, bufsz, "SC_LOGIN_INFO{id %d, hp %d, max_hp %d, exp %d, level %d, x %d, y %d}",
                 (int)q.id, (int)q.hp, (int)q.max_hp, (int)q.exp, (int)q.level, (int)q.x, (int)q.y);
        break;
    }
    case SC_ADD_OBJECT: {
        SC_ADD_OBJECT_PACKET q;
        memcpy(&q, p, sizeof q);
        printable(text, sizeof text, q.name, NAME_SIZE);
        snprintf(buf, bufsz, "SC_ADD_OBJECT{id %d, x %d, y %d, name \"%s\"}", (int)q.id, (int)q.x,
                 (int)q.y, text);
        break;
    }
    case SC_REMOVE_OBJECT: {
        SC_REMOVE_OBJECT_PACKET q;
        memcpy(&q, p, sizeof q);
        snprintf(buf, bufsz, "SC_REMOVE_OBJECT{id %d}", (int)q.id);
        break;
    }
    case SC_MOVE_OBJECT: {
        SC_MOVE_OBJECT_PACKET q;
        memcpy(&q, p, sizeof q);
        snprintf(buf, bufsz, "SC_MOVE_OBJECT{id %d, x %d, y %d, move_time %lu}", (int)q.id,
                 (int)q.x, (int)q.y, (unsigned long)q.move_time);
        break;
    }
    case SC_CHAT: {
        SC_CHAT_PACKET q;
        size_t len = 0;
        memcpy(&q, p, sizeof q);
        while (len < CHAT_SIZE && q.mess[len] != '\0')
            len++;
        printable(text, 41, q.mess, CHAT_SIZE);
        snprintf(buf, bufsz, "SC_CHAT{id %d, %u chars%s: \"%s%s\"}", (int)q.id, (unsigned)len,
                 len == CHAT_SIZE ? " (no NUL)" : "", text, len > 40 ? "..." : "");
        break;
    }
    case SC_LOGIN_OK:
        snprintf(buf, bufsz, "SC_LOGIN_OK");
        break;
    case SC_LOGIN_FAIL:
        snprintf(buf, bufsz, "SC_LOGIN_FAIL");
        break;
    case SC_STAT_CHANGE:
        snprintf(buf, bufsz, "SC_STAT_CHANGE");
        break;
    default:
        snprintf(buf, bufsz, "a packet of type %u, size %u", (unsigned)p[1], (unsigned)p[0]);
        break;
    }
    return buf;
}

static uint32_t pkt_u32(const unsigned char *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

static int pkt_i32(const unsigned char *p, size_t off)
{
    int32_t v;
    memcpy(&v, p + off, sizeof v);
    return (int)v;
}

static int pkt_i16(const unsigned char *p, size_t off)
{
    int16_t v;
    memcpy(&v, p + off, sizeof v);
    return (int)v;
}

/* Field offsets, from the packed structs. */
#define OFF_ID 2 /* every packet with an id has it first */
#define OFF_LOGIN_X offsetof(SC_LOGIN_INFO_PACKET, x)
#define OFF_LOGIN_Y offsetof(SC_LOGIN_INFO_PACKET, y)
#define OFF_ADD_X offsetof(SC_ADD_OBJECT_PACKET, x)
#define OFF_ADD_Y offsetof(SC_ADD_OBJECT_PACKET, y)
#define OFF_MOVE_X offsetof(SC_MOVE_OBJECT_PACKET, x)
#define OFF_MOVE_Y offsetof(SC_MOVE_OBJECT_PACKET, y)
#define OFF_MOVE_TIME offsetof(SC_MOVE_OBJECT_PACKET, move_time)

static volatile LONG mark_seq;

static uint32_t next_mark(void)
{
    return MARK_TAG | ((uint32_t)InterlockedIncrement(&mark_seq) & ~MARK_MASK);
}

static int is_mark(uint32_t move_time)
{
    return (move_time & MARK_MASK) == MARK_TAG;
}

static const char *dir_name(int dir)
{
    return dir == DIR_UP ? "up" : dir == DIR_DOWN ? "down" : dir == DIR_LEFT ? "left" : "right";
}

/* Where a move in `dir` leads from (x, y) on a w x h map: blocked at the
 * edge, nowhere for a direction that does not exist. */
static void step_from(int dir, int w, int h, int *x, int *y)
{
    if (dir == DIR_UP && *y > 0)
        (*y)--;
    else if (dir == DIR_DOWN && *y < h - 1)
        (*y)++;
    else if (dir == DIR_LEFT && *x > 0)
        (*x)--;
    else if (dir == DIR_RIGHT && *x < w - 1)
        (*x)++;
}

/* ------------------------------------------------------------------------
 * A player: its socket, what it was told, its reassembly buffer
 * --------------------------------------------------------------------- */

struct seen {
    int id, x, y;
    int ax, ay; /* where the player stood (as far as it knew) at the add */
};

struct gp {
    SOCKET s;
    char label[32];           /* "A", "player 17": for the reasons */
    char name[NAME_SIZE + 1]; /* what it logged in as */
    int w, h, max_users;      /* the server's -m and -u */
    int in;                   /* SC_LOGIN_INFO received */
    int id, x, y;
    unsigned char login[PKT_MAX]; /* its SC_LOGIN_INFO */
    struct seen *view;        /* the objects its client knows */
    int nview, capview;
    int npc_moves;            /* SC_MOVE_OBJECT of NPCs received */
    int last_npc_moved;       /* the id of the last one */
    uint32_t walk_time;       /* move_time of its next walking move */
    unsigned char rb[8192];
    size_t rlen;
};

static void gp_init(struct gp *p, const char *label, int w, int h, int max_users)
{
    memset(p, 0, sizeof *p);
    p->s = INVALID_SOCKET;
    snprintf(p->label, sizeof p->label, "%s", label);
    p->w = w;
    p->h = h;
    p->max_users = max_users;
    p->id = -1;
    p->last_npc_moved = -1;
    p->walk_time = 0x00010000u;
}

/* Graceful close (the server sees FIN) or, with `abortive`, a reset. */
static void gp_done(struct gp *p, int abortive)
{
    if (abortive)
        net_abort(p->s);
    else
        net_close(p->s);
    p->s = INVALID_SOCKET;
    free(p->view);
    p->view = NULL;
    p->nview = p->capview = 0;
}

static int gp_find(const struct gp *p, int id)
{
    for (int i = 0; i < p->nview; i++)
        if (p->view[i].id == id)
            return i;
    return -1;
}

static int on_map(const struct gp *p, int x, int y)
{
    return x >= 0 && x < p->w && y >= 0 && y < p->h;
}

static int gp_send(struct gp *p, const void *data, size_t len, char *why, size_t whysz)
{
    char st[64];
    size_t sent = 0;
    int err = 0;
    enum net_status r = net_send_all(p->s, data, len, NET_TIMEOUT_MS, &sent, &err);
    if (r != NET_OK) {
        snprintf(why, whysz, "%s: send: %s", p->label, net_status_text(r, err, st, sizeof st));
        return 0;
    }
    return 1;
}

/* The next whole packet, as sent: size and type checked, nothing else.
 * NET_EOF / NET_RESET / NET_TIMEOUT as the socket says, NET_ERROR for a
 * packet no server may send; `why` set for all but NET_OK. */
static enum net_status gp_raw(struct gp *p, unsigned char *pkt, DWORD ms, char *why, size_t whysz)
{
    char st[64];
    for (;;) {
        size_t got = 0;
        int err = 0;
        enum net_status r;
        if (p->rlen >= 1 && p->rb[0] < 2) {
            snprintf(why, whysz, "%s: a packet of size %u from the server", p->label,
                     (unsigned)p->rb[0]);
            return NET_ERROR;
        }
        if (p->rlen >= 2) {
            unsigned size = p->rb[0], type = p->rb[1], want = sc_size(type);
            if (want == 0 || size != want) {
                snprintf(why, whysz, "%s: a packet of size %u and type %u from the server (%s)",
                         p->label, size, type,
                         want == 0 ? "no such type" : "wrong size for its type");
                return NET_ERROR;
            }
            if (p->rlen >= size) {
                memcpy(pkt, p->rb, size);
                memmove(p->rb, p->rb + size, p->rlen - size);
                p->rlen -= size;
                return NET_OK;
            }
        }
        r = net_recv_some(p->s, p->rb + p->rlen, sizeof p->rb - p->rlen, ms, &got, &err);
        if (r != NET_OK) {
            snprintf(why, whysz, "%s: %s%s", p->label, net_status_text(r, err, st, sizeof st),
                     p->rlen > 0 ? " in the middle of a packet" : "");
            return r;
        }
        p->rlen += got;
    }
}

/* Brings what the player's client knows up to date with `pkt`, and fails
 * on what the contract rules out. *echo: another player's marker (a move
 * that went nowhere), nothing for the caller to see. */
static int gp_track(struct gp *p, const unsigned char *pkt, int *echo, char *why, size_t whysz)
{
    char t[160];
    int id = pkt_i32(pkt, OFF_ID), k, x, y;
    *echo = 0;
    if (pkt[1] == SC_LOGIN_INFO) {
        x = pkt_i16(pkt, OFF_LOGIN_X);
        y = pkt_i16(pkt, OFF_LOGIN_Y);
        if (p->in) {
            snprintf(why, whysz, "%s: a second SC_LOGIN_INFO: %s", p->label,
                     pkt_text(pkt, t, sizeof t));
            return 0;
        }
        if (id < 0 || id >= p->max_users || !on_map(p, x, y)) {
            snprintf(why, whysz, "%s: %s: %s out of range (ids 0..%d, map %dx%d)", p->label,
                     pkt_text(pkt, t, sizeof t), (id < 0 || id >= p->max_users) ? "id" : "position",
                     p->max_users - 1, p->w, p->h);
            return 0;
        }
        p->in = 1;
        p->id = id;
        p->x = x;
        p->y = y;
        memcpy(p->login, pkt, pkt[0]);
        return 1;
    }
    if (!p->in) {
        snprintf(why, whysz, "%s: %s before its SC_LOGIN_INFO", p->label,
                 pkt_text(pkt, t, sizeof t));
        return 0;
    }
    switch (pkt[1]) {
    case SC_ADD_OBJECT:
        x = pkt_i16(pkt, OFF_ADD_X);
        y = pkt_i16(pkt, OFF_ADD_Y);
        if (id == p->id || id < 0 || gp_find(p, id) >= 0 || !on_map(p, x, y)) {
            snprintf(why, whysz, "%s (id %d): %s: %s", p->label, p->id, pkt_text(pkt, t, sizeof t),
                     id == p->id  ? "itself added to its own view"
                     : id < 0     ? "a negative id"
                     : !on_map(p, x, y) ? "position off the map"
                                  : "added again, without a remove in between");
            return 0;
        }
        if (p->nview == p->capview) {
            int cap = p->capview ? 2 * p->capview : 64;
            struct seen *v = (struct seen *)realloc(p->view, sizeof *v * (size_t)cap);
            if (v == NULL) {
                snprintf(why, whysz, "out of memory");
                return 0;
            }
            p->view = v;
            p->capview = cap;
        }
        p->view[p->nview].id = id;
        p->view[p->nview].x = x;
        p->view[p->nview].y = y;
        p->view[p->nview].ax = p->x;
        p->view[p->nview].ay = p->y;
        p->nview++;
        return 1;
    case SC_REMOVE_OBJECT:
        k = gp_find(p, id);
        if (k < 0) {
            snprintf(why, whysz, "%s (id %d): %s: not in its view (never added, or removed "
                                 "already)",
                     p->label, p->id, pkt_text(pkt, t, sizeof t));
            return 0;
        }
        p->view[k] = p->view[--p->nview];
        return 1;
    case SC_MOVE_OBJECT:
        x = pkt_i16(pkt, OFF_MOVE_X);
        y = pkt_i16(pkt, OFF_MOVE_Y);
        if (!on_map(p, x, y)) {
            snprintf(why, whysz, "%s: %s: position off the %dx%d map", p->label,
                     pkt_text(pkt, t, sizeof t), p->w, p->h);
            return 0;
        }
        if (id == p->id) {
            p->x = x;
            p->y = y;
            return 1;
        }
        k = gp_find(p, id);
        if (k < 0) {
            snprintf(why, whysz, "%s (id %d): %s: an object it was never told about (no "
                                 "SC_ADD_OBJECT)",
                     p->label, p->id, pkt_text(pkt, t, sizeof t));
            return 0;
        }
        if (is_mark(pkt_u32(pkt, OFF_MOVE_TIME))) {
            if (x != p->view[k].x || y != p->view[k].y) {
                snprintf(why, whysz, "%s (id %d): %s, a move that went nowhere, but it knew id %d "
                                     "at (%d, %d): a move of it was lost",
                         p->label, p->id, pkt_text(pkt, t, sizeof t), id, p->view[k].x,
                         p->view[k].y);
                return 0;
            }
            *echo = 1;
        }
        if (id >= p->max_users) {
            p->npc_moves++;
            p->last_npc_moved = id;
        }
        p->view[k].x = x;
        p->view[k].y = y;
        return 1;
    case SC_CHAT:
        if (id != p->id && gp_find(p, id) < 0) {
            snprintf(why, whysz, "%s (id %d): %s from a player not in its view", p->label, p->id,
                     pkt_text(pkt, t, sizeof t));
            return 0;
        }
        return 1;
    default:
        snprintf(why, whysz, "%s: %s: only types 2..6 are sent in play", p->label,
                 pkt_text(pkt, t, sizeof t));
        return 0;
    }
}

/* The next packet the player must look at: tracked, other players'
 * markers dropped. */
static enum net_status gp_next(struct gp *p, unsigned char *pkt, DWORD ms, char *why, size_t whysz)
{
    for (;;) {
        int echo = 0;
        enum net_status r = gp_raw(p, pkt, ms, why, whysz);
        if (r != NET_OK)
            return r;
        if (!gp_track(p, pkt, &echo, why, whysz))
            return NET_ERROR;
        if (!echo)
            return NET_OK;
    }
}

/* The next packet must be exactly `want`. */
static int gp_expect(struct gp *p, const unsigned char *want, const char *when, char *why,
                     size_t whysz)
{
    unsigned char got[PKT_MAX];
    char a[160], b[160], one[WHY_SIZE];
    enum net_status r = gp_next(p, got, NET_TIMEOUT_MS, one, sizeof one);
    if (r != NET_OK) {
        snprintf(why, whysz, "%s: waiting for %s: %s", when, pkt_text(want, a, sizeof a), one);
        return 0;
    }
    if (got[0] != want[0] || memcmp(got, want, want[0]) != 0) {
        snprintf(why, whysz, "%s: %s got %s, expected %s", when, p->label,
                 pkt_text(got, a, sizeof a), pkt_text(want, b, sizeof b));
        return 0;
    }
    return 1;
}

/* The next `n` packets must be `want[0..n)`, in any order (the adds of a
 * login, for example: the contract fixes no order among them). */
#define ANY_MAX 8
static int gp_expect_any(struct gp *p, unsigned char (*want)[PKT_MAX], int n, const char *when,
                         char *why, size_t whysz)
{
    int used[ANY_MAX] = {0};
    for (int i = 0; i < n && i < ANY_MAX; i++) {
        unsigned char got[PKT_MAX];
        char a[160], one[WHY_SIZE];
        int k;
        enum net_status r = gp_next(p, got, NET_TIMEOUT_MS, one, sizeof one);
        if (r != NET_OK) {
            snprintf(why, whysz, "%s: packet %d of %d: %s", when, i + 1, n, one);
            return 0;
        }
        for (k = 0; k < n; k++)
            if (!used[k] && got[0] == want[k][0] && memcmp(got, want[k], got[0]) == 0)
                break;
        if (k == n) {
            snprintf(why, whysz, "%s: %s got %s, not one of the %d packets expected", when,
                     p->label, pkt_text(got, a, sizeof a), n);
            return 0;
        }
        used[k] = 1;
    }
    return 1;
}

static int gp_send_move(struct gp *p, int dir, uint32_t move_time, char *why, size_t whysz)
{
    unsigned char b[PKT_MAX];
    size_t n = mk_move(b, dir, move_time);
    return gp_send(p, b, n, why, whysz);
}

/* Nothing has arrived that the player should not have: it sends a marker
 * and the very next packet is the marker's answer. */
static int gp_expect_nothing(struct gp *p, const char *when, char *why, size_t whysz)
{
    unsigned char want[PKT_MAX], got[PKT_MAX];
    char a[160], one[WHY_SIZE];
    uint32_t mark = next_mark();
    enum net_status r;
    if (!gp_send_move(p, DIR_NOWHERE, mark, why, whysz))
        return 0;
    sc_move(want, p->id, p->x, p->y, mark);
    r = gp_next(p, got, NET_TIMEOUT_MS, one, sizeof one);
    if (r != NET_OK) {
        snprintf(why, whysz, "%s: waiting for the answer to a move (nowhere, move_time 0x%08lx): "
                             "%s",
                 when, (unsigned long)mark, one);
        return 0;
    }
    if (memcmp(got, want, want[0]) != 0) {
        if (got[1] == SC_MOVE_OBJECT && pkt_u32(got, OFF_MOVE_TIME) == mark)
            snprintf(why, whysz, "%s: %s: a move in no valid direction was answered with %s "
                                 "(expected its position unchanged, (%d, %d))",
                     when, p->label, pkt_text(got, a, sizeof a), p->x, p->y);
        else
            snprintf(why, whysz, "%s: %s got %s, expected nothing", when, p->label,
                     pkt_text(got, a, sizeof a));
        return 0;
    }
    return 1;
}

/* Reads (tracking everything) until the answer to the player's own move
 * `move_time`; any other answer of its own on the way is a failure. */
static int gp_await_move(struct gp *p, uint32_t move_time, const char *when, char *why,
                         size_t whysz)
{
    for (;;) {
        unsigned char got[PKT_MAX];
        char a[160], one[WHY_SIZE];
        enum net_status r = gp_next(p, got, NET_TIMEOUT_MS, one, sizeof one);
        if (r != NET_OK) {
            snprintf(why, whysz, "%s: waiting for the answer to move_time 0x%08lx: %s", when,
                     (unsigned long)move_time, one);
            return 0;
        }
        if (got[1] == SC_MOVE_OBJECT && pkt_i32(got, OFF_ID) == p->id) {
            if (pkt_u32(got, OFF_MOVE_TIME) == move_time)
                return 1;
            snprintf(why, whysz, "%s: %s waited for its move with move_time 0x%08lx and got %s",
                     when, p->label, (unsigned long)move_time, pkt_text(got, a, sizeof a));
            return 0;
        }
    }
}

/* Catches up: a marker, and everything before its answer taken in. */
static int gp_sync(struct gp *p, const char *when, char *why, size_t whysz)
{
    uint32_t mark = next_mark();
    return gp_send_move(p, DIR_NOWHERE, mark, why, whysz) &&
           gp_await_move(p, mark, when, why, whysz);
}

/* One step, waited for, its answer checked: the player's own id, the
 * move_time it sent, the tile the step leads to. */
static int gp_step(struct gp *p, int dir, char *why, size_t whysz)
{
    int x = p->x, y = p->y, ox = p->x, oy = p->y;
    uint32_t t = p->walk_time++;
    step_from(dir, p->w, p->h, &x, &y);
    if (!gp_send_move(p, dir, t, why, whysz) || !gp_await_move(p, t, "walking", why, whysz))
        return 0;
    if (p->x != x || p->y != y) {
        snprintf(why, whysz, "%s walking: a step %s from (%d, %d) was answered with (%d, %d), "
                             "expected (%d, %d)",
                 p->label, dir_name(dir), ox, oy, p->x, p->y, x, y);
        return 0;
    }
    return 1;
}

static int toward(int from_x, int from_y, int to_x, int to_y)
{
    if (from_x < to_x)
        return DIR_RIGHT;
    if (from_x > to_x)
        return DIR_LEFT;
    return from_y < to_y ? DIR_DOWN : DIR_UP;
}

/* Walks (x first, then y) to (tx, ty), one answered step at a time:
 * where the player ends up does not depend on timing. */
static int gp_walk(struct gp *p, int tx, int ty, char *why, size_t whysz)
{
    while (p->x != tx || p->y != ty)
        if (!gp_step(p, toward(p->x, p->y, tx, ty), why, whysz))
            return 0;
    return 1;
}

static int gp_connect(struct gp *p, unsigned short port, char *why, size_t whysz)
{
    char one[WHY_SIZE];
    p->s = net_connect(port, CONNECT_MS, one, sizeof one);
    if (p->s == INVALID_SOCKET) {
        snprintf(why, whysz, "%s: %s", p->label, one);
        return 0;
    }
    net_nodelay(p->s);
    return 1;
}

/* Connects, logs in as `name`; the first packet must be SC_LOGIN_INFO. */
static int gp_login(struct gp *p, unsigned short port, const char *name, char *why, size_t whysz)
{
    unsigned char b[PKT_MAX];
    char one[WHY_SIZE];
    size_t n;
    snprintf(p->name, sizeof p->name, "%s", name);
    if (p->s == INVALID_SOCKET && !gp_connect(p, port, why, whysz))
        return 0;
    n = mk_login(b, name);
    if (!gp_send(p, b, n, why, whysz))
        return 0;
    if (gp_next(p, b, NET_TIMEOUT_MS, one, sizeof one) != NET_OK) {
        snprintf(why, whysz, "login as \"%s\": %s", name, one);
        return 0;
    }
    return 1;
}

/* SC_ADD_OBJECT of player `o`, as any other player must get it. */
static void add_of(unsigned char *out, const struct gp *o)
{
    sc_add(out, o->id, o->x, o->y, o->name);
}

/* The player's connection ends: end-of-file or a reset, no packet first. */
static int gp_expect_end(struct gp *p, int eof_only, const char *when, char *why, size_t whysz)
{
    unsigned char got[PKT_MAX];
    char a[160], one[WHY_SIZE];
    enum net_status r = gp_next(p, got, NET_TIMEOUT_MS, one, sizeof one);
    if (r == NET_EOF || (r == NET_RESET && !eof_only))
        return 1;
    if (r == NET_OK)
        snprintf(why, whysz, "%s: %s got %s, expected the connection to end", when, p->label,
                 pkt_text(got, a, sizeof a));
    else
        snprintf(why, whysz, "%s: expected the connection to end%s: %s", when,
                 eof_only ? " (end-of-file)" : "", one);
    return 0;
}

/* ------------------------------------------------------------------------
 * The server
 * --------------------------------------------------------------------- */

/* Starts the server under test with `-n npcs` and `opts` (map, range,
 * players), on a free port of 127.0.0.1. */
static int game_start(struct proc *srv, const char *exe, int npcs, const char *opts, int quiet,
                      char *why, size_t whysz)
{
    char pre[160];
    snprintf(pre, sizeof pre, "-n %d %s%s", npcs, opts, opts[0] ? " " : "");
    return server_start_args(srv, exe, pre, quiet, why, whysz);
}

/* A passing case also needs the server alive at its end. */
static enum result game_finish(struct ctx *c, struct proc *srv, enum result out)
{
    if (out == RES_PASS && !proc_running(srv)) {
        char tail[WHY_SIZE / 2];
        proc_drain(srv, 1000);
        proc_tail(srv, ERR_STREAM, tail, sizeof tail);
        out = fail(c, "the server exited (status %lu); stderr: %s", (unsigned long)srv->exit_code,
                   tail[0] ? tail : "(empty)");
    }
    proc_stop(srv);
    return out;
}

/* The size of both output streams so far: log lines after it are new. */
struct log_mark {
    size_t out, err;
};

static void log_mark(struct proc *srv, struct log_mark *m)
{
    char *o = proc_text(srv, OUT_STREAM), *e = proc_text(srv, ERR_STREAM);
    m->out = o != NULL ? strlen(o) : 0;
    m->err = e != NULL ? strlen(e) : 0;
    free(o);
    free(e);
}

/* Waits up to `ms` for a new line (after `m`) containing one of `words`
 * (a NULL-ended list, case ignored). 1 found (the line in `line`), 0 not. */
static int log_wait_new(struct proc *srv, const struct log_mark *m, const char *const *words,
                        DWORD ms, char *line, size_t linesz)
{
    ULONGLONG until = now_ms() + ms;
    for (;;) {
        for (int st = 0; st < 2; st++) {
            char *t = proc_text(srv, st == 0 ? OUT_STREAM : ERR_STREAM), *rest, *q;
            size_t from = st == 0 ? m->out : m->err;
            if (t == NULL)
                continue;
            if (strlen(t) < from)
                from = 0;
            rest = t + from;
            while ((q = take_line(&rest)) != NULL) {
                for (int i = 0; words[i] != NULL; i++)
                    if (contains_nocase(q, words[i])) {
                        snprintf(line, linesz, "%s", q);
                        free(t);
                        return 1;
                    }
            }
            free(t);
        }
        if (now_ms() >= until)
            return 0;
        Sleep(50); /* the server logs from its own threads: look again */
    }
}

/* How many lines of `p`'s stdout start with `prefix`; the last one in
 * `last` (when not NULL). */
static int count_lines(struct proc *p, const char *prefix, char *last, size_t lastsz)
{
    char *t = proc_text(p, OUT_STREAM), *rest = t, *q;
    size_t plen = strlen(prefix);
    int n = 0;
    if (t == NULL)
        return 0;
    while ((q = take_line(&rest)) != NULL)
        if (strncmp(q, prefix, plen) == 0) {
            n++;
            if (last != NULL)
                snprintf(last, lastsz, "%s", q);
        }
    free(t);
    return n;
}

/* Waits up to `ms` until `p` printed `count` lines starting with `prefix`.
 * Returns how many it has (fewer on timeout or exit). */
static int wait_lines(struct proc *p, const char *prefix, int count, DWORD ms)
{
    ULONGLONG until = now_ms() + ms;
    for (;;) {
        int n = count_lines(p, prefix, NULL, 0);
        if (n >= count || now_ms() >= until || !proc_running(p))
            return n;
        Sleep(50); /* the program prints from its own threads */
    }
}

/* Two players on an 8x8 map with range 7 (everyone sees everyone): A
 * "alice" logs in and gets nothing more; B "bob" logs in and gets A;
 * A gets B. What most cases start from. */
#define SMALL_MAP "-m 8x8 -v 7 -u 100"

static int two_players(unsigned short port, struct gp *a, struct gp *b, char *why, size_t whysz)
{
    unsigned char want[PKT_MAX];
    if (!gp_login(a, port, "alice", why, whysz) ||
        !gp_expect_nothing(a, "after A's login, alone", why, whysz) ||
        !gp_login(b, port, "bob", why, whysz))
        return 0;
    if (a->id == b->id) {
        snprintf(why, whysz, "A and B both got id %d", a->id);
        return 0;
    }
    add_of(want, a);
    if (!gp_expect(b, want, "B's login, B sees A", why, whysz))
        return 0;
    add_of(want, b);
    return gp_expect(a, want, "B's login, A sees B", why, whysz);
}

/* The fixture of the cases on the small map: the server; A and B logged
 * in and seeing each other (two_players); C ready to log in when a case
 * needs a newcomer. The body runs; then every player is closed, and the
 * server must still be running (game_finish). */
struct game_fx {
    struct ctx *c;
    struct proc srv;
    struct gp a, b, d;
};

static enum result on_small_map(struct ctx *c, enum result (*body)(struct game_fx *f))
{
    char why[WHY_SIZE];
    struct game_fx f;
    enum result out;
    f.c = c;
    if (!game_start(&f.srv, c->exe, 0, SMALL_MAP, 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&f.a, "A", 8, 8, 100);
    gp_init(&f.b, "B", 8, 8, 100);
    gp_init(&f.d, "C", 8, 8, 100);
    if (!two_players(f.srv.port, &f.a, &f.b, why, sizeof why))
        out = fail(c, "%s", why);
    else
        out = body(&f);
    gp_done(&f.a, 1);
    gp_done(&f.b, 1);
    gp_done(&f.d, 1);
    return game_finish(c, &f.srv, out);
}

/* ------------------------------------------------------------------------
 * args: bad command lines, -h, a port in use
 * --------------------------------------------------------------------- */

static const char *const game_bad_args[] = {
    "-p 0", "-p 70000", "-p abc", "-a not.an.ip", "-m 10", "-m 0x5", "-v -1",
    "-u 0", "-t 0",     "-n -1",  "-x",           "-p",
};
#define N_GAME_BAD_ARGS (sizeof game_bad_args / sizeof game_bad_args[0])

static enum result case_args(struct ctx *c)
{
    struct proc p[N_GAME_BAD_ARGS];
    char why[WHY_SIZE] = "", one[WHY_SIZE], args[96], *out;
    unsigned short port = net_free_port();
    size_t i;
    struct proc h;

    /* All at once: each is a process start, slow under Wine. Every line
     * but the bad part is valid and harmless (no NPCs, loopback, a free
     * port), so that a server that wrongly accepts it does no harm. */
    for (i = 0; i < N_GAME_BAD_ARGS; i++) {
        const char *bad = game_bad_args[i];
        char port_arg[16];
        snprintf(port_arg, sizeof port_arg, "-p %u ", (unsigned)port);
        snprintf(args, sizeof args, "%s%s%s-q %s", strncmp(bad, "-n", 2) == 0 ? "" : "-n 0 ",
                 strncmp(bad, "-a", 2) == 0 ? "" : "-a 127.0.0.1 ",
                 strncmp(bad, "-p", 2) == 0 ? "" : port_arg, bad);
        if (!proc_start(&p[i], c->exe, args, one, sizeof one)) {
            while (i > 0)
                proc_stop(&p[--i]);
            return fail(c, "%s", one);
        }
    }
    bad_args_verdict(p, game_bad_args, N_GAME_BAD_ARGS, 1, why, sizeof why);

    if (!proc_start(&h, c->exe, "-h", one, sizeof one)) {
        append_reason(why, sizeof why, one);
    } else {
        one[0] = '\0';
        if (!proc_wait(&h, 10000)) {
            snprintf(one, sizeof one, "`-h`: still running after 10 s");
        } else {
            proc_drain(&h, 2000);
            out = proc_text(&h, OUT_STREAM);
            if (h.exit_code != 0)
                snprintf(one, sizeof one, "`-h`: exit status %lu (expected 0)",
                         (unsigned long)h.exit_code);
            else if (out == NULL || !contains_nocase(out, "usage"))
                snprintf(one, sizeof one, "`-h`: no usage on stdout");
            free(out);
        }
        proc_stop(&h);
        if (one[0])
            append_reason(why, sizeof why, one);
    }

    if (!port_in_use_check(c->exe, "-n 0 ", one, sizeof one)) {
        char more[WHY_SIZE];
        snprintf(more, sizeof more, "port in use: %s", one);
        append_reason(why, sizeof why, more);
    }
    return why[0] ? fail(c, "%s", why) : RES_PASS;
}

/* ------------------------------------------------------------------------
 * status-line: without -q, a status line every 5 seconds
 * --------------------------------------------------------------------- */

/* N in "status: N players online, ...", or -1. */
static long status_players(const char *line)
{
    const char *q = line + 7; /* after "status:" */
    char *end;
    long v = strtol(q, &end, 10);
    if (end == q || strncmp(end, " players online", 15) != 0)
        return -1;
    return v;
}

static enum result case_status_line(struct ctx *c)
{
    char why[WHY_SIZE], line[256], want[64];
    struct proc srv;
    struct gp a;
    enum result out = RES_PASS;
    char *text;
    long n;

    if (!game_start(&srv, c->exe, 0, "-m 50x50", 0, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&a, "A", 50, 50, 10000);
    snprintf(want, sizeof want, "listening on 127.0.0.1:%u", (unsigned)srv.port);
    if (!proc_find_line(&srv, OUT_STREAM, want, 0, line, sizeof line)) {
        proc_find_line(&srv, OUT_STREAM, "listening on", 0, line, sizeof line);
        out = fail(c, "ready line \"%s\" does not contain \"%s\"", line, want);
        goto done;
    }
    if (!gp_login(&a, srv.port, "alice", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* "every 5 seconds": the first line within 8 (a loaded machine); it
     * may have been printed just before the login counted: then the next */
    if (wait_lines(&srv, "status:", 1, 8000) < 1) {
        char tail[WHY_SIZE / 2];
        proc_tail(&srv, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "no line starting \"status:\" within 8 s of the ready line; stdout: %s",
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    count_lines(&srv, "status:", line, sizeof line);
    n = status_players(line);
    if (n == 0 && wait_lines(&srv, "status:", 2, 7000) >= 2) {
        count_lines(&srv, "status:", line, sizeof line);
        n = status_players(line);
    }
    if (n != 1) {
        out = fail(c, "with one player logged in: \"%s\" (expected \"status: 1 players online, "
                      "...\")",
                   line);
        goto done;
    }
    info(c, "%s", line);
    text = proc_text(&srv, OUT_STREAM);
    if (text != NULL)
        for (size_t i = 0; text[i] != '\0'; i++) {
            unsigned char ch = (unsigned char)text[i];
            if ((ch < 32 && ch != '\n' && ch != '\r' && ch != '\t') || ch > 126) {
                out = fail(c, "stdout is not plain ASCII (byte 0x%02x at offset %llu)",
                           (unsigned)ch, (unsigned long long)i);
                break;
            }
        }
    free(text);
done:
    gp_done(&a, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * ctrl-c: players connected, Ctrl+C, exit 0 with the last lines
 * "status: ..." and "stopped: ..."
 * --------------------------------------------------------------------- */

#define STOP_CONNS 20
#define STOP_PLAYERS 10

static enum result case_ctrl_c(struct ctx *c)
{
    char why[WHY_SIZE], tail[WHY_SIZE / 2], label[32];
    struct proc srv;
    struct gp *g;
    enum result out = RES_PASS;
    enum ctrl_result cr;
    char *text = NULL, *last = NULL, *prev = NULL;
    int i;

    g = (struct gp *)calloc(STOP_CONNS, sizeof *g);
    if (g == NULL)
        return fail(c, "out of memory");
    for (i = 0; i < STOP_CONNS; i++) {
        snprintf(label, sizeof label, "client %d", i + 1);
        gp_init(&g[i], label, 50, 50, 100);
    }
    if (!game_start(&srv, c->exe, 0, "-m 50x50 -v 3 -u 100", 1, why, sizeof why)) {
        free(g);
        return fail(c, "%s", why);
    }
    /* 20 connections, the first 10 logged in */
    for (i = 0; i < STOP_CONNS; i++) {
        char name[NAME_SIZE];
        snprintf(name, sizeof name, "stopper%d", i);
        if (i < STOP_PLAYERS ? !gp_login(&g[i], srv.port, name, why, sizeof why)
                             : !gp_connect(&g[i], srv.port, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    for (i = 0; i < STOP_PLAYERS; i++)
        if (!gp_sync(&g[i], "before Ctrl+C", why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    cr = proc_send_ctrl(&srv, CTRL_C_EVENT, why, sizeof why);
    if (cr != CTRL_SENT) {
        out = fail(c, "could not deliver Ctrl+C: %s", why);
        goto done;
    }
    if (!proc_wait(&srv, 10000)) {
        proc_tail(&srv, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "still running 10 s after Ctrl+C, %d players and %d more connections "
                      "open; stdout: %s",
                   STOP_PLAYERS, STOP_CONNS - STOP_PLAYERS, tail[0] ? tail : "(empty)");
        goto done;
    }
    proc_drain(&srv, 2000);
    if (srv.exit_code != 0) {
        proc_tail(&srv, ERR_STREAM, tail, sizeof tail);
        out = fail(c, "exit status %lu after Ctrl+C (expected 0); stderr: %s",
                   (unsigned long)srv.exit_code, tail[0] ? tail : "(empty)");
        goto done;
    }
    /* the last two lines: "status: ..." then "stopped: ..." */
    text = proc_text(&srv, OUT_STREAM);
    if (text != NULL) {
        char *rest = text, *q;
        while ((q = take_line(&rest)) != NULL) {
            prev = last;
            last = q;
        }
    }
    if (last == NULL || strncmp(last, "stopped:", 8) != 0 || prev == NULL ||
        strncmp(prev, "status:", 7) != 0) {
        proc_tail(&srv, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "after Ctrl+C the last lines should be \"status: ...\" and \"stopped: "
                      "...\"; stdout: %s",
                   tail[0] ? tail : "(empty)");
    } else {
        info(c, "%s", last);
    }
done:
    free(text);
    for (i = 0; i < STOP_CONNS; i++)
        gp_done(&g[i], 1);
    free(g);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * Two players on a small map: login, move, chat, and what is ignored
 * --------------------------------------------------------------------- */

static enum result play_login_and_see(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b;
    char why[WHY_SIZE], t[160];
    SC_LOGIN_INFO_PACKET li;
    if (!gp_expect_nothing(a, "after the logins", why, sizeof why) ||
        !gp_expect_nothing(b, "after the logins", why, sizeof why))
        return fail(c, "%s", why);
    /* the course's starting stats (no combat yet) */
    memcpy(&li, a->login, sizeof li);
    if (li.hp != 100 || li.max_hp != 100 || li.exp != 0 || li.level != 1)
        return fail(c, "A's %s: expected hp 100, max_hp 100, exp 0, level 1",
                    pkt_text(a->login, t, sizeof t));
    return RES_PASS;
}

static enum result case_login_and_see(struct ctx *c)
{
    return on_small_map(c, play_login_and_see);
}

static enum result play_move_echo_broadcast(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b;
    char why[WHY_SIZE];
    unsigned char want[PKT_MAX];
    int dir, x, y;
    /* A one step sideways: the answer to A, the same packet to B */
    dir = a->x < 7 ? DIR_RIGHT : DIR_LEFT;
    x = a->x + (dir == DIR_RIGHT ? 1 : -1);
    y = a->y;
    sc_move(want, a->id, x, y, 123456789u);
    if (!gp_send_move(a, dir, 123456789u, why, sizeof why) ||
        !gp_expect(a, want, "A moves, its own answer", why, sizeof why) ||
        !gp_expect(b, want, "A moves, B sees it", why, sizeof why))
        return fail(c, "%s", why);
    /* and B up or down, with a move_time that uses all 32 bits */
    dir = b->y > 0 ? DIR_UP : DIR_DOWN;
    sc_move(want, b->id, b->x, b->y + (dir == DIR_UP ? -1 : 1), 0xFEDCBA98u);
    if (!gp_send_move(b, dir, 0xFEDCBA98u, why, sizeof why) ||
        !gp_expect(b, want, "B moves, its own answer", why, sizeof why) ||
        !gp_expect(a, want, "B moves, A sees it", why, sizeof why) ||
        !gp_expect_nothing(a, "after the moves", why, sizeof why) ||
        !gp_expect_nothing(b, "after the moves", why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result case_move_echo_broadcast(struct ctx *c)
{
    return on_small_map(c, play_move_echo_broadcast);
}

static enum result play_chat(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b;
    char why[WHY_SIZE], xs[CHAT_SIZE];
    unsigned char pkt[PKT_MAX], want[PKT_MAX];
    size_t n;
    /* to the sender and to the player who sees it */
    n = mk_chat(pkt, "hello there", 12);
    sc_chat(want, a->id, "hello there", 11);
    if (!gp_send(a, pkt, n, why, sizeof why) ||
        !gp_expect(a, want, "A's chat, to A", why, sizeof why) ||
        !gp_expect(b, want, "A's chat, to B", why, sizeof why))
        return fail(c, "%s", why);
    /* 100 characters and no NUL: cut to 99 and a NUL */
    memset(xs, 'x', sizeof xs);
    n = mk_chat(pkt, xs, CHAT_SIZE);
    sc_chat(want, a->id, xs, CHAT_SIZE - 1);
    if (!gp_send(a, pkt, n, why, sizeof why) ||
        !gp_expect(a, want, "A's chat of 100 chars without NUL, to A", why, sizeof why) ||
        !gp_expect(b, want, "A's chat of 100 chars without NUL, to B", why, sizeof why))
        return fail(c, "%s", why);
    /* and the other way */
    n = mk_chat(pkt, "hi", 3);
    sc_chat(want, b->id, "hi", 2);
    if (!gp_send(b, pkt, n, why, sizeof why) ||
        !gp_expect(b, want, "B's chat, to B", why, sizeof why) ||
        !gp_expect(a, want, "B's chat, to A", why, sizeof why) ||
        !gp_expect_nothing(a, "after the chats", why, sizeof why) ||
        !gp_expect_nothing(b, "after the chats", why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result case_chat(struct ctx *c)
{
    return on_small_map(c, play_chat);
}

/* CS_ATTACK (no combat yet) and a second CS_LOGIN are accepted and change
 * nothing: no packet, the connection stays, the name stays. */
static enum result play_attack_relogin(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b, *d = &f->d;
    char why[WHY_SIZE];
    unsigned char pkt[2 * PKT_MAX], want[ANY_MAX][PKT_MAX];
    size_t n;
    n = mk_simple(pkt, CS_ATTACK);
    if (!gp_send(a, pkt, n, why, sizeof why) ||
        !gp_expect_nothing(a, "after A's CS_ATTACK", why, sizeof why) ||
        !gp_expect_nothing(b, "after A's CS_ATTACK", why, sizeof why))
        return fail(c, "%s", why);
    n = mk_login(pkt, "mallory");
    if (!gp_send(a, pkt, n, why, sizeof why) ||
        !gp_expect_nothing(a, "after A's second CS_LOGIN", why, sizeof why) ||
        !gp_expect_nothing(b, "after A's second CS_LOGIN", why, sizeof why))
        return fail(c, "%s", why);
    /* a newcomer still sees A as "alice", where A was */
    if (!gp_login(d, f->srv.port, "carol", why, sizeof why))
        return fail(c, "%s", why);
    add_of(want[0], a);
    add_of(want[1], b);
    if (!gp_expect_any(d, want, 2, "C's login after A's second CS_LOGIN", why, sizeof why))
        return fail(c, "%s", why);
    add_of(want[0], d);
    if (!gp_expect(a, want[0], "C's login, A sees C", why, sizeof why) ||
        !gp_expect(b, want[0], "C's login, B sees C", why, sizeof why) ||
        !gp_expect_nothing(a, "at the end", why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result case_attack_relogin(struct ctx *c)
{
    return on_small_map(c, play_attack_relogin);
}

/* A direction that does not exist: the move goes nowhere and is answered
 * all the same (the contract: "always"). */
static enum result play_bad_direction(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b;
    static const int dirs[] = {9, -1, 4, 127};
    char why[WHY_SIZE], when[64];
    unsigned char want[PKT_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        uint32_t t = 77u + (uint32_t)i;
        snprintf(when, sizeof when, "A moves in direction %d", dirs[i]);
        sc_move(want, a->id, a->x, a->y, t);
        if (!gp_send_move(a, dirs[i], t, why, sizeof why) ||
            !gp_expect(a, want, when, why, sizeof why) ||
            !gp_expect(b, want, when, why, sizeof why))
            return fail(c, "%s", why);
    }
    return RES_PASS;
}

static enum result case_bad_direction(struct ctx *c)
{
    return on_small_map(c, play_bad_direction);
}

static enum result play_teleport(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b;
    char why[WHY_SIZE], t[160];
    unsigned char pkt[PKT_MAX], got[PKT_MAX];
    size_t n;
    n = mk_simple(pkt, CS_TELEPORT);
    for (int i = 0; i < 3; i++) {
        /* A: SC_MOVE_OBJECT{A, somewhere on the map, 0}; B, who sees the
         * whole 8x8 map, the same packet */
        if (!gp_send(a, pkt, n, why, sizeof why))
            return fail(c, "%s", why);
        if (gp_next(a, got, NET_TIMEOUT_MS, why, sizeof why) != NET_OK)
            return fail(c, "teleport %d, A's answer: %s", i + 1, why);
        if (got[1] != SC_MOVE_OBJECT || pkt_i32(got, OFF_ID) != a->id ||
            pkt_u32(got, OFF_MOVE_TIME) != 0)
            return fail(c,
                        "teleport %d: A got %s, expected SC_MOVE_OBJECT{id %d, x, y, "
                        "move_time 0}",
                        i + 1, pkt_text(got, t, sizeof t), a->id);
        if (!gp_expect(b, got, "A teleports, B sees it", why, sizeof why))
            return fail(c, "%s", why);
    }
    if (!gp_expect_nothing(a, "after the teleports", why, sizeof why) ||
        !gp_expect_nothing(b, "after the teleports", why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result case_teleport(struct ctx *c)
{
    return on_small_map(c, play_teleport);
}

/* ------------------------------------------------------------------------
 * Leaving: logout, close, reset
 * --------------------------------------------------------------------- */

static enum result play_logout_removal(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->a, *b = &f->b, *d = &f->d;
    char why[WHY_SIZE];
    unsigned char pkt[PKT_MAX], want[PKT_MAX];
    size_t n;
    n = mk_simple(pkt, CS_LOGOUT);
    sc_remove(want, a->id);
    if (!gp_send(a, pkt, n, why, sizeof why) ||
        !gp_expect(b, want, "A logs out, B", why, sizeof why) ||
        !gp_expect_end(a, 1, "A logs out", why, sizeof why) ||
        !gp_expect_nothing(b, "after A's logout", why, sizeof why))
        return fail(c, "%s", why);
    /* A is gone for good: a newcomer sees B only */
    add_of(want, b);
    if (!gp_login(d, f->srv.port, "carol", why, sizeof why) ||
        !gp_expect(d, want, "C's login after A's logout", why, sizeof why) ||
        !gp_expect_nothing(d, "C's login after A's logout: B only", why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result case_logout_removal(struct ctx *c)
{
    return on_small_map(c, play_logout_removal);
}

/* A witness W; C logs in, then closes (abortive: resets); W sees C come
 * and go, and is still served. */
static enum result leave_case(struct ctx *c, int abortive)
{
    char why[WHY_SIZE];
    unsigned char want[PKT_MAX];
    struct proc srv;
    struct gp w, d;
    enum result out = RES_PASS;
    if (!game_start(&srv, c->exe, 0, SMALL_MAP, 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&w, "W", 8, 8, 100);
    gp_init(&d, "C", 8, 8, 100);
    if (!gp_login(&w, srv.port, "witness", why, sizeof why) ||
        !gp_login(&d, srv.port, "carol", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, &w);
    if (!gp_expect(&d, want, "C's login, C sees W", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, &d);
    if (!gp_expect(&w, want, "C's login, W sees C", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_remove(want, d.id);
    gp_done(&d, abortive);
    if (!gp_expect(&w, want, abortive ? "C resets its connection" : "C closes its connection",
                   why, sizeof why) ||
        !gp_expect_nothing(&w, "after C left", why, sizeof why))
        out = fail(c, "%s", why);
done:
    gp_done(&w, 1);
    gp_done(&d, 1);
    return game_finish(c, &srv, out);
}

static enum result case_close_removal(struct ctx *c)
{
    return leave_case(c, 0);
}

static enum result case_reset_removal(struct ctx *c)
{
    return leave_case(c, 1);
}

/* ------------------------------------------------------------------------
 * edge-clamp: a step off the map is blocked and still answered
 * --------------------------------------------------------------------- */

static enum result case_edge_clamp(struct ctx *c)
{
    static const struct {
        int at_x, at_y; /* walk there first */
        int dir;
        uint32_t t;
        int x, y; /* the answer's position */
    } steps[] = {
        {0, 0, DIR_LEFT, 11, 0, 0},         {0, 0, DIR_UP, 12, 0, 0},
        {4, 4, DIR_RIGHT, 13, 4, 4},        {4, 4, DIR_DOWN, 14, 4, 4},
        {4, 4, DIR_UP, 0xFFFFFFFFu, 4, 3},  {0, 4, DIR_DOWN, 15, 0, 4},
        {4, 0, DIR_RIGHT, 16, 4, 0},        {4, 0, DIR_UP, 17, 4, 0},
    };
    char why[WHY_SIZE], when[96];
    unsigned char want[PKT_MAX];
    struct proc srv;
    struct gp a;
    enum result out = RES_PASS;
    if (!game_start(&srv, c->exe, 0, "-m 5x5 -v 2 -u 100", 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&a, "A", 5, 5, 100);
    if (!gp_login(&a, srv.port, "alice", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (!gp_walk(&a, steps[i].at_x, steps[i].at_y, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        snprintf(when, sizeof when, "at (%d, %d), a step %s", steps[i].at_x, steps[i].at_y,
                 dir_name(steps[i].dir));
        sc_move(want, a.id, steps[i].x, steps[i].y, steps[i].t);
        if (!gp_send_move(&a, steps[i].dir, steps[i].t, why, sizeof why) ||
            !gp_expect(&a, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    if (!gp_expect_nothing(&a, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    gp_done(&a, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * view-enter-leave: on a 50x50 map with range 3, A at (0,0), B at (0,10),
 * C at (40,40), each walked there from its spawn. B walks up into A's
 * view and out again; C, far away, hears nothing of it.
 * --------------------------------------------------------------------- */

static enum result case_view_enter_leave(struct ctx *c)
{
    char why[WHY_SIZE], when[64];
    unsigned char pkt[PKT_MAX], want[PKT_MAX];
    struct proc srv;
    struct gp g[3];
    static const char *const names[3] = {"alice", "bob", "carol"};
    static const int target[3][2] = {{0, 0}, {0, 10}, {40, 40}};
    struct gp *a = &g[0], *b = &g[1], *d = &g[2];
    enum result out = RES_PASS;
    int i, k;
    size_t n;
    if (!game_start(&srv, c->exe, 0, "-m 50x50 -v 3 -u 100", 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(a, "A", 50, 50, 100);
    gp_init(b, "B", 50, 50, 100);
    gp_init(d, "C", 50, 50, 100);
    /* Into place. On the way they may see each other for a while: the
     * tracker follows. Then two rounds of markers: after the first, every
     * walk's last move has been handled whole (a client's packets are
     * handled in order); the second collects what those moves sent. */
    for (i = 0; i < 3; i++)
        if (!gp_login(&g[i], srv.port, names[i], why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    for (i = 0; i < 3; i++)
        if (!gp_walk(&g[i], target[i][0], target[i][1], why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    for (k = 0; k < 2; k++)
        for (i = 0; i < 3; i++)
            if (!gp_sync(&g[i], "after walking into place", why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
    for (i = 0; i < 3; i++)
        if (g[i].nview != 0) {
            out = fail(c, "%s at (%d, %d), everyone 10 tiles apart or more, range 3: its view "
                          "still holds id %d (at (%d, %d))",
                       g[i].label, g[i].x, g[i].y, g[i].view[0].id, g[i].view[0].x,
                       g[i].view[0].y);
            goto done;
        }

    /* B up 6 times, to (0,4): only B's own answers */
    for (k = 1; k <= 6; k++) {
        snprintf(when, sizeof when, "B's step %d up, from (0, %d)", k, 11 - k);
        sc_move(want, b->id, 0, 10 - k, (uint32_t)k);
        if (!gp_send_move(b, DIR_UP, (uint32_t)k, why, sizeof why) ||
            !gp_expect(b, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    if (!gp_expect_nothing(b, "B at (0,4), A at (0,0), range 3", why, sizeof why) ||
        !gp_expect_nothing(a, "B at (0,4), A at (0,0), range 3", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* up once more, to (0,3): into view, both ways */
    sc_move(want, b->id, 0, 3, 7);
    if (!gp_send_move(b, DIR_UP, 7, why, sizeof why) ||
        !gp_expect(b, want, "B steps to (0,3), its answer first", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, a);
    if (!gp_expect(b, want, "B steps to (0,3), within 3 of A", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, b);
    if (!gp_expect(a, want, "B steps to (0,3), A sees B come", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* right, to (1,3): still in view, A gets the move */
    sc_move(want, b->id, 1, 3, 8);
    if (!gp_send_move(b, DIR_RIGHT, 8, why, sizeof why) ||
        !gp_expect(b, want, "B steps to (1,3)", why, sizeof why) ||
        !gp_expect(a, want, "B steps to (1,3), A sees it", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* A's chat: A and B, not C */
    n = mk_chat(pkt, "in view", 8);
    sc_chat(want, a->id, "in view", 7);
    if (!gp_send(a, pkt, n, why, sizeof why) ||
        !gp_expect(a, want, "A's chat, to A", why, sizeof why) ||
        !gp_expect(b, want, "A's chat, to B", why, sizeof why) ||
        !gp_expect_nothing(a, "after A's chat", why, sizeof why) ||
        !gp_expect_nothing(d, "A's chat, C 40 tiles away", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* down, to (1,4): out of view, both ways */
    sc_move(want, b->id, 1, 4, 9);
    if (!gp_send_move(b, DIR_DOWN, 9, why, sizeof why) ||
        !gp_expect(b, want, "B steps to (1,4), its answer first", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_remove(want, a->id);
    if (!gp_expect(b, want, "B steps to (1,4), 4 from A", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_remove(want, b->id);
    if (!gp_expect(a, want, "B steps to (1,4), A sees B go", why, sizeof why) ||
        !gp_expect_nothing(a, "at the end", why, sizeof why) ||
        !gp_expect_nothing(b, "at the end", why, sizeof why) ||
        !gp_expect_nothing(d, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    for (i = 0; i < 3; i++)
        gp_done(&g[i], 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * Reassembly: packets split at every byte, and several in one send
 * --------------------------------------------------------------------- */

static int send_pieces(struct gp *p, const unsigned char *data, size_t len, size_t piece,
                       DWORD pause_ms, char *why, size_t whysz)
{
    for (size_t off = 0; off < len; off += piece) {
        if (off > 0)
            Sleep(pause_ms); /* so that the pieces travel apart */
        if (!gp_send(p, data + off, len - off < piece ? len - off : piece, why, whysz))
            return 0;
    }
    return 1;
}

static enum result case_split_packets(struct ctx *c)
{
    char why[WHY_SIZE], when[64];
    unsigned char pkt[PKT_MAX], want[PKT_MAX];
    struct proc srv;
    struct gp a;
    enum result out = RES_PASS;
    size_t n;
    if (!game_start(&srv, c->exe, 0, SMALL_MAP, 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&a, "A", 8, 8, 100);
    snprintf(a.name, sizeof a.name, "alice");
    if (!gp_connect(&a, srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* CS_LOGIN one byte at a time */
    n = mk_login(pkt, "alice");
    if (!send_pieces(&a, pkt, n, 1, 20, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    if (gp_next(&a, pkt, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
        out = fail(c, "CS_LOGIN sent one byte at a time: %s", why);
        goto done;
    }
    /* CS_MOVE cut after each of its bytes */
    for (size_t cut = 1; cut < sizeof(CS_MOVE_PACKET); cut++) {
        int dir = a.x < 4 ? DIR_RIGHT : DIR_LEFT, x = a.x, y = a.y;
        uint32_t t = 1000u + (uint32_t)cut;
        step_from(dir, 8, 8, &x, &y);
        snprintf(when, sizeof when, "CS_MOVE in two pieces, cut after byte %u", (unsigned)cut);
        n = mk_move(pkt, dir, t);
        sc_move(want, a.id, x, y, t);
        if (!gp_send(&a, pkt, cut, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        Sleep(50); /* the first piece arrives alone */
        if (!gp_send(&a, pkt + cut, n - cut, why, sizeof why) ||
            !gp_expect(&a, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    /* CS_CHAT in three pieces: the header, most of the text, the rest */
    n = mk_chat(pkt, "split chat", 11);
    sc_chat(want, a.id, "split chat", 10);
    if (!gp_send(&a, pkt, 1, why, sizeof why) ||
        !send_pieces(&a, pkt + 1, n - 1, 60, 50, why, sizeof why) ||
        !gp_expect(&a, want, "CS_CHAT in three pieces", why, sizeof why) ||
        !gp_expect_nothing(&a, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    gp_done(&a, 1);
    return game_finish(c, &srv, out);
}

#define BURST_MOVES 100

static enum result case_coalesced_packets(struct ctx *c)
{
    char why[WHY_SIZE], when[64], st[64];
    unsigned char *burst, want[PKT_MAX];
    struct proc srv;
    struct gp a;
    enum result out = RES_PASS;
    size_t n = 0, got = 0;
    int x, y, err = 0;
    enum net_status r;
    burst = (unsigned char *)malloc(BURST_MOVES * sizeof(CS_MOVE_PACKET) + 3 * PKT_MAX);
    if (burst == NULL)
        return fail(c, "out of memory");
    if (!game_start(&srv, c->exe, 0, SMALL_MAP, 1, why, sizeof why)) {
        free(burst);
        return fail(c, "%s", why);
    }
    gp_init(&a, "A", 8, 8, 100);
    snprintf(a.name, sizeof a.name, "alice");
    if (!gp_connect(&a, srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* CS_LOGIN and a CS_MOVE in one send: the move is handled after the
     * login, not taken as part of it nor as a move before it */
    n = mk_login(burst, "alice");
    n += mk_move(burst + n, DIR_RIGHT, 1);
    if (!gp_send(&a, burst, n, why, sizeof why) ||
        gp_next(&a, want, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
        out = fail(c, "CS_LOGIN and CS_MOVE in one send: %s", why);
        goto done;
    }
    x = a.x;
    y = a.y;
    step_from(DIR_RIGHT, 8, 8, &x, &y);
    sc_move(want, a.id, x, y, 1);
    if (!gp_expect(&a, want, "CS_LOGIN and CS_MOVE in one send", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* 100 moves in one send: 100 answers, in order */
    n = 0;
    for (int i = 0; i < BURST_MOVES; i++)
        n += mk_move(burst + n, (i / 3) % 4, 2000u + (uint32_t)i);
    if (!gp_send(&a, burst, n, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int i = 0; i < BURST_MOVES; i++) {
        step_from((i / 3) % 4, 8, 8, &x, &y);
        sc_move(want, a.id, x, y, 2000u + (uint32_t)i);
        snprintf(when, sizeof when, "%d CS_MOVEs in one send, answer %d", BURST_MOVES, i + 1);
        if (!gp_expect(&a, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    /* a chat, a move, and the first 4 bytes of another move */
    n = mk_chat(burst, "coalesced", 10);
    n += mk_move(burst + n, DIR_NOWHERE, 42);
    n += mk_move(burst + n, DIR_NOWHERE, 43);
    if (!gp_send(&a, burst, n - 3, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_chat(want, a.id, "coalesced", 9);
    if (!gp_expect(&a, want, "CS_CHAT, CS_MOVE and half a CS_MOVE in one send", why,
                   sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_move(want, a.id, x, y, 42);
    if (!gp_expect(&a, want, "CS_CHAT, CS_MOVE and half a CS_MOVE in one send", why,
                   sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* the half move is not answered: a packet is left half sent here, so
     * this is the one place that waits for silence */
    r = net_recv_some(a.s, a.rb + a.rlen, sizeof a.rb - a.rlen, 500, &got, &err);
    if (a.rlen > 0 || r == NET_OK) {
        out = fail(c, "4 bytes of a 7-byte CS_MOVE: %llu bytes came back before the rest was "
                      "sent",
                   (unsigned long long)(a.rlen + got));
        goto done;
    }
    if (r != NET_TIMEOUT) {
        out = fail(c, "4 bytes of a 7-byte CS_MOVE: %s", net_status_text(r, err, st, sizeof st));
        goto done;
    }
    sc_move(want, a.id, x, y, 43);
    if (!gp_send(&a, burst + n - 3, 3, why, sizeof why) ||
        !gp_expect(&a, want, "the last 3 bytes of the CS_MOVE", why, sizeof why) ||
        !gp_expect_nothing(&a, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    free(burst);
    gp_done(&a, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * malformed: each kind of bad packet ends that client only, with a log
 * line; a witness W, logged in all along, is still served
 * --------------------------------------------------------------------- */

struct bad_packet {
    const char *what;
    int in_game; /* sent after a good CS_LOGIN */
    size_t len;
    unsigned char bytes[12];
};

static const struct bad_packet bad_packets[] = {
    {"size 0", 0, 2, {0x00, 0x01}},
    {"size 1", 0, 2, {0x01, 0x01}},
    {"unknown type 9", 0, 2, {0x02, 0x09}},
    {"unknown type 200", 0, 7, {0x07, 0xC8, 0, 0, 0, 0, 0}},
    {"size 8 for CS_MOVE", 0, 8, {0x08, 0x01, 0x00, 0x01, 0, 0, 0, 0}},
    {"size 12 for CS_LOGIN", 0, 12, {0x0C, 0x00, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0}},
    {"CS_MOVE before CS_LOGIN", 0, 7, {0x07, 0x01, 0x03, 1, 0, 0, 0}},
    {"CS_CHAT before CS_LOGIN", 0, 0, {0}}, /* built below: 102 bytes */
    {"CS_ATTACK before CS_LOGIN", 0, 2, {0x02, 0x03}},
    {"CS_TELEPORT before CS_LOGIN", 0, 2, {0x02, 0x04}},
    {"CS_LOGOUT before CS_LOGIN", 0, 2, {0x02, 0x05}},
    {"size 1, in game", 1, 2, {0x01, 0x01}},
    {"unknown type 6, in game", 1, 2, {0x02, 0x06}},
    {"size 3 for CS_TELEPORT, in game", 1, 3, {0x03, 0x04, 0x00}},
    {"size 2 for CS_LOGIN, in game", 1, 2, {0x02, 0x00}},
    {"a good CS_MOVE, then size 0, in one send", 1, 8, {0x07, 0x01, 0x09, 5, 0, 0, 0, 0x00}},
};
#define N_BAD_PACKETS (sizeof bad_packets / sizeof bad_packets[0])

static const char *const bad_words[] = {"bad", "malformed", "invalid", NULL};

static enum result case_malformed(struct ctx *c)
{
    char why[WHY_SIZE], when[96], line[256];
    unsigned char chat[PKT_MAX], want[PKT_MAX];
    struct proc srv;
    struct gp w, m;
    struct log_mark lm;
    enum result out = RES_PASS;
    size_t i;
    if (!game_start(&srv, c->exe, 0, SMALL_MAP, 0, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&w, "W", 8, 8, 100);
    gp_init(&m, "M", 8, 8, 100);
    if (!gp_login(&w, srv.port, "witness", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    mk_chat(chat, "before login", 13);
    for (i = 0; i < N_BAD_PACKETS; i++) {
        const struct bad_packet *bp = &bad_packets[i];
        const unsigned char *bytes = bp->len > 0 ? bp->bytes : chat;
        size_t len = bp->len > 0 ? bp->len : sizeof(CS_CHAT_PACKET);
        snprintf(when, sizeof when, "bad packet (%s)", bp->what);
        gp_init(&m, "M", 8, 8, 100);
        if (bp->in_game) {
            if (!gp_login(&m, srv.port, "mallet", why, sizeof why)) {
                out = fail(c, "%s: %s", when, why);
                goto done;
            }
            add_of(want, &w);
            if (!gp_expect(&m, want, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
            add_of(want, &m);
            if (!gp_expect(&w, want, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        } else if (!gp_connect(&m, srv.port, why, sizeof why)) {
            out = fail(c, "%s: %s", when, why);
            goto done;
        }
        log_mark(&srv, &lm);
        if (!gp_send(&m, bytes, len, why, sizeof why)) {
            out = fail(c, "%s: %s", when, why);
            goto done;
        }
        if (bytes[0] == 0x07 && bytes[1] == CS_MOVE && bp->in_game) {
            /* the good move first: answered to M and to W */
            sc_move(want, m.id, m.x, m.y, 5);
            if (!gp_expect(&m, want, when, why, sizeof why) ||
                !gp_expect(&w, want, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        }
        if (!gp_expect_end(&m, 0, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        if (bp->in_game) {
            sc_remove(want, m.id);
            if (!gp_expect(&w, want, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        }
        gp_done(&m, 1);
        if (!gp_expect_nothing(&w, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        if (!log_wait_new(&srv, &lm, bad_words, 5000, line, sizeof line)) {
            out = fail(c, "%s: the connection was closed without a log line saying why "
                          "(none with \"bad\", \"malformed\" or \"invalid\" within 5 s)",
                       when);
            goto done;
        }
        info(c, "%s: %s", bp->what, line);
    }
done:
    gp_done(&w, 1);
    gp_done(&m, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * full-server: -u 2; the third login is refused; a slot freed is reused
 * --------------------------------------------------------------------- */

static enum result case_full_server(struct ctx *c)
{
    char why[WHY_SIZE], st[64], t[160];
    unsigned char pkt[PKT_MAX], want[PKT_MAX], got[PKT_MAX];
    struct proc srv;
    struct gp a, b, d, e;
    enum result out = RES_PASS;
    size_t n, k = 0;
    int err = 0, a_id, tries;
    enum net_status r;
    if (!game_start(&srv, c->exe, 0, "-m 8x8 -v 7 -u 2", 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&a, "A", 8, 8, 2);
    gp_init(&b, "B", 8, 8, 2);
    gp_init(&d, "C", 8, 8, 2);
    gp_init(&e, "D", 8, 8, 2);
    if (!two_players(srv.port, &a, &b, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* the third: SC_LOGIN_FAIL, then the end of the stream */
    n = mk_login(pkt, "carol");
    if (!gp_connect(&d, srv.port, why, sizeof why) || !gp_send(&d, pkt, n, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    r = gp_raw(&d, got, NET_TIMEOUT_MS, why, sizeof why);
    if (r != NET_OK) {
        out = fail(c, "a third login with -u 2: expected SC_LOGIN_FAIL: %s", why);
        goto done;
    }
    if (got[1] != SC_LOGIN_FAIL) {
        out = fail(c, "a third login with -u 2: got %s, expected SC_LOGIN_FAIL",
                   pkt_text(got, t, sizeof t));
        goto done;
    }
    r = net_recv_some(d.s, got, sizeof got, NET_TIMEOUT_MS, &k, &err);
    if (r == NET_OK) {
        out = fail(c, "a third login with -u 2: %llu more bytes after SC_LOGIN_FAIL (expected "
                      "the end of the stream)",
                   (unsigned long long)k);
        goto done;
    }
    if (r != NET_EOF && r != NET_RESET) {
        out = fail(c, "a third login with -u 2: after SC_LOGIN_FAIL: %s (expected the end of "
                      "the stream)",
                   net_status_text(r, err, st, sizeof st));
        goto done;
    }
    if (!gp_expect_nothing(&a, "after the refused login", why, sizeof why) ||
        !gp_expect_nothing(&b, "after the refused login", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* A leaves; B sees it; D gets A's slot, once it is free (the server
     * frees it when A's last operation has completed: try again until) */
    a_id = a.id;
    gp_done(&a, 0);
    sc_remove(want, a_id);
    if (!gp_expect(&b, want, "A closes", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (tries = 0; tries < 40; tries++) {
        snprintf(e.name, sizeof e.name, "dave");
        n = mk_login(pkt, "dave");
        if (!gp_connect(&e, srv.port, why, sizeof why) || !gp_send(&e, pkt, n, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        r = gp_raw(&e, got, NET_TIMEOUT_MS, why, sizeof why);
        if (r != NET_OK) {
            out = fail(c, "D's login, after A left: %s", why);
            goto done;
        }
        if (got[1] != SC_LOGIN_FAIL)
            break;
        gp_done(&e, 1);
        gp_init(&e, "D", 8, 8, 2);
        Sleep(250); /* A's slot is not free yet: again in a moment */
    }
    if (tries == 40) {
        out = fail(c, "after A left, D's login was refused 40 times over 10 s: the slot was "
                      "not freed");
        goto done;
    }
    {
        int echo = 0;
        if (!gp_track(&e, got, &echo, why, sizeof why)) {
            out = fail(c, "D's login, after A left: %s", why);
            goto done;
        }
    }
    if (e.id != a_id) {
        out = fail(c, "D got id %d; with -u 2 and B holding id %d, the free id is A's, %d", e.id,
                   b.id, a_id);
        goto done;
    }
    add_of(want, &b);
    if (!gp_expect(&e, want, "D's login in A's slot", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, &e);
    if (!gp_expect(&b, want, "D's login in A's slot, B sees D", why, sizeof why) ||
        !gp_expect_nothing(&b, "at the end", why, sizeof why) ||
        !gp_expect_nothing(&e, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
    else if (tries > 0)
        info(c, "D's login was refused %d times before A's slot was free", tries);
done:
    gp_done(&a, 1);
    gp_done(&b, 1);
    gp_done(&d, 1);
    gp_done(&e, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * slow-reader: a player that reads nothing is disconnected once its send
 * queue is full; the others go on
 * --------------------------------------------------------------------- */

#define FLOOD_BATCH 100
#define FLOOD_MAX_BYTES (16u << 20) /* owed to the slow reader: then it is a FAIL */
#define FLOOD_MAX_MS 45000          /* then a SKIP: this machine is too slow for it */

static enum result case_slow_reader(struct ctx *c)
{
    char why[WHY_SIZE], line[256];
    unsigned char *batch = NULL, want[PKT_MAX];
    struct proc srv;
    struct gp t, s, u;
    struct log_mark lm;
    enum result out = RES_PASS;
    unsigned long long owed = 0;
    ULONGLONG t0;
    size_t n = 0;
    int k;
    static const char *const queue_words[] = {"send queue", "queue", NULL};
    if (!game_start(&srv, c->exe, 0, SMALL_MAP, 1, why, sizeof why))
        return fail(c, "%s", why);
    gp_init(&t, "T (talker)", 8, 8, 100);
    gp_init(&s, "S (slow reader)", 8, 8, 100);
    gp_init(&u, "U", 8, 8, 100);
    batch = (unsigned char *)malloc(FLOOD_BATCH * sizeof(CS_CHAT_PACKET));
    if (batch == NULL) {
        out = fail(c, "out of memory");
        goto done;
    }
    if (!gp_login(&t, srv.port, "talker", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* S: a small receive buffer, so that little waits on the way */
    s.s = net_connect_rcvbuf(srv.port, 4096, CONNECT_MS, why, sizeof why);
    if (s.s == INVALID_SOCKET || !gp_login(&s, srv.port, "sloth", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, &s);
    if (!gp_expect(&t, want, "S's login, T sees S", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    log_mark(&srv, &lm);
    /* S reads no more. T chats, 100 at a time, reads its own chats back,
     * until the server drops S (T gets SC_REMOVE_OBJECT{S}). */
    for (k = 0; k < FLOOD_BATCH; k++) {
        char text[32];
        int len = snprintf(text, sizeof text, "flood %d", k);
        n = (size_t)k * sizeof(CS_CHAT_PACKET);
        mk_chat(batch + n, text, (size_t)len + 1);
    }
    n = FLOOD_BATCH * sizeof(CS_CHAT_PACKET);
    t0 = now_ms();
    while (gp_find(&t, s.id) >= 0) {
        if (owed >= FLOOD_MAX_BYTES) {
            out = fail(c, "a player that reads nothing was sent %llu MiB of chat and is still "
                          "connected: its send queue has no bound",
                       owed >> 20);
            goto done;
        }
        if (now_ms() - t0 > FLOOD_MAX_MS) {
            out = skip(c, "%llu KiB of chat sent to a player that reads nothing within %d s, "
                          "and it is still connected: not enough to fill the buffers on the way "
                          "on this machine",
                       owed >> 10, FLOOD_MAX_MS / 1000);
            goto done;
        }
        if (!gp_send(&t, batch, n, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        for (k = 0; k < FLOOD_BATCH;) {
            unsigned char got[PKT_MAX];
            if (gp_next(&t, got, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
                out = fail(c, "T, flooding: %s", why);
                goto done;
            }
            if (got[1] == SC_CHAT && pkt_i32(got, OFF_ID) == t.id)
                k++;
        }
        owed += FLOOD_BATCH * sizeof(SC_CHAT_PACKET);
    }
    info(c, "S was dropped after %llu KiB of chat, %llu ms", owed >> 10,
         (unsigned long long)(now_ms() - t0));
    if (log_wait_new(&srv, &lm, queue_words, 2000, line, sizeof line))
        info(c, "%s", line);
    /* the server goes on: T's move answered, a newcomer served */
    if (!gp_sync(&t, "after S was dropped", why, sizeof why) ||
        !gp_login(&u, srv.port, "newcomer", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, &t);
    if (!gp_expect(&u, want, "a newcomer after S was dropped", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    add_of(want, &u);
    if (!gp_expect(&t, want, "a newcomer after S was dropped, T sees it", why, sizeof why))
        out = fail(c, "%s", why);
done:
    free(batch);
    gp_done(&t, 1);
    gp_done(&s, 1);
    gp_done(&u, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * many-players: 300 players on a 20x20 map, range 4, all moving at once
 * --------------------------------------------------------------------- */

#define MANY 300
#define MANY_SIDE 20
#define MANY_RANGE 4
#define MANY_ROUNDS 5
#define MANY_BATCH 50

static enum result case_many_players(struct ctx *c)
{
    char why[WHY_SIZE], label[32], name[NAME_SIZE];
    struct proc srv;
    struct gp *g;
    struct prng rnd;
    enum result out = RES_PASS;
    ULONGLONG t0 = now_ms();
    int i, j, r;
    int dirs[MANY];
    char opts[64];

    g = (struct gp *)calloc(MANY, sizeof *g);
    if (g == NULL)
        return fail(c, "out of memory");
    for (i = 0; i < MANY; i++) {
        snprintf(label, sizeof label, "player %d", i + 1);
        gp_init(&g[i], label, MANY_SIDE, MANY_SIDE, MANY + 100);
    }
    snprintf(opts, sizeof opts, "-m %dx%d -v %d -u %d", MANY_SIDE, MANY_SIDE, MANY_RANGE,
             MANY + 100);
    if (!game_start(&srv, c->exe, 0, opts, 1, why, sizeof why)) {
        free(g);
        return fail(c, "%s", why);
    }
    /* Log in, a batch at a time: each batch's logins all sent, then each
     * answer read (and the adds that come with the others' logins). */
    for (i = 0; i < MANY; i += MANY_BATCH) {
        int end = i + MANY_BATCH < MANY ? i + MANY_BATCH : MANY;
        for (j = i; j < end; j++) {
            g[j].s = net_connect_start(srv.port, why, sizeof why);
            if (g[j].s == INVALID_SOCKET) {
                out = fail(c, "%s: %s", g[j].label, why);
                goto done;
            }
        }
        for (j = i; j < end; j++) {
            unsigned char pkt[PKT_MAX];
            size_t n;
            if (!net_connect_wait(g[j].s, CONNECT_MS, why, sizeof why)) {
                out = fail(c, "%s: %s", g[j].label, why);
                goto done;
            }
            net_nodelay(g[j].s);
            snprintf(name, sizeof name, "p%d", j);
            snprintf(g[j].name, sizeof g[j].name, "%s", name);
            n = mk_login(pkt, name);
            if (!gp_send(&g[j], pkt, n, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        }
        for (j = i; j < end; j++) {
            unsigned char pkt[PKT_MAX];
            if (gp_next(&g[j], pkt, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
                out = fail(c, "login: %s", why);
                goto done;
            }
        }
    }
    info(c, "%d players logged in after %llu ms", MANY, (unsigned long long)(now_ms() - t0));
    /* Rounds: every player sends a move, then every answer is read. */
    prng_seed(&rnd, 2024);
    for (r = 0; r < MANY_ROUNDS; r++) {
        for (i = 0; i < MANY; i++) {
            dirs[i] = (int)(prng_next(&rnd) % 4);
            if (!gp_send_move(&g[i], dirs[i], ((uint32_t)(r + 1) << 16) | (uint32_t)i, why,
                              sizeof why)) {
                out = fail(c, "round %d: %s", r + 1, why);
                goto done;
            }
        }
        for (i = 0; i < MANY; i++) {
            int x = g[i].x, y = g[i].y;
            step_from(dirs[i], MANY_SIDE, MANY_SIDE, &x, &y);
            if (!gp_await_move(&g[i], ((uint32_t)(r + 1) << 16) | (uint32_t)i, "moving at once",
                               why, sizeof why)) {
                out = fail(c, "round %d: %s", r + 1, why);
                goto done;
            }
            if (g[i].x != x || g[i].y != y) {
                out = fail(c, "round %d: %s's move was answered with (%d, %d), expected (%d, %d)",
                           r + 1, g[i].label, g[i].x, g[i].y, x, y);
                goto done;
            }
        }
    }
    info(c, "%d rounds of %d moves done after %llu ms", MANY_ROUNDS, MANY,
         (unsigned long long)(now_ms() - t0));
    /* Quiet: two rounds of markers (see view-enter-leave), then every
     * player's view must be exactly the players within range, where they
     * are. */
    for (r = 0; r < 2; r++)
        for (i = 0; i < MANY; i++)
            if (!gp_sync(&g[i], "after the moves", why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
    for (i = 0; i < MANY; i++) {
        int expected = 0;
        for (j = 0; j < MANY; j++) {
            int in_range, k;
            if (j == i)
                continue;
            in_range = abs(g[i].x - g[j].x) <= MANY_RANGE && abs(g[i].y - g[j].y) <= MANY_RANGE;
            k = gp_find(&g[i], g[j].id);
            expected += in_range;
            if (in_range && k < 0) {
                out = fail(c, "%s (id %d) at (%d, %d) does not know %s (id %d) at (%d, %d), "
                              "within range %d",
                           g[i].label, g[i].id, g[i].x, g[i].y, g[j].label, g[j].id, g[j].x,
                           g[j].y, MANY_RANGE);
                goto done;
            }
            if (!in_range && k >= 0) {
                out = fail(c, "%s (id %d) at (%d, %d) still has %s (id %d) in view, at (%d, %d) "
                              "out of range %d",
                           g[i].label, g[i].id, g[i].x, g[i].y, g[j].label, g[j].id, g[j].x,
                           g[j].y, MANY_RANGE);
                goto done;
            }
            if (k >= 0 && (g[i].view[k].x != g[j].x || g[i].view[k].y != g[j].y)) {
                out = fail(c, "%s (id %d) sees %s (id %d) at (%d, %d); it is at (%d, %d)",
                           g[i].label, g[i].id, g[j].label, g[j].id, g[i].view[k].x,
                           g[i].view[k].y, g[j].x, g[j].y);
                goto done;
            }
        }
        if (g[i].nview != expected) {
            out = fail(c, "%s (id %d) has %d objects in view, expected %d", g[i].label, g[i].id,
                       g[i].nview, expected);
            goto done;
        }
    }
    info(c, "views consistent after %llu ms", (unsigned long long)(now_ms() - t0));
done:
    for (i = 0; i < MANY; i++)
        gp_done(&g[i], 1);
    free(g);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * The client programs: client.exe game --script, client.exe stress
 * --------------------------------------------------------------------- */

/* The id in a "login ID X Y" line, or -1. */
static int login_line_id(struct proc *p)
{
    char line[128], *end;
    long v;
    if (!proc_find_line(p, OUT_STREAM, "login ", 1, line, sizeof line))
        return -1;
    v = strtol(line + 6, &end, 10);
    return end == line + 6 || v < 0 || v > 1000000 ? -1 : (int)v;
}

static int ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && strcmp(s + n - m, end) == 0;
}

static enum result case_game_client_script(struct ctx *c)
{
    static const char a_script[] = "move left\nmove right\nwait 30000\nquit\n";
    static const char b_script[] =
        "move up\nmove down\nchat hello from bob\nlook\nquit\n";
    char why[WHY_SIZE], client[MAX_PATH * 2], args[96], want[64], tail[WHY_SIZE / 2];
    char line[256];
    struct proc srv, a, b;
    enum result out = RES_PASS;
    int a_id, b_id, have_a = 0, have_b = 0;

    exe_path("client", client, sizeof client);
    if (!file_exists(client))
        return skip(c, "needs build/client.exe, which is not built");
    if (!game_start(&srv, c->exe, 0, "-m 6x6 -v 7 -u 100", 1, why, sizeof why))
        return fail(c, "%s", why);
    /* A first: logged in, its two moves answered */
    snprintf(args, sizeof args, "game --script -p %u -n alice", (unsigned)srv.port);
    if (!proc_start_input(&a, client, args, a_script, strlen(a_script), why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    have_a = 1;
    if (wait_lines(&a, "rtt ", 2, 15000) < 2) {
        proc_tail(&a, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "A (`client.exe %s`, script \"move left, move right\"): not two \"rtt "
                      "MS\" lines within 15 s; stdout: %s",
                   args, tail[0] ? tail : "(empty)");
        goto done;
    }
    a_id = login_line_id(&a);
    if (a_id < 0) {
        proc_tail(&a, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "A: no \"login ID X Y\" line; stdout: %s", tail[0] ? tail : "(empty)");
        goto done;
    }
    /* then B, who moves and chats, and quits */
    snprintf(args, sizeof args, "game --script -p %u -n bob", (unsigned)srv.port);
    if (!proc_start_input(&b, client, args, b_script, strlen(b_script), why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    have_b = 1;
    if (!proc_wait(&b, CLIENT_MS)) {
        proc_tail(&b, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "B: still running after %d s; stdout: %s", CLIENT_MS / 1000,
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    proc_drain(&b, 2000);
    proc_tail(&b, OUT_STREAM, tail, sizeof tail);
    b_id = login_line_id(&b);
    if (b.exit_code != 0) {
        out = fail(c, "B: exit status %lu (expected 0); stdout: %s", (unsigned long)b.exit_code,
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    if (b_id < 0 || b_id == a_id) {
        out = fail(c, "B: no \"login ID X Y\" line with an id of its own; stdout: %s", tail);
        goto done;
    }
    snprintf(want, sizeof want, "add %d ", a_id);
    if (!proc_find_line(&b, OUT_STREAM, want, 1, line, sizeof line) ||
        !ends_with(line, " alice")) {
        out = fail(c, "B: no \"add %d X Y alice\" line (A, in view on a 6x6 map); stdout: %s",
                   a_id, tail);
        goto done;
    }
    if (wait_lines(&b, "rtt ", 2, 0) != 2) {
        out = fail(c, "B: not two \"rtt MS\" lines for its two moves; stdout: %s", tail);
        goto done;
    }
    snprintf(want, sizeof want, "chat %d hello from bob", b_id);
    if (!proc_find_line(&b, OUT_STREAM, want, 1, NULL, 0)) {
        out = fail(c, "B: no \"%s\" line (its own chat); stdout: %s", want, tail);
        goto done;
    }
    snprintf(want, sizeof want, "see %d ", a_id);
    if (!proc_find_line(&b, OUT_STREAM, want, 1, NULL, 0)) {
        out = fail(c, "B: `look` printed no \"see %d X Y alice\" line; stdout: %s", a_id, tail);
        goto done;
    }
    if (proc_find_line(&b, OUT_STREAM, "fail", 1, why, sizeof why)) {
        out = fail(c, "B printed \"%s\"", why);
        goto done;
    }
    /* A saw B come, move, chat and go */
    snprintf(want, sizeof want, "remove %d", b_id);
    if (wait_lines(&a, want, 1, 15000) < 1) {
        proc_tail(&a, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "A: no \"%s\" line within 15 s of B's exit; stdout: %s", want,
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    proc_tail(&a, OUT_STREAM, tail, sizeof tail);
    snprintf(want, sizeof want, "add %d ", b_id);
    if (!proc_find_line(&a, OUT_STREAM, want, 1, line, sizeof line) ||
        !ends_with(line, " bob")) {
        out = fail(c, "A: no \"add %d X Y bob\" line; stdout: %s", b_id, tail);
        goto done;
    }
    snprintf(want, sizeof want, "move %d ", b_id);
    if (wait_lines(&a, want, 2, 0) < 2) {
        out = fail(c, "A: fewer than two \"move %d X Y\" lines (B's two moves); stdout: %s",
                   b_id, tail);
        goto done;
    }
    snprintf(want, sizeof want, "chat %d hello from bob", b_id);
    if (!proc_find_line(&a, OUT_STREAM, want, 1, NULL, 0)) {
        out = fail(c, "A: no \"%s\" line; stdout: %s", want, tail);
        goto done;
    }
    if (proc_find_line(&a, OUT_STREAM, "fail", 1, why, sizeof why))
        out = fail(c, "A printed \"%s\"", why);
done:
    if (have_a)
        proc_stop(&a); /* its script waits on: it has shown what it had to */
    if (have_b)
        proc_stop(&b);
    return game_finish(c, &srv, out);
}

static enum result case_stress_fixed(struct ctx *c)
{
    char why[WHY_SIZE], client[MAX_PATH * 2], args[96], line[512], tail[WHY_SIZE / 2];
    struct proc srv, p;
    enum result out = RES_PASS;

    exe_path("client", client, sizeof client);
    if (!file_exists(client))
        return skip(c, "needs build/client.exe, which is not built");
    if (!game_start(&srv, c->exe, 0, "", 1, why, sizeof why))
        return fail(c, "%s", why);
    snprintf(args, sizeof args, "stress -p %u --fixed 20 --duration 5", (unsigned)srv.port);
    if (!proc_start(&p, client, args, why, sizeof why)) {
        proc_stop(&srv);
        return fail(c, "%s", why);
    }
    if (!proc_wait(&p, 60000)) {
        proc_tail(&p, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "`client.exe %s` still running after 60 s; stdout: %s", args,
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    proc_drain(&p, 2000);
    proc_tail(&p, OUT_STREAM, tail, sizeof tail);
    if (p.exit_code != 0)
        out = fail(c, "`client.exe %s`: exit status %lu (expected 0); stdout: %s", args,
                   (unsigned long)p.exit_code, tail[0] ? tail : "(empty)");
    else if (!proc_find_line(&p, OUT_STREAM, "stress: result:", 1, line, sizeof line))
        out = fail(c, "no line \"stress: result: ...\"; stdout: %s", tail[0] ? tail : "(empty)");
    else if (strstr(line, " 20 dummies held") == NULL || strstr(line, "failures 0") == NULL)
        out = fail(c, "\"%s\": expected 20 dummies held and failures 0", line);
    else
        info(c, "%s", line);
done:
    proc_stop(&p);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * npcs: on a 28x28 map with range 3 and 4 NPCs, a player sweeps the map
 * until an NPC comes into view (an id from -u on), walks up to it and
 * sees it move; then a server with -n 200000 starts and serves a player
 * --------------------------------------------------------------------- */

#define NPC_USERS 10
#define NPC_SIDE 28
#define NPC_RANGE 3
#define NPC_WAIT_MS 15000

/* The first NPC in the player's view, or -1. */
static int npc_in_view(const struct gp *p)
{
    for (int i = 0; i < p->nview; i++)
        if (p->view[i].id >= NPC_USERS)
            return i;
    return -1;
}

static enum result case_npcs(struct ctx *c)
{
    /* rows 7 apart cover the map with range 3: y = 3, 10, 17, 24 */
    static const int sweep[][2] = {{0, 3},   {27, 3},  {27, 10}, {0, 10},
                                   {0, 17},  {27, 17}, {27, 24}, {0, 24}};
    char why[WHY_SIZE], opts[64];
    unsigned char pkt[PKT_MAX];
    struct proc srv;
    struct gp a;
    enum result out = RES_PASS;
    int k = -1, leg = 0, id, moves0, rounds;
    ULONGLONG until;

    snprintf(opts, sizeof opts, "-m %dx%d -v %d -u %d", NPC_SIDE, NPC_SIDE, NPC_RANGE, NPC_USERS);
    if (!game_start(&srv, c->exe, 4, opts, 1, why, sizeof why)) {
        if (strstr(why, "(status 2)") != NULL)
            return skip(c, "NPCs not implemented (-n 4 is a bad argument for this server)");
        return fail(c, "%s", why);
    }
    gp_init(&a, "A", NPC_SIDE, NPC_SIDE, NPC_USERS);
    if (!gp_login(&a, srv.port, "hunter", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (rounds = 0; rounds < 3; rounds++) {
        /* sweep until an NPC comes into view: at most twice round */
        int last_leg = leg + 2 * (int)(sizeof sweep / sizeof sweep[0]);
        k = npc_in_view(&a);
        while (k < 0 && leg < last_leg) {
            const int *to = sweep[leg % (sizeof sweep / sizeof sweep[0])];
            if (a.x == to[0] && a.y == to[1]) {
                leg++;
                continue;
            }
            if (!gp_step(&a, toward(a.x, a.y, to[0], to[1]), why, sizeof why) ||
                !gp_sync(&a, "sweeping", why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
            k = npc_in_view(&a);
        }
        if (k < 0) {
            out = fail(c, "swept a %dx%d map twice with range %d, 4 NPCs (-n 4 -u %d): no "
                          "SC_ADD_OBJECT with an id of %d or more",
                       NPC_SIDE, NPC_SIDE, NPC_RANGE, NPC_USERS, NPC_USERS);
            goto done;
        }
        id = a.view[k].id;
        if (rounds == 0 && (abs(a.view[k].x - a.view[k].ax) > NPC_RANGE ||
                            abs(a.view[k].y - a.view[k].ay) > NPC_RANGE)) {
            out = fail(c, "A at (%d, %d) was told of NPC %d at (%d, %d), out of range %d",
                       a.view[k].ax, a.view[k].ay, id, a.view[k].x, a.view[k].y, NPC_RANGE);
            goto done;
        }
        info(c, "NPC %d seen at (%d, %d) from (%d, %d)", id, a.view[k].x, a.view[k].y, a.x, a.y);
        /* up to it (it may move meanwhile: that is what we want to see) */
        moves0 = a.npc_moves;
        while ((k = gp_find(&a, id)) >= 0 && a.npc_moves == moves0 &&
               (abs(a.view[k].x - a.x) > 1 || abs(a.view[k].y - a.y) > 1))
            if (!gp_step(&a, toward(a.x, a.y, a.view[k].x, a.view[k].y), why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        /* standing still: it moves (once a second, while seen) */
        until = now_ms() + NPC_WAIT_MS;
        while (gp_find(&a, id) >= 0 && a.npc_moves == moves0 && now_ms() < until) {
            enum net_status r = gp_next(&a, pkt, 1000, why, sizeof why);
            if (r != NET_OK && r != NET_TIMEOUT) {
                out = fail(c, "waiting for NPC %d to move: %s", id, why);
                goto done;
            }
        }
        if (a.npc_moves > moves0)
            break;
        if (gp_find(&a, id) >= 0) {
            out = fail(c, "NPC %d, in A's view, did not move within %d s", id,
                       NPC_WAIT_MS / 1000);
            goto done;
        }
        info(c, "NPC %d left A's view before A saw it move: once more", id);
    }
    if (rounds == 3) {
        out = fail(c, "three NPCs in a row left A's view before A saw one move");
        goto done;
    }
    k = gp_find(&a, a.last_npc_moved);
    info(c, "NPC %d moved, to (%d, %d), A at (%d, %d)", a.last_npc_moved,
         k >= 0 ? a.view[k].x : -1, k >= 0 ? a.view[k].y : -1, a.x, a.y);
    gp_done(&a, 1);
    out = game_finish(c, &srv, RES_PASS);
    if (out != RES_PASS)
        return out;

    /* the default count, 200,000: starts, serves a login and a move */
    gp_init(&a, "A", 2000, 2000, 10000);
    if (!game_start(&srv, c->exe, 200000, "", 1, why, sizeof why))
        return fail(c, "with -n 200000: %s", why);
    if (!gp_login(&a, srv.port, "crowd", why, sizeof why) ||
        !gp_step(&a, a.x > 0 ? DIR_LEFT : DIR_RIGHT, why, sizeof why))
        out = fail(c, "with -n 200000: %s", why);
    else
        info(c, "with -n 200000: %d NPCs in A's view", a.nview);
done:
    gp_done(&a, 1);
    return game_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * The list: name, flags, deadline (s), function. Nothing is shared: each
 * case starts the server it needs.
 * --------------------------------------------------------------------- */

const struct test_case game_cases[] = {
    {"args", 0, 60, case_args},
    {"status-line", 0, 40, case_status_line},
    {"ctrl-c", 0, 60, case_ctrl_c},
    {"login-and-see", 0, 30, case_login_and_see},
    {"move-echo-broadcast", 0, 30, case_move_echo_broadcast},
    {"chat", 0, 30, case_chat},
    {"attack-and-relogin-ignored", 0, 30, case_attack_relogin},
    {"bad-direction", 0, 30, case_bad_direction},
    {"teleport", 0, 30, case_teleport},
    {"logout-removal", 0, 30, case_logout_removal},
    {"close-removal", 0, 30, case_close_removal},
    {"reset-removal", 0, 30, case_reset_removal},
    {"edge-clamp", 0, 30, case_edge_clamp},
    {"view-enter-leave", 0, 60, case_view_enter_leave},
    {"split-packets", 0, 30, case_split_packets},
    {"coalesced-packets", 0, 30, case_coalesced_packets},
    {"malformed", 0, 90, case_malformed},
    {"full-server", 0, 60, case_full_server},
    {"slow-reader", 0, 90, case_slow_reader},
    {"many-players", 0, 120, case_many_players},
    {"game-client-script", 0, 90, case_game_client_script},
    {"stress-fixed", 0, 90, case_stress_fixed},
    {"npcs", 0, 90, case_npcs},
    {NULL, 0, 0, NULL},
};
