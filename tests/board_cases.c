/*
 * board_cases.c - homework #3, the 8x8 board (08_overlapped_callback/
 * board/, build/08_board.exe), against the game protocol of
 * docs/protocol.md on an 8x8 board where every player sees every other.
 *
 * Two lists:
 *   hw3_cases     what the homework asks, and nothing more: login, seeing
 *                 the others, moves seen by all (the board's edge holds),
 *                 a leave removes the piece, ten players, split and
 *                 coalesced packets, a malformed packet closes only that
 *                 client. `run_tests.exe --only hw3 --exe student.exe`
 *                 grades a student's server with them (started with -p,
 *                 -a, -q only).
 *   board_cases   the reference's own, after those (--only 08_board):
 *                 the command line, chat, a full board, a player that
 *                 does not read, client.exe game, Ctrl+C.
 *
 * Every case starts its own server, so that no player of an earlier case
 * (whose leave the server may still be handling) shows up in the next.
 * What a player receives is checked packet by packet; where the order
 * between players is not fixed (ten players moving at once) as a set.
 * No case asserts a duration.
 */
#include "game_kit.h"

#define BOARD 8
#define TEN 10
#define FLOOD_BATCH 100
#define FLOOD_MAX_BYTES (32ull << 20) /* far above the buffers on the way (a few MiB) */
#define FLOOD_MAX_MS 120000

/* ------------------------------------------------------------------------
 * Packets
 * --------------------------------------------------------------------- */

/* The packets are game_kit.c's (built field by field from protocol.h,
 * apart from the server's own builders in 10_game_server/packet.c). */

/* ------------------------------------------------------------------------
 * A player
 * --------------------------------------------------------------------- */

struct bp {
    SOCKET s;
    char label[24];
    char name[NAME_SIZE + 1];
    int id, x, y;
    uint32_t next_time;
    unsigned char rb[8192];
    size_t rlen;
};

static void bp_init(struct bp *p, const char *label)
{
    memset(p, 0, sizeof *p);
    p->s = INVALID_SOCKET;
    p->id = -1;
    p->next_time = 1000;
    snprintf(p->label, sizeof p->label, "%s", label);
}

static void bp_done(struct bp *p, int abortive)
{
    if (p->s != INVALID_SOCKET) {
        if (abortive)
            net_abort(p->s);
        else
            net_close(p->s);
    }
    p->s = INVALID_SOCKET;
}

/* The next whole packet within `ms`; a size that does not match its type
 * is a failure (NET_ERROR). */
static enum net_status bp_next(struct bp *p, unsigned char *pkt, DWORD ms, char *why,
                               size_t whysz)
{
    return pkt_read(p->s, p->label, p->rb, sizeof p->rb, &p->rlen, pkt, ms, why, whysz);
}

static int bp_send(struct bp *p, const void *data, size_t len, char *why, size_t whysz)
{
    return net_send_why(p->s, p->label, data, len, why, whysz);
}

static int bp_connect(struct bp *p, unsigned short port, char *why, size_t whysz)
{
    p->s = net_connect_why(port, p->label, why, whysz);
    return p->s != INVALID_SOCKET;
}

/* The answer to a login: SC_LOGIN_INFO with a position on the board. */
static int bp_login_answer(struct bp *p, char *why, size_t whysz)
{
    unsigned char b[PKT_MAX];
    char one[WHY_SIZE], a[160];
    if (bp_next(p, b, NET_TIMEOUT_MS, one, sizeof one) != NET_OK) {
        snprintf(why, whysz, "login as \"%s\": %s", p->name, one);
        return 0;
    }
    if (b[1] != SC_LOGIN_INFO) {
        snprintf(why, whysz, "login as \"%s\": the first packet is %s, expected SC_LOGIN_INFO",
                 p->name, pkt_text(b, a, sizeof a));
        return 0;
    }
    p->id = pkt_i32(b, 2);
    p->x = pkt_i16(b, 22);
    p->y = pkt_i16(b, 24);
    if (p->id < 0 || p->x < 0 || p->x >= BOARD || p->y < 0 || p->y >= BOARD) {
        snprintf(why, whysz, "login as \"%s\": %s: an id below 0 or a tile off the 8x8 board",
                 p->name, pkt_text(b, a, sizeof a));
        return 0;
    }
    return 1;
}

static int bp_login(struct bp *p, unsigned short port, const char *name, char *why,
                    size_t whysz)
{
    unsigned char b[PKT_MAX];
    snprintf(p->name, sizeof p->name, "%s", name);
    if (p->s == INVALID_SOCKET && !bp_connect(p, port, why, whysz))
        return 0;
    return bp_send(p, b, mk_login(b, name), why, whysz) && bp_login_answer(p, why, whysz);
}

