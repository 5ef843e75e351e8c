/*
 * game_kit.c - what the cases of step 10 share (declared in game_kit.h):
 * packets, players (struct gp), the server, the fixture.
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
 */
#include "game_kit.h"

/* ------------------------------------------------------------------------
 * Packets
 * --------------------------------------------------------------------- */

/* The size of each server packet type, 0 for a type that does not exist. */
unsigned sc_size(unsigned type)
{
    static const unsigned size[] = {
        [SC_LOGIN_INFO] = sizeof(SC_LOGIN_INFO_PACKET),
        [SC_ADD_OBJECT] = sizeof(SC_ADD_OBJECT_PACKET),
        [SC_REMOVE_OBJECT] = sizeof(SC_REMOVE_OBJECT_PACKET),
        [SC_MOVE_OBJECT] = sizeof(SC_MOVE_OBJECT_PACKET),
        [SC_CHAT] = sizeof(SC_CHAT_PACKET),
        [SC_LOGIN_OK] = sizeof(SC_LOGIN_OK_PACKET),
        [SC_LOGIN_FAIL] = sizeof(SC_LOGIN_FAIL_PACKET),
        [SC_STAT_CHANGE] = sizeof(SC_STAT_CHANGE_PACKET),
    };
    return type < sizeof size / sizeof size[0] ? size[type] : 0;
}

/* One builder per packet type, alike on purpose: each fills its own
 * struct of protocol.h field by field, as a student's client would; and
 * apart from the server's own builders (10_game_server/packet.c): the
 * cases build what the contract says, not what the server does. */
size_t mk_login(unsigned char *out, const char *name)
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

size_t mk_move(unsigned char *out, int dir, uint32_t move_time)
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
size_t mk_chat(unsigned char *out, const char *text, size_t len)
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
size_t mk_simple(unsigned char *out, int type)
{
    out[0] = 2;
    out[1] = (unsigned char)type;
    return 2;
}

void sc_move(unsigned char *out, int id, int x, int y, uint32_t move_time)
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

void sc_add(unsigned char *out, int id, int x, int y, const char *name)
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

void sc_remove(unsigned char *out, int id)
{
    SC_REMOVE_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_REMOVE_OBJECT;
    p.id = id;
    memcpy(out, &p, sizeof p);
}

/* The text NUL-terminated and NUL-padded, as the server sends it. */
void sc_chat(unsigned char *out, int id, const char *text, size_t len)
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
char *take_line(char **text)
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
const char *pkt_text(const unsigned char *p, char *buf, size_t bufsz)
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

uint32_t pkt_u32(const unsigned char *p, size_t off)
{
    uint32_t v;
    memcpy(&v, p + off, sizeof v);
    return v;
}

int pkt_i32(const unsigned char *p, size_t off)
{
    int32_t v;
    memcpy(&v, p + off, sizeof v);
    return (int)v;
}

int pkt_i16(const unsigned char *p, size_t off)
{
    int16_t v;
    memcpy(&v, p + off, sizeof v);
    return (int)v;
}

/* Field offsets, from the packed structs. */

static volatile LONG mark_seq;

static uint32_t next_mark(void)
{
    return MARK_TAG | ((uint32_t)InterlockedIncrement(&mark_seq) & ~MARK_MASK);
}

static int is_mark(uint32_t move_time)
{
    return (move_time & MARK_MASK) == MARK_TAG;
}

const char *dir_name(int dir)
{
    return dir == DIR_UP ? "up" : dir == DIR_DOWN ? "down" : dir == DIR_LEFT ? "left" : "right";
}

/* Where a move in `dir` leads from (x, y) on a w x h map: blocked at the
 * edge, nowhere for a direction that does not exist. */
void step_from(int dir, int w, int h, int *x, int *y)
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

void gp_init(struct gp *p, const char *label, int w, int h, int max_users)
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
void gp_done(struct gp *p, int abortive)
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

int gp_find(const struct gp *p, int id)
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

int gp_send(struct gp *p, const void *data, size_t len, char *why, size_t whysz)
{
    return net_send_why(p->s, p->label, data, len, why, whysz);
}

