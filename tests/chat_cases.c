/*
 * chat_cases.c - the cases of 08_chat, the n:1 chat server on completion
 * routines (08_overlapped_callback/chat/).
 *
 * The packet: uint8 size (whole packet, 5..255), uint32 sender id
 * (little-endian), the text. The server sends every message to every
 * client, the sender included, with the sender's id; its own lines come
 * from id 0: "user N joined from ADDR" to everyone when N connects (so a
 * client's first packet is its own join line), "user N left" when N is
 * gone. A client whose sends pile up (it does not read) is cut off; a
 * packet with a size below 5 closes that client only.
 *
 * Clients are driven over real sockets (struct cp). Cases on the shared
 * server may see "left" lines of an earlier case's clients: every wait
 * for a client's message skips the server's lines it is not looking for.
 * No case asserts a duration: the limits only keep a hung server from
 * hanging the driver.
 */
#include "tests.h"

#define CHAT_HEAD 5
#define CHAT_MAX 255
#define CHAT_TEXT_MAX (CHAT_MAX - CHAT_HEAD)

#define FLOOD_BATCH 100
#define FLOOD_MAX_BYTES (16ull << 20) /* far above the buffers on the way (a few MiB) */
#define FLOOD_MAX_MS 120000
#define HUNDRED 100

/* ------------------------------------------------------------------------
 * A chat client
 * --------------------------------------------------------------------- */

struct cp {
    SOCKET s;
    char label[24];
    long id; /* from its own join line */
    unsigned char rb[8192];
    size_t rlen;
};

struct msg {
    long from;
    size_t len;
    char text[CHAT_MAX];
};

/* "PREFIX<number>THEN...": the number, or 0 when the text is not so.
 * (Not sscanf: MSVC deprecates it, C4996.) */
static int num_between(const char *s, const char *prefix, const char *then, long *out)
{
    size_t n = strlen(prefix);
    char *end;
    long v;
    if (strncmp(s, prefix, n) != 0)
        return 0;
    v = strtol(s + n, &end, 10);
    if (end == s + n || strncmp(end, then, strlen(then)) != 0)
        return 0;
    *out = v;
    return 1;
}

static size_t mk_packet(unsigned char *out, const char *text, size_t len)
{
    out[0] = (unsigned char)(CHAT_HEAD + len);
    memset(out + 1, 0, 4);
    memcpy(out + CHAT_HEAD, text, len);
    return CHAT_HEAD + len;
}

/* The next whole packet within `ms`. */
static enum net_status cp_next(struct cp *p, struct msg *m, DWORD ms, char *why, size_t whysz)
{
    char st[64];
    for (;;) {
        size_t got = 0;
        int err = 0;
        enum net_status r;
        if (p->rlen >= 1 && p->rb[0] < CHAT_HEAD) {
            snprintf(why, whysz, "%s: a packet of size %u (less than the header)", p->label,
                     (unsigned)p->rb[0]);
            return NET_ERROR;
        }
        if (p->rlen >= 1 && p->rlen >= p->rb[0]) {
            size_t size = p->rb[0];
            m->from = (long)((uint32_t)p->rb[1] | (uint32_t)p->rb[2] << 8 |
                             (uint32_t)p->rb[3] << 16 | (uint32_t)p->rb[4] << 24);
            m->len = size - CHAT_HEAD;
            memcpy(m->text, p->rb + CHAT_HEAD, m->len);
            m->text[m->len] = '\0';
            memmove(p->rb, p->rb + size, p->rlen - size);
            p->rlen -= size;
            return NET_OK;
        }
        r = net_recv_some(p->s, p->rb + p->rlen, sizeof p->rb - p->rlen, ms, &got, &err);
        if (r != NET_OK) {
            snprintf(why, whysz, "%s: %s", p->label, net_status_text(r, err, st, sizeof st));
            return r;
        }
        p->rlen += got;
    }
}

static int cp_send(struct cp *p, const void *data, size_t len, char *why, size_t whysz)
{
    return net_send_why(p->s, p->label, data, len, why, whysz);
}

