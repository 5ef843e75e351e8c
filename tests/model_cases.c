/*
 * model_cases.c - the cases of one model each: what a model gets wrong in
 * its own way, beyond the contract cases every step runs (echo_cases.c).
 *
 *   05  closed-socket-events      window messages still queued for a socket
 *                                 that is gone (clients that reset at once)
 *   06  group-boundary            the 64-handle limit: the first group of
 *   07  group-boundary            63, the next group, a slot freed and reused
 *   06  ctrl-c-while-connecting   the stop must not be lost while a group
 *   07  ctrl-c-while-connecting   thread is being woken for new sockets
 *   07  ctrl-c-delivers           at Ctrl+C a client that reads gets the
 *   08  ctrl-c-delivers           echo it is owed, exactly as counted, then
 *   09  ctrl-c-delivers           a graceful end
 *   07  ctrl-c-while-receiving    the same with the echo sent and a receive
 *   08  ctrl-c-while-receiving    in flight: input after Ctrl+C must not
 *   09  ctrl-c-while-receiving    reset the echo away
 *   08  routines-while-accepting  one thread runs the completion routines and
 *                                 accepts: a stream goes on while 500 connect
 *   09  workers-1000              a pool of 4 workers, 1,000 clients, then
 *                                 Ctrl+C with all of them connected
 *
 * Same discipline as echo_cases.c: every socket wait has a limit, every
 * helper thread is joined with a limit, and each case closes what it
 * opened.
 */
#include "tests.h"

/* Connects s[from..to) as a burst: every connect started, then each one
 * waited for. *opened is raised as sockets are created, so that the caller
 * closes s[0..*opened) whatever happens (all of them valid or
 * INVALID_SOCKET). 1, or 0 with `why` set. */
static int connect_range(unsigned short port, SOCKET *s, int from, int to, int *opened, char *why,
                         size_t whysz)
{
    char one[WHY_SIZE];
    for (int k = from; k < to; k++) {
        s[k] = net_connect_start(port, one, sizeof one);
        if (s[k] == INVALID_SOCKET) {
            snprintf(why, whysz, "client %d: %s", k + 1, one);
            return 0;
        }
        if (k + 1 > *opened)
            *opened = k + 1;
    }
    for (int k = from; k < to; k++)
        if (!net_connect_wait(s[k], CONNECT_MS, one, sizeof one)) {
            snprintf(why, whysz, "client %d: %s", k + 1, one);
            return 0;
        }
    return 1;
}

static void abort_all(SOCKET *s, int n)
{
    for (int i = 0; i < n; i++) {
        net_abort(s[i]); /* abortive: hundreds of graceful closes would only cost time */
        s[i] = INVALID_SOCKET;
    }
}

/* Waits for a helper thread of a case. Its own socket waits are limited,
 * so it ends; should it not, the case's deadline takes over. */
static int join_thread(HANDLE t, DWORD ms)
{
    int ok = WaitForSingleObject(t, ms) == WAIT_OBJECT_0;
    if (ok)
        CloseHandle(t);
    return ok;
}

/* ------------------------------------------------------------------------
 * 05: closed-socket-events
 *
 * WSAAsyncSelect posts FD_READ / FD_WRITE / FD_CLOSE as window messages,
 * and messages for a socket can still be in the queue after the server
 * closed it. Worse, Winsock reuses handle values: a message meant for a
 * closed socket can name a new connection's socket. A server that trusts
 * the message crashes, or reads, writes or closes the wrong connection.
 * Here bursts of clients connect, send and reset all at once (each reset
 * arrives as FD_CLOSE, often with FD_READ still queued for the same
 * socket), the next burst connecting while the previous one resets, and
 * ten steady clients echo and verify their data all along; a probe
 * client amid each burst's resets checks that a new connection, which may
 * get a reused handle value, sees exactly its own echo.
 * --------------------------------------------------------------------- */

#define STEADY_CLIENTS 10
#define STEADY_MAX_MSG 3000
#define RESET_BURSTS 10
#define RESET_BURST 20 /* 200 clients in all */
#define RESET_BIG (128u * 1024)

struct steady {
    SOCKET s[STEADY_CLIENTS];
    volatile LONG stop;
    int rounds;
    int ok;
    char why[WHY_SIZE];
};

/* The steady clients: each round, every one sends a message of its own
 * (its length and bytes depend on the client and the round) and reads it
 * back; a byte of another connection's data, or a closed connection,
 * fails. At least one round, then until told to stop. */
static DWORD WINAPI steady_main(LPVOID arg)
{
    struct steady *st = (struct steady *)arg;
    unsigned char *buf = (unsigned char *)malloc(STEADY_MAX_MSG);
    char one[WHY_SIZE];
    st->ok = 0;
    if (buf == NULL) {
        snprintf(st->why, sizeof st->why, "out of memory");
        return 0;
    }
    do {
        for (int i = 0; i < STEADY_CLIENTS; i++) {
            struct prng r;
            size_t len = 1 + ((size_t)i * 397 + (size_t)st->rounds * 131) % STEADY_MAX_MSG;
            prng_seed(&r, (uint32_t)(7000 + 1000 * i + st->rounds));
            prng_fill(&r, buf, len);
            if (!net_echo(st->s[i], buf, len, NET_TIMEOUT_MS, one, sizeof one)) {
                snprintf(st->why, sizeof st->why, "steady client %d, round %d: %s", i + 1,
                         st->rounds + 1, one);
                free(buf);
                return 0;
            }
        }
        st->rounds++;
    } while (InterlockedCompareExchange(&st->stop, 0, 0) == 0);
    free(buf);
    st->ok = 1;
    return 0;
}

