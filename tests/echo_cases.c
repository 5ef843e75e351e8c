/*
 * echo_cases.c - the cases for the echo servers 01..09, against the
 * behaviour contract (its "Echo servers" section).
 *
 * Cases flagged CASE_SHARED talk to the step's shared server (started with
 * -q); the others start their own: a fresh one for the capacity count, one
 * without -q for the log lines, short-lived ones for the command line, the
 * port in use and the stop by console event.
 *
 * Every case closes what it opened: step 01 serves one client at a time,
 * and a socket left open by one case would make the next one wait.
 *
 * The helpers the case files share are in helpers.c.
 */
#include "tests.h"

/* ------------------------------------------------------------------------
 * Small helpers
 * --------------------------------------------------------------------- */

static unsigned short port_of(const struct ctx *c)
{
    return c->srv->port;
}

/* ------------------------------------------------------------------------
 * Echo on the shared server
 * --------------------------------------------------------------------- */

static enum result case_echo(struct ctx *c)
{
    char why[WHY_SIZE];
    int ok;
    SOCKET s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET)
        return fail(c, "%s", why);
    ok = net_echo(s, "hello\n", 6, NET_TIMEOUT_MS, why, sizeof why) &&
         expect_silence(s, 200, why, sizeof why);
    net_close(s);
    return ok ? RES_PASS : fail(c, "%s", why);
}

/* -q: "no line per message (connections and errors are still logged)". */
static enum result case_quiet(struct ctx *c)
{
    char why[WHY_SIZE];
    size_t before = proc_line_count(c->srv, OUT_STREAM), after;
    SOCKET s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET)
        return fail(c, "%s", why);
    net_nodelay(s);
    for (int i = 0; i < 20; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "quiet %d\n", i);
        if (!net_echo(s, msg, (size_t)n, NET_TIMEOUT_MS, why, sizeof why)) {
            net_close(s);
            return fail(c, "message %d: %s", i, why);
        }
    }
    net_close(s);
    Sleep(300); /* let a close be logged, if it is */
    after = proc_line_count(c->srv, OUT_STREAM);
    if (after - before >= 20)
        return fail(c, "with -q the server printed %llu lines for 20 messages on one connection",
                    (unsigned long long)(after - before));
    info(c, "%llu stdout lines for one quiet connection of 20 messages",
         (unsigned long long)(after - before));
    return RES_PASS;
}

static enum result case_binary(struct ctx *c)
{
    char why[WHY_SIZE];
    unsigned char buf[256 * 4];
    SOCKET s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET)
        return fail(c, "%s", why);
    /* every byte value, NUL and 0xFF included, in a different order each
     * round, several rounds on one connection */
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (unsigned char)((i * (size_t)(2 * round + 1) + (size_t)round * 17) & 0xff);
        if (!net_echo(s, buf, sizeof buf, NET_TIMEOUT_MS, why, sizeof why)) {
            net_close(s);
            return fail(c, "round %d: %s", round + 1, why);
        }
    }
    net_close(s);
    return RES_PASS;
}

static enum result case_one_byte(struct ctx *c)
{
    char why[WHY_SIZE], st[64];
    unsigned char sent[200], back[200];
    size_t got = 0;
    int err = 0;
    enum net_status r;
    SOCKET s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET)
        return fail(c, "%s", why);
    net_nodelay(s); /* each send its own segment, as far as TCP lets us */
    for (size_t i = 0; i < sizeof sent; i++) {
        size_t n = 0;
        sent[i] = (unsigned char)(i * 7 + 3);
        r = net_send_all(s, &sent[i], 1, NET_TIMEOUT_MS, &n, &err);
        if (r != NET_OK) {
            net_close(s);
            return fail(c, "send of byte %llu: %s", (unsigned long long)i,
                        net_status_text(r, err, st, sizeof st));
        }
    }
    r = net_recv_exact(s, back, sizeof back, NET_TIMEOUT_MS, &got, &err);
    net_close(s);
    if (r != NET_OK)
        return fail(c, "got %llu of %llu bytes back: %s", (unsigned long long)got,
                    (unsigned long long)sizeof sent, net_status_text(r, err, st, sizeof st));
    if (memcmp(sent, back, sizeof sent) != 0)
        return fail(c, "the bytes came back changed or out of order");
    return RES_PASS;
}