static int bp_expect(struct bp *p, const unsigned char *want, const char *when, char *why,
                     size_t whysz)
{
    unsigned char got[PKT_MAX];
    char one[WHY_SIZE], a[160], b[160];
    if (bp_next(p, got, NET_TIMEOUT_MS, one, sizeof one) != NET_OK) {
        snprintf(why, whysz, "%s: waiting for %s: %s", when, pkt_text(want, b, sizeof b), one);
        return 0;
    }
    if (memcmp(got, want, want[0]) != 0) {
        snprintf(why, whysz, "%s: %s got %s, expected %s", when, p->label,
                 pkt_text(got, a, sizeof a), pkt_text(want, b, sizeof b));
        return 0;
    }
    return 1;
}

/* `n` packets (each PKT_MAX bytes apart in `want`) in any order. */
static int bp_expect_set(struct bp *p, unsigned char (*want)[PKT_MAX], int n, const char *when,
                         char *why, size_t whysz)
{
    unsigned char done[64] = {0};
    char one[WHY_SIZE], a[160];
    for (int k = 0; k < n; k++) {
        unsigned char got[PKT_MAX];
        int hit = -1;
        if (bp_next(p, got, NET_TIMEOUT_MS, one, sizeof one) != NET_OK) {
            snprintf(why, whysz, "%s: %d of %d packets: %s", when, k, n, one);
            return 0;
        }
        for (int i = 0; i < n && hit < 0; i++)
            if (!done[i] && memcmp(got, want[i], want[i][0]) == 0)
                hit = i;
        if (hit < 0) {
            snprintf(why, whysz, "%s: %s got %s, not one of the %d packets expected", when,
                     p->label, pkt_text(got, a, sizeof a), n);
            return 0;
        }
        done[hit] = 1;
    }
    return 1;
}

/* The connection ends: end-of-file or a reset, no packet first. */
static int bp_expect_end(struct bp *p, const char *when, char *why, size_t whysz)
{
    unsigned char got[PKT_MAX];
    char one[WHY_SIZE], a[160];
    enum net_status r = bp_next(p, got, NET_TIMEOUT_MS, one, sizeof one);
    if (r == NET_EOF || r == NET_RESET)
        return 1;
    if (r == NET_OK)
        snprintf(why, whysz, "%s: %s got %s, expected the connection to end", when, p->label,
                 pkt_text(got, a, sizeof a));
    else
        snprintf(why, whysz, "%s: expected the connection to end: %s", when, one);
    return 0;
}

/* A direction that is not blocked by the edge, and where it leads. */
static int free_dir(const struct bp *p, int *x, int *y)
{
    *x = p->x;
    *y = p->y;
    if (p->x < BOARD - 1) {
        (*x)++;
        return DIR_RIGHT;
    }
    (*x)--;
    return DIR_LEFT;
}

/* `p` moves with `move_time` where the edge does not block it; `want` is
 * set to the SC_MOVE_OBJECT every player should get (its x is where `p`
 * now stands). The caller expects it. */
static int bp_free_move(struct bp *p, uint32_t move_time, unsigned char *want, char *why,
                        size_t whysz)
{
    unsigned char b[PKT_MAX];
    int x, y, dir = free_dir(p, &x, &y);
    sc_move(want, p->id, x, y, move_time);
    return bp_send(p, b, mk_move(b, dir, move_time), why, whysz);
}

/* Players 0..n-1 log in one after the other; each newcomer gets an
 * SC_ADD_OBJECT for every one before it (any order), and each of those
 * gets one for the newcomer. */
static int group_login(struct bp *p, int n, unsigned short port, char *why, size_t whysz)
{
    unsigned char want[64][PKT_MAX];
    char name[NAME_SIZE], when[96];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "p%d_%s", i, p[i].label);
        if (!bp_login(&p[i], port, name, why, whysz))
            return 0;
        for (int j = 0; j < i; j++) {
            if (p[j].id == p[i].id) {
                snprintf(why, whysz, "%s and %s both got id %d", p[j].label, p[i].label,
                         p[i].id);
                return 0;
            }
            sc_add(want[j], p[j].id, p[j].x, p[j].y, p[j].name);
        }
        snprintf(when, sizeof when, "%s logged in and should see the %d already there",
                 p[i].label, i);
        if (!bp_expect_set(&p[i], want, i, when, why, whysz))
            return 0;
        sc_add(want[0], p[i].id, p[i].x, p[i].y, p[i].name);
        for (int j = 0; j < i; j++) {
            snprintf(when, sizeof when, "%s logged in, seen by %s", p[i].label, p[j].label);
            if (!bp_expect(&p[j], want[0], when, why, whysz))
                return 0;
        }
    }
    return 1;
}

static int start(struct proc *srv, const struct ctx *c, const char *pre, char *why, size_t whysz)
{
    return server_start_args(srv, c->exe, pre, 1, why, whysz);
}

/* ------------------------------------------------------------------------
 * hw3: what the homework asks
 * --------------------------------------------------------------------- */

/* A logs in: SC_LOGIN_INFO first, on the board, stats as the protocol
 * fixes them; its first move is answered, nothing comes before. */
