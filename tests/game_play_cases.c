/*
 * game_play_cases.c - the cases of step 10 about what players see: two
 * players moving and chatting, what the server ignores, leaving (logout,
 * close, reset), the map's edge, views entering and leaving, packets split
 * and coalesced, and bad packets. The table is in game_cases.c.
 *
 * Most cases are a body run in game_fixture with a setup (which map,
 * which players): the bodies open alike on purpose, naming the fixture's
 * players, and each case_ function is the one line that joins the two.
 */
#include "game_kit.h"

/* ------------------------------------------------------------------------
 * Two players on a small map: login, move, chat, and what is ignored
 * --------------------------------------------------------------------- */

static enum result play_login_and_see(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1];
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

enum result case_login_and_see(struct ctx *c)
{
    return game_fixture(c, &small_two, play_login_and_see);
}

static enum result play_move_echo_broadcast(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1];
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

enum result case_move_echo_broadcast(struct ctx *c)
{
    return game_fixture(c, &small_two, play_move_echo_broadcast);
}

static enum result play_chat(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1];
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

enum result case_chat(struct ctx *c)
{
    return game_fixture(c, &small_two, play_chat);
}

/* CS_ATTACK (no combat yet) and a second CS_LOGIN are accepted and change
 * nothing: no packet, the connection stays, the name stays. */
static enum result play_attack_relogin(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1], *d = &f->p[2];
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

enum result case_attack_relogin(struct ctx *c)
{
    return game_fixture(c, &small_two, play_attack_relogin);
}

/* A direction that does not exist: the move goes nowhere and is answered
 * all the same (the contract: "always"). */
static enum result play_bad_direction(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1];
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

enum result case_bad_direction(struct ctx *c)
{
    return game_fixture(c, &small_two, play_bad_direction);
}

static enum result play_teleport(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1];
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

enum result case_teleport(struct ctx *c)
{
    return game_fixture(c, &small_two, play_teleport);
}

/* ------------------------------------------------------------------------
 * Leaving: logout, close, reset
 * --------------------------------------------------------------------- */

static enum result play_logout_removal(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1], *d = &f->p[2];
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

enum result case_logout_removal(struct ctx *c)
{
    return game_fixture(c, &small_two, play_logout_removal);
}

/* A witness W; C logs in, then closes (abortive: resets); W sees C come
 * and go, and is still served. */