/* A client whose writer thread sends it `len` bytes of the stream
 * `seed`, and the same stream to verify what comes back. */
struct stream_client {
    SOCKET s;
    struct writer w;
    HANDLE t;
    struct prng r;
};

static int stream_open(struct ctx *c, struct stream_client *k, size_t len, uint32_t seed,
                       char *why, size_t whysz)
{
    k->s = net_connect(port_of(c), CONNECT_MS, why, whysz);
    if (k->s == INVALID_SOCKET)
        return 0;
    k->t = writer_start(&k->w, k->s, len, seed);
    if (k->t == NULL) {
        snprintf(why, whysz, "CreateThread failed: error %lu", GetLastError());
        net_close(k->s);
        return 0;
    }
    prng_seed(&k->r, seed);
    return 1;
}

/* Unless the case failed already (`ok` 0), reads the whole echo back and
 * verifies it; then ends the writer. 1, or 0 with `why` set. */
static int stream_finish(struct stream_client *k, int ok, char *why, size_t whysz)
{
    if (ok)
        ok = recv_verify(k->s, &k->r, k->w.len, NET_TIMEOUT_MS, why, whysz);
    return writer_join(k->t, k->s, !ok, why, whysz, &k->w) && ok;
}

#define STREAM_BYTES (4u << 20)

static enum result case_stream(struct ctx *c)
{
    char why[WHY_SIZE] = "";
    struct stream_client k;
    int ok;
    ULONGLONG t0 = now_ms();
    if (!stream_open(c, &k, STREAM_BYTES, 12345, why, sizeof why))
        return fail(c, "%s", why);
    ok = stream_finish(&k, 1, why, sizeof why);
    if (ok)
        ok = expect_silence(k.s, 100, why, sizeof why);
    net_close(k.s);
    if (!ok)
        return fail(c, "%s", why);
    info(c, "%u bytes echoed in %llu ms", STREAM_BYTES, (unsigned long long)(now_ms() - t0));
    return RES_PASS;
}

#define HOLD_BYTES (8u << 20)

/* The client writes and does not read for a second: its writes block once
 * every buffer on the way is full, which is the backpressure the contract
 * asks for. Then it reads, and all of it must come back. */
static enum result case_write_before_read(struct ctx *c)
{
    char why[WHY_SIZE] = "";
    struct stream_client k;
    int ok = 1;
    LONG sent_at_1s;
    if (!stream_open(c, &k, HOLD_BYTES, 777, why, sizeof why))
        return fail(c, "%s", why);
    if (c->step->capacity > 1) {
        /* meanwhile, another client is served */
        char why2[WHY_SIZE];
        SOCKET s2;
        Sleep(300);
        s2 = net_connect(port_of(c), CONNECT_MS, why2, sizeof why2);
        if (s2 == INVALID_SOCKET ||
            !net_echo(s2, "meanwhile\n", 10, NET_TIMEOUT_MS, why2, sizeof why2)) {
            snprintf(why, sizeof why, "a second client, while the first one held back reading: %s",
                     why2);
            ok = 0;
        }
        net_close(s2);
        Sleep(700);
    } else {
        Sleep(1000);
    }
    sent_at_1s = InterlockedCompareExchange(&k.w.sent, 0, 0);
    info(c, "after 1 s without reading, the client had sent %ld of %u bytes", (long)sent_at_1s,
         HOLD_BYTES);
    ok = stream_finish(&k, ok, why, sizeof why);
    net_close(k.s);
    return ok ? RES_PASS : fail(c, "%s", why);
}

