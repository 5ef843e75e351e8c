/*
 * game_abuse_cases.c - step 10 against the clients students write by
 * mistake: the contract's "Clients that misbehave" and its defaults.
 *
 *   login-timeout       idle and slow-loris connections fill the server;
 *                       each is closed (with a log line) within the login
 *                       timeout, and the next login is served
 *   crowd-login         a client that reads, logging in among thousands of
 *                       objects, stays and gets its own move back
 *   spammer             a client that floods moves and chat next to clients
 *                       that read: they stay, the excess is not passed on
 *   idle-timeout        with -I, a player that sends nothing is closed, with
 *                       a log line; without it, nobody is
 *   small-board-defaults  `-m 8x8` and nothing else serves a player
 *
 * Players are driven over real sockets with the small helpers below (a
 * view tracker by id, for thousands of objects) on game_kit.c's packets
 * and reader. As in game_cases.c, no case asserts a duration: every
 * limit here only keeps a hung server from hanging the driver.
 */
#include "game_kit.h"

#define AB_MARK 0x5A7E0000u /* move_time of a marker move */
#define AB_WAIT_MS 60000    /* hang protection for the waits on the server's clock */

/* ------------------------------------------------------------------------
 * A player: socket, reassembly, and the objects its client knows
 * --------------------------------------------------------------------- */

struct ab_player {
    SOCKET s;
    const char *label;
    int id;
    unsigned char rb[4096];
    size_t rlen;
    unsigned char *known; /* one byte per id: added and not removed */
    int ids;              /* size of `known` */
    int adds;             /* SC_ADD_OBJECT received */
};

static void ab_init(struct ab_player *p, const char *label, int ids)
{
    memset(p, 0, sizeof *p);
    p->s = INVALID_SOCKET;
    p->label = label;
    p->id = -1;
    p->ids = ids;
}

static void ab_done(struct ab_player *p)
{
    net_abort(p->s);
    p->s = INVALID_SOCKET;
    free(p->known);
    p->known = NULL;
}

static int ab_send(struct ab_player *p, const void *data, size_t len, char *why, size_t whysz)
{
    return net_send_why(p->s, p->label, data, len, why, whysz);
}

/* The next whole packet (size and type checked): only the types step 10
 * sends in play, so SC_LOGIN_OK and SC_STAT_CHANGE are refused too. */
static enum net_status ab_next(struct ab_player *p, unsigned char *pkt, char *why, size_t whysz)
{
    enum net_status r = pkt_read(p->s, p->label, p->rb, sizeof p->rb, &p->rlen, pkt,
                                 NET_TIMEOUT_MS, why, whysz);
    if (r == NET_OK && (pkt[1] == SC_LOGIN_OK || pkt[1] == SC_STAT_CHANGE)) {
        snprintf(why, whysz, "%s: a packet of size %u, type %u from the server", p->label,
                 (unsigned)pkt[0], (unsigned)pkt[1]);
        return NET_ERROR;
    }
    return r;
}

/* Keeps the player's view, and fails on what the contract rules out: a
 * second add, a remove or a move of an object never added. */
static int ab_track(struct ab_player *p, const unsigned char *pkt, char *why, size_t whysz)
{
    int id = pkt[1] == SC_LOGIN_INFO || pkt[1] == SC_LOGIN_FAIL ? -1 : pkt_i32(pkt, 2);
    if (id == p->id || id < 0)
        return 1;
    if (id >= p->ids) {
        snprintf(why, whysz, "%s: an object id %d, beyond the id space", p->label, id);
        return 0;
    }
    switch (pkt[1]) {
    case SC_ADD_OBJECT:
        if (p->known[id]) {
            snprintf(why, whysz, "%s: a second SC_ADD_OBJECT for %d", p->label, id);
            return 0;
        }
        p->known[id] = 1;
        p->adds++;
        return 1;
    case SC_REMOVE_OBJECT:
    case SC_MOVE_OBJECT:
    case SC_CHAT:
        if (!p->known[id]) {
            snprintf(why, whysz, "%s: packet type %u about %d, which it was never added",
                     p->label, (unsigned)pkt[1], id);
            return 0;
        }
        if (pkt[1] == SC_REMOVE_OBJECT)
            p->known[id] = 0;
        return 1;
    default:
        return 1;
    }
}