static enum result leave(struct game_fx *f, int abortive)
{
    struct ctx *c = f->c;
    struct gp *w = &f->p[0], *d = &f->p[1];
    char why[WHY_SIZE];
    unsigned char want[PKT_MAX];
    if (!gp_login(w, f->srv.port, "witness", why, sizeof why) ||
        !gp_login(d, f->srv.port, "carol", why, sizeof why) ||
        !gp_meet(w, d, "C's login, C sees W", "C's login, W sees C", why, sizeof why))
        return fail(c, "%s", why);
    sc_remove(want, d->id);
    gp_done(d, abortive);
    if (!gp_expect(w, want, abortive ? "C resets its connection" : "C closes its connection",
                   why, sizeof why) ||
        !gp_expect_nothing(w, "after C left", why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result play_close_removal(struct game_fx *f)
{
    return leave(f, 0);
}

static enum result play_reset_removal(struct game_fx *f)
{
    return leave(f, 1);
}

/* The small map: a witness W and C, not logged in yet. */
static const struct game_setup small_witness = {SMALL_MAP, 8, 8, 100, {"W", "C", NULL}, 0};

enum result case_close_removal(struct ctx *c)
{
    return game_fixture(c, &small_witness, play_close_removal);
}

enum result case_reset_removal(struct ctx *c)
{
    return game_fixture(c, &small_witness, play_reset_removal);
}

/* ------------------------------------------------------------------------
 * edge-clamp: a step off the map is blocked and still answered
 * --------------------------------------------------------------------- */

static enum result play_edge_clamp(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0];
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
    enum result out = RES_PASS;
    if (!gp_login(a, f->srv.port, "alice", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (!gp_walk(a, steps[i].at_x, steps[i].at_y, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        snprintf(when, sizeof when, "at (%d, %d), a step %s", steps[i].at_x, steps[i].at_y,
                 dir_name(steps[i].dir));
        sc_move(want, a->id, steps[i].x, steps[i].y, steps[i].t);
        if (!gp_send_move(a, steps[i].dir, steps[i].t, why, sizeof why) ||
            !gp_expect(a, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    if (!gp_expect_nothing(a, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    return out;
}

/* A 5x5 map, range 2: A alone. */
static const struct game_setup edge_map = {"-m 5x5 -v 2 -u 100", 5, 5, 100, {"A", NULL}, 0};

enum result case_edge_clamp(struct ctx *c)
{
    return game_fixture(c, &edge_map, play_edge_clamp);
}

/* ------------------------------------------------------------------------
 * view-enter-leave: on a 50x50 map with range 3, A at (0,0), B at (0,10),
 * C at (40,40), each walked there from its spawn. B walks up into A's
 * view and out again; C, far away, hears nothing of it.
 * --------------------------------------------------------------------- */

static enum result play_view_enter_leave(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *g = f->p, *a = &g[0], *b = &g[1], *d = &g[2];
    char why[WHY_SIZE], when[64];
    unsigned char pkt[PKT_MAX], want[PKT_MAX];
    static const char *const names[3] = {"alice", "bob", "carol"};
    static const int target[3][2] = {{0, 0}, {0, 10}, {40, 40}};
    enum result out = RES_PASS;
    int i, k;
    size_t n;
    /* Into place. On the way they may see each other for a while: the
     * tracker follows. Then two rounds of markers: after the first, every
     * walk's last move has been handled whole (a client's packets are
     * handled in order); the second collects what those moves sent. */
    for (i = 0; i < 3; i++)
        if (!gp_login(&g[i], f->srv.port, names[i], why, sizeof why)) {
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
    if (!gp_meet(a, b, "B steps to (0,3), within 3 of A", "B steps to (0,3), A sees B come",
                 why, sizeof why)) {
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
    return out;
}

/* A 50x50 map, range 3: A, B and C, not logged in yet. */
static const struct game_setup wide_three = {
    "-m 50x50 -v 3 -u 100", 50, 50, 100, {"A", "B", "C", NULL}, 0};

enum result case_view_enter_leave(struct ctx *c)
{
    return game_fixture(c, &wide_three, play_view_enter_leave);
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

static enum result play_split_packets(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0];
    char why[WHY_SIZE], when[64];
    unsigned char pkt[PKT_MAX], want[PKT_MAX];
    enum result out = RES_PASS;
    size_t n;
    snprintf(a->name, sizeof a->name, "alice");
    if (!gp_connect(a, f->srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* CS_LOGIN one byte at a time */
    n = mk_login(pkt, "alice");
    if (!send_pieces(a, pkt, n, 1, 20, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    if (gp_next(a, pkt, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
        out = fail(c, "CS_LOGIN sent one byte at a time: %s", why);
        goto done;
    }
    /* CS_MOVE cut after each of its bytes */
    for (size_t cut = 1; cut < sizeof(CS_MOVE_PACKET); cut++) {
        int dir = a->x < 4 ? DIR_RIGHT : DIR_LEFT, x = a->x, y = a->y;
        uint32_t t = 1000u + (uint32_t)cut;
        step_from(dir, 8, 8, &x, &y);
        snprintf(when, sizeof when, "CS_MOVE in two pieces, cut after byte %u", (unsigned)cut);
        n = mk_move(pkt, dir, t);
        sc_move(want, a->id, x, y, t);
        if (!gp_send(a, pkt, cut, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        Sleep(50); /* the first piece arrives alone */
        if (!gp_send(a, pkt + cut, n - cut, why, sizeof why) ||
            !gp_expect(a, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    /* CS_CHAT in three pieces: the header, most of the text, the rest */
    n = mk_chat(pkt, "split chat", 11);
    sc_chat(want, a->id, "split chat", 10);
    if (!gp_send(a, pkt, 1, why, sizeof why) ||
        !send_pieces(a, pkt + 1, n - 1, 60, 50, why, sizeof why) ||
        !gp_expect(a, want, "CS_CHAT in three pieces", why, sizeof why) ||
        !gp_expect_nothing(a, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    return out;
}

/* The small map, A alone and not connected yet. */
static const struct game_setup small_one = {SMALL_MAP, 8, 8, 100, {"A", NULL}, 0};

enum result case_split_packets(struct ctx *c)
{
    return game_fixture(c, &small_one, play_split_packets);
}

#define BURST_MOVES 100

static enum result play_coalesced_packets(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0];
    char why[WHY_SIZE], when[64], st[64];
    unsigned char *burst, want[PKT_MAX];
    enum result out = RES_PASS;
    size_t n = 0, got = 0;
    int x, y, err = 0;
    enum net_status r;
    burst = (unsigned char *)malloc(BURST_MOVES * sizeof(CS_MOVE_PACKET) + 3 * PKT_MAX);
    if (burst == NULL)
        return fail(c, "out of memory");
    snprintf(a->name, sizeof a->name, "alice");
    if (!gp_connect(a, f->srv.port, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* CS_LOGIN and a CS_MOVE in one send: the move is handled after the
     * login, not taken as part of it nor as a move before it */
    n = mk_login(burst, "alice");
    n += mk_move(burst + n, DIR_RIGHT, 1);
    if (!gp_send(a, burst, n, why, sizeof why) ||
        gp_next(a, want, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
        out = fail(c, "CS_LOGIN and CS_MOVE in one send: %s", why);
        goto done;
    }
    x = a->x;
    y = a->y;
    step_from(DIR_RIGHT, 8, 8, &x, &y);
    sc_move(want, a->id, x, y, 1);
    if (!gp_expect(a, want, "CS_LOGIN and CS_MOVE in one send", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* 100 moves in one send: 100 answers, in order */
    n = 0;
    for (int i = 0; i < BURST_MOVES; i++)
        n += mk_move(burst + n, (i / 3) % 4, 2000u + (uint32_t)i);
    if (!gp_send(a, burst, n, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int i = 0; i < BURST_MOVES; i++) {
        step_from((i / 3) % 4, 8, 8, &x, &y);
        sc_move(want, a->id, x, y, 2000u + (uint32_t)i);
        snprintf(when, sizeof when, "%d CS_MOVEs in one send, answer %d", BURST_MOVES, i + 1);
        if (!gp_expect(a, want, when, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    /* a chat, a move, and the first 4 bytes of another move */
    n = mk_chat(burst, "coalesced", 10);
    n += mk_move(burst + n, DIR_NOWHERE, 42);
    n += mk_move(burst + n, DIR_NOWHERE, 43);
    if (!gp_send(a, burst, n - 3, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_chat(want, a->id, "coalesced", 9);
    if (!gp_expect(a, want, "CS_CHAT, CS_MOVE and half a CS_MOVE in one send", why,
                   sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    sc_move(want, a->id, x, y, 42);
    if (!gp_expect(a, want, "CS_CHAT, CS_MOVE and half a CS_MOVE in one send", why,
                   sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* the half move is not answered: a packet is left half sent here, so
     * this is the one place that waits for silence */
    r = net_recv_some(a->s, a->rb + a->rlen, sizeof a->rb - a->rlen, 500, &got, &err);
    if (a->rlen > 0 || r == NET_OK) {
        out = fail(c, "4 bytes of a 7-byte CS_MOVE: %llu bytes came back before the rest was "
                      "sent",
                   (unsigned long long)(a->rlen + got));
        goto done;
    }
    if (r != NET_TIMEOUT) {
        out = fail(c, "4 bytes of a 7-byte CS_MOVE: %s", net_status_text(r, err, st, sizeof st));
        goto done;
    }
    sc_move(want, a->id, x, y, 43);
    if (!gp_send(a, burst + n - 3, 3, why, sizeof why) ||
        !gp_expect(a, want, "the last 3 bytes of the CS_MOVE", why, sizeof why) ||
        !gp_expect_nothing(a, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
done:
    free(burst);
    return out;
}

enum result case_coalesced_packets(struct ctx *c)
{
    return game_fixture(c, &small_one, play_coalesced_packets);
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

enum result case_malformed(struct ctx *c)
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
            if (!gp_meet(&w, &m, when, when, why, sizeof why)) {
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