static enum result case_half_close(struct ctx *c)
{
    char why[WHY_SIZE], st[64];
    const size_t len = 100000;
    unsigned char *data = (unsigned char *)malloc(len), *back = (unsigned char *)malloc(len + 1);
    struct prng r;
    size_t got = 0, sent = 0, extra = 0;
    int err = 0;
    enum net_status res;
    enum result out = RES_PASS;
    SOCKET s;
    if (data == NULL || back == NULL) {
        free(data);
        free(back);
        return fail(c, "out of memory");
    }
    s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET) {
        free(data);
        free(back);
        return fail(c, "%s", why);
    }
    prng_seed(&r, 4242);
    prng_fill(&r, data, len);
    res = net_send_all(s, data, len, NET_TIMEOUT_MS, &sent, &err);
    if (res != NET_OK) {
        out = fail(c, "sent %llu of %llu bytes: %s", (unsigned long long)sent,
                   (unsigned long long)len, net_status_text(res, err, st, sizeof st));
        goto done;
    }
    if (shutdown(s, SD_SEND) == SOCKET_ERROR) {
        out = fail(c, "shutdown(SD_SEND) failed: WSA %d", WSAGetLastError());
        goto done;
    }
    res = net_recv_exact(s, back, len, NET_TIMEOUT_MS, &got, &err);
    if (res != NET_OK) {
        out = fail(c, "got %llu of %llu bytes back: %s", (unsigned long long)got,
                   (unsigned long long)len, net_status_text(res, err, st, sizeof st));
        goto done;
    }
    if (memcmp(back, data, len) != 0) {
        out = fail(c, "the data came back changed");
        goto done;
    }
    /* then the server closes: recv returns 0 (not a reset, not silence) */
    res = net_recv_some(s, back, 1, NET_TIMEOUT_MS, &extra, &err);
    if (res == NET_OK)
        out = fail(c, "all data back, then extra bytes instead of end-of-file");
    else if (res == NET_TIMEOUT)
        out = fail(c, "all data back, but the server did not close within %d s",
                   NET_TIMEOUT_MS / 1000);
    else if (res != NET_EOF)
        out = fail(c, "all data back, then %s instead of end-of-file",
                   net_status_text(res, err, st, sizeof st));
done:
    net_close(s);
    free(data);
    free(back);
    return out;
}

static enum result case_reset(struct ctx *c)
{
    char why[WHY_SIZE], st[64];
    const size_t len = 256 * 1024;
    unsigned char *data = (unsigned char *)malloc(len);
    unsigned char first[1024];
    size_t n = 0;
    int err = 0, ok;
    enum net_status res;
    SOCKET s;
    if (data == NULL)
        return fail(c, "out of memory");
    memset(data, 'r', len);
    s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET) {
        free(data);
        return fail(c, "%s", why);
    }
    /* Send more than the buffers on the way hold, read the start of the
     * echo (so that the server is in the middle of echoing), then reset. */
    res = net_send_all(s, data, len, 500, &n, &err);
    free(data);
    if (res != NET_OK && res != NET_TIMEOUT) {
        net_abort(s);
        return fail(c, "sending before the reset: %s", net_status_text(res, err, st, sizeof st));
    }
    res = net_recv_exact(s, first, sizeof first, NET_TIMEOUT_MS, &n, &err);
    net_abort(s);
    if (res != NET_OK)
        return fail(c, "no echo before the reset: %s", net_status_text(res, err, st, sizeof st));
    /* a new client is still served */
    s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET)
        return fail(c, "after a client's reset: %s", why);
    ok = net_echo(s, "after reset\n", 12, NET_TIMEOUT_MS, why, sizeof why);
    net_close(s);
    return ok ? RES_PASS : fail(c, "after a client's reset: %s", why);
}

/* 02..09: ten clients at once, sends interleaved, each gets its own data. */
#define CONC_CLIENTS 10
#define CONC_ROUNDS 4

