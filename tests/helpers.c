/*
 * helpers.c - what the case files share (declared in tests.h, "Helpers the
 * case files share"): checks on what comes back over a socket, a writer
 * thread, echoes on many connections at once, and the start-up checks
 * every server of the lab must pass (a port in use, 04's FD_SETSIZE line).
 *
 * A helper here returns 1, or 0 with the reason in `why`: the case that
 * calls it decides what a failure means (FAIL, SKIP, a retry).
 */
#include "tests.h"

/* ------------------------------------------------------------------------
 * What comes back
 * --------------------------------------------------------------------- */

/* Nothing more may arrive after the echo: a server that sends extra bytes
 * (or the same data twice) fails here. */
int expect_silence(SOCKET s, DWORD ms, char *why, size_t whysz)
{
    char b[256];
    size_t got = 0;
    int err;
    enum net_status r = net_recv_some(s, b, sizeof b, ms, &got, &err);
    if (r == NET_OK && got > 0) {
        snprintf(why, whysz, "%llu unexpected extra bytes after the echo",
                 (unsigned long long)got);
        return 0;
    }
    return 1;
}

/* Reads `len` bytes and checks them against the stream `r` generates. */
int recv_verify(SOCKET s, struct prng *r, size_t len, DWORD ms, char *why, size_t whysz)
{
    unsigned char *got = (unsigned char *)malloc(65536), *want = (unsigned char *)malloc(65536);
    size_t off = 0;
    int ok = 0;
    if (got == NULL || want == NULL) {
        snprintf(why, whysz, "out of memory");
        goto out;
    }
    while (off < len) {
        size_t n = 0, piece = len - off < 65536 ? len - off : 65536;
        int err;
        char st[64];
        enum net_status res = net_recv_some(s, got, piece, ms, &n, &err);
        if (res != NET_OK) {
            snprintf(why, whysz, "got %llu of %llu bytes back: %s", (unsigned long long)off,
                     (unsigned long long)len, net_status_text(res, err, st, sizeof st));
            goto out;
        }
        prng_fill(r, want, n);
        if (memcmp(got, want, n) != 0) {
            size_t i = 0;
            while (got[i] == want[i])
                i++;
            snprintf(why, whysz, "byte %llu of %llu differs (sent 0x%02x, got 0x%02x)",
                     (unsigned long long)(off + i), (unsigned long long)len, (unsigned)want[i],
                     (unsigned)got[i]);
            goto out;
        }
        off += n;
    }
    ok = 1;
out:
    free(got);
    free(want);
    return ok;
}

/* ------------------------------------------------------------------------
 * A writer thread, while the case's own thread reads
 * --------------------------------------------------------------------- */

/* A thread that writes a prng stream, in pieces of random sizes, while
 * the case's own thread reads (struct writer: tests.h): `len` bytes, or,
 * started with writer_start_until, from `min_len` on until told to stop. */
static DWORD WINAPI writer_main(LPVOID arg)
{
    struct writer *w = (struct writer *)arg;
    struct prng data, sizes;
    unsigned char *buf = (unsigned char *)malloc(65536);
    size_t off = 0;
    w->st = NET_OK;
    if (buf == NULL) {
        w->st = NET_ERROR;
        InterlockedExchange(&w->done, 1);
        return 0;
    }
    prng_seed(&data, w->seed);
    prng_seed(&sizes, w->seed ^ 0x5a5a5a5au);
    while (off < w->len && !(w->min_len > 0 && off >= w->min_len &&
                             InterlockedCompareExchange(&w->stop, 0, 0) != 0)) {
        size_t piece = 1 + prng_next(&sizes) % 65536, sent = 0;
        if (piece > w->len - off)
            piece = w->len - off;
        prng_fill(&data, buf, piece);
        w->st = net_send_all(w->s, buf, piece, w->idle_ms, &sent, &w->err);
        off += sent;
        InterlockedExchange(&w->sent, (LONG)off);
        if (w->st != NET_OK)
            break;
    }
    free(buf);
    InterlockedExchange(&w->done, 1);
    return 0;
}

HANDLE writer_start(struct writer *w, SOCKET s, size_t len, uint32_t seed)
{
    return writer_start_until(w, s, 0, len, seed);
}

HANDLE writer_start_until(struct writer *w, SOCKET s, size_t min_len, size_t max_len,
                          uint32_t seed)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->len = max_len;
    w->min_len = min_len;
    w->seed = seed;
    w->idle_ms = NET_TIMEOUT_MS;
    return CreateThread(NULL, 0, writer_main, w, 0, NULL);
}

/* Ends the writer: when the reader failed, shutting the socket down makes
 * the writer's next send fail at once instead of after its timeout. */
int writer_join(HANDLE t, SOCKET s, int reader_failed, char *why, size_t whysz,
                const struct writer *w)
{
    char st[64];
    if (reader_failed)
        shutdown(s, SD_BOTH);
    if (WaitForSingleObject(t, 2 * NET_TIMEOUT_MS + 5000) != WAIT_OBJECT_0) {
        CloseHandle(t);
        if (!reader_failed)
            snprintf(why, whysz, "the writing thread did not finish");
        return 0; /* the deadline of the case will deal with it */
    }
    CloseHandle(t);
    if (!reader_failed && w->st != NET_OK) {
        snprintf(why, whysz, "sending: %llu of %llu bytes sent: %s", (unsigned long long)w->sent,
                 (unsigned long long)w->len, net_status_text(w->st, w->err, st, sizeof st));
        return 0;
    }
    return !reader_failed;
}