/* Connects and sends CS_LOGIN; the answer is the caller's: SC_LOGIN_INFO
 * (then p->id is set, 1) or SC_LOGIN_FAIL (0 with `why` saying so). */
static int ab_login(struct ab_player *p, unsigned short port, const char *name, char *why,
                    size_t whysz)
{
    unsigned char pkt[PKT_MAX];
    size_t n;
    if (p->known == NULL && (p->known = (unsigned char *)calloc((size_t)p->ids, 1)) == NULL) {
        snprintf(why, whysz, "out of memory");
        return 0;
    }
    p->s = net_connect(port, CONNECT_MS, why, whysz);
    if (p->s == INVALID_SOCKET)
        return 0;
    n = mk_login(pkt, name);
    if (!ab_send(p, pkt, n, why, whysz) || ab_next(p, pkt, why, whysz) != NET_OK)
        return 0;
    if (pkt[1] != SC_LOGIN_INFO) {
        snprintf(why, whysz, "%s: login answered with type %u, not SC_LOGIN_INFO", p->label,
                 (unsigned)pkt[1]);
        return 0;
    }
    p->id = pkt_i32(pkt, 2);
    return 1;
}

/* Sends a marker (a move that goes nowhere) and reads, tracking, until its
 * answer. Everything the server queued for the player before is read on
 * the way. */
static int ab_sync(struct ab_player *p, uint32_t mark, char *why, size_t whysz)
{
    unsigned char pkt[PKT_MAX];
    size_t n = mk_move(pkt, DIR_NOWHERE, mark);
    if (!ab_send(p, pkt, n, why, whysz))
        return 0;
    for (;;) {
        if (ab_next(p, pkt, why, whysz) != NET_OK || !ab_track(p, pkt, why, whysz))
            return 0;
        if (pkt[1] == SC_MOVE_OBJECT && pkt_i32(pkt, 2) == p->id &&
            pkt_u32(pkt, offsetof(SC_MOVE_OBJECT_PACKET, move_time)) == mark)
            return 1;
    }
}

/* How many lines of the server's output contain `text`. */
static int ab_count(struct proc *srv, const char *text)
{
    char *t = proc_text(srv, OUT_STREAM), *q;
    int n = 0;
    if (t == NULL)
        return 0;
    for (q = strstr(t, text); q != NULL; q = strstr(q + 1, text))
        n++;
    free(t);
    return n;
}

/* Waits until the server printed `count` lines containing `text`, up to
 * AB_WAIT_MS (a hang, not a threshold). Returns how many it has. */
static int ab_wait_count(struct proc *srv, const char *text, int count)
{
    ULONGLONG until = now_ms() + AB_WAIT_MS;
    int n;
    while ((n = ab_count(srv, text)) < count && now_ms() < until && proc_running(srv))
        Sleep(100); /* the server logs from its own threads: look again */
    return n;
}

static enum result ab_finish(struct ctx *c, struct proc *srv, enum result out)
{
    if (out == RES_PASS && !proc_running(srv))
        out = fail(c, "the server exited (status %lu)", (unsigned long)srv->exit_code);
    proc_stop(srv);
    return out;
}

/* ------------------------------------------------------------------------
 * login-timeout: slots held by connections that never log in, or leave a
 * packet half sent, come back within the login timeout
 * --------------------------------------------------------------------- */

#define LT_USERS 4

static enum result case_login_timeout(struct ctx *c)
{
    char why[WHY_SIZE], st[64];
    unsigned char pkt[PKT_MAX], buf[64];
    struct proc srv;
    struct ab_player player, extra, late;
    SOCKET idle[LT_USERS - 1];
    enum result out = RES_PASS;
    int i, n, tries, err = 0;
    size_t got = 0;
    enum net_status r;