static enum result case_concurrency(struct ctx *c)
{
    char why[WHY_SIZE];
    SOCKET s[CONC_CLIENTS];
    unsigned char *buf = (unsigned char *)malloc(2 * 4096);
    enum result out = RES_PASS;
    int i, round;
    for (i = 0; i < CONC_CLIENTS; i++)
        s[i] = INVALID_SOCKET;
    if (buf == NULL)
        return fail(c, "out of memory");
    for (i = 0; i < CONC_CLIENTS; i++) {
        s[i] = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
        if (s[i] == INVALID_SOCKET) {
            out = fail(c, "client %d: %s", i + 1, why);
            goto done;
        }
        net_nodelay(s[i]);
    }
    for (round = 0; round < CONC_ROUNDS; round++) {
        size_t len[CONC_CLIENTS];
        /* everyone sends (in round 2, in two pieces), then everyone reads */
        for (i = 0; i < CONC_CLIENTS; i++) {
            struct prng r;
            size_t sent = 0;
            int err = 0;
            char st[64];
            enum net_status res;
            len[i] = 1 + ((size_t)i * 131 + (size_t)round * 977) % 4000;
            prng_seed(&r, (uint32_t)(1000 * (i + 1) + round));
            prng_fill(&r, buf, len[i]);
            if (round == 2) {
                res = net_send_all(s[i], buf, len[i] / 2, NET_TIMEOUT_MS, &sent, &err);
                if (res == NET_OK)
                    res = net_send_all(s[i], buf + len[i] / 2, len[i] - len[i] / 2,
                                       NET_TIMEOUT_MS, &sent, &err);
            } else {
                res = net_send_all(s[i], buf, len[i], NET_TIMEOUT_MS, &sent, &err);
            }
            if (res != NET_OK) {
                out = fail(c, "client %d, round %d: send: %s", i + 1, round + 1,
                           net_status_text(res, err, st, sizeof st));
                goto done;
            }
        }
        for (i = CONC_CLIENTS - 1; i >= 0; i--) { /* read in the other order */
            struct prng r;
            prng_seed(&r, (uint32_t)(1000 * (i + 1) + round));
            if (!recv_verify(s[i], &r, len[i], NET_TIMEOUT_MS, why, sizeof why)) {
                out = fail(c, "client %d, round %d: %s", i + 1, round + 1, why);
                goto done;
            }
        }
    }
done:
    for (i = 0; i < CONC_CLIENTS; i++)
        net_close(s[i]);
    free(buf);
    return out;
}

/* 01: one client at a time; the next one waits in the listen backlog. */
static enum result case_one_at_a_time(struct ctx *c)
{
    char why[WHY_SIZE], st[64], back[16];
    SOCKET a, b;
    size_t got = 0, sent = 0;
    int err = 0;
    enum net_status res;
    enum result out = RES_PASS;
    a = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (a == INVALID_SOCKET)
        return fail(c, "client A: %s", why);
    if (!net_echo(a, "A\n", 2, NET_TIMEOUT_MS, why, sizeof why)) {
        net_close(a);
        return fail(c, "client A: %s", why);
    }
    b = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
    if (b == INVALID_SOCKET) {
        net_close(a);
        return fail(c, "client B, while A is connected (the backlog should take it): %s", why);
    }
    res = net_send_all(b, "B waits\n", 8, NET_TIMEOUT_MS, &sent, &err);
    if (res != NET_OK) {
        out = fail(c, "client B: send: %s", net_status_text(res, err, st, sizeof st));
        goto done;
    }
    res = net_recv_some(b, back, sizeof back, 700, &got, &err);
    if (res == NET_OK) {
        out = fail(c, "client B got a reply while A was still connected (01 serves one at a time)");
        goto done;
    }
    if (res != NET_TIMEOUT) {
        out = fail(c, "client B, while A is connected: %s",
                   net_status_text(res, err, st, sizeof st));
        goto done;
    }
    net_close(a);
    a = INVALID_SOCKET;
    res = net_recv_exact(b, back, 8, NET_TIMEOUT_MS, &got, &err);
    if (res != NET_OK)
        out = fail(c, "client B, after A closed: got %llu of 8 bytes back: %s",
                   (unsigned long long)got, net_status_text(res, err, st, sizeof st));
    else if (memcmp(back, "B waits\n", 8) != 0)
        out = fail(c, "client B, after A closed: the echo differs");
done:
    net_close(a);
    net_close(b);
    return out;
}

static enum result case_cycles(struct ctx *c)
{
    char why[WHY_SIZE];
    ULONGLONG t0 = now_ms();
    for (int i = 0; i < 200; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof msg, "cycle %d\n", i);
        SOCKET s = net_connect(port_of(c), CONNECT_MS, why, sizeof why);
        int ok;
        if (s == INVALID_SOCKET)
            return fail(c, "cycle %d: %s", i + 1, why);
        ok = net_echo(s, msg, (size_t)n, NET_TIMEOUT_MS, why, sizeof why);
        net_close(s);
        if (!ok)
            return fail(c, "cycle %d: %s", i + 1, why);
    }
    info(c, "200 cycles in %llu ms", (unsigned long long)(now_ms() - t0));
    return RES_PASS;
}