/* A burst, in two halves: burst_start begins RESET_BURST connects;
 * burst_send waits for them and has each echo one message, which proves
 * that the server accepted it (a connection reset while still in the
 * listen backlog never becomes one of the server's sockets). Then a
 * quarter of the clients send nothing more, half send a small message, a
 * quarter send 128 KiB without reading (so that the server has an echo
 * pending for them). The case resets them all at once later, while the
 * next burst connects. */
static int burst_start(unsigned short port, SOCKET *r, int *opened, char *why, size_t whysz)
{
    char one[WHY_SIZE];
    for (int k = 0; k < RESET_BURST; k++) {
        r[k] = net_connect_start(port, one, sizeof one);
        if (r[k] == INVALID_SOCKET) {
            snprintf(why, whysz, "client %d: %s", k + 1, one);
            return 0;
        }
        *opened = k + 1;
    }
    return 1;
}

static int burst_send(SOCKET *r, const unsigned char *big, char *why, size_t whysz)
{
    char one[WHY_SIZE], t[64];
    for (int k = 0; k < RESET_BURST; k++)
        if (!net_connect_wait(r[k], CONNECT_MS, one, sizeof one)) {
            snprintf(why, whysz, "client %d: %s", k + 1, one);
            return 0;
        }
    if (!round_trip_all(r, RESET_BURST, "soon to reset, %d\n", why, whysz))
        return 0;
    for (int k = 0; k < RESET_BURST; k++) {
        size_t len = k % 4 == 0 ? 0 : k % 4 == 3 ? RESET_BIG : 1 + ((size_t)k * 373) % 4096;
        size_t sent = 0;
        int err = 0;
        enum net_status st;
        if (len == 0)
            continue;
        /* a stall is fine: the server may hold back reading */
        st = net_send_all(r[k], big, len, 300, &sent, &err);
        if (st != NET_OK && st != NET_TIMEOUT) {
            snprintf(why, whysz, "client %d: send before the reset: %s", k + 1,
                     net_status_text(st, err, t, sizeof t));
            return 0;
        }
    }
    return 1;
}

static enum result case_closed_socket_events(struct ctx *c)
{
    char why[WHY_SIZE];
    /* on the heap: should its thread outlive the case, it may go on using it */
    struct steady *st = (struct steady *)calloc(1, sizeof(struct steady));
    unsigned char *big = (unsigned char *)malloc(RESET_BIG);
    SOCKET prev[RESET_BURST], cur[RESET_BURST];
    HANDLE t = NULL;
    enum result out = RES_PASS;
    int i, opened = 0, n_prev = 0, n_cur = 0, probes = 0;
    if (st == NULL || big == NULL) {
        free(st);
        free(big);
        return fail(c, "out of memory");
    }
    for (i = 0; i < STEADY_CLIENTS; i++)
        st->s[i] = INVALID_SOCKET;
    memset(big, 'z', RESET_BIG);
    if (!connect_range(c->srv->port, st->s, 0, STEADY_CLIENTS, &opened, why, sizeof why)) {
        out = fail(c, "steady %s", why);
        goto done;
    }
    for (i = 0; i < STEADY_CLIENTS; i++)
        net_nodelay(st->s[i]);
    t = CreateThread(NULL, 0, steady_main, st, 0, NULL);
    if (t == NULL) {
        out = fail(c, "CreateThread failed: error %lu", GetLastError());
        goto done;
    }
    /* One more round than bursts: the last one only resets. */
    for (int b = 0; b <= RESET_BURSTS && out == RES_PASS; b++) {
        SOCKET p;
        /* The next burst's connections arrive while the previous burst
         * resets, so that accepts (which may reuse a handle value just
         * freed) and the resets' messages interleave in the queue. */
        if (b < RESET_BURSTS && !burst_start(c->srv->port, cur, &n_cur, why, sizeof why)) {
            out = fail(c, "burst %d: %s", b + 1, why);
            break;
        }
        abort_all(prev, n_prev);
        n_prev = 0;
        /* and a client that must see exactly its own echo amid it all */
        p = net_connect(c->srv->port, CONNECT_MS, why, sizeof why);
        if (p == INVALID_SOCKET || !echo_msg(p, "probe %d amid resets\n", b + 1, why, sizeof why) ||
            !expect_silence(p, 50, why, sizeof why))
            out = fail(c, "a new client, %s burst %d reset: %s", b == 0 ? "before" : "as",
                       b == 0 ? 1 : b, why);
        else
            probes++;
        net_close(p);
        if (out != RES_PASS || b == RESET_BURSTS)
            break;
        if (!burst_send(cur, big, why, sizeof why)) {
            out = fail(c, "burst %d: %s", b + 1, why);
            break;
        }
        memcpy(prev, cur, sizeof prev);
        n_prev = n_cur;
        n_cur = 0;
    }
    abort_all(prev, n_prev);
    abort_all(cur, n_cur);
    InterlockedExchange(&st->stop, 1);
    if (!join_thread(t, 2 * NET_TIMEOUT_MS + 5000)) {
        /* st and its sockets stay: the thread still uses them */
        free(big);
        return out != RES_PASS ? out : fail(c, "the steady clients' thread did not finish");
    }
    t = NULL;
    if (out == RES_PASS && !st->ok)
        out = fail(c, "%s (while %d clients reset)", st->why, RESET_BURSTS * RESET_BURST);
    for (i = 0; out == RES_PASS && i < STEADY_CLIENTS; i++)
        if (!expect_silence(st->s[i], 30, why, sizeof why))
            out = fail(c, "steady client %d: %s", i + 1, why);
    if (out == RES_PASS)
        info(c, "%d clients reset in %d bursts; %d steady rounds of %d clients; %d probes served",
             RESET_BURSTS * RESET_BURST, RESET_BURSTS, st->rounds, STEADY_CLIENTS, probes);
done:
    free(big);
    if (t != NULL) { /* a failure before the bursts: stop the steady thread first */
        InterlockedExchange(&st->stop, 1);
        for (i = 0; i < STEADY_CLIENTS; i++)
            if (st->s[i] != INVALID_SOCKET)
                shutdown(st->s[i], SD_BOTH);
        if (!join_thread(t, 2 * NET_TIMEOUT_MS + 5000))
            return out; /* st and its sockets stay: the thread still uses them */
    }
    for (i = 0; i < STEADY_CLIENTS; i++)
        net_close(st->s[i]);
    free(st);
    return out;
}