/* The next whole packet, as sent: size and type checked, nothing else.
 * NET_EOF / NET_RESET / NET_TIMEOUT as the socket says, NET_ERROR for a
 * packet no server may send; `why` set for all but NET_OK. */
enum net_status pkt_read(SOCKET s, const char *label, unsigned char *rb, size_t rbsz,
                         size_t *rlen, unsigned char *pkt, DWORD ms, char *why, size_t whysz)
{
    char st[64];
    for (;;) {
        size_t got = 0;
        int err = 0;
        enum net_status r;
        if (*rlen >= 1 && rb[0] < 2) {
            snprintf(why, whysz, "%s: a packet of size %u from the server", label,
                     (unsigned)rb[0]);
            return NET_ERROR;
        }
        if (*rlen >= 2) {
            unsigned size = rb[0], type = rb[1], want = sc_size(type);
            if (want == 0 || size != want) {
                snprintf(why, whysz, "%s: a packet of size %u and type %u from the server (%s)",
                         label, size, type,
                         want == 0 ? "no such type" : "wrong size for its type");
                return NET_ERROR;
            }
            if (*rlen >= size) {
                memcpy(pkt, rb, size);
                memmove(rb, rb + size, *rlen - size);
                *rlen -= size;
                return NET_OK;
            }
        }
        r = net_recv_some(s, rb + *rlen, rbsz - *rlen, ms, &got, &err);
        if (r != NET_OK) {
            snprintf(why, whysz, "%s: %s%s", label, net_status_text(r, err, st, sizeof st),
                     *rlen > 0 ? " in the middle of a packet" : "");
            return r;
        }
        *rlen += got;
    }
}

enum net_status gp_raw(struct gp *p, unsigned char *pkt, DWORD ms, char *why, size_t whysz)
{
    return pkt_read(p->s, p->label, p->rb, sizeof p->rb, &p->rlen, pkt, ms, why, whysz);
}

/* Brings what the player's client knows up to date with `pkt`, and fails
 * on what the contract rules out. *echo: another player's marker (a move
 * that went nowhere), nothing for the caller to see. */