/* ------------------------------------------------------------------------
 * Echoes on one and on many connections
 * --------------------------------------------------------------------- */

int echo_msg(SOCKET s, const char *fmt, int i, char *why, size_t whysz)
{
    char msg[48];
    int n = snprintf(msg, sizeof msg, fmt, i);
    return net_echo(s, msg, (size_t)n, NET_TIMEOUT_MS, why, whysz);
}

/* Sends each of `n` sockets its message, then reads every echo back: all
 * connections are in flight at once. */
int round_trip_all(SOCKET *s, int n, const char *fmt, char *why, size_t whysz)
{
    char msg[48], back[48], st[64];
    for (int i = 0; i < n; i++) {
        size_t sent = 0;
        int err = 0;
        int len = snprintf(msg, sizeof msg, fmt, i);
        enum net_status r = net_send_all(s[i], msg, (size_t)len, NET_TIMEOUT_MS, &sent, &err);
        if (r != NET_OK) {
            snprintf(why, whysz, "client %d: send: %s", i + 1,
                     net_status_text(r, err, st, sizeof st));
            return 0;
        }
    }
    /* the second pass, alike the first on purpose: it reads what that one sent */
    for (int i = 0; i < n; i++) {
        size_t got = 0;
        int err = 0;
        int len = snprintf(msg, sizeof msg, fmt, i);
        enum net_status r = net_recv_exact(s[i], back, (size_t)len, NET_TIMEOUT_MS, &got, &err);
        if (r != NET_OK) {
            snprintf(why, whysz, "client %d: got %llu of %d bytes back: %s", i + 1,
                     (unsigned long long)got, len, net_status_text(r, err, st, sizeof st));
            return 0;
        }
        if (memcmp(back, msg, (size_t)len) != 0) {
            snprintf(why, whysz, "client %d got another client's data or garbage", i + 1);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------------
 * Start-up and output of a server
 * --------------------------------------------------------------------- */

/* 04's "FD_SETSIZE is N: at most N-1 clients", printed after its ready
 * line (tests.h). */
int fd_setsize_capacity(struct proc *srv, int dflt)
{
    char line[256], *end;
    const char *at;
    long v;
    if (proc_wait_line(srv, OUT_STREAM, "FD_SETSIZE is ", 0, 1000, line, sizeof line) != 1)
        return dflt;
    at = strstr(line, "FD_SETSIZE is ") + 14;
    v = strtol(at, &end, 10);
    if (end == at || v < 2 || v > 1000000)
        return dflt;
    return (int)(v - 1);
}

int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* (tests.h) Starts `exe PRE-p PORT -a 127.0.0.1 -q` on a port held by a
 * listening socket of ours: exit status 1, one stderr line "bind failed:
 * WSA <number>...", no ready line. */
int port_in_use_check(const char *exe, const char *pre, char *why, size_t whysz)
{
    char args[128], line[256], tail[WHY_SIZE / 2];
    struct sockaddr_in sa;
    struct proc p;
    int ok = 0;
    unsigned short port = 0;
    SOCKET l = INVALID_SOCKET;
    const char *at = NULL;
    char *err;
    size_t nlines = 0;
    /* hold a listening socket on a port of our own */
    for (int attempt = 0; attempt < 5 && l == INVALID_SOCKET; attempt++) {
        port = net_free_port();
        l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (l == INVALID_SOCKET) {
            snprintf(why, whysz, "socket failed: WSA %d", WSAGetLastError());
            return 0;
        }
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons(port);
        if (bind(l, (struct sockaddr *)&sa, (int)sizeof sa) == SOCKET_ERROR ||
            listen(l, 4) == SOCKET_ERROR) {
            closesocket(l);
            l = INVALID_SOCKET;
        }
    }
    if (l == INVALID_SOCKET) {
        snprintf(why, whysz, "could not hold a port for the test");
        return 0;
    }
    snprintf(args, sizeof args, "%s-p %u -a 127.0.0.1 -q", pre, (unsigned)port);
    if (!proc_start(&p, exe, args, why, whysz)) {
        closesocket(l);
        return 0;
    }
    if (!proc_wait(&p, 10000)) {
        proc_stop(&p);
        closesocket(l);
        snprintf(why, whysz, "still running 10 s after starting on a port in use");
        return 0;
    }
    closesocket(l);
    proc_drain(&p, 2000);
    proc_tail(&p, ERR_STREAM, tail, sizeof tail);
    err = proc_text(&p, ERR_STREAM);
    if (err != NULL)
        for (const char *q = err; *q; q++) /* non-empty lines */
            if (*q != '\n' && *q != '\r' && (q == err || q[-1] == '\n'))
                nlines++;
    if (p.exit_code != 1) {
        snprintf(why, whysz, "exit status %lu (expected 1); stderr: %s",
                 (unsigned long)p.exit_code, tail[0] ? tail : "(empty)");
    } else if (!proc_find_line(&p, ERR_STREAM, "bind failed: WSA ", 0, line, sizeof line) ||
               (at = strstr(line, "bind failed: WSA ")) == NULL ||
               !isdigit((unsigned char)at[17])) {
        snprintf(why, whysz, "no line \"bind failed: WSA <number>: <text>\" on "
                             "stderr; stderr: %s",
                 tail[0] ? tail : "(empty)");
    } else if (nlines != 1) {
        snprintf(why, whysz, "%llu lines on stderr, expected one; stderr: %s",
                 (unsigned long long)nlines, tail);
    } else if (proc_find_line(&p, OUT_STREAM, "listening on", 0, NULL, 0)) {
        snprintf(why, whysz, "printed its ready line although bind failed");
    } else {
        ok = 1;
    }
    free(err);
    proc_stop(&p);
    return ok;
}

/* After a console event: the server exits within `ms` with status 0 and its
 * summary line "stopped: ..." on stdout, copied to `line`. `after` names
 * the event for the reason ("Ctrl+C", "Ctrl+C with 1000 clients connected"). */
int stopped_cleanly(struct proc *srv, DWORD ms, const char *after, char *line, size_t linesz,
                    char *why, size_t whysz)
{
    char tail[WHY_SIZE / 2];
    if (!proc_wait(srv, ms)) {
        proc_tail(srv, OUT_STREAM, tail, sizeof tail);
        snprintf(why, whysz, "still running %lu s after %s; stdout: %s", ms / 1000, after,
                 tail[0] ? tail : "(empty)");
        return 0;
    }
    proc_drain(srv, 2000);
    if (srv->exit_code != 0) {
        proc_tail(srv, ERR_STREAM, tail, sizeof tail);
        snprintf(why, whysz, "exit status %lu after %s (expected 0); stderr: %s",
                 (unsigned long)srv->exit_code, after, tail[0] ? tail : "(empty)");
        return 0;
    }
    if (!proc_find_line(srv, OUT_STREAM, "stopped:", 1, line, linesz)) {
        proc_tail(srv, OUT_STREAM, tail, sizeof tail);
        snprintf(why, whysz, "no summary line (\"stopped: ...\") after %s; stdout: %s", after,
                 tail[0] ? tail : "(empty)");
        return 0;
    }
    return 1;
}

/* (tests.h) The end of the 08_chat and 08_board Ctrl+C cases. */
enum result ctrl_c_verdict(struct ctx *c, struct proc *srv, const char *with)
{
    char why[WHY_SIZE], after[64], line[256];
    if (proc_send_ctrl(srv, CTRL_C_EVENT, why, sizeof why) != CTRL_SENT)
        return fail(c, "could not deliver Ctrl+C: %s", why);
    snprintf(after, sizeof after, "Ctrl+C with %s", with);
    if (!stopped_cleanly(srv, 10000, after, line, sizeof line, why, sizeof why))
        return fail(c, "%s", why);
    info(c, "%s", line);
    return RES_PASS;
}

/* (tests.h) Adds "; one" to the reasons gathered in `why` (what does not
 * fit is left out: the first reasons matter most). */
void append_reason(char *why, size_t whysz, const char *one)
{
    size_t n = strlen(why);
    if (n + strlen(one) + 3 < whysz)
        snprintf(why + n, whysz - n, "%s%s", n ? "; " : "", one);
}

/* (tests.h) The verdict on `n` servers started at once with bad command
 * lines: each exits, within one 10 s limit for all, with status 2 and a
 * usage text on stderr (and, with `quiet_stdout`, nothing on stdout). */
int bad_args_verdict(struct proc *p, const char *const *args, size_t n, int quiet_stdout,
                     char *why, size_t whysz)
{
    ULONGLONG until = now_ms() + 10000;
    char one[WHY_SIZE];
    why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        ULONGLONG now = now_ms();
        one[0] = '\0';
        if (!proc_wait(&p[i], now < until ? (DWORD)(until - now) : 0)) {
            snprintf(one, sizeof one, "`%s`: still running after 10 s", args[i]);
        } else {
            char *err, *out;
            proc_drain(&p[i], 2000);
            err = proc_text(&p[i], ERR_STREAM);
            out = proc_text(&p[i], OUT_STREAM);
            if (p[i].exit_code != 2)
                snprintf(one, sizeof one, "`%s`: exit status %lu (expected 2)", args[i],
                         (unsigned long)p[i].exit_code);
            else if (err == NULL || !contains_nocase(err, "usage"))
                snprintf(one, sizeof one, "`%s`: no usage on stderr", args[i]);
            else if (quiet_stdout && out != NULL && out[0] != '\0')
                snprintf(one, sizeof one, "`%s`: something on stdout (expected nothing)",
                         args[i]);
            free(err);
            free(out);
        }
        proc_stop(&p[i]);
        if (one[0])
            append_reason(why, whysz, one);
    }
    return why[0] == '\0';
}
