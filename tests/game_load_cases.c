/*
 * game_load_cases.c - the cases of step 10 about limits and load: a full
 * server, a reader too slow for what it is sent, many players at once,
 * NPCs, and client.exe's game and stress modes against the server. The
 * table is in game_cases.c.
 */
#include "game_kit.h"

/* ------------------------------------------------------------------------
 * full-server: -u 2; the third login is refused; a slot freed is reused
 * --------------------------------------------------------------------- */

/* Connects `p` and sends CS_LOGIN as `name`; the first packet back goes
 * to `got` unchecked (the login may be refused). 0 with `why` set when
 * connecting or sending failed, or, after `when`, when nothing came. */
static int login_unchecked(struct gp *p, unsigned short port, const char *name, const char *when,
                           unsigned char *got, char *why, size_t whysz)
{
    unsigned char pkt[PKT_MAX];
    char sub[WHY_SIZE];
    size_t n = mk_login(pkt, name);
    if (!gp_connect(p, port, why, whysz) || !gp_send(p, pkt, n, why, whysz))
        return 0;
    if (gp_raw(p, got, NET_TIMEOUT_MS, sub, sizeof sub) != NET_OK) {
        snprintf(why, whysz, "%s: %s", when, sub);
        return 0;
    }
    return 1;
}

static enum result play_full_server(struct game_fx *f)
{
    struct ctx *c = f->c;
    struct gp *a = &f->p[0], *b = &f->p[1], *d = &f->p[2], *e = &f->p[3];
    char why[WHY_SIZE], st[64], t[160];
    unsigned char want[PKT_MAX], got[PKT_MAX];
    enum result out = RES_PASS;
    size_t k = 0;
    int err = 0, a_id, tries;
    enum net_status r;
    /* the third: SC_LOGIN_FAIL, then the end of the stream */
    if (!login_unchecked(d, f->srv.port, "carol", "a third login with -u 2: expected SC_LOGIN_FAIL",
                         got, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    if (got[1] != SC_LOGIN_FAIL) {
        out = fail(c, "a third login with -u 2: got %s, expected SC_LOGIN_FAIL",
                   pkt_text(got, t, sizeof t));
        goto done;
    }
    r = net_recv_some(d->s, got, sizeof got, NET_TIMEOUT_MS, &k, &err);
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
    if (!gp_expect_nothing(a, "after the refused login", why, sizeof why) ||
        !gp_expect_nothing(b, "after the refused login", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* A leaves; B sees it; D gets A's slot, once it is free (the server
     * frees it when A's last operation has completed: try again until) */
    a_id = a->id;
    gp_done(a, 0);
    sc_remove(want, a_id);
    if (!gp_expect(b, want, "A closes", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (tries = 0; tries < 40; tries++) {
        snprintf(e->name, sizeof e->name, "dave");
        if (!login_unchecked(e, f->srv.port, "dave", "D's login, after A left", got, why,
                             sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        if (got[1] != SC_LOGIN_FAIL)
            break;
        gp_done(e, 1);
        gp_init(e, "D", 8, 8, 2);
        Sleep(250); /* A's slot is not free yet: again in a moment */
    }
    if (tries == 40) {
        out = fail(c, "after A left, D's login was refused 40 times over 10 s: the slot was "
                      "not freed");
        goto done;
    }
    {
        int echo = 0;
        if (!gp_track(e, got, &echo, why, sizeof why)) {
            out = fail(c, "D's login, after A left: %s", why);
            goto done;
        }
    }
    if (e->id != a_id) {
        out = fail(c, "D got id %d; with -u 2 and B holding id %d, the free id is A's, %d", e->id,
                   b->id, a_id);
        goto done;
    }
    if (!gp_meet(b, e, "D's login in A's slot", "D's login in A's slot, B sees D", why,
                 sizeof why) ||
        !gp_expect_nothing(b, "at the end", why, sizeof why) ||
        !gp_expect_nothing(e, "at the end", why, sizeof why))
        out = fail(c, "%s", why);
    else if (tries > 0)
        info(c, "D's login was refused %d times before A's slot was free", tries);
done:
    return out;
}

/* The small map with two slots (-u 2): A and B logged in, C and D ready. */
static const struct game_setup full_two = {
    "-m 8x8 -v 7 -u 2", 8, 8, 2, {"A", "B", "C", "D", NULL}, 1};

enum result case_full_server(struct ctx *c)
{
    return game_fixture(c, &full_two, play_full_server);
}

/* ------------------------------------------------------------------------
 * slow-reader: a player that reads nothing is disconnected once its send
 * queue is full; the others go on
 * --------------------------------------------------------------------- */

#define FLOOD_BATCH 100
#define FLOOD_MAX_BYTES (16u << 20) /* owed to the slow reader: then it is a FAIL */
#define FLOOD_MAX_MS 45000          /* then a SKIP: this machine is too slow for it */

enum result case_slow_reader(struct ctx *c)
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
    if (!game_start(&srv, c->exe, 0, SMALL_MAP " -r 0", 1, why, sizeof why)) /* T floods chat */
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
    if (!gp_meet(&t, &u, "a newcomer after S was dropped",
                 "a newcomer after S was dropped, T sees it", why, sizeof why))
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

enum result case_many_players(struct ctx *c)
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

/* build/client.exe (its path in `client`) and a server started with
 * `opts`: RES_PASS, or the SKIP (no client.exe) or FAIL to return. */
static enum result client_and_server(struct ctx *c, struct proc *srv, const char *opts,
                                     char *client, size_t size)
{
    char why[WHY_SIZE];
    exe_path("client", client, size);
    if (!file_exists(client))
        return skip(c, "needs build/client.exe, which is not built");
    if (!game_start(srv, c->exe, 0, opts, 1, why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

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

enum result case_game_client_script(struct ctx *c)
{
    static const char a_script[] = "move left\nmove right\nwait 30000\nquit\n";
    static const char b_script[] =
        "move up\nmove down\nchat hello from bob\nlook\nquit\n";
    char why[WHY_SIZE], client[MAX_PATH * 2], args[96], want[64], tail[WHY_SIZE / 2];
    char line[256];
    struct proc srv, a, b;
    enum result out = RES_PASS;
    int a_id, b_id, have_a = 0, have_b = 0;
    out = client_and_server(c, &srv, "-m 6x6 -v 7 -u 100", client, sizeof client);
    if (out != RES_PASS)
        return out;
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

enum result case_stress_fixed(struct ctx *c)
{
    char why[WHY_SIZE], client[MAX_PATH * 2], args[96], line[512], tail[WHY_SIZE / 2];
    struct proc srv, p;
    enum result out = client_and_server(c, &srv, "", client, sizeof client);
    if (out != RES_PASS)
        return out;
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

enum result case_npcs(struct ctx *c)
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