/* ------------------------------------------------------------------------
 * Capacity, on a fresh server (connections of earlier cases that the
 * server has not yet closed would count against 04's 63)
 * --------------------------------------------------------------------- */

#define BATCH 50

static enum result case_capacity(struct ctx *c)
{
    char why[WHY_SIZE];
    struct proc srv;
    int n = c->step->capacity;
    SOCKET *s;
    enum result out = RES_PASS;
    ULONGLONG t0;
    int i, opened = 0;
    if (!server_start(&srv, c->exe, 1, why, sizeof why))
        return fail(c, "%s", why);
    if (c->step->closes_beyond) { /* 04: FD_SETSIZE - 1, as the server says */
        n = fd_setsize_capacity(&srv, n);
        if (n != c->step->capacity)
            info(c, "the server says FD_SETSIZE is %d: capacity %d", n + 1, n);
    }
    s = (SOCKET *)malloc(sizeof(SOCKET) * (size_t)(n + 1));
    if (s == NULL) {
        proc_stop(&srv);
        return fail(c, "out of memory");
    }
    t0 = now_ms();
    /* In batches: connect BATCH, give each its echo (which proves it was
     * accepted and is served), go on; every connection stays open. A batch
     * keeps the listen backlog small whatever the server's accept rate. */
    for (i = 0; i < n; i += BATCH) {
        int end = i + BATCH < n ? i + BATCH : n;
        for (int k = i; k < end; k++) {
            s[k] = net_connect_start(srv.port, why, sizeof why);
            if (s[k] == INVALID_SOCKET) {
                out = fail(c, "client %d of %d: %s", k + 1, n, why);
                goto done;
            }
            opened = k + 1;
        }
        for (int k = i; k < end; k++)
            if (!net_connect_wait(s[k], CONNECT_MS, why, sizeof why)) {
                out = fail(c, "client %d of %d: %s", k + 1, n, why);
                goto done;
            }
        if (!round_trip_all(s + i, end - i, "hello from %d\n", why, sizeof why)) {
            out = fail(c, "batch from client %d of %d: %s", i + 1, n, why);
            goto done;
        }
    }
    info(c, "%d clients connected and served in %llu ms", n, (unsigned long long)(now_ms() - t0));

    if (c->step->closes_beyond) {
        /* one more: the server closes it at once, with a log line */
        char st[64], b[64];
        size_t got = 0, lines = proc_line_count(&srv, OUT_STREAM) +
                                proc_line_count(&srv, ERR_STREAM);
        int err = 0;
        enum net_status r;
        ULONGLONG until;
        s[n] = net_connect(srv.port, CONNECT_MS, why, sizeof why);
        if (s[n] == INVALID_SOCKET) {
            out = fail(c, "connection %d (beyond capacity): %s", n + 1, why);
            goto done;
        }
        opened = n + 1;
        net_send_all(s[n], "extra\n", 6, 1000, &got, &err);
        r = net_recv_some(s[n], b, sizeof b, 5000, &got, &err);
        if (r == NET_OK) {
            out = fail(c, "connection %d was served; it should be closed at once", n + 1);
            goto done;
        }
        if (r == NET_TIMEOUT) {
            out = fail(c, "connection %d was neither served nor closed within 5 s", n + 1);
            goto done;
        }
        info(c, "connection %d: %s", n + 1, net_status_text(r, err, st, sizeof st));
        until = now_ms() + 2000;
        while (proc_line_count(&srv, OUT_STREAM) + proc_line_count(&srv, ERR_STREAM) == lines &&
               now_ms() < until)
            Sleep(50);
        if (proc_line_count(&srv, OUT_STREAM) + proc_line_count(&srv, ERR_STREAM) == lines) {
            out = fail(c, "connection %d was closed without a log line", n + 1);
            goto done;
        }
    }
    /* all of them, open at the same time, are still served */
    if (!round_trip_all(s, n, "again from %d\n", why, sizeof why)) {
        out = fail(c, "second round, %d clients open: %s", n, why);
        goto done;
    }
    info(c, "second round over %d clients done at %llu ms", n, (unsigned long long)(now_ms() - t0));
done:
    for (i = 0; i < opened; i++)
        net_abort(s[i]); /* abortive: 1,000 graceful closes would only cost time */
    free(s);
    if (out == RES_PASS && !proc_running(&srv))
        out = fail(c, "the server exited (status %lu)", (unsigned long)srv.exit_code);
    proc_stop(&srv);
    return out;
}