static enum result case_login(struct ctx *c)
{
    struct proc srv;
    struct bp a;
    char why[WHY_SIZE];
    unsigned char b[PKT_MAX], want[PKT_MAX];
    enum result out = RES_PASS;
    bp_init(&a, "A");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!bp_connect(&a, srv.port, why, sizeof why) ||
        !bp_send(&a, b, mk_login(b, "alice"), why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    snprintf(a.name, sizeof a.name, "alice");
    if (bp_next(&a, b, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
        out = fail(c, "login: %s", why);
        goto done;
    }
    if (b[1] != SC_LOGIN_INFO || pkt_i32(b, 6) != 100 || pkt_i32(b, 10) != 100 ||
        pkt_i32(b, 14) != 0 || pkt_i32(b, 18) != 1) {
        char t[160];
        out = fail(c, "login: got %s, expected SC_LOGIN_INFO with hp 100, max_hp 100, exp 0, "
                      "level 1", pkt_text(b, t, sizeof t));
        goto done;
    }
    a.id = pkt_i32(b, 2);
    a.x = pkt_i16(b, 22);
    a.y = pkt_i16(b, 24);
    if (a.x < 0 || a.x >= BOARD || a.y < 0 || a.y >= BOARD) {
        out = fail(c, "login: position (%d,%d) is off the 8x8 board", a.x, a.y);
        goto done;
    }
    if (!bp_free_move(&a, 424242, want, why, sizeof why) ||
        !bp_expect(&a, want, "A alone moves", why, sizeof why))
        out = fail(c, "%s", why);
done:
    bp_done(&a, 0);
    return game_finish(c, &srv, out);
}

/* B logs in after A: each gets the other's SC_ADD_OBJECT, name and tile. */
static enum result case_see_others(struct ctx *c)
{
    struct proc srv;
    struct bp p[3];
    char why[WHY_SIZE];
    enum result out = RES_PASS;
    const char *labels[3] = {"A", "B", "C"};
    for (int i = 0; i < 3; i++)
        bp_init(&p[i], labels[i]);
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!group_login(p, 3, srv.port, why, sizeof why))
        out = fail(c, "%s", why);
    for (int i = 0; i < 3; i++)
        bp_done(&p[i], 0);
    return game_finish(c, &srv, out);
}

/* A moves: A gets SC_MOVE_OBJECT with its move_time, and so do B and C.
 * Then A walks to the left edge and tries one more step left: the
 * position stays, and the answer still comes, to all. */
static enum result case_moves_seen(struct ctx *c)
{
    struct proc srv;
    struct bp p[3];
    char why[WHY_SIZE], when[64];
    unsigned char b[PKT_MAX], want[PKT_MAX];
    enum result out = RES_PASS;
    const char *labels[3] = {"A", "B", "C"};
    int steps = 0;
    for (int i = 0; i < 3; i++)
        bp_init(&p[i], labels[i]);
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!group_login(p, 3, srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    if (!bp_free_move(&p[0], 123456789u, want, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int i = 0; i < 3; i++) {
        snprintf(when, sizeof when, "A moved, %s", labels[i]);
        if (!bp_expect(&p[i], want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    p[0].x = pkt_i16(want, OFF_MOVE_X);
    /* to the left edge, then once more */
    while (steps <= BOARD) {
        int blocked = p[0].x == 0;
        uint32_t t = 5000u + (uint32_t)steps++;
        sc_move(want, p[0].id, blocked ? 0 : p[0].x - 1, p[0].y, t);
        if (!bp_send(&p[0], b, mk_move(b, DIR_LEFT, t), why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        for (int i = 0; i < 3; i++) {
            snprintf(when, sizeof when, "%s, %s", blocked ? "A stepped off the left edge"
                                                          : "A walked left", labels[i]);
            if (!bp_expect(&p[i], want, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        }
        if (blocked)
            break;
        p[0].x--;
    }
done:
    for (int i = 0; i < 3; i++)
        bp_done(&p[i], 0);
    return game_finish(c, &srv, out);
}

/* D logs out, C closes, B resets: each time the others get
 * SC_REMOVE_OBJECT; a newcomer then sees only A. */
static enum result case_leave(struct ctx *c)
{
    struct proc srv;
    struct bp p[4], e;
    char why[WHY_SIZE], when[64];
    unsigned char b[PKT_MAX], want[PKT_MAX];
    enum result out = RES_PASS;
    const char *labels[4] = {"A", "B", "C", "D"};
    for (int i = 0; i < 4; i++)
        bp_init(&p[i], labels[i]);
    bp_init(&e, "E");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!group_login(p, 4, srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    b[0] = 2;
    b[1] = CS_LOGOUT;
    if (!bp_send(&p[3], b, 2, why, sizeof why) ||
        !bp_expect_end(&p[3], "D logged out", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int gone = 3; gone >= 1; gone--) {
        if (gone == 2)
            bp_done(&p[2], 0); /* C closes */
        else if (gone == 1)
            bp_done(&p[1], 1); /* B resets */
        sc_remove(want, p[gone].id);
        for (int i = 0; i < gone; i++) {
            snprintf(when, sizeof when, "%s %s, %s", labels[gone],
                     gone == 3 ? "logged out" : gone == 2 ? "closed" : "reset", labels[i]);
            if (!bp_expect(&p[i], want, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        }
    }
    /* A alone: its move is answered to it only; E then sees only A */
    if (!bp_free_move(&p[0], 77, want, why, sizeof why) ||
        !bp_expect(&p[0], want, "A alone after the others left", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    p[0].x = pkt_i16(want, OFF_MOVE_X);
    if (!bp_login(&e, srv.port, "eve", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_add(want, p[0].id, p[0].x, p[0].y, p[0].name);
    if (!bp_expect(&e, want, "E logged in after B, C, D left: E sees A only", why, sizeof why))
        goto bad;
    sc_add(want, e.id, e.x, e.y, e.name);
    if (!bp_expect(&p[0], want, "E logged in, A", why, sizeof why))
        goto bad;
    /* and nothing else for E: its own move comes next */
    if (!bp_free_move(&e, 78, want, why, sizeof why) ||
        !bp_expect(&e, want, "E's first move (nothing of B, C, D before it)", why, sizeof why))
        goto bad;
    goto done;
bad:
    out = fail(c, "%s", why);
done:
    for (int i = 0; i < 4; i++)
        bp_done(&p[i], 0);
    bp_done(&e, 0);
    return game_finish(c, &srv, out);
}

/* Ten players: everyone sees the nine others; all move at once, and
 * every player gets all ten moves. */
static enum result case_ten(struct ctx *c)
{
    struct proc srv;
    struct bp p[TEN];
    char why[WHY_SIZE], label[8];
    unsigned char want[TEN][PKT_MAX];
    enum result out = RES_PASS;
    for (int i = 0; i < TEN; i++) {
        snprintf(label, sizeof label, "P%d", i);
        bp_init(&p[i], label);
    }
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!group_login(p, TEN, srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int i = 0; i < TEN; i++) {
        if (!bp_free_move(&p[i], 9000u + (uint32_t)i, want[i], why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    for (int i = 0; i < TEN; i++)
        if (!bp_expect_set(&p[i], want, TEN, "ten players moved at once", why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
done:
    for (int i = 0; i < TEN; i++)
        bp_done(&p[i], 0);
    return game_finish(c, &srv, out);
}

/* A's login comes a byte at a time, a move in three pieces, three moves
 * in one send, a move torn across two sends: every one is handled, in
 * order, and B sees the moves. */
static enum result case_split(struct ctx *c)
{
    struct proc srv;
    struct bp a, bb;
    char why[WHY_SIZE];
    unsigned char buf[4 * PKT_MAX], want[PKT_MAX];
    size_t n;
    enum result out = RES_PASS;
    uint32_t t = 31000;
    bp_init(&a, "A");
    bp_init(&bb, "B");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!bp_connect(&a, srv.port, why, sizeof why))
        goto bad;
    n = mk_login(buf, "splitter");
    snprintf(a.name, sizeof a.name, "splitter");
    for (size_t k = 0; k < n; k++) {
        if (!bp_send(&a, buf + k, 1, why, sizeof why))
            goto bad;
        Sleep(5); /* so that the bytes travel (and are received) apart */
    }
    if (!bp_login_answer(&a, why, sizeof why) || !bp_login(&bb, srv.port, "bob", why, sizeof why))
        goto bad;
    sc_add(want, a.id, a.x, a.y, a.name);
    if (!bp_expect(&bb, want, "B sees A", why, sizeof why))
        goto bad;
    sc_add(want, bb.id, bb.x, bb.y, bb.name);
    if (!bp_expect(&a, want, "A sees B", why, sizeof why))
        goto bad;
    for (int round = 0; round < 4; round++) {
        /* round 0: one move in three pieces; 1: three moves in one send;
         * 2 and 3: a move torn across two sends with the next one */
        int count = round == 0 ? 1 : round == 1 ? 3 : 2;
        unsigned char wants[3][PKT_MAX];
        n = 0;
        for (int k = 0; k < count; k++) {
            int x, y, dir = free_dir(&a, &x, &y);
            n += mk_move(buf + n, dir, t);
            sc_move(wants[k], a.id, x, y, t++);
            a.x = x;
            a.y = y;
        }
        if (round == 0) {
            if (!bp_send(&a, buf, 1, why, sizeof why))
                goto bad;
            Sleep(20);
            if (!bp_send(&a, buf + 1, 3, why, sizeof why))
                goto bad;
            Sleep(20);
            if (!bp_send(&a, buf + 4, n - 4, why, sizeof why))
                goto bad;
        } else if (round == 1) {
            if (!bp_send(&a, buf, n, why, sizeof why))
                goto bad;
        } else {
            size_t cut = round == 2 ? 1 : 9; /* inside the header, inside the second */
            if (!bp_send(&a, buf, cut, why, sizeof why))
                goto bad;
            Sleep(20);
            if (!bp_send(&a, buf + cut, n - cut, why, sizeof why))
                goto bad;
        }
        for (int k = 0; k < count; k++)
            if (!bp_expect(&a, wants[k], "A's split or coalesced move, A", why, sizeof why) ||
                !bp_expect(&bb, wants[k], "A's split or coalesced move, B", why, sizeof why))
                goto bad;
    }
    goto done;
bad:
    out = fail(c, "%s", why);
done:
    bp_done(&a, 0);
    bp_done(&bb, 0);
    return game_finish(c, &srv, out);
}

/* Malformed packets, before and after login: that client's connection
 * ends, A (in the game) goes on and sees it leave if it had logged in.
 * `move_first`: the bytes start with a good CS_MOVE going nowhere
 * (direction 9, move_time 5), whose answer comes before the end. */
struct bad_packet {
    const char *what;
    int in_game, move_first;
    size_t len;
    unsigned char bytes[12];
};

static const struct bad_packet bad_packets[] = {
    {"size 0", 0, 0, 2, {0x00, 0x01}},
    {"unknown type 9", 0, 0, 2, {0x02, 0x09}},
    {"size 8 for CS_MOVE", 0, 0, 8, {0x08, 0x01, 0x00, 0x01, 0, 0, 0, 0}},
    {"CS_MOVE before CS_LOGIN", 0, 0, 7, {0x07, 0x01, 0x03, 1, 0, 0, 0}},
    {"size 1, in game", 1, 0, 2, {0x01, 0x01}},
    {"unknown type 6, in game", 1, 0, 2, {0x02, 0x06}},
    {"size 3 for CS_TELEPORT, in game", 1, 0, 3, {0x03, 0x04, 0x00}},
    {"a good CS_MOVE, then size 0 (one byte), in one send", 1, 1, 8,
     {0x07, 0x01, 0x09, 5, 0, 0, 0, 0x00}},
};
#define N_BAD (sizeof bad_packets / sizeof bad_packets[0])

static enum result case_board_malformed(struct ctx *c)
{
    struct proc srv;
    struct bp a, m;
    char why[WHY_SIZE], when[96];
    unsigned char want[PKT_MAX];
    enum result out = RES_PASS;
    bp_init(&a, "A");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!bp_login(&a, srv.port, "watcher", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (size_t i = 0; i < N_BAD && out == RES_PASS; i++) {
        const struct bad_packet *bp = &bad_packets[i];
        bp_init(&m, "M");
        if (bp->in_game) {
            if (!bp_login(&m, srv.port, "mallory", why, sizeof why))
                goto bad;
            sc_add(want, a.id, a.x, a.y, a.name);
            if (!bp_expect(&m, want, "M sees A", why, sizeof why))
                goto bad;
            sc_add(want, m.id, m.x, m.y, m.name);
            if (!bp_expect(&a, want, "A sees M", why, sizeof why))
                goto bad;
        } else if (!bp_connect(&m, srv.port, why, sizeof why)) {
            goto bad;
        }
        snprintf(when, sizeof when, "M sent %s", bp->what);
        if (!bp_send(&m, bp->bytes, bp->len, why, sizeof why))
            goto bad;
        if (bp->move_first) { /* the packet before the bad one is handled */
            sc_move(want, m.id, m.x, m.y, 5);
            if (!bp_expect(&m, want, when, why, sizeof why) ||
                !bp_expect(&a, want, when, why, sizeof why))
                goto bad;
        }
        if (!bp_expect_end(&m, when, why, sizeof why))
            goto bad;
        if (bp->in_game) {
            sc_remove(want, m.id);
            if (!bp_expect(&a, want, when, why, sizeof why))
                goto bad;
        }
        /* A is still served, and hears nothing else */
        if (!bp_free_move(&a, 600u + (uint32_t)i, want, why, sizeof why) ||
            !bp_expect(&a, want, when, why, sizeof why))
            goto bad;
        a.x = pkt_i16(want, OFF_MOVE_X);
        bp_done(&m, 1);
        continue;
    bad:
        out = fail(c, "%s", why);
        bp_done(&m, 1);
    }
done:
    bp_done(&a, 0);
    return game_finish(c, &srv, out);
}

const struct test_case hw3_cases[] = {
    {"login", 0, 30, case_login},
    {"see-others", 0, 30, case_see_others},
    {"moves-seen-by-all", 0, 40, case_moves_seen},
    {"leave-removes-piece", 0, 40, case_leave},
    {"ten-players", 0, 60, case_ten},
    {"split-packets", 0, 40, case_split},
    {"malformed-closes-only-that-client", 0, 60, case_board_malformed},
    {NULL, 0, 0, NULL},
};

/* ------------------------------------------------------------------------
 * 08_board's own: the reference's command line, chat, a full board, a
 * player that does not read, client.exe game, Ctrl+C
 * --------------------------------------------------------------------- */

static const char *const board_bad_args[] = {"-p 0", "-p abc", "-a not.an.ip", "-u 0",
                                             "-u x", "-x", "-m 10", "-m 1x5", "-m 8x",
                                             "-v 3", "-n 5"};
#define N_BOARD_BAD (sizeof board_bad_args / sizeof board_bad_args[0])

static enum result case_args(struct ctx *c)
{
    char why[WHY_SIZE];
    struct proc h;
    char *out;
    for (size_t i = 0; i < N_BOARD_BAD; i++) {
        struct proc p;
        char *err;
        int bad;
        if (!proc_start(&p, c->exe, board_bad_args[i], why, sizeof why))
            return fail(c, "%s", why);
        if (!proc_wait(&p, 10000)) {
            proc_stop(&p);
            return fail(c, "`%s`: still running after 10 s", board_bad_args[i]);
        }
        proc_drain(&p, 2000);
        err = proc_text(&p, ERR_STREAM);
        bad = p.exit_code != 2 || err == NULL || !contains_nocase(err, "usage");
        free(err);
        proc_stop(&p);
        if (bad)
            return fail(c, "`%s`: expected exit status 2 and usage on stderr",
                        board_bad_args[i]);
    }
    if (!proc_start(&h, c->exe, "-h", why, sizeof why))
        return fail(c, "%s", why);
    if (!proc_wait(&h, 10000)) {
        proc_stop(&h);
        return fail(c, "`-h`: still running after 10 s");
    }
    proc_drain(&h, 2000);
    out = proc_text(&h, OUT_STREAM);
    if (h.exit_code != 0 || out == NULL || !contains_nocase(out, "usage") ||
        strstr(out, "4000") == NULL) {
        free(out);
        proc_stop(&h);
        return fail(c, "`-h`: expected exit status 0 and a usage naming port 4000 on stdout");
    }
    free(out);
    proc_stop(&h);
    if (!port_in_use_check(c->exe, "", why, sizeof why))
        return fail(c, "port in use: %s", why);
    return RES_PASS;
}

static enum result case_board_chat(struct ctx *c)
{
    struct proc srv;
    struct bp p[2];
    char why[WHY_SIZE];
    unsigned char b[PKT_MAX], want[PKT_MAX];
    SC_CHAT_PACKET sc;
    enum result out = RES_PASS;
    bp_init(&p[0], "A");
    bp_init(&p[1], "B");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    memset(&sc, 0, sizeof sc);
    sc.size = (uint8_t)sizeof sc;
    sc.type = SC_CHAT;
    if (!group_login(p, 2, srv.port, why, sizeof why) ||
        !bp_send(&p[0], b, mk_chat(b, "hello board", strlen("hello board")), why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc.id = p[0].id;
    memcpy(sc.mess, "hello board", 11);
    memcpy(want, &sc, sizeof sc);
    if (!bp_expect(&p[0], want, "A chats, A", why, sizeof why) ||
        !bp_expect(&p[1], want, "A chats, B", why, sizeof why))
        out = fail(c, "%s", why);
done:
    bp_done(&p[0], 0);
    bp_done(&p[1], 0);
    return game_finish(c, &srv, out);
}

/* -u 2: the third login gets SC_LOGIN_FAIL and the end; once a player
 * has left, a login works again. */
static enum result case_full(struct ctx *c)
{
    struct proc srv;
    struct bp p[2], x, y;
    char why[WHY_SIZE], t[160];
    unsigned char b[PKT_MAX], want[PKT_MAX];
    enum result out = RES_PASS;
    bp_init(&p[0], "A");
    bp_init(&p[1], "B");
    bp_init(&x, "X (one too many)");
    bp_init(&y, "Y");
    if (!start(&srv, c, "-u 2 ", why, sizeof why))
        return fail(c, "%s", why);
    if (!group_login(p, 2, srv.port, why, sizeof why) ||
        !bp_connect(&x, srv.port, why, sizeof why) ||
        !bp_send(&x, b, mk_login(b, "extra"), why, sizeof why))
        goto bad;
    if (bp_next(&x, b, NET_TIMEOUT_MS, why, sizeof why) != NET_OK)
        goto bad;
    if (b[1] != SC_LOGIN_FAIL) {
        out = fail(c, "a login into a full board (-u 2) got %s, expected SC_LOGIN_FAIL",
                   pkt_text(b, t, sizeof t));
        goto done;
    }
    if (!bp_expect_end(&x, "after SC_LOGIN_FAIL", why, sizeof why))
        goto bad;
    bp_done(&p[1], 0);
    sc_remove(want, p[1].id);
    if (!bp_expect(&p[0], want, "B left the full board, A", why, sizeof why) ||
        !bp_login(&y, srv.port, "latecomer", why, sizeof why))
        goto bad;
    sc_add(want, p[0].id, p[0].x, p[0].y, p[0].name);
    if (!bp_expect(&y, want, "a login after B left, Y sees A", why, sizeof why))
        goto bad;
    goto done;
bad:
    out = fail(c, "%s", why);
done:
    bp_done(&p[0], 0);
    bp_done(&p[1], 0);
    bp_done(&x, 1);
    bp_done(&y, 0);
    return game_finish(c, &srv, out);
}

/* S reads nothing (a small receive buffer); T chats and reads its own
 * chat back until the server drops S (T gets SC_REMOVE_OBJECT{S}); then
 * T is still served. */
static enum result case_board_slow_reader(struct ctx *c)
{
    struct proc srv;
    struct bp t, s;
    char why[WHY_SIZE], line[256];
    unsigned char *batch = NULL, want[PKT_MAX];
    size_t n = 0;
    unsigned long long owed = 0;
    ULONGLONG t0;
    enum result out = RES_PASS;
    int cut = 0;
    bp_init(&t, "T (talker)");
    bp_init(&s, "S (reads nothing)");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    batch = (unsigned char *)malloc(FLOOD_BATCH * sizeof(CS_CHAT_PACKET));
    if (batch == NULL) {
        out = fail(c, "out of memory");
        goto done;
    }
    s.s = net_connect_rcvbuf(srv.port, 4096, CONNECT_MS, why, sizeof why);
    if (s.s == INVALID_SOCKET || !bp_login(&s, srv.port, "sloth", why, sizeof why) ||
        !bp_login(&t, srv.port, "talker", why, sizeof why))
        goto bad;
    sc_add(want, s.id, s.x, s.y, s.name);
    if (!bp_expect(&t, want, "T sees S", why, sizeof why))
        goto bad;
    for (int k = 0; k < FLOOD_BATCH; k++) {
        char text[32];
        snprintf(text, sizeof text, "flood %d", k);
        n += mk_chat(batch + n, text, strlen(text));
    }
    t0 = now_ms();
    while (!cut) {
        if (owed >= FLOOD_MAX_BYTES) {
            out = fail(c, "a player that reads nothing was sent %llu MiB and is still on the "
                          "board: what the server holds for it has no bound", owed >> 20);
            goto done;
        }
        if (now_ms() - t0 > FLOOD_MAX_MS) {
            out = skip(c, "%llu KiB sent to a player that reads nothing within %d s, and it is "
                          "still on the board: not enough to fill the buffers on the way here",
                       owed >> 10, FLOOD_MAX_MS / 1000);
            goto done;
        }
        if (!bp_send(&t, batch, n, why, sizeof why))
            goto bad;
        for (int k = 0; k < FLOOD_BATCH;) {
            unsigned char got[PKT_MAX];
            if (bp_next(&t, got, NET_TIMEOUT_MS, why, sizeof why) != NET_OK)
                goto bad;
            if (got[1] == SC_CHAT && pkt_i32(got, 2) == t.id)
                k++;
            else if (got[1] == SC_REMOVE_OBJECT && pkt_i32(got, 2) == s.id)
                cut = 1;
        }
        owed += FLOOD_BATCH * sizeof(SC_CHAT_PACKET);
    }
    info(c, "S was cut off after about %llu KiB, %llu ms", owed >> 10,
         (unsigned long long)(now_ms() - t0));
    if (proc_find_line(&srv, OUT_STREAM, "does not read", 0, line, sizeof line))
        info(c, "%s", line);
    if (!bp_free_move(&t, 4321, want, why, sizeof why) ||
        !bp_expect(&t, want, "T moves after S was cut off", why, sizeof why))
        goto bad;
    goto done;
bad:
    out = fail(c, "%s", why);
done:
    free(batch);
    bp_done(&t, 1);
    bp_done(&s, 1);
    return game_finish(c, &srv, out);
}

/* client.exe game --script plays on the board: its login line, a move,
 * and B sees it arrive and move. */
static enum result case_game_client(struct ctx *c)
{
    struct proc srv, cl;
    struct bp bb;
    char why[WHY_SIZE], exe[MAX_PATH * 2], args[96], line[256], tail[WHY_SIZE / 2];
    static const char script[] = "move left\nmove right\nlook\nquit\n";
    unsigned char got[PKT_MAX];
    enum result out = RES_PASS;
    int id = -1, x = -1, y = -1;
    memset(&cl, 0, sizeof cl);
    bp_init(&bb, "B");
    exe_path("client", exe, sizeof exe);
    if (!file_exists(exe))
        return skip(c, "build/client.exe not found");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!bp_login(&bb, srv.port, "bob", why, sizeof why))
        goto bad;
    snprintf(args, sizeof args, "game -p %u -n gamer --script", (unsigned)srv.port);
    if (!proc_start_input(&cl, exe, args, script, sizeof script - 1, why, sizeof why))
        goto bad;
    if (proc_wait_line(&cl, OUT_STREAM, "login ", 1, 20000, line, sizeof line) == 1) {
        /* "login ID X Y" (not sscanf: MSVC deprecates it, C4996) */
        char *p = line + 6, *end;
        id = (int)strtol(p, &end, 10);
        if (end == p)
            id = -1;
        p = end;
        x = (int)strtol(p, &end, 10);
        y = (int)strtol(end, NULL, 10);
    }
    if (id < 0 || x < 0 || x >= BOARD || y < 0 || y >= BOARD) {
        proc_tail(&cl, ERR_STREAM, tail, sizeof tail);
        out = fail(c, "client.exe game printed no \"login ID X Y\" line on the board; stderr: %s",
                   tail);
        goto done;
    }
    if (bp_next(&bb, got, NET_TIMEOUT_MS, why, sizeof why) != NET_OK)
        goto bad;
    if (got[1] != SC_ADD_OBJECT || pkt_i32(got, 2) != id) {
        out = fail(c, "B: expected SC_ADD_OBJECT of the game client (id %d)", id);
        goto done;
    }
    if (proc_wait_line(&cl, OUT_STREAM, "seen 1", 1, 20000, line, sizeof line) != 1) {
        proc_tail(&cl, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "client.exe game: no \"seen 1\" after look (B is on the board): %s", tail);
        goto done;
    }
    if (!proc_wait(&cl, 15000) || cl.exit_code != 0) {
        out = fail(c, "client.exe game did not end with status 0 after quit");
        goto done;
    }
    /* B saw its two moves and its leave */
    for (int k = 0; k < 3; k++) {
        if (bp_next(&bb, got, NET_TIMEOUT_MS, why, sizeof why) != NET_OK)
            goto bad;
        if (pkt_i32(got, 2) != id || got[1] != (k < 2 ? SC_MOVE_OBJECT : SC_REMOVE_OBJECT)) {
            char t[160];
            out = fail(c, "B got %s, expected the game client's %s", pkt_text(got, t, sizeof t),
                       k < 2 ? "move" : "leave");
            goto done;
        }
    }
    goto done;
bad:
    out = fail(c, "%s", why);
done:
    proc_stop(&cl);
    bp_done(&bb, 0);
    return game_finish(c, &srv, out);
}

static enum result case_ctrl_c(struct ctx *c)
{
    struct proc srv;
    struct bp p[3];
    char why[WHY_SIZE];
    enum result out = RES_PASS;
    for (int i = 0; i < 3; i++)
        bp_init(&p[i], "player");
    if (!start(&srv, c, "", why, sizeof why))
        return fail(c, "%s", why);
    if (!group_login(p, 3, srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    out = ctrl_c_verdict(c, &srv, "3 players");
done:
    for (int i = 0; i < 3; i++)
        bp_done(&p[i], 1);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * Step 10's cases that apply to the board: those on an 8x8 (or smaller)
 * map with a range that covers it, no NPCs, run as they are (the board
 * takes step 10's -m, -v and -n 0 for them). Each wrapper finds its case
 * in game_cases by name, so that the case itself stays in one place.
 * --------------------------------------------------------------------- */

static enum result run_game_case(struct ctx *c, const char *name)
{
    for (const struct test_case *tc = game_cases; tc->name != NULL; tc++)
        if (strcmp(tc->name, name) == 0)
            return tc->run(c);
    return skip(c, "step 10 has no case named %s any more", name);
}

#define STEP10_CASE(fn, name)                                                                  \
    static enum result fn(struct ctx *c)                                                       \
    {                                                                                          \
        return run_game_case(c, name);                                                         \
    }
STEP10_CASE(g_login_and_see, "login-and-see")
STEP10_CASE(g_move_echo_broadcast, "move-echo-broadcast")
STEP10_CASE(g_chat, "chat")
STEP10_CASE(g_attack_relogin, "attack-and-relogin-ignored")
STEP10_CASE(g_bad_direction, "bad-direction")
STEP10_CASE(g_teleport, "teleport")
STEP10_CASE(g_logout_removal, "logout-removal")
STEP10_CASE(g_close_removal, "close-removal")
STEP10_CASE(g_reset_removal, "reset-removal")
STEP10_CASE(g_split_packets, "split-packets")
STEP10_CASE(g_coalesced_packets, "coalesced-packets")
STEP10_CASE(g_malformed, "malformed")
STEP10_CASE(g_full_server, "full-server")
STEP10_CASE(g_slow_reader, "slow-reader")
STEP10_CASE(g_game_client_script, "game-client-script")

const struct test_case board_cases[] = {
    {"args", 0, 60, case_args},
    {"chat", 0, 30, case_board_chat},
    {"full-board", 0, 40, case_full},
    {"does-not-read-cut-off", 0, 180, case_board_slow_reader},
    {"game-client", 0, 60, case_game_client},
    {"ctrl-c", 0, 60, case_ctrl_c},
    {"step10:login-and-see", 0, 30, g_login_and_see},
    {"step10:move-echo-broadcast", 0, 30, g_move_echo_broadcast},
    {"step10:chat", 0, 30, g_chat},
    {"step10:attack-and-relogin-ignored", 0, 30, g_attack_relogin},
    {"step10:bad-direction", 0, 30, g_bad_direction},
    {"step10:teleport", 0, 30, g_teleport},
    {"step10:logout-removal", 0, 30, g_logout_removal},
    {"step10:close-removal", 0, 30, g_close_removal},
    {"step10:reset-removal", 0, 30, g_reset_removal},
    {"step10:split-packets", 0, 30, g_split_packets},
    {"step10:coalesced-packets", 0, 30, g_coalesced_packets},
    {"step10:malformed", 0, 90, g_malformed},
    {"step10:full-server", 0, 60, g_full_server},
    {"step10:slow-reader", 0, 90, g_slow_reader},
    {"step10:game-client-script", 0, 90, g_game_client_script},
    {NULL, 0, 0, NULL},
};