/* ------------------------------------------------------------------------
 * 06, 07: group-boundary
 *
 * WSAWaitForMultipleEvents takes at most 64 handles, so these steps wait
 * in groups of 63 connections plus a wake-up event, one thread per group,
 * and hand each new connection to the first group with room. On a fresh
 * server: exactly 63 clients fill the first group; the 64th must start a
 * second group without disturbing the full one; 63 more fill the second
 * and start a third; everybody echoes, the first 63 again too. Then
 * clients leave one at a time and newcomers take their places, everybody
 * echoing after each change: freed slots are reused without disturbing
 * the others.
 * --------------------------------------------------------------------- */

#define GROUP 63
#define GROUP_CLIENTS (2 * GROUP + 1) /* 127: two full groups and one more */

/* Who leaves in phase 5, in this order (1-based): 10, 63 (the last of the
 * first group) and 1 (its first); 127 (alone in the third group); 64 (the
 * first of the second); 30; then the newcomer that took 63's place. */
static const int leavers[] = {10, 63, 1, 127, 64, 30, 63};
#define N_LEAVERS ((int)(sizeof leavers / sizeof leavers[0]))

static enum result case_group_boundary(struct ctx *c)
{
    char why[WHY_SIZE];
    struct proc srv;
    SOCKET s[GROUP_CLIENTS];
    enum result out = RES_PASS;
    int i, opened = 0;
    for (i = 0; i < GROUP_CLIENTS; i++)
        s[i] = INVALID_SOCKET;
    /* a fresh server: connections of earlier cases not yet closed would
     * sit in the first group and move the boundary */
    if (!server_start(&srv, c->exe, 1, why, sizeof why))
        return fail(c, "%s", why);