static int cp_say(struct cp *p, const char *text, char *why, size_t whysz)
{
    unsigned char b[CHAT_MAX];
    return cp_send(p, b, mk_packet(b, text, strlen(text)), why, whysz);
}

/* Connects (with SO_RCVBUF `rcvbuf` when not 0); the first packet must be
 * the server's "user N joined" line about this client. */
static int cp_join(struct cp *p, const char *label, unsigned short port, int rcvbuf, char *why,
                   size_t whysz)
{
    struct msg m;
    char one[WHY_SIZE];
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->s = rcvbuf ? net_connect_rcvbuf(port, rcvbuf, CONNECT_MS, one, sizeof one)
                  : net_connect(port, CONNECT_MS, one, sizeof one);
    if (p->s == INVALID_SOCKET) {
        snprintf(why, whysz, "%s: %s", label, one);
        return 0;
    }
    net_nodelay(p->s);
    if (cp_next(p, &m, NET_TIMEOUT_MS, one, sizeof one) != NET_OK) {
        snprintf(why, whysz, "%s, waiting for its join line: %s", label, one);
        return 0;
    }
    if (m.from != 0 || !num_between(m.text, "user ", " joined", &p->id)) {
        snprintf(why, whysz, "%s: first packet from id %ld \"%.80s\", expected the server's "
                 "(id 0) \"user N joined ...\"", label, m.from, m.text);
        return 0;
    }
    return 1;
}

static void cp_done(struct cp *p)
{
    if (p->s != INVALID_SOCKET)
        net_close(p->s);
    p->s = INVALID_SOCKET;
}

/* Waits for the message `text` from `from`, skipping the server's lines
 * (joins and leaves of others) but nothing else. */
static int cp_expect(struct cp *p, long from, const char *text, const char *when, char *why,
                     size_t whysz)
{
    struct msg m;
    char one[WHY_SIZE];
    for (;;) {
        if (cp_next(p, &m, NET_TIMEOUT_MS, one, sizeof one) != NET_OK) {
            snprintf(why, whysz, "%s: waiting for [%ld] \"%.60s\": %s", when, from, text, one);
            return 0;
        }
        if (m.from == 0 && from != 0)
            continue;
        if (m.from == from && m.len == strlen(text) && memcmp(m.text, text, m.len) == 0)
            return 1;
        if (m.from == 0 && strstr(m.text, " left") != NULL && strstr(text, " left") != NULL)
            continue; /* someone else's leave, while waiting for one */
        if (m.from == 0 && strstr(m.text, " joined") != NULL)
            continue;
        snprintf(why, whysz, "%s: %s got [%ld] \"%.60s\", expected [%ld] \"%.60s\"", when,
                 p->label, m.from, m.text, from, text);
        return 0;
    }
}

static int cp_expect_left(struct cp *p, long who, const char *when, char *why, size_t whysz)
{
    char text[64];
    snprintf(text, sizeof text, "user %ld left", who);
    return cp_expect(p, 0, text, when, why, whysz);
}

/* The connection ends (end-of-file or reset), whatever came before. */
static int cp_expect_end(struct cp *p, const char *when, char *why, size_t whysz)
{
    struct msg m;
    char one[WHY_SIZE];
    for (int k = 0; k < 100000; k++) {
        enum net_status r = cp_next(p, &m, NET_TIMEOUT_MS, one, sizeof one);
        if (r == NET_EOF || r == NET_RESET)
            return 1;
        if (r != NET_OK) {
            snprintf(why, whysz, "%s: expected the connection to end: %s", when, one);
            return 0;
        }
    }
    snprintf(why, whysz, "%s: the connection did not end", when);
    return 0;
}

/* ------------------------------------------------------------------------
 * Cases
 * --------------------------------------------------------------------- */

static const char *const chat_bad_args[] = {"-p 0", "-p 70000", "-p abc", "-a not.an.ip",
                                            "-x", "-p"};
#define N_CHAT_BAD (sizeof chat_bad_args / sizeof chat_bad_args[0])