    for (i = 0; i < LT_USERS - 1; i++)
        idle[i] = INVALID_SOCKET;
    ab_init(&player, "P", LT_USERS);
    ab_init(&extra, "a login into the full server", LT_USERS);
    ab_init(&late, "a login after the timeouts", LT_USERS);
    /* not quiet: the closes are read from the log */
    if (!server_start_args(&srv, c->exe, "-n 0 -m 8x8 -u 4 -L 2 ", 0, why, sizeof why))
        return fail(c, "%s", why);
    /* P logs in, then leaves half a CS_MOVE in the server's buffer */
    if (!ab_login(&player, srv.port, "player", why, sizeof why) ||
        !ab_sync(&player, AB_MARK | 1, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    n = (int)mk_move(pkt, DIR_NOWHERE, 0);
    if (!ab_send(&player, pkt, 3, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* the other three slots: two idle connections, one that sends the
     * first byte of a CS_LOGIN and stops */
    for (i = 0; i < LT_USERS - 1; i++) {
        idle[i] = net_connect(srv.port, CONNECT_MS, why, sizeof why);
        if (idle[i] == INVALID_SOCKET) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    pkt[0] = (unsigned char)sizeof(CS_LOGIN_PACKET);
    if (net_send_all(idle[2], pkt, 1, NET_TIMEOUT_MS, &got, &err) != NET_OK) {
        out = fail(c, "one byte of CS_LOGIN: send failed");
        goto done;
    }
    /* The four holders have slots once the server has said so: a connect
     * returns when the system completed it, the slot comes when the
     * server's AcceptEx completion is handled, later on a loaded machine.
     * Without this wait the next login could take a slot before the last
     * holder, which would then be refused instead of timed out (a
     * failure seen once in CI: "3 of 4 connections"). */
    n = ab_wait_count(&srv, "connected from", LT_USERS);
    if (n < LT_USERS) {
        out = fail(c, "only %d of %d connections were given a slot (\"connected from\")", n,
                   LT_USERS);
        goto done;
    }
    /* Full now: a login is refused. (The server may already have closed
     * some by the time this login arrives on a slow machine: then it is
     * served, which is the point of the timeout; the check below is what
     * must hold.) */
    if (!ab_login(&extra, srv.port, "extra", why, sizeof why))
        info(c, "with 4 slots held, a login: %s (expected: the server is full)", why);
    else
        info(c, "with 4 slots held, a login was served: a timeout had passed already");
    ab_done(&extra);
    /* Within the timeout, each holder is closed with a log line. */
    n = ab_wait_count(&srv, "(login timeout)", LT_USERS);
    if (n < LT_USERS) {
        out = fail(c, "%d of %d connections (2 idle, 1 with one byte of CS_LOGIN, 1 player "
                      "with half a CS_MOVE) were closed with a \"(login timeout)\" log line "
                      "within %d s of a 2 s login timeout",
                   n, LT_USERS, AB_WAIT_MS / 1000);
        goto done;
    }
    if (ab_count(&srv, "incomplete") < 1) {
        out = fail(c, "the player that left half a CS_MOVE: no log line saying \"incomplete\"");
        goto done;
    }
    for (i = 0; i < LT_USERS - 1; i++) {
        r = net_recv_some(idle[i], buf, sizeof buf, NET_TIMEOUT_MS, &got, &err);
        if (r != NET_EOF && r != NET_RESET) {
            out = fail(c, "connection %d, closed by the login timeout: %s (expected the end of "
                          "the stream)",
                       i + 1, r == NET_OK ? "data" : net_status_text(r, err, st, sizeof st));
            goto done;
        }
    }
    for (;;) {
        r = ab_next(&player, pkt, why, sizeof why);
        if (r == NET_EOF || r == NET_RESET)
            break;
        if (r != NET_OK) {
            out = fail(c, "P, after half a CS_MOVE: %s (expected the end of the stream)", why);
            goto done;
        }
    }
    /* The slots are free: a login is served (a slot is free once its last
     * I/O completed: try again a few times). */
    for (tries = 0; tries < 40; tries++) {
        if (ab_login(&late, srv.port, "late", why, sizeof why))
            break;
        ab_done(&late);
        ab_init(&late, "a login after the timeouts", LT_USERS);
        Sleep(250);
    }
    if (tries == 40) {
        out = fail(c, "after the login timeouts closed every holder, logins were still "
                      "refused: %s",
                   why);
        goto done;
    }
    if (!ab_sync(&late, AB_MARK | 2, why, sizeof why))
        out = fail(c, "%s", why);
done:
    for (i = 0; i < LT_USERS - 1; i++)
        net_abort(idle[i]);
    ab_done(&player);
    ab_done(&extra);
    ab_done(&late);
    return ab_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * crowd-login: 20,000 NPCs on 30x30 tiles; a reading client's login sees
 * thousands of them (far more SC_ADD_OBJECT than the server's 32 KiB
 * first send queue holds) and stays
 * --------------------------------------------------------------------- */

#define CROWD_NPCS 20000
#define CROWD_USERS 10
#define CROWD_ADDS 1200 /* more than 32 KiB of SC_ADD_OBJECT: a queue that fills at once cannot */

static enum result case_crowd_login(struct ctx *c)
{
    char why[WHY_SIZE], opts[96];
    unsigned char pkt[PKT_MAX];
    struct proc srv;
    struct ab_player p;
    enum result out = RES_PASS;
    uint32_t k = 1;

    ab_init(&p, "the client in the crowd", CROWD_USERS + CROWD_NPCS);
    snprintf(opts, sizeof opts, "-n %d -m 30x30 -u %d ", CROWD_NPCS, CROWD_USERS);
    if (!server_start_args(&srv, c->exe, opts, 1, why, sizeof why))
        return fail(c, "%s", why);
    if (!ab_login(&p, srv.port, "crowded", why, sizeof why) ||
        !ab_sync(&p, AB_MARK | k, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* The rest of the snapshot comes as the client reads: read (moves
     * answered on the way) until more than one full first queue of adds. */
    while (p.adds < CROWD_ADDS) {
        if (ab_next(&p, pkt, why, sizeof why) != NET_OK || !ab_track(&p, pkt, why, sizeof why)) {
            out = fail(c, "after %d SC_ADD_OBJECT: %s", p.adds, why);
            goto done;
        }
    }
    if (!ab_sync(&p, AB_MARK | ++k, why, sizeof why))
        out = fail(c, "after %d SC_ADD_OBJECT: %s", p.adds, why);
    else
        info(c, "%d SC_ADD_OBJECT read, own move answered, still connected", p.adds);
done:
    ab_done(&p);
    return ab_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * spammer: floods moves and chat on an 8x8 board next to three readers
 * --------------------------------------------------------------------- */

#define SPAM_READERS 3
#define SPAM_MOVES 10000
#define SPAM_CHATS 1000

static enum result case_spammer(struct ctx *c)
{
    char why[WHY_SIZE], st[64];
    unsigned char pkt[PKT_MAX], *spam = NULL;
    struct proc srv;
    struct ab_player r[SPAM_READERS], s;
    static const char *const labels[SPAM_READERS] = {"reader 1", "reader 2", "reader 3"};
    enum result out = RES_PASS;
    size_t len = 0, sent = 0;
    int i, err = 0, lines;

    for (i = 0; i < SPAM_READERS; i++)
        ab_init(&r[i], labels[i], 10);
    ab_init(&s, "the spammer", 10);
    spam = (unsigned char *)malloc(SPAM_MOVES * sizeof(CS_MOVE_PACKET) +
                                   SPAM_CHATS * sizeof(CS_CHAT_PACKET));
    if (spam == NULL)
        return fail(c, "out of memory");
    for (i = 0; i < SPAM_MOVES; i++) {
        len += mk_move(spam + len, i % 4, (uint32_t)i);
        if (i % (SPAM_MOVES / SPAM_CHATS) == 0) {
            CS_CHAT_PACKET ch;
            memset(&ch, 0, sizeof ch);
            ch.size = (uint8_t)sizeof ch;
            ch.type = CS_CHAT;
            snprintf(ch.mess, sizeof ch.mess, "spam %d", i);
            memcpy(spam + len, &ch, sizeof ch);
            len += sizeof ch;
        }
    }
    if (!server_start_args(&srv, c->exe, "-n 0 -m 8x8 -u 10 ", 0, why, sizeof why)) {
        free(spam);
        return fail(c, "%s", why);
    }
    for (i = 0; i < SPAM_READERS; i++)
        if (!ab_login(&r[i], srv.port, labels[i], why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    if (!ab_login(&s, srv.port, "spammer", why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (i = 0; i < SPAM_READERS; i++)
        if (!ab_sync(&r[i], AB_MARK | (uint32_t)(i + 1), why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    /* All of it at once, then the end of the spammer's stream: the server
     * handles every byte of it before it sees the FIN, so the readers'
     * SC_REMOVE_OBJECT of the spammer comes after everything it caused. */
    if (net_send_all(s.s, spam, len, NET_TIMEOUT_MS, &sent, &err) != NET_OK) {
        out = fail(c, "the spammer: sent %llu of %llu bytes: %s", (unsigned long long)sent,
                   (unsigned long long)len, net_status_text(NET_ERROR, err, st, sizeof st));
        goto done;
    }
    shutdown(s.s, SD_SEND);
    for (i = 0; i < SPAM_READERS; i++) {
        int moves = 0, chats = 0;
        for (;;) {
            if (ab_next(&r[i], pkt, why, sizeof why) != NET_OK ||
                !ab_track(&r[i], pkt, why, sizeof why)) {
                out = fail(c, "next to a spammer (%d moves and %d chats seen so far): %s", moves,
                           chats, why);
                goto done;
            }
            if (pkt_i32(pkt, 2) != s.id)
                continue;
            if (pkt[1] == SC_MOVE_OBJECT)
                moves++;
            else if (pkt[1] == SC_CHAT)
                chats++;
            else if (pkt[1] == SC_REMOVE_OBJECT)
                break;
        }
        if (moves >= SPAM_MOVES || chats >= SPAM_CHATS) {
            out = fail(c, "%s got %d of the spammer's %d moves and %d of its %d chats: the "
                          "excess was passed on",
                       labels[i], moves, SPAM_MOVES, chats, SPAM_CHATS);
            goto done;
        }
        info(c, "%s got %d of %d moves, %d of %d chats", labels[i], moves, SPAM_MOVES, chats,
             SPAM_CHATS);
        if (!ab_sync(&r[i], AB_MARK | (uint32_t)(i + 10), why, sizeof why)) {
            out = fail(c, "after the spam: %s", why);
            goto done;
        }
    }
    /* One line per kind of excess, not one per packet; the counts at the
     * spammer's departure. */
    lines = ab_count(&srv, "over the rate limit for");
    if (lines != 2)
        out = fail(c, "%d log lines \"over the rate limit for\" (expected 2: one for moves, "
                      "one for chat, however many were dropped)",
                   lines);
    else if (ab_wait_count(&srv, "dropped)", 1) < 1)
        out = fail(c, "the spammer's departure line does not count what was dropped");
done:
    free(spam);
    for (i = 0; i < SPAM_READERS; i++)
        ab_done(&r[i]);
    ab_done(&s);
    return ab_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * idle-timeout: -I 5; a player that stops sending is closed, one that
 * keeps sending (a move every 100 ms, fifty times more often than needed)
 * is not
 * --------------------------------------------------------------------- */

static enum result case_idle_timeout(struct ctx *c)
{
    char why[WHY_SIZE];
    unsigned char pkt[PKT_MAX];
    struct proc srv;
    struct ab_player quiet, busy;
    enum result out = RES_PASS;
    enum net_status r;
    uint32_t k = 1;

    ab_init(&quiet, "the quiet player", 10);
    ab_init(&busy, "the busy player", 10);
    if (!server_start_args(&srv, c->exe, "-n 0 -m 100x100 -u 10 -I 5 ", 0, why, sizeof why))
        return fail(c, "%s", why);
    if (!ab_login(&quiet, srv.port, "quiet", why, sizeof why) ||
        !ab_login(&busy, srv.port, "busy", why, sizeof why) ||
        !ab_sync(&quiet, AB_MARK | k++, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* The busy one moves (a marker, answered) until the quiet one is
     * closed: its own moves keep it in. */
    while (ab_count(&srv, "(idle timeout)") == 0) {
        if (!ab_sync(&busy, AB_MARK | k++, why, sizeof why)) {
            out = fail(c, "a player that sends a move every 100 ms, with -I 5: %s", why);
            goto done;
        }
        if (k > AB_WAIT_MS / 100) {
            out = fail(c, "no \"(idle timeout)\" log line %d s after a player stopped sending, "
                          "with -I 5",
                       AB_WAIT_MS / 1000);
            goto done;
        }
        Sleep(100); /* a move every 100 ms: far more often than -I 5 needs */
    }
    for (;;) {
        r = ab_next(&quiet, pkt, why, sizeof why);
        if (r == NET_EOF || r == NET_RESET)
            break;
        if (r != NET_OK) {
            out = fail(c, "after the idle timeout: %s (expected the end of the stream)", why);
            goto done;
        }
    }
    if (ab_count(&srv, "(quiet): sent nothing") != 1)
        out = fail(c, "the \"(idle timeout)\" line is not about the quiet player");
    else if (ab_count(&srv, "(idle timeout)") != 1 || !ab_sync(&busy, AB_MARK | k, why, sizeof why))
        out = fail(c, "the busy player: %s",
                   ab_count(&srv, "(idle timeout)") != 1 ? "closed by the idle timeout too" : why);
done:
    ab_done(&quiet);
    ab_done(&busy);
    return ab_finish(c, &srv, out);
}

/* ------------------------------------------------------------------------
 * small-board-defaults: the course's 8x8 board with every other option at
 * its default (3 NPCs: one per 20 tiles)
 * --------------------------------------------------------------------- */

static enum result case_small_board(struct ctx *c)
{
    char why[WHY_SIZE];
    struct proc srv;
    struct ab_player p;
    enum result out = RES_PASS;
    int npcs = 0;

    ab_init(&p, "the player", 10000 + 100);
    if (!server_start_args(&srv, c->exe, "-m 8x8 ", 1, why, sizeof why))
        return fail(c, "%s", why);
    /* range 7 on 8x8: the login's answer shows every NPC, before the
     * marker's answer */
    if (!ab_login(&p, srv.port, "student", why, sizeof why) ||
        !ab_sync(&p, AB_MARK | 1, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int id = 10000; id < p.ids; id++)
        npcs += p.known[id];
    if (npcs != 3 || p.adds != 3)
        out = fail(c, "with -m 8x8 alone the player was added %d objects, %d of them NPCs "
                      "(expected the 3 NPCs of the default, one per 20 tiles)",
                   p.adds, npcs);
done:
    ab_done(&p);
    return ab_finish(c, &srv, out);
}

const struct test_case game_abuse_cases[] = {
    {"login-timeout", 0, 120, case_login_timeout},
    {"crowd-login", 0, 150, case_crowd_login},
    {"spammer", 0, 120, case_spammer},
    {"idle-timeout", 0, 90, case_idle_timeout},
    {"small-board-defaults", 0, 60, case_small_board},
    {NULL, 0, 0, NULL},
};