/* ------------------------------------------------------------------------
 * Output, command line, start-up failure
 * --------------------------------------------------------------------- */

static int is_plain_ascii(const char *t, size_t *bad_at)
{
    for (size_t i = 0; t[i]; i++) {
        unsigned char ch = (unsigned char)t[i];
        if ((ch < 32 && ch != '\n' && ch != '\r' && ch != '\t') || ch > 126) {
            *bad_at = i;
            return 0;
        }
    }
    return 1;
}

/* Without -q: the ready line names the address and port, and every
 * message gets a line. */
static enum result case_log_lines(struct ctx *c)
{
    char why[WHY_SIZE], line[256], want[64];
    struct proc srv;
    enum result out = RES_PASS;
    size_t before, bad = 0;
    ULONGLONG until;
    SOCKET s;
    char *text;
    if (!server_start(&srv, c->exe, 0, why, sizeof why))
        return fail(c, "%s", why);
    snprintf(want, sizeof want, "listening on 127.0.0.1:%u", (unsigned)srv.port);
    if (!proc_find_line(&srv, OUT_STREAM, want, 0, line, sizeof line)) {
        proc_find_line(&srv, OUT_STREAM, "listening on", 0, line, sizeof line);
        out = fail(c, "ready line \"%s\" does not contain \"%s\"", line, want);
        goto done;
    }
    before = proc_line_count(&srv, OUT_STREAM);
    s = net_connect(srv.port, CONNECT_MS, why, sizeof why);
    if (s == INVALID_SOCKET) {
        out = fail(c, "%s", why);
        goto done;
    }
    net_nodelay(s);
    for (int i = 0; i < 5; i++)
        if (!echo_msg(s, "message %d\n", i, why, sizeof why)) {
            net_close(s);
            out = fail(c, "message %d: %s", i + 1, why);
            goto done;
        }
    net_close(s);
    until = now_ms() + 3000;
    while (proc_line_count(&srv, OUT_STREAM) < before + 5 && now_ms() < until)
        Sleep(50);
    if (proc_line_count(&srv, OUT_STREAM) < before + 5) {
        out = fail(c, "without -q, 5 messages gave only %llu lines on stdout",
                    (unsigned long long)(proc_line_count(&srv, OUT_STREAM) - before));
        goto done;
    }
    text = proc_text(&srv, OUT_STREAM);
    if (text != NULL && !is_plain_ascii(text, &bad))
        out = fail(c, "stdout is not plain ASCII (byte 0x%02x at offset %llu)",
                   (unsigned)(unsigned char)text[bad], (unsigned long long)bad);
    free(text);
done:
    proc_stop(&srv);
    return out;
}

static const char *const bad_args[] = {"-p 0", "-p 70000", "-p abc", "-p", "-x", "-a not.an.ip"};
#define N_BAD_ARGS (sizeof bad_args / sizeof bad_args[0])

static enum result case_bad_args(struct ctx *c)
{
    struct proc p[N_BAD_ARGS];
    char why[WHY_SIZE], one[WHY_SIZE];
    size_t i;
    /* all at once: each is a process start, slow under Wine */
    for (i = 0; i < N_BAD_ARGS; i++) {
        if (!proc_start(&p[i], c->exe, bad_args[i], one, sizeof one)) {
            while (i > 0)
                proc_stop(&p[--i]);
            return fail(c, "%s", one);
        }
    }
    if (!bad_args_verdict(p, bad_args, N_BAD_ARGS, 0, why, sizeof why))
        return fail(c, "%s", why);
    return RES_PASS;
}