static enum result case_args(struct ctx *c)
{
    char why[WHY_SIZE];
    for (size_t i = 0; i < N_CHAT_BAD; i++) {
        struct proc p;
        char *err;
        int bad = 0;
        if (!proc_start(&p, c->exe, chat_bad_args[i], why, sizeof why))
            return fail(c, "%s", why);
        if (!proc_wait(&p, 10000)) {
            proc_stop(&p);
            return fail(c, "`%s`: still running after 10 s", chat_bad_args[i]);
        }
        proc_drain(&p, 2000);
        err = proc_text(&p, ERR_STREAM);
        if (p.exit_code != 2 || err == NULL || !contains_nocase(err, "usage"))
            bad = 1;
        free(err);
        proc_stop(&p);
        if (bad)
            return fail(c, "`%s`: expected exit status 2 and usage on stderr (status %lu)",
                        chat_bad_args[i], (unsigned long)p.exit_code);
    }
    if (!port_in_use_check(c->exe, "", why, sizeof why))
        return fail(c, "port in use: %s", why);
    return RES_PASS;
}

/* Three clients: joins seen by those already there, every message to all
 * three with its sender's id, a leave seen by the two others. */
static enum result case_three_clients(struct ctx *c)
{
    struct cp p[3];
    char why[WHY_SIZE], text[64], when[64];
    enum result out = RES_PASS;
    const char *labels[3] = {"A", "B", "C"};
    int i, j;
    for (i = 0; i < 3; i++)
        p[i].s = INVALID_SOCKET;
    for (i = 0; i < 3; i++) {
        if (!cp_join(&p[i], labels[i], c->srv->port, 0, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        for (j = 0; j < i; j++) {
            struct msg m;
            long id = -1;
            snprintf(when, sizeof when, "%s joined, seen by %s", labels[i], labels[j]);
            do {
                if (cp_next(&p[j], &m, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
                    out = fail(c, "%s: %s", when, why);
                    goto done;
                }
            } while (m.from == 0 && strstr(m.text, " left") != NULL);
            if (m.from != 0 || !num_between(m.text, "user ", " joined", &id) || id != p[i].id) {
                out = fail(c, "%s: got [%ld] \"%.60s\", expected [0] \"user %ld joined ...\"",
                           when, m.from, m.text, p[i].id);
                goto done;
            }
        }
    }
    if (p[0].id == p[1].id || p[1].id == p[2].id || p[0].id == p[2].id || p[0].id == 0) {
        out = fail(c, "ids %ld, %ld, %ld: expected three different ids, none 0", p[0].id,
                   p[1].id, p[2].id);
        goto done;
    }
    /* each says something; everyone gets it, in the order it was said */
    for (i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "hello from %s", labels[i]);
        if (!cp_say(&p[i], text, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        for (j = 0; j < 3; j++) {
            snprintf(when, sizeof when, "%s said something, %s", labels[i], labels[j]);
            if (!cp_expect(&p[j], p[i].id, text, when, why, sizeof why)) {
                out = fail(c, "%s", why);
                goto done;
            }
        }
    }
    /* C leaves: A and B are told */
    cp_done(&p[2]);
    for (j = 0; j < 2; j++)
        if (!cp_expect_left(&p[j], p[2].id, "C left", why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
done:
    for (i = 0; i < 3; i++)
        cp_done(&p[i]);
    return out;
}

/* Packets split at every byte, several in one send, and a packet whose
 * end comes with the next one's start: B gets each whole, in order. */
static enum result case_split_coalesced(struct ctx *c)
{
    struct cp a, b;
    char why[WHY_SIZE];
    unsigned char buf[4 * CHAT_MAX];
    size_t n = 0, one;
    enum result out = RES_PASS;
    static const char *const texts[] = {"split at every byte", "one", "two", "three",
                                        "torn across", "two sends"};
    char longest[CHAT_TEXT_MAX + 1];
    a.s = b.s = INVALID_SOCKET;
    if (!cp_join(&a, "A", c->srv->port, 0, why, sizeof why) ||
        !cp_join(&b, "B", c->srv->port, 0, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* one byte per send, with pauses: separate segments (TCP_NODELAY) */
    one = mk_packet(buf, texts[0], strlen(texts[0]));
    for (size_t k = 0; k < one; k++) {
        if (!cp_send(&a, buf + k, 1, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        Sleep(10); /* so that the bytes travel (and are received) apart */
    }
    /* three packets in one send */
    n = 0;
    for (int k = 1; k <= 3; k++)
        n += mk_packet(buf + n, texts[k], strlen(texts[k]));
    if (!cp_send(&a, buf, n, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* a packet torn in two, its second half sent with the next packet */
    n = mk_packet(buf, texts[4], strlen(texts[4]));
    n += mk_packet(buf + n, texts[5], strlen(texts[5]));
    if (!cp_send(&a, buf, 7, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    Sleep(50);
    if (!cp_send(&a, buf + 7, n - 7, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    /* the largest packet there is: 250 bytes of text */
    memset(longest, 'x', CHAT_TEXT_MAX);
    longest[CHAT_TEXT_MAX] = '\0';
    if (!cp_say(&a, longest, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        if (!cp_expect(&b, a.id, texts[k], "B, A's split and coalesced packets", why,
                       sizeof why) ||
            !cp_expect(&a, a.id, texts[k], "A, its own split and coalesced packets", why,
                       sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    if (!cp_expect(&b, a.id, longest, "B, a 255-byte packet", why, sizeof why))
        out = fail(c, "%s", why);
done:
    cp_done(&a);
    cp_done(&b);
    return out;
}

/* A packet whose size is below the header closes that client only. */
static enum result case_malformed(struct ctx *c)
{
    struct cp a, b, m;
    char why[WHY_SIZE];
    static const unsigned char bad[] = {0x03, 0x00, 0x00};
    enum result out = RES_PASS;
    a.s = b.s = m.s = INVALID_SOCKET;
    if (!cp_join(&a, "A", c->srv->port, 0, why, sizeof why) ||
        !cp_join(&b, "B", c->srv->port, 0, why, sizeof why) ||
        !cp_join(&m, "M (malformed)", c->srv->port, 0, why, sizeof why) ||
        !cp_send(&m, bad, sizeof bad, why, sizeof why) ||
        !cp_expect_end(&m, "M sent a packet of size 3", why, sizeof why) ||
        !cp_expect_left(&a, m.id, "M was closed, A is told", why, sizeof why) ||
        !cp_say(&a, "still here", why, sizeof why) ||
        !cp_expect(&b, a.id, "still here", "after M was closed", why, sizeof why))
        out = fail(c, "%s", why);
    cp_done(&a);
    cp_done(&b);
    cp_done(&m);
    return out;
}

/* S reads nothing; T talks and reads, U reads. The server cuts S off
 * (T and U are told), T and U go on. */
static enum result case_slow_reader(struct ctx *c)
{
    struct proc srv;
    struct cp t, s, u;
    char why[WHY_SIZE], line[256];
    unsigned char *batch;
    size_t n = 0;
    unsigned long long owed = 0;
    ULONGLONG t0;
    enum result out = RES_PASS;
    int cut = 0;
    char text[CHAT_MAX];
    t.s = s.s = u.s = INVALID_SOCKET;
    if (!server_start(&srv, c->exe, 1, why, sizeof why))
        return fail(c, "%s", why);
    batch = (unsigned char *)malloc(FLOOD_BATCH * CHAT_MAX);
    if (batch == NULL) {
        out = fail(c, "out of memory");
        goto done;
    }
    if (!cp_join(&t, "T (talker)", srv.port, 0, why, sizeof why) ||
        !cp_join(&u, "U (reader)", srv.port, 0, why, sizeof why) ||
        !cp_join(&s, "S (reads nothing)", srv.port, 4096, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    for (int k = 0; k < FLOOD_BATCH; k++) {
        int len = snprintf(text, sizeof text, "flood %04d ", k);
        memset(text + len, '.', 200 - (size_t)len);
        n += mk_packet(batch + n, text, 200);
    }
    t0 = now_ms();
    while (!cut) {
        if (owed >= FLOOD_MAX_BYTES) {
            out = fail(c, "a client that reads nothing was sent %llu MiB and is still "
                          "connected: what the server holds for it has no bound", owed >> 20);
            goto done;
        }
        if (now_ms() - t0 > FLOOD_MAX_MS) {
            out = skip(c, "%llu KiB sent to a client that reads nothing within %d s, and it "
                          "is still connected: not enough to fill the buffers on the way here",
                       owed >> 10, FLOOD_MAX_MS / 1000);
            goto done;
        }
        if (!cp_send(&t, batch, n, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        /* T and U read the batch back; T also watches for S's leave */
        for (int who = 0; who < 2; who++) {
            struct cp *r = who == 0 ? &t : &u;
            for (int k = 0; k < FLOOD_BATCH;) {
                struct msg m;
                if (cp_next(r, &m, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
                    out = fail(c, "flooding, after %llu KiB: %s", owed >> 10, why);
                    goto done;
                }
                long id = -1;
                if (m.from == t.id)
                    k++;
                else if (m.from == 0 && num_between(m.text, "user ", " left", &id)) {
                    if (id != s.id) {
                        out = fail(c, "%s was told \"%s\": only S reads nothing", r->label,
                                   m.text);
                        goto done;
                    }
                    cut = 1;
                }
            }
        }
        owed += FLOOD_BATCH * (CHAT_HEAD + 200);
    }
    info(c, "S was cut off after about %llu KiB, %llu ms", owed >> 10,
         (unsigned long long)(now_ms() - t0));
    if (proc_find_line(&srv, OUT_STREAM, "does not read", 0, line, sizeof line))
        info(c, "%s", line);
    if (!cp_expect_end(&s, "S, cut off", why, sizeof why) ||
        !cp_say(&u, "after the cut", why, sizeof why) ||
        !cp_expect(&t, u.id, "after the cut", "T, after S was cut off", why, sizeof why) ||
        !cp_expect(&u, u.id, "after the cut", "U, after S was cut off", why, sizeof why))
        out = fail(c, "%s", why);
done:
    free(batch);
    cp_done(&t);
    cp_done(&s);
    cp_done(&u);
    if (out == RES_PASS && !proc_running(&srv))
        out = fail(c, "the server exited (status %lu)", (unsigned long)srv.exit_code);
    proc_stop(&srv);
    return out;
}

/* A hundred clients join, each says one thing, each hears all hundred. */
static enum result case_hundred(struct ctx *c)
{
    struct cp *p = (struct cp *)calloc(HUNDRED, sizeof *p);
    unsigned char *heard = (unsigned char *)calloc(HUNDRED, HUNDRED);
    char why[WHY_SIZE], label[24], text[64];
    enum result out = RES_PASS;
    int i;
    if (p == NULL || heard == NULL) {
        free(p);
        free(heard);
        return fail(c, "out of memory");
    }
    for (i = 0; i < HUNDRED; i++)
        p[i].s = INVALID_SOCKET;
    for (i = 0; i < HUNDRED; i++) {
        snprintf(label, sizeof label, "client %d", i);
        if (!cp_join(&p[i], label, c->srv->port, 0, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    for (i = 0; i < HUNDRED; i++) {
        snprintf(text, sizeof text, "message %d from client %d", i, i);
        if (!cp_say(&p[i], text, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    }
    for (i = 0; i < HUNDRED; i++) {
        int got = 0;
        while (got < HUNDRED) {
            struct msg m;
            long k = -1;
            if (cp_next(&p[i], &m, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
                out = fail(c, "client %d had %d of the %d messages: %s", i, got, HUNDRED, why);
                goto done;
            }
            if (m.from == 0)
                continue; /* joins */
            if (!num_between(m.text, "message ", " from", &k) || k < 0 || k >= HUNDRED ||
                p[k].id != m.from) {
                out = fail(c, "client %d got [%ld] \"%.60s\": no such message", i, m.from,
                           m.text);
                goto done;
            }
            if (heard[i * HUNDRED + k]) {
                out = fail(c, "client %d got client %ld's message twice", i, k);
                goto done;
            }
            heard[i * HUNDRED + k] = 1;
            got++;
        }
    }
done:
    for (i = 0; i < HUNDRED; i++)
        cp_done(&p[i]);
    free(p);
    free(heard);
    return out;
}

/* client.exe chat: a piped line reaches another client with the name in
 * front; the client prints its own join line and its message. */
static enum result case_client(struct ctx *c)
{
    struct cp w;
    struct proc cl;
    char why[WHY_SIZE], exe[MAX_PATH * 2], args[96], tail[WHY_SIZE / 2];
    static const char input[] = "hello from the console\n/quit\n";
    enum result out = RES_PASS;
    char *text;
    w.s = INVALID_SOCKET;
    exe_path("client", exe, sizeof exe);
    if (!file_exists(exe))
        return skip(c, "build/client.exe not found");
    if (!cp_join(&w, "W (watcher)", c->srv->port, 0, why, sizeof why))
        return fail(c, "%s", why);
    snprintf(args, sizeof args, "chat -p %u -n carol", (unsigned)c->srv->port);
    if (!proc_start_input(&cl, exe, args, input, sizeof input - 1, why, sizeof why)) {
        cp_done(&w);
        return fail(c, "%s", why);
    }
    {
        struct msg m;
        long id = -1;
        do {
            if (cp_next(&w, &m, NET_TIMEOUT_MS, why, sizeof why) != NET_OK) {
                out = fail(c, "W, waiting for client.exe chat to join: %s", why);
                goto done;
            }
        } while (m.from == 0 && strstr(m.text, " left") != NULL);
        if (m.from != 0 || !num_between(m.text, "user ", " joined", &id)) {
            out = fail(c, "W got [%ld] \"%.60s\", expected client.exe chat's join", m.from,
                       m.text);
            goto done;
        }
        if (!cp_expect(&w, id, "carol: hello from the console", "W, client.exe chat's line",
                       why, sizeof why) ||
            !cp_expect_left(&w, id, "client.exe chat ended its input", why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
        if (!proc_wait(&cl, 10000)) {
            out = fail(c, "client.exe chat still running 10 s after its input ended");
            goto done;
        }
        proc_drain(&cl, 2000);
        text = proc_text(&cl, OUT_STREAM);
        char want[64];
        snprintf(want, sizeof want, "[%ld] carol: hello from the console", id);
        if (cl.exit_code != 0 || text == NULL || strstr(text, "[server] user ") == NULL ||
            strstr(text, want) == NULL) {
            proc_tail(&cl, OUT_STREAM, tail, sizeof tail);
            out = fail(c, "client.exe chat: status %lu, expected 0 and its join line and "
                          "\"%s\" in its output: %s", (unsigned long)cl.exit_code, want, tail);
        }
        free(text);
    }
done:
    proc_stop(&cl);
    cp_done(&w);
    return out;
}

/* Ctrl+C with clients connected: summary line, exit status 0. */
static enum result case_ctrl_c(struct ctx *c)
{
    struct proc srv;
    struct cp p[3];
    char why[WHY_SIZE];
    enum result out = RES_PASS;
    int i;
    for (i = 0; i < 3; i++)
        p[i].s = INVALID_SOCKET;
    if (!server_start(&srv, c->exe, 1, why, sizeof why))
        return fail(c, "%s", why);
    for (i = 0; i < 3; i++)
        if (!cp_join(&p[i], "client", srv.port, 0, why, sizeof why)) {
            out = fail(c, "%s", why);
            goto done;
        }
    out = ctrl_c_verdict(c, &srv, "3 clients connected");
done:
    for (i = 0; i < 3; i++)
        cp_done(&p[i]);
    proc_stop(&srv);
    return out;
}

const struct test_case chat_cases[] = {
    {"args", 0, 60, case_args},
    {"three-clients", CASE_SHARED, 30, case_three_clients},
    {"split-and-coalesced", CASE_SHARED, 30, case_split_coalesced},
    {"malformed-closes-only-that-client", CASE_SHARED, 30, case_malformed},
    {"hundred-clients", CASE_SHARED, 120, case_hundred},
    {"client-chat", CASE_SHARED, 60, case_client},
    {"does-not-read-cut-off", 0, 180, case_slow_reader},
    {"ctrl-c", 0, 60, case_ctrl_c},
    {NULL, 0, 0, NULL},
};