int gp_track(struct gp *p, const unsigned char *pkt, int *echo, char *why, size_t whysz)
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
enum net_status gp_next(struct gp *p, unsigned char *pkt, DWORD ms, char *why, size_t whysz)
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
int gp_expect(struct gp *p, const unsigned char *want, const char *when, char *why,
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
int gp_expect_any(struct gp *p, unsigned char (*want)[PKT_MAX], int n, const char *when,
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

int gp_send_move(struct gp *p, int dir, uint32_t move_time, char *why, size_t whysz)
{
    unsigned char b[PKT_MAX];
    size_t n = mk_move(b, dir, move_time);
    return gp_send(p, b, n, why, whysz);
}

/* Nothing has arrived that the player should not have: it sends a marker
 * and the very next packet is the marker's answer. */
int gp_expect_nothing(struct gp *p, const char *when, char *why, size_t whysz)
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
int gp_await_move(struct gp *p, uint32_t move_time, const char *when, char *why,
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
int gp_sync(struct gp *p, const char *when, char *why, size_t whysz)
{
    uint32_t mark = next_mark();
    return gp_send_move(p, DIR_NOWHERE, mark, why, whysz) &&
           gp_await_move(p, mark, when, why, whysz);
}

/* One step, waited for, its answer checked: the player's own id, the
 * move_time it sent, the tile the step leads to. */
int gp_step(struct gp *p, int dir, char *why, size_t whysz)
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

int toward(int from_x, int from_y, int to_x, int to_y)
{
    if (from_x < to_x)
        return DIR_RIGHT;
    if (from_x > to_x)
        return DIR_LEFT;
    return from_y < to_y ? DIR_DOWN : DIR_UP;
}

/* Walks (x first, then y) to (tx, ty), one answered step at a time:
 * where the player ends up does not depend on timing. */
int gp_walk(struct gp *p, int tx, int ty, char *why, size_t whysz)
{
    while (p->x != tx || p->y != ty)
        if (!gp_step(p, toward(p->x, p->y, tx, ty), why, whysz))
            return 0;
    return 1;
}

int gp_connect(struct gp *p, unsigned short port, char *why, size_t whysz)
{
    p->s = net_connect_why(port, p->label, why, whysz);
    return p->s != INVALID_SOCKET;
}

/* Connects, logs in as `name`; the first packet must be SC_LOGIN_INFO. */
int gp_login(struct gp *p, unsigned short port, const char *name, char *why, size_t whysz)
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
void add_of(unsigned char *out, const struct gp *o)
{
    sc_add(out, o->id, o->x, o->y, o->name);
}

/* `x` and `y` come into each other's view: `y` is told of `x` (an
 * SC_ADD_OBJECT, `when_y` in the reason), then `x` of `y` (`when_x`). */
int gp_meet(struct gp *x, struct gp *y, const char *when_y, const char *when_x, char *why,
            size_t whysz)
{
    unsigned char want[PKT_MAX];
    add_of(want, x);
    if (!gp_expect(y, want, when_y, why, whysz))
        return 0;
    add_of(want, y);
    return gp_expect(x, want, when_x, why, whysz);
}

/* The player's connection ends: end-of-file or a reset, no packet first. */
int gp_expect_end(struct gp *p, int eof_only, const char *when, char *why, size_t whysz)
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
int game_start(struct proc *srv, const char *exe, int npcs, const char *opts, int quiet,
                      char *why, size_t whysz)
{
    char pre[160];
    snprintf(pre, sizeof pre, "-n %d %s%s", npcs, opts, opts[0] ? " " : "");
    return server_start_args(srv, exe, pre, quiet, why, whysz);
}

/* A passing case also needs the server alive at its end. */
enum result game_finish(struct ctx *c, struct proc *srv, enum result out)
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

void log_mark(struct proc *srv, struct log_mark *m)
{
    char *o = proc_text(srv, OUT_STREAM), *e = proc_text(srv, ERR_STREAM);
    m->out = o != NULL ? strlen(o) : 0;
    m->err = e != NULL ? strlen(e) : 0;
    free(o);
    free(e);
}

/* Waits up to `ms` for a new line (after `m`) containing one of `words`
 * (a NULL-ended list, case ignored). 1 found (the line in `line`), 0 not. */
int log_wait_new(struct proc *srv, const struct log_mark *m, const char *const *words,
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
int count_lines(struct proc *p, const char *prefix, char *last, size_t lastsz)
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
int wait_lines(struct proc *p, const char *prefix, int count, DWORD ms)
{
    ULONGLONG until = now_ms() + ms;
    for (;;) {
        int n = count_lines(p, prefix, NULL, 0);
        if (n >= count || now_ms() >= until || !proc_running(p))
            return n;
        Sleep(50); /* the program prints from its own threads */
    }
}

int two_players(unsigned short port, struct gp *a, struct gp *b, char *why, size_t whysz)
{
    if (!gp_login(a, port, "alice", why, whysz) ||
        !gp_expect_nothing(a, "after A's login, alone", why, whysz) ||
        !gp_login(b, port, "bob", why, whysz))
        return 0;
    if (a->id == b->id) {
        snprintf(why, whysz, "A and B both got id %d", a->id);
        return 0;
    }
    return gp_meet(a, b, "B's login, B sees A", "B's login, A sees B", why, whysz);
}

const struct game_setup small_two = {SMALL_MAP, 8, 8, 100, {"A", "B", "C", NULL}, 1};

enum result game_fixture(struct ctx *c, const struct game_setup *set,
                         enum result (*body)(struct game_fx *f))
{
    char why[WHY_SIZE];
    struct game_fx f;
    enum result out;
    int n = 0;
    f.c = c;
    if (!game_start(&f.srv, c->exe, 0, set->opts, 1, why, sizeof why))
        return fail(c, "%s", why);
    for (; n < FX_PLAYERS && set->labels[n] != NULL; n++)
        gp_init(&f.p[n], set->labels[n], set->w, set->h, set->users);
    if (set->two_in && !two_players(f.srv.port, &f.p[0], &f.p[1], why, sizeof why))
        out = fail(c, "%s", why);
    else
        out = body(&f);
    for (int i = 0; i < n; i++)
        gp_done(&f.p[i], 1);
    return game_finish(c, &f.srv, out);
}