static enum result case_help(struct ctx *c)
{
    char why[WHY_SIZE];
    struct proc p;
    char *out;
    enum result res = RES_PASS;
    if (!proc_start(&p, c->exe, "-h", why, sizeof why))
        return fail(c, "%s", why);
    if (!proc_wait(&p, 10000)) {
        proc_stop(&p);
        return fail(c, "`-h`: still running after 10 s");
    }
    proc_drain(&p, 2000);
    out = proc_text(&p, OUT_STREAM);
    if (p.exit_code != 0)
        res = fail(c, "`-h`: exit status %lu (expected 0)", (unsigned long)p.exit_code);
    else if (out == NULL || !contains_nocase(out, "usage"))
        res = fail(c, "`-h`: no usage on stdout");
    free(out);
    proc_stop(&p);
    return res;
}

static enum result case_port_in_use(struct ctx *c)
{
    char why[WHY_SIZE];
    return port_in_use_check(c->exe, "", why, sizeof why) ? RES_PASS : fail(c, "%s", why);
}

/* ------------------------------------------------------------------------
 * Stopping with a console control event
 *
 * The contract: Ctrl+C or Ctrl+Break stops the server cleanly, summary
 * line "stopped: ...", exit status 0. The driver sends the event through
 * its helper mode (proc.c), to the server's own console.
 *
 * Wine 8 cannot deliver CTRL_BREAK_EVENT: its wineserver turns only
 * CTRL_C_EVENT into a signal (server/console.c, propagate_console_signal:
 * "FIXME: should support the other events (like CTRL_BREAK)"), so
 * GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, ...) fails. Under Wine the
 * ctrl-break case is therefore reported as SKIP with that reason, and the
 * same stop path (the server's SetConsoleCtrlHandler handler, its wake-up,
 * closing, summary, exit 0) is checked by the ctrl-c case, which Wine does
 * deliver. On Windows both run. A delivery failure on Windows is a FAIL.
 *
 * ctrl-c-stalled stops a server that is stuck sending to a client that
 * reads nothing (every buffer on the way full): the contract's
 * backpressure, met by a user's Ctrl+C. Windows ends a pending send, a
 * blocking one in another thread or an overlapped one, when the socket is
 * closed. Wine 8 does neither (measured): closesocket and shutdown leave a
 * blocking send() blocked (CancelSynchronousIo too) and a pending
 * overlapped WSASend pending; only CancelIoEx ends either (with 995: a
 * blocking send is an I/O request on the socket's handle too). So under
 * Wine a server must cancel before it closes; 01 and 02 cancel from their
 * Ctrl+C handler, and a blocking-send server that only closes fails here.
 * --------------------------------------------------------------------- */

static char break_unavailable[WHY_SIZE]; /* set once Wine refused it */

#define MID_ECHO_BYTES (256u * 1024)
#define STALL_MAX_PIECES 256 /* of MID_ECHO_BYTES: 64 MiB */

static enum result stop_case(struct ctx *c, DWORD event, int stalled)
{
    const char *name = event == CTRL_BREAK_EVENT ? "Ctrl+Break" : "Ctrl+C";
    char why[WHY_SIZE], line[256];
    struct proc srv;
    SOCKET s[3];
    enum result out = RES_PASS;
    enum ctrl_result cr;
    unsigned char *big = NULL;
    size_t n = 0;
    int err = 0, i;
    if (event == CTRL_BREAK_EVENT && break_unavailable[0])
        return skip(c, "%s", break_unavailable);
    for (i = 0; i < 3; i++)
        s[i] = INVALID_SOCKET;
    if (!server_start(&srv, c->exe, 1, why, sizeof why))
        return fail(c, "%s", why);
    /* a few connections open: the first served; on 01 the others wait in
     * the backlog, elsewhere they are served too */
    for (i = 0; i < 3; i++) {
        s[i] = net_connect(srv.port, CONNECT_MS, why, sizeof why);
        if (s[i] == INVALID_SOCKET ||
            ((i == 0 || c->step->capacity > 1) &&
             !echo_msg(s[i], "before the stop %d\n", i, why, sizeof why))) {
            out = fail(c, "client %d: %s", i + 1, why);
            goto done;
        }
    }
    /* and one mid-echo: the first client sends 256 KiB and reads back only
     * the first 4 KiB, so that the rest of its echo is on the way when
     * the event comes; that much fits in the buffers on the way, so the
     * server is not stuck sending (ctrl-c-stalled is that case). With
     * `stalled`, the client goes on sending until its send stalls for
     * 300 ms: every buffer is full and the server is stuck sending. */
    big = (unsigned char *)malloc(MID_ECHO_BYTES);
    if (big == NULL) {
        out = fail(c, "out of memory");
        goto done;
    }
    memset(big, 'm', MID_ECHO_BYTES);
    if (!stalled) {
        net_send_all(s[0], big, MID_ECHO_BYTES, 500, &n, &err); /* a stall is fine too */
    } else {
        for (i = 0; i < STALL_MAX_PIECES; i++)
            if (net_send_all(s[0], big, MID_ECHO_BYTES, 300, &n, &err) != NET_OK)
                break;
        if (i == STALL_MAX_PIECES) {
            out = fail(c, "the server took %d MiB from a client that reads nothing: "
                          "no backpressure",
                       STALL_MAX_PIECES / 4);
            goto done;
        }
        info(c, "the client's send stalled after %d KiB", i * (int)(MID_ECHO_BYTES / 1024));
    }
    net_recv_exact(s[0], big, 4096, NET_TIMEOUT_MS, &n, &err);
    Sleep(200);