    /* 1: one full group */
    if (!connect_range(srv.port, s, 0, GROUP, &opened, why, sizeof why) ||
        !round_trip_all(s, GROUP, "group one, client %d\n", why, sizeof why)) {
        out = fail(c, "the first %d clients: %s", GROUP, why);
        goto done;
    }
    /* 2: the 64th starts a group, the full one is undisturbed */
    if (!connect_range(srv.port, s, GROUP, GROUP + 1, &opened, why, sizeof why) ||
        !echo_msg(s[GROUP], "client %d, a new group\n", GROUP + 1, why, sizeof why)) {
        out = fail(c, "client %d (the first beyond one full group): %s", GROUP + 1, why);
        goto done;
    }
    if (!round_trip_all(s, GROUP, "group one again, client %d\n", why, sizeof why)) {
        out = fail(c, "the first %d clients, after client %d connected: %s", GROUP, GROUP + 1,
                   why);
        goto done;
    }
    /* 3: 63 more: the second group fills and a third starts */
    if (!connect_range(srv.port, s, GROUP + 1, GROUP_CLIENTS, &opened, why, sizeof why) ||
        !round_trip_all(s + GROUP + 1, GROUP, "later client %d\n", why, sizeof why)) {
        out = fail(c, "clients %d to %d (counted from %d): %s", GROUP + 2, GROUP_CLIENTS,
                   GROUP + 2, why);
        goto done;
    }
    /* 4: all of them, the first 63 included */
    if (!round_trip_all(s, GROUP_CLIENTS, "everyone, client %d\n", why, sizeof why)) {
        out = fail(c, "all %d clients at once: %s", GROUP_CLIENTS, why);
        goto done;
    }
    /* 5: clients leave one at a time, gracefully (the server frees their
     * slots; a group may move its last socket into the hole), a new
     * client comes each time, and everybody echoes again: a slot index
     * left stale by such a move shows up when the moved client or the
     * newcomer leaves in turn */
    for (i = 0; i < N_LEAVERS; i++) {
        int k = leavers[i] - 1;
        net_close(s[k]);
        s[k] = net_connect(srv.port, CONNECT_MS, why, sizeof why);
        if (s[k] == INVALID_SOCKET) {
            out = fail(c, "a new client after client %d left: %s", k + 1, why);
            goto done;
        }
        if (!round_trip_all(s, GROUP_CLIENTS, "after a change, client %d\n", why, sizeof why)) {
            out = fail(c, "all %d clients, after client %d left and another came: %s",
                       GROUP_CLIENTS, k + 1, why);
            goto done;
        }
    }
    info(c, "%d clients over groups of %d; %d left and were replaced", GROUP_CLIENTS, GROUP,
         N_LEAVERS);
done:
    abort_all(s, opened);
    if (out == RES_PASS && !proc_running(&srv))
        out = fail(c, "the server exited (status %lu)", (unsigned long)srv.exit_code);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * 06, 07: ctrl-c-while-connecting
 *
 * A group thread resets its wake-up event before it takes the sockets
 * main queued, and main sets that same event, after a `closing` flag, to
 * stop the group at Ctrl+C. A thread that looked at the flag just before
 * main set it, and resets the event just after, erases the stop: it
 * waits for ever, and main's join hangs. Clients keep connecting, and
 * stay idle (so that nothing else wakes the group), so that group threads
 * are being woken for new sockets when Ctrl+C comes; the server must
 * still stop, with its summary. The window is narrow: a run that passes
 * proves little, one that hangs proves the bug (with a Sleep(300) before
 * that reset it hung every time).
 * --------------------------------------------------------------------- */

#define CWC_ROUNDS 3
#define CWC_WARMUP 20 /* connections before the Ctrl+C */
#define CWC_STOP_MS 10000
#define CWC_MAX 500 /* connections per round, at most */

struct churn {
    unsigned short port;
    volatile LONG stop;
    volatile LONG made;
    SOCKET s[CWC_MAX];
};

/* Connects, again and again, leaving each connection idle, until told to
 * stop or the server is gone (after the Ctrl+C, the expected end). */
static DWORD WINAPI churn_main(LPVOID arg)
{
    struct churn *k = (struct churn *)arg;
    char one[WHY_SIZE];
    while (InterlockedCompareExchange(&k->stop, 0, 0) == 0 && k->made < CWC_MAX) {
        SOCKET s = net_connect(k->port, CONNECT_MS, one, sizeof one);
        if (s == INVALID_SOCKET)
            break;
        k->s[k->made] = s;
        InterlockedIncrement(&k->made);
    }
    return 0;
}

static enum result case_ctrl_c_while_connecting(struct ctx *c)
{
    char why[WHY_SIZE], tail[WHY_SIZE / 2];
    for (int round = 1; round <= CWC_ROUNDS; round++) {
        struct proc srv;
        /* on the heap: should its thread outlive the case, it may go on using it */
        struct churn *k = (struct churn *)calloc(1, sizeof(struct churn));
        enum result out = RES_PASS;
        HANDLE t;
        if (k == NULL)
            return fail(c, "out of memory");
        if (!server_start(&srv, c->exe, 1, why, sizeof why)) {
            free(k);
            return fail(c, "%s", why);
        }
        k->port = srv.port;
        t = CreateThread(NULL, 0, churn_main, k, 0, NULL);
        if (t == NULL) {
            proc_stop(&srv);
            free(k);
            return fail(c, "CreateThread failed: %lu", GetLastError());
        }
        for (int i = 0; i < 1000 && InterlockedCompareExchange(&k->made, 0, 0) < CWC_WARMUP; i++)
            Sleep(10); /* a limit on the wait, not a timing assertion */
        if (proc_send_ctrl(&srv, CTRL_C_EVENT, why, sizeof why) != CTRL_SENT) {
            out = fail(c, "could not deliver Ctrl+C: %s", why);
        } else if (!proc_wait(&srv, CWC_STOP_MS)) {
            proc_tail(&srv, OUT_STREAM, tail, sizeof tail);
            out = fail(c, "round %d: still running %d s after Ctrl+C while clients kept "
                          "connecting (%ld so far); stdout: %s",
                       round, CWC_STOP_MS / 1000, (long)k->made, tail[0] ? tail : "(empty)");
        } else {
            proc_drain(&srv, 2000);
            if (srv.exit_code != 0)
                out = fail(c, "round %d: exit status %lu after Ctrl+C", round,
                           (unsigned long)srv.exit_code);
            else if (!proc_find_line(&srv, OUT_STREAM, "stopped:", 1, why, sizeof why))
                out = fail(c, "round %d: no summary line after Ctrl+C", round);
        }
        InterlockedExchange(&k->stop, 1);
        proc_stop(&srv); /* also ends a connect in progress */
        if (join_thread(t, CONNECT_MS + 2000)) {
            abort_all(k->s, (int)k->made);
            free(k);
        }
        if (out != RES_PASS)
            return out;
    }
    info(c, "%d rounds: Ctrl+C while clients kept connecting, the server stopped each time",
         CWC_ROUNDS);
    return RES_PASS;
}

/* ------------------------------------------------------------------------
 * 07, 08, 09: ctrl-c-delivers
 *
 * The overlapped steps stop with operations in flight, and cancel them
 * (Wine leaves a send to a client that does not read pending for ever
 * otherwise). Cancelling a send that is under way drops the rest of an
 * echo the server owes. One client sends until its send stalls (every
 * buffer full, the server stuck sending its echo), Ctrl+C comes, and then
 * the client reads everything: it must get, in order and intact, exactly
 * the bytes the server's log line says were echoed to it, and then a
 * graceful end. A send cut short shows as bytes the server did not count
 * (or as a reset); an echo counted but not delivered, as fewer: that is
 * what a plain close does here, since closing a socket with unread input
 * (the client sent more than the server read) resets the connection and
 * drops what is still on its way. The server gives a reading client a
 * grace period of its own to take its echo, so the client starts reading
 * at once after the Ctrl+C.
 * --------------------------------------------------------------------- */

#define CD_PIECE (64u * 1024)
#define CD_MAX_PIECES 1024 /* 64 MiB: a bound, should the server not hold back */
#define CD_STOP_MS 10000

static enum result case_ctrl_c_delivers(struct ctx *c)
{
    char why[WHY_SIZE], tail[WHY_SIZE / 2], line[256], st_text[64];
    struct proc srv;
    struct prng tx, rx;
    unsigned char *piece = (unsigned char *)malloc(CD_PIECE);
    unsigned char *want = (unsigned char *)malloc(CD_PIECE);
    unsigned long long sent = 0, got = 0, counted;
    enum result out = RES_PASS;
    enum net_status st = NET_OK;
    SOCKET s = INVALID_SOCKET;
    const char *at;
    char *end;
    int err = 0, i;
    if (piece == NULL || want == NULL) {
        free(piece);
        free(want);
        return fail(c, "out of memory");
    }
    if (!server_start(&srv, c->exe, 1, why, sizeof why)) {
        free(piece);
        free(want);
        return fail(c, "%s", why);
    }
    s = net_connect(srv.port, CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET) {
        out = fail(c, "%s", why);
        goto done;
    }
    prng_seed(&tx, 4242);
    prng_seed(&rx, 4242);
    for (i = 0; i < CD_MAX_PIECES; i++) {
        size_t n = 0;
        prng_fill(&tx, piece, CD_PIECE);
        st = net_send_all(s, piece, CD_PIECE, 300, &n, &err);
        sent += n;
        if (st != NET_OK)
            break; /* stalled (the expected end) or failed */
    }
    if (i == CD_MAX_PIECES) {
        out = fail(c, "the server took %d MiB without sending them back: no backpressure",
                   CD_MAX_PIECES / 16);
        goto done;
    }
    if (st != NET_TIMEOUT) {
        out = fail(c, "sending: %s", net_status_text(st, err, st_text, sizeof st_text));
        goto done;
    }
    if (proc_send_ctrl(&srv, CTRL_C_EVENT, why, sizeof why) != CTRL_SENT) {
        out = fail(c, "could not deliver Ctrl+C: %s", why);
        goto done;
    }
    /* everything that comes, checked against what was sent, to the end */
    for (;;) {
        size_t n = 0;
        st = net_recv_some(s, piece, CD_PIECE, NET_TIMEOUT_MS, &n, &err);
        if (n > 0) {
            prng_fill(&rx, want, n);
            if (memcmp(piece, want, n) != 0) {
                out = fail(c, "the echo differs from what was sent, within bytes %llu to %llu",
                           got, got + n);
                goto done;
            }
            got += n;
        }
        if (st != NET_OK)
            break;
    }
    if (st == NET_EOF)
        shutdown(s, SD_SEND); /* done too: the server need not wait for more */
    if (!proc_wait(&srv, CD_STOP_MS)) {
        proc_tail(&srv, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "still running %d s after Ctrl+C; stdout: %s", CD_STOP_MS / 1000,
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    proc_drain(&srv, 2000);
    if (st != NET_EOF) {
        out = fail(c, "after %llu of the %llu bytes sent came back: %s, not a graceful end", got,
                   sent, net_status_text(st, err, st_text, sizeof st_text));
        goto done;
    }
    if (!proc_find_line(&srv, OUT_STREAM, "bytes echoed", 0, line, sizeof line)) {
        proc_tail(&srv, OUT_STREAM, tail, sizeof tail);
        out = fail(c, "no line for the connection (\"..., N bytes echoed\"); stdout: %s",
                   tail[0] ? tail : "(empty)");
        goto done;
    }
    at = strrchr(line, ',');
    counted = at != NULL ? strtoull(at + 1, &end, 10) : 0;
    if (at == NULL || end == at + 1) {
        out = fail(c, "no byte count in the connection's line: %s", line);
        goto done;
    }
    if (got != counted) {
        out = fail(c, "the client got %llu bytes back after Ctrl+C, the server counts %llu: %s",
                   got, counted, line);
        goto done;
    }
    info(c, "sent %llu, got back %llu, as counted: %s", sent, got, line);
done:
    net_abort(s);
    free(piece);
    free(want);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * 07, 08, 09: ctrl-c-while-receiving
 *
 * The other state a connection can be in at Ctrl+C: its echo has been
 * handed to the system (the send completed) but is not delivered yet, and
 * the server waits in a receive. The client has a small receive buffer,
 * so most of the echo still sits in the server's send buffer. Ctrl+C
 * cancels that receive; then the client sends a byte. A server that
 * closes on the cancelled receive is reset by that byte, and the reset
 * drops the echo still on its way; one that sends a FIN and drains
 * delivers all of it, then a graceful end. The pause before Ctrl+C lets
 * the server finish its send: should it be slow, the Ctrl+C finds the
 * send in flight and the case passes without showing anything, so it
 * never fails for a slow machine.
 * --------------------------------------------------------------------- */

#define CR_BYTES 16384 /* one server buffer (LAB_BUF_SIZE) */
#define CR_CLIENT_RCVBUF 2048
#define CR_SETTLE_MS 1000

static enum result case_ctrl_c_while_receiving(struct ctx *c)
{
    char why[WHY_SIZE], st_text[64];
    struct proc srv;
    struct prng tx, rx;
    unsigned char piece[CR_BYTES], want[CR_BYTES];
    int err = 0;
    size_t n = 0, got = 0, extra = 0;
    enum net_status st;
    enum result out = RES_PASS;
    SOCKET s;
    if (!server_start(&srv, c->exe, 1, why, sizeof why))
        return fail(c, "%s", why);
    s = net_connect_rcvbuf(srv.port, CR_CLIENT_RCVBUF, CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET) {
        out = fail(c, "%s", why);
        goto done;
    }
    prng_seed(&tx, 777);
    prng_seed(&rx, 777);
    prng_fill(&tx, piece, sizeof piece);
    st = net_send_all(s, piece, sizeof piece, NET_TIMEOUT_MS, &n, &err);
    if (st != NET_OK) {
        out = fail(c, "sending: %s", net_status_text(st, err, st_text, sizeof st_text));
        goto done;
    }
    Sleep(CR_SETTLE_MS);
    if (proc_send_ctrl(&srv, CTRL_C_EVENT, why, sizeof why) != CTRL_SENT) {
        out = fail(c, "could not deliver Ctrl+C: %s", why);
        goto done;
    }
    /* Input after Ctrl+C, once the server has had time to act on it: it
     * must not cost the echo. (Should it come before, it is echoed.) */
    Sleep(CR_SETTLE_MS);
    send(s, "x", 1, 0);
    for (;;) {
        n = 0;
        st = net_recv_some(s, piece, sizeof piece, NET_TIMEOUT_MS, &n, &err);
        /* the echo of piece; past it only the "x", echoed if it came
         * before the stop */
        size_t echo = n < CR_BYTES - got ? n : CR_BYTES - got;
        int bad;
        prng_fill(&rx, want, echo);
        bad = memcmp(piece, want, echo) != 0;
        if (n > echo) {
            extra += n - echo;
            bad = bad || extra > 1 || piece[echo] != 'x';
        }
        if (bad) {
            out = fail(c, "the echo differs from what was sent, within bytes %llu to %llu",
                       (unsigned long long)got, (unsigned long long)(got + n));
            goto done;
        }
        got += echo;
        if (st != NET_OK)
            break;
    }
    if (st != NET_EOF || got != CR_BYTES) {
        out = fail(c, "after Ctrl+C the client got %llu of the %d bytes echoed, then %s",
                   (unsigned long long)got, CR_BYTES,
                   net_status_text(st, err, st_text, sizeof st_text));
        goto done;
    }
    shutdown(s, SD_SEND);
    if (!proc_wait(&srv, CD_STOP_MS)) {
        out = fail(c, "still running %d s after Ctrl+C", CD_STOP_MS / 1000);
        goto done;
    }
    info(c, "all %d bytes of the echo came back after Ctrl+C, then a graceful end", CR_BYTES);
done:
    net_abort(s);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * 08: routines-while-accepting
 *
 * One thread runs every completion routine and also accepts. An alertable
 * wait returns only when no routine is left to run, so a busy connection
 * can keep the accept path waiting forever; the other way round, a burst
 * of connections must not stop the routines of a connection in full
 * flow. One client streams (written by a thread, read and verified here)
 * while 500 others connect in bursts of 50 and each gets an echo. The
 * stream goes on until the 500 are done and at least 4 MiB went through,
 * so that the two really overlap however fast either side is.
 * --------------------------------------------------------------------- */

#define RWA_CLIENTS 500
#define RWA_BURST 50
#define RWA_MIN_BYTES (4u << 20)
#define RWA_MAX_BYTES (256u << 20) /* a bound, should the connecting never end */
#define RWA_HEAD_START (256u * 1024) /* the stream is flowing before anyone connects */

struct connector {
    unsigned short port;
    SOCKET s[RWA_CLIENTS];
    int opened;
    int ok;
    char why[WHY_SIZE];
};

static DWORD WINAPI connector_main(LPVOID arg)
{
    struct connector *k = (struct connector *)arg;
    char one[WHY_SIZE];
    k->ok = 0;
    for (int i = 0; i < RWA_CLIENTS; i += RWA_BURST) {
        int end = i + RWA_BURST < RWA_CLIENTS ? i + RWA_BURST : RWA_CLIENTS;
        if (!connect_range(k->port, k->s, i, end, &k->opened, one, sizeof one)) {
            snprintf(k->why, sizeof k->why, "connecting: %s", one);
            return 0;
        }
        if (!round_trip_all(k->s + i, end - i, "connected meanwhile %d\n", one, sizeof one)) {
            snprintf(k->why, sizeof k->why, "the burst from client %d: %s", i + 1, one);
            return 0;
        }
    }
    k->ok = 1;
    return 0;
}

static enum result case_routines_while_accepting(struct ctx *c)
{
    char why[WHY_SIZE] = "", st_text[64];
    /* on the heap: should the writer or the connector outlive the case,
     * it may go on using its structure */
    struct writer *w = (struct writer *)calloc(1, sizeof(struct writer));
    struct connector *k = (struct connector *)calloc(1, sizeof(struct connector));
    unsigned char *got = (unsigned char *)malloc(65536), *want = (unsigned char *)malloc(65536);
    HANDLE wt = NULL, kt = NULL;
    struct prng r;
    enum result out = RES_PASS;
    unsigned long long off = 0, at_connected = 0;
    DWORD idle = 0;
    int i, connected = 0;
    SOCKET s = INVALID_SOCKET;
    if (w == NULL || k == NULL || got == NULL || want == NULL) {
        out = fail(c, "out of memory");
        goto done;
    }
    k->port = c->srv->port;
    for (i = 0; i < RWA_CLIENTS; i++)
        k->s[i] = INVALID_SOCKET;
    s = net_connect(c->srv->port, CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET) {
        out = fail(c, "the streaming client: %s", why);
        goto done;
    }
    wt = writer_start_until(w, s, RWA_MIN_BYTES, RWA_MAX_BYTES, 8080);
    if (wt == NULL) {
        out = fail(c, "CreateThread failed: error %lu", GetLastError());
        goto done;
    }
    prng_seed(&r, 8080);
    /* Read and verify until the writer is done and everything it wrote is
     * back. Short waits, so that the writer's end is noticed at once; the
     * stream fails after NET_TIMEOUT_MS without a byte. */
    for (;;) {
        size_t n = 0;
        int err = 0;
        enum net_status res;
        if (InterlockedCompareExchange(&w->done, 0, 0) != 0 &&
            off >= (unsigned long long)InterlockedCompareExchange(&w->sent, 0, 0))
            break;
        res = net_recv_some(s, got, 65536, 200, &n, &err);
        if (res == NET_TIMEOUT) {
            idle += 200;
            if (idle < NET_TIMEOUT_MS)
                continue;
        }
        if (res != NET_OK) {
            out = fail(c, "the stream, %llu bytes back%s: %s", off,
                       kt != NULL && !connected ? ", while clients connected" : "",
                       net_status_text(res, err, st_text, sizeof st_text));
            goto done;
        }
        idle = 0;
        prng_fill(&r, want, n);
        if (memcmp(got, want, n) != 0) {
            size_t j = 0;
            while (got[j] == want[j])
                j++;
            out = fail(c, "the stream: byte %llu differs (sent 0x%02x, got 0x%02x)", off + j,
                       (unsigned)want[j], (unsigned)got[j]);
            goto done;
        }
        off += n;
        if (kt == NULL && off >= RWA_HEAD_START) {
            kt = CreateThread(NULL, 0, connector_main, k, 0, NULL);
            if (kt == NULL) {
                out = fail(c, "CreateThread failed: error %lu", GetLastError());
                goto done;
            }
        }
        if (kt != NULL && !connected && WaitForSingleObject(kt, 0) == WAIT_OBJECT_0) {
            connected = 1;
            at_connected = off;
            InterlockedExchange(&w->stop, 1);
            if (!k->ok) {
                out = fail(c, "%d clients connecting while a client streams: %s", RWA_CLIENTS,
                           k->why);
                goto done;
            }
        }
    }
    if (w->st != NET_OK) {
        out = fail(c, "the stream: %ld bytes sent: %s", (long)w->sent,
                   net_status_text(w->st, w->err, st_text, sizeof st_text));
        goto done;
    }
    if (!connected) {
        /* the writer stopped at its bound before the clients were done */
        if (kt == NULL || !join_thread(kt, 3 * NET_TIMEOUT_MS)) {
            out = fail(c, "%d clients did not finish connecting while %llu bytes streamed",
                       RWA_CLIENTS, off);
            goto done;
        }
        kt = NULL;
        connected = 1;
        if (!k->ok) {
            out = fail(c, "%d clients connecting while a client streams: %s", RWA_CLIENTS, k->why);
            goto done;
        }
    }
    if (!expect_silence(s, 100, why, sizeof why)) {
        out = fail(c, "the stream: %s", why);
        goto done;
    }
    info(c, "%d clients connected and served while the stream was at %llu..%llu of %llu bytes",
         RWA_CLIENTS, (unsigned long long)RWA_HEAD_START, at_connected, off);
done:
    if (w != NULL)
        InterlockedExchange(&w->stop, 1);
    if (wt != NULL) {
        if (out != RES_PASS)
            shutdown(s, SD_BOTH); /* the writer's next send fails at once */
        if (!join_thread(wt, 2 * NET_TIMEOUT_MS + 5000)) {
            if (out == RES_PASS)
                out = fail(c, "the writing thread did not finish");
            w = NULL; /* it still uses w and s: they stay */
            s = INVALID_SOCKET;
        }
    }
    if (kt != NULL && !join_thread(kt, 3 * NET_TIMEOUT_MS)) {
        if (out == RES_PASS)
            out = fail(c, "the connecting thread did not finish");
        k = NULL; /* it still uses k and its sockets: they stay */
    }
    net_close(s);
    if (k != NULL)
        abort_all(k->s, k->opened);
    free(w);
    free(k);
    free(got);
    free(want);
    return out;
}

/* ------------------------------------------------------------------------
 * 09: workers-1000
 *
 * A pool of 4 worker threads (-t 4) on one completion port serves 1,000
 * clients: completions of many connections on few threads, each
 * connection's completions possibly on different threads. Then Ctrl+C
 * with all 1,000 still connected: the shutdown path must close them all,
 * end the workers (one shutdown packet each: Wine does not wake them when
 * the port is closed) and report them in its summary.
 * --------------------------------------------------------------------- */

#define W1000_CLIENTS 1000
#define W1000_BURST 100
#define W1000_STOP_MS 20000

static enum result case_workers_1000(struct ctx *c)
{
    char why[WHY_SIZE], line[256], after[64];
    struct proc srv;
    SOCKET *s = (SOCKET *)malloc(sizeof(SOCKET) * W1000_CLIENTS);
    enum result out = RES_PASS;
    enum ctrl_result cr;
    int i, opened = 0;
    long served;
    const char *at;
    char *end;
    if (s == NULL)
        return fail(c, "out of memory");
    for (i = 0; i < W1000_CLIENTS; i++)
        s[i] = INVALID_SOCKET;
    if (!server_start_args(&srv, c->exe, "-t 4 ", 1, why, sizeof why)) {
        free(s);
        return fail(c, "with -t 4: %s", why);
    }
    /* in bursts, so that the listen backlog never overflows, whatever the
     * number of accepts the server keeps posted */
    for (i = 0; i < W1000_CLIENTS; i += W1000_BURST) {
        int last = i + W1000_BURST < W1000_CLIENTS ? i + W1000_BURST : W1000_CLIENTS;
        if (!connect_range(srv.port, s, i, last, &opened, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    /* every one sends, then every echo is read: 1,000 in flight at once */
    if (!round_trip_all(s, W1000_CLIENTS, "one of a thousand, %d\n", why, sizeof why)) {
        out = fail(c, "%d clients at once on 4 workers: %s", W1000_CLIENTS, why);
        goto done;
    }
    cr = proc_send_ctrl(&srv, CTRL_C_EVENT, why, sizeof why);
    if (cr != CTRL_SENT) {
        out = fail(c, "could not deliver Ctrl+C: %s", why);
        goto done;
    }
    snprintf(after, sizeof after, "Ctrl+C with %d clients connected", W1000_CLIENTS);
    if (!stopped_cleanly(&srv, W1000_STOP_MS, after, line, sizeof line, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    at = line + 8;
    served = strtol(at, &end, 10);
    if (end == at) {
        out = fail(c, "summary line without a number of connections: %s", line);
        goto done;
    }
    if (served < W1000_CLIENTS) {
        out = fail(c, "summary counts %ld connections, %d were served: %s", served,
                   W1000_CLIENTS, line);
        goto done;
    }
    info(c, "summary: %s", line);
done:
    abort_all(s, opened);
    free(s);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * The lists (run_tests.c runs them after the step's shared list). One
 * list per model, alike on purpose: the step table names the list of each
 * step, and a model's cases stay with that model.
 * --------------------------------------------------------------------- */

const struct test_case model_cases_05[] = {
    {"closed-socket-events", CASE_SHARED, 120, case_closed_socket_events},
    {NULL, 0, 0, NULL},
};

const struct test_case model_cases_groups[] = {
    {"group-boundary", 0, 120, case_group_boundary},
    {"ctrl-c-while-connecting", 0, 120, case_ctrl_c_while_connecting},
    {NULL, 0, 0, NULL},
};

const struct test_case model_cases_07[] = {
    {"group-boundary", 0, 120, case_group_boundary},
    {"ctrl-c-while-connecting", 0, 120, case_ctrl_c_while_connecting},
    {"ctrl-c-delivers", 0, 120, case_ctrl_c_delivers},
    {"ctrl-c-while-receiving", 0, 120, case_ctrl_c_while_receiving},
    {NULL, 0, 0, NULL},
};

const struct test_case model_cases_08[] = {
    {"routines-while-accepting", CASE_SHARED, 120, case_routines_while_accepting},
    {"ctrl-c-delivers", 0, 120, case_ctrl_c_delivers},
    {"ctrl-c-while-receiving", 0, 120, case_ctrl_c_while_receiving},
    {NULL, 0, 0, NULL},
};

const struct test_case model_cases_09[] = {
    {"workers-1000", 0, 180, case_workers_1000},
    {"ctrl-c-delivers", 0, 120, case_ctrl_c_delivers},
    {"ctrl-c-while-receiving", 0, 120, case_ctrl_c_while_receiving},
    {NULL, 0, 0, NULL},
};
