/*
 * game_cases.c - the cases of step 10, the game server, against the
 * behaviour contract ("Game server (10)" and its wire protocol).
 *
 * Each case starts its own server with the options it needs, always with
 * -n 0 (no NPCs) unless it is about NPCs: the server's default is 200,000
 * of them. The players are driven over real sockets (struct gp, game_kit.c);
 * the client programs (client.exe game --script, client.exe stress) are
 * run as child processes by their own cases.
 *
 * This file holds the table of the cases, in the order they run, and
 * the cases about the server as a program: its command line, its status
 * line, Ctrl+C. The others are in game_play_cases.c and
 * game_load_cases.c; what they share is in game_kit.c (game_kit.h).
 *
 * No case asserts a rate or a duration: every limit below only keeps a
 * hung server from hanging the driver.
 */
#include "game_kit.h"

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
 * The list: name, flags, deadline (s), function, like every case file's
 * (the driver runs tables). Nothing is shared: each case starts the
 * server it needs, most through game_fixture.
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