    cr = proc_send_ctrl(&srv, event, why, sizeof why);
    if (cr == CTRL_NOT_DELIVERABLE && event == CTRL_BREAK_EVENT && under_wine()) {
        snprintf(break_unavailable, sizeof break_unavailable,
                 "Wine cannot deliver Ctrl+Break (%s; Wine 8 implements only CTRL_C_EVENT); "
                 "the stop path is checked by ctrl-c",
                 why);
        out = skip(c, "%s", break_unavailable);
        goto done;
    }
    if (cr != CTRL_SENT) {
        out = fail(c, "could not deliver %s: %s", name, why);
        goto done;
    }
    if (!stopped_cleanly(&srv, 10000, name, line, sizeof line, why, sizeof why))
        out = fail(c, "%s", why);
    else
        info(c, "summary: %s", line);
done:
    for (i = 0; i < 3; i++)
        net_abort(s[i]);
    free(big);
    proc_stop(&srv);
    return out;
}

static enum result case_ctrl_break(struct ctx *c)
{
    return stop_case(c, CTRL_BREAK_EVENT, 0);
}

static enum result case_ctrl_c(struct ctx *c)
{
    return stop_case(c, CTRL_C_EVENT, 0);
}

static enum result case_ctrl_c_stalled(struct ctx *c)
{
    return stop_case(c, CTRL_C_EVENT, 1);
}

/* ------------------------------------------------------------------------
 * The list: name, flags, deadline (s), function. One list for 01..09:
 * a row flagged CASE_ONE_AT_A_TIME runs on 01 only (its capacity), one
 * flagged CASE_CONCURRENT on the others. The step table in run_tests.c
 * gives each step its capacity.
 * --------------------------------------------------------------------- */

const struct test_case echo_cases[] = {
    {"echo", CASE_SHARED, 30, case_echo},
    {"quiet", CASE_SHARED, 60, case_quiet},
    {"binary", CASE_SHARED, 30, case_binary},
    {"one-byte", CASE_SHARED, 30, case_one_byte},
    {"stream", CASE_SHARED, 120, case_stream},
    {"write-before-read", CASE_SHARED, 120, case_write_before_read},
    {"half-close", CASE_SHARED, 40, case_half_close},
    {"reset", CASE_SHARED, 40, case_reset},
    {"one-at-a-time", CASE_SHARED | CASE_ONE_AT_A_TIME, 40, case_one_at_a_time},
    {"concurrency", CASE_SHARED | CASE_CONCURRENT, 60, case_concurrency},
    {"cycles", CASE_SHARED, 120, case_cycles},
    {"capacity", CASE_CONCURRENT, 300, case_capacity},
    {"log-lines", 0, 40, case_log_lines},
    {"bad-args", 0, 60, case_bad_args},
    {"help", 0, 30, case_help},
    {"port-in-use", 0, 30, case_port_in_use},
    {"ctrl-break", 0, 60, case_ctrl_break},
    {"ctrl-c", 0, 60, case_ctrl_c},
    {"ctrl-c-stalled", 0, 60, case_ctrl_c_stalled},
    {NULL, 0, 0, NULL},
};
