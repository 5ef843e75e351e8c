/*
 * client_cases.c - the pseudo-step `client`: build/client.exe (or --exe)
 * as the echo client, the load generator (bench) and the comparison
 * (compare), against servers of the lab (from build/, next to
 * run_tests.exe) and against a deliberately wrong one (bad_server.c).
 *
 * The client's output is the interface here: its exit status, the bytes
 * the echo client writes, the lines bench_print writes (client/bench.c:
 * "connections: N established, N refused, N served", "messages: N in
 * ...", "errors: N mismatch, N reset, N closed by server, N timeout, N
 * other") and the files compare writes. No case asserts a rate or a
 * duration: under Wine, or on a loaded machine, any figure is possible;
 * the limits below only keep a hung client from hanging the driver.
 */
#include "tests.h"

#define CLIENT_MS 15000  /* the echo client: 3 lines, or a connect refused (its own limit: 5 s) */
#define BENCH_MS 60000   /* a bench run of a few seconds, with its own 5 s timeouts */
#define COMPARE_MS 120000 /* compare of 2 steps x 2 counts x 1 s: about 20 s under Wine */

/* ------------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

/* Runs `client.exe ARGS`, with `input` on its stdin (NUL when NULL), and
 * waits up to `ms` for it to end. 1: it ended, exit_code set, output
 * drained (the caller reads it, then proc_stop). 0: `why` set, nothing
 * left running. */
static int run_client(struct proc *p, const char *exe, const char *args, const char *input,
                      DWORD ms, char *why, size_t whysz)
{
    char tail[WHY_SIZE / 2];
    int ok = input != NULL ? proc_start_input(p, exe, args, input, strlen(input), why, whysz)
                           : proc_start(p, exe, args, why, whysz);
    if (!ok)
        return 0;
    if (!proc_wait(p, ms)) {
        proc_tail(p, OUT_STREAM, tail, sizeof tail);
        snprintf(why, whysz, "`client.exe %s` still running after %lu s; stdout: %s", args,
                 (unsigned long)(ms / 1000), tail[0] ? tail : "(empty)");
        proc_stop(p);
        return 0;
    }
    proc_drain(p, 2000);
    return 1;
}

/* Starts build/NAME.exe (quiet) for a case of the client. RES_PASS when it
 * is ready, RES_SKIP when it is not built, else RES_FAIL; `why` says. */
static enum result start_step_server(struct proc *srv, const char *name, char *why, size_t whysz)
{
    char exe[MAX_PATH * 2], one[WHY_SIZE];
    exe_path(name, exe, sizeof exe);
    if (!file_exists(exe)) {
        snprintf(why, whysz, "needs build/%s.exe, which is not built", name);
        return RES_SKIP;
    }
    if (!server_start(srv, exe, 1, one, sizeof one)) {
        snprintf(why, whysz, "%s: %s", name, one);
        return RES_FAIL;
    }
    return RES_PASS;
}

/* What bench_print reported. */
struct bench_report {
    long long established, refused, served, messages;
    long long mismatch, reset, closed, timeout, other;
};

/* The number just before `word` on the line of the client's stdout that starts
 * with `prefix` ("connections: 8 established" gives 8 for "established"),
 * or, when `word` is NULL, the number just after the prefix. */
static int line_number(struct proc *p, const char *prefix, const char *word, long long *v)
{
    char line[512], *end;
    const char *q, *digits;
    if (!proc_find_line(p, OUT_STREAM, prefix, 1, line, sizeof line))
        return 0;
    if (word == NULL) {
        q = line + strlen(prefix);
        *v = strtoll(q, &end, 10);
        return end != q;
    }
    q = strstr(line + strlen(prefix), word);
    if (q == NULL)
        return 0;
    while (q > line && q[-1] == ' ')
        q--;
    digits = q;
    while (digits > line && isdigit((unsigned char)digits[-1]))
        digits--;
    if (digits == q)
        return 0;
    *v = strtoll(digits, &end, 10);
    return 1;
}

/* Offsets, not pointers into *b: MSVC rejects a non-constant aggregate
 * initializer (C4204). */
static const struct {
    const char *prefix, *word;
    size_t offset;
} bench_fields[] = {
    {"connections:", "established", offsetof(struct bench_report, established)},
    {"connections:", "refused", offsetof(struct bench_report, refused)},
    {"connections:", "served", offsetof(struct bench_report, served)},
    {"messages:", NULL, offsetof(struct bench_report, messages)},
    {"errors:", "mismatch", offsetof(struct bench_report, mismatch)},
    {"errors:", "reset", offsetof(struct bench_report, reset)},
    {"errors:", "closed by server", offsetof(struct bench_report, closed)},
    {"errors:", "timeout", offsetof(struct bench_report, timeout)},
    {"errors:", "other", offsetof(struct bench_report, other)},
};

static int parse_bench(struct proc *p, struct bench_report *b, char *why, size_t whysz)
{
    char tail[WHY_SIZE / 2];
    for (size_t i = 0; i < sizeof bench_fields / sizeof bench_fields[0]; i++)
        if (!line_number(p, bench_fields[i].prefix, bench_fields[i].word,
                          (long long *)((char *)b + bench_fields[i].offset))) {
            proc_tail(p, OUT_STREAM, tail, sizeof tail);
            snprintf(why, whysz, "no \"%s N%s%s\" in bench's output; stdout: %s",
                     bench_fields[i].prefix, bench_fields[i].word ? " " : "",
                     bench_fields[i].word ? bench_fields[i].word : "", tail[0] ? tail : "(empty)");
            return 0;
        }
    return 1;
}

/* Runs `client.exe bench -p PORT OPTIONS` and reads its report. 1 ran
 * (exit code in p->exit_code), 0 with `why` set. Stops p either way. */
static int run_bench(const char *exe, unsigned short port, const char *options,
                     struct bench_report *b, DWORD *exit_code, char *why, size_t whysz)
{
    struct proc p;
    char args[160], one[WHY_SIZE], tail[WHY_SIZE / 4];
    int ok;
    snprintf(args, sizeof args, "bench -p %u %s", (unsigned)port, options);
    if (!run_client(&p, exe, args, NULL, BENCH_MS, why, whysz))
        return 0;
    *exit_code = p.exit_code;
    ok = parse_bench(&p, b, one, sizeof one);
    if (!ok) {
        proc_tail(&p, ERR_STREAM, tail, sizeof tail);
        snprintf(why, whysz, "exit status %lu, %s; stderr: %s", (unsigned long)p.exit_code, one,
                 tail[0] ? tail : "(empty)");
    }
    proc_stop(&p);
    return ok;
}

/* ------------------------------------------------------------------------
 * echo-client: lines piped in come out unchanged; a refused connect is
 * exit status 1 with a word about it
 * --------------------------------------------------------------------- */

static const char echo_input[] =
    "first of three lines\n"
    "second: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ and a\ttab\n"
    "third, ended by CR LF\r\n";

static enum result case_echo_client(struct ctx *c)
{
    char why[WHY_SIZE], args[64], tail[WHY_SIZE / 2];
    struct proc srv, p;
    enum result out;
    char *text;
    size_t len = strlen(echo_input), got;
    unsigned short port;
    ULONGLONG t0;

    out = start_step_server(&srv, "02_thread_per_client", why, sizeof why);
    if (out != RES_PASS)
        return out == RES_SKIP ? skip(c, "%s", why) : fail(c, "%s", why);
    snprintf(args, sizeof args, "-p %u", (unsigned)srv.port);
    if (!run_client(&p, c->exe, args, echo_input, CLIENT_MS, why, sizeof why)) {
        proc_stop(&srv);
        return fail(c, "%s", why);
    }
    proc_stop(&srv);
    text = proc_text(&p, OUT_STREAM);
    got = text != NULL ? strlen(text) : 0;
    proc_tail(&p, ERR_STREAM, tail, sizeof tail);
    if (p.exit_code != 0) {
        out = fail(c, "3 lines piped in: exit status %lu (expected 0); stderr: %s",
                   (unsigned long)p.exit_code, tail[0] ? tail : "(empty)");
    } else if (text == NULL || got != len || memcmp(text, echo_input, len) != 0) {
        size_t i = 0;
        while (text != NULL && i < got && i < len && text[i] == echo_input[i])
            i++;
        out = fail(c, "3 lines piped in (%llu bytes): stdout has %llu bytes, differing from byte "
                      "%llu on",
                   (unsigned long long)len, (unsigned long long)got, (unsigned long long)i);
    }
    free(text);
    proc_stop(&p);
    if (out != RES_PASS)
        return out;

    /* nobody listens on a port that was free a moment ago */
    port = net_free_port();
    if (port == 0)
        return fail(c, "no free port found");
    snprintf(args, sizeof args, "-p %u", (unsigned)port);
    t0 = now_ms();
    if (!run_client(&p, c->exe, args, NULL, CLIENT_MS, why, sizeof why))
        return fail(c, "nobody listening: %s", why);
    text = proc_text(&p, ERR_STREAM);
    proc_tail(&p, ERR_STREAM, tail, sizeof tail);
    if (p.exit_code != 1)
        out = fail(c, "nobody listening on port %u: exit status %lu (expected 1); stderr: %s",
                   (unsigned)port, (unsigned long)p.exit_code, tail[0] ? tail : "(empty)");
    else if (text == NULL || !contains_nocase(text, "connect"))
        out = fail(c, "nobody listening on port %u: no word \"connect\" on stderr: %s",
                   (unsigned)port, tail[0] ? tail : "(empty)");
    else
        info(c, "refused connect: status 1 after %llu ms: %s",
             (unsigned long long)(now_ms() - t0), tail);
    free(text);
    proc_stop(&p);
    return out;
}

/* ------------------------------------------------------------------------
 * bench-counts: a fixed-count run against a right server reports exactly
 * what it did
 * --------------------------------------------------------------------- */

static enum result case_bench_counts(struct ctx *c)
{
    char why[WHY_SIZE];
    const char *name = "02_thread_per_client";
    struct proc srv;
    struct bench_report b;
    DWORD code = 0;
    enum result out = start_step_server(&srv, name, why, sizeof why);
    if (out == RES_SKIP) {
        name = "09_iocp";
        out = start_step_server(&srv, name, why, sizeof why);
    }
    if (out != RES_PASS)
        return out == RES_SKIP ? skip(c, "needs build/02_thread_per_client.exe or 09_iocp.exe")
                               : fail(c, "%s", why);
    if (!run_bench(c->exe, srv.port, "-c 8 -n 50 -b 100", &b, &code, why, sizeof why)) {
        proc_stop(&srv);
        return fail(c, "against %s: %s", name, why);
    }
    proc_stop(&srv);
    if (code != 0)
        return fail(c, "against %s, -c 8 -n 50 -b 100: exit status %lu (expected 0); errors: %lld "
                       "mismatch, %lld reset, %lld closed, %lld timeout, %lld other",
                    name, (unsigned long)code, b.mismatch, b.reset, b.closed, b.timeout, b.other);
    if (b.established != 8 || b.refused != 0 || b.served != 8)
        return fail(c, "against %s, -c 8: %lld established, %lld refused, %lld served "
                       "(expected 8, 0, 8)",
                    name, b.established, b.refused, b.served);
    if (b.messages != 400)
        return fail(c, "against %s, -c 8 -n 50: messages: %lld (expected 400)", name, b.messages);
    if (b.mismatch || b.reset || b.closed || b.timeout || b.other)
        return fail(c, "against %s: errors reported although the exit status was 0: %lld "
                       "mismatch, %lld reset, %lld closed, %lld timeout, %lld other",
                    name, b.mismatch, b.reset, b.closed, b.timeout, b.other);
    info(c, "against %s: 8 established, 8 served, 400 messages, no errors", name);
    return RES_PASS;
}

/* ------------------------------------------------------------------------
 * bench-detects-errors: a wrong server makes bench fail, and says how
 * --------------------------------------------------------------------- */

static enum result bench_bad_server(struct ctx *c, const char *mode, struct bench_report *b)
{
    char why[WHY_SIZE], pre[64];
    struct proc srv;
    DWORD code = 0;
    snprintf(pre, sizeof pre, "--bad-server %s ", mode);
    if (!server_start_args(&srv, self_path(), pre, 1, why, sizeof why))
        return fail(c, "the --bad-server %s helper: %s", mode, why);
    if (!run_bench(c->exe, srv.port, "-c 8 -n 50 -b 100", b, &code, why, sizeof why)) {
        proc_stop(&srv);
        return fail(c, "against a server that %s: %s",
                    strcmp(mode, "corrupt") == 0 ? "corrupts bytes" : "closes after one echo",
                    why);
    }
    proc_stop(&srv);
    if (code != 1)
        return fail(c, "against the --bad-server %s helper: exit status %lu (expected 1)", mode,
                    (unsigned long)code);
    return RES_PASS;
}

/* A listener on a free loopback port that never accepts: the system
 * completes the handshakes from the backlog, so a client connects, and
 * what it sends fills the socket buffers and is never read. INVALID_SOCKET
 * when it cannot listen. */
static SOCKET listen_unread(unsigned short *port)
{
    struct sockaddr_in sa;
    int len = (int)sizeof sa;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return INVALID_SOCKET;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&sa, (int)sizeof sa) != 0 || listen(s, 8) != 0 ||
        getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
        closesocket(s);
        return INVALID_SOCKET;
    }
    *port = ntohs(sa.sin_port);
    return s;
}

/* A server that reads nothing leaves bench's sends pending; bench times
 * the echo out, closes, and ends. Wine keeps a pending WSASend pending when
 * its socket is closed (Windows aborts it), so a close without CancelIoEx
 * left the run waiting for ever under Wine. */
static enum result bench_stuck_send(struct ctx *c)
{
    char why[WHY_SIZE];
    struct bench_report b;
    unsigned short port = 0;
    DWORD code = 0;
    SOCKET l = listen_unread(&port);
    memset(&b, 0, sizeof b);
    if (l == INVALID_SOCKET)
        return fail(c, "a listener that never accepts: WSA %d", WSAGetLastError());
    /* 16 MB messages: more than the socket buffers of both ends hold */
    if (!run_bench(c->exe, port, "-c 2 -n 1 -b 16777216", &b, &code, why, sizeof why)) {
        closesocket(l);
        return fail(c, "against a server that reads nothing: %s", why);
    }
    closesocket(l);
    if (code != 1 || b.timeout != 2 || b.served != 0)
        return fail(c, "against a server that reads nothing, -c 2 -n 1: exit status %lu, %lld "
                       "timeout, %lld served (expected 1, 2, 0)",
                    (unsigned long)code, b.timeout, b.served);
    info(c, "unread: 2 connections to a server that reads nothing: 2 timeouts, bench ended");
    return RES_PASS;
}

static enum result case_bench_detects_errors(struct ctx *c)
{
    char why[WHY_SIZE];
    struct bench_report b;
    struct proc srv;
    enum result out;
    DWORD code = 0;
    int cap;

    /* one byte in a thousand flipped: only the byte-for-byte check sees it */
    memset(&b, 0, sizeof b);
    if ((out = bench_bad_server(c, "corrupt", &b)) != RES_PASS)
        return out;
    if (b.mismatch <= 0)
        return fail(c, "against a server that flips a byte in a thousand: %lld mismatch reported",
                    b.mismatch);
    info(c, "corrupt: %lld mismatch, %lld served", b.mismatch, b.served);

    /* one echo, then the server closes */
    memset(&b, 0, sizeof b);
    if ((out = bench_bad_server(c, "close", &b)) != RES_PASS)
        return out;
    if (b.closed <= 0)
        return fail(c, "against a server that closes after one echo: %lld closed by server "
                       "(%lld reset, %lld other)",
                    b.closed, b.reset, b.other);
    info(c, "close: %lld closed by server, %lld reset", b.closed, b.reset);

    /* nothing read: the sends stay pending until bench gives up on them */
    if ((out = bench_stuck_send(c)) != RES_PASS)
        return out;

    /* 04 serves FD_SETSIZE - 1 and closes the others at once */
    out = start_step_server(&srv, "04_select", why, sizeof why);
    if (out == RES_SKIP) {
        info(c, "04_select part not run: %s", why);
        return RES_PASS;
    }
    if (out != RES_PASS)
        return fail(c, "%s", why);
    cap = fd_setsize_capacity(&srv, 63);
    if (cap >= 70) {
        proc_stop(&srv);
        info(c, "04_select part not run: this build serves %d clients, not fewer than 70", cap);
        return RES_PASS;
    }
    memset(&b, 0, sizeof b);
    if (!run_bench(c->exe, srv.port, "-c 70 -d 2", &b, &code, why, sizeof why)) {
        proc_stop(&srv);
        return fail(c, "against 04_select with 70 clients: %s", why);
    }
    proc_stop(&srv);
    if (code != 1)
        return fail(c, "against 04_select with 70 clients (it serves %d): exit status %lu "
                       "(expected 1)",
                    cap, (unsigned long)code);
    if (b.served > cap)
        return fail(c, "against 04_select with 70 clients: %lld served, but it serves %d at most",
                    b.served, cap);
    /* The ones beyond are closed at once: bench sees end-of-file, or a
     * reset when its first message reached the server before the close
     * (closing a socket with unread data resets the connection). */
    if (b.closed + b.reset <= 0)
        return fail(c, "against 04_select with 70 clients (it serves %d): %lld closed by server, "
                       "%lld reset (%lld timeout, %lld other)",
                    cap, b.closed, b.reset, b.timeout, b.other);
    info(c, "04_select, 70 clients: %lld established, %lld served, %lld closed by server, %lld "
            "reset",
         b.established, b.served, b.closed, b.reset);
    return RES_PASS;
}

/* ------------------------------------------------------------------------
 * bench-fairness: a server that favours one connection gets a
 * slowest_share well below 1
 * --------------------------------------------------------------------- */

static enum result case_bench_fairness(struct ctx *c)
{
    char why[WHY_SIZE], args[96], line[512], tail[WHY_SIZE / 4];
    const char *prefix = "fairness: slowest served connection at ";
    struct proc srv, p;
    struct bench_report b;
    double share;
    char *end;
    if (!server_start_args(&srv, self_path(), "--bad-server starve ", 1, why, sizeof why))
        return fail(c, "the --bad-server starve helper: %s", why);
    /* a timed run: with -n every connection would end with the same count */
    snprintf(args, sizeof args, "bench -p %u -c 8 -d 2", (unsigned)srv.port);
    if (!run_client(&p, c->exe, args, NULL, BENCH_MS, why, sizeof why)) {
        proc_stop(&srv);
        return fail(c, "bench against a server that starves all connections but one: %s", why);
    }
    proc_stop(&srv);
    memset(&b, 0, sizeof b);
    if (!parse_bench(&p, &b, why, sizeof why) ||
        !proc_find_line(&p, OUT_STREAM, prefix, 1, line, sizeof line)) {
        proc_tail(&p, OUT_STREAM, tail, sizeof tail);
        proc_stop(&p);
        return fail(c, "no \"%s\" line in bench's output: %s", prefix, tail);
    }
    proc_stop(&p);
    share = strtod(line + strlen(prefix), &end);
    if (end == line + strlen(prefix))
        return fail(c, "not a number after \"%s\": %s", prefix, line);
    if (b.served != 8)
        return fail(c, "against the starving server: %lld of 8 connections served", b.served);
    /* the favoured one is echoed at once, the seven others after 50 ms each */
    if (!(share < 0.5))
        return fail(c, "against a server that favours one connection: slowest_share %.2f, "
                       "expected well below 1",
                    share);
    info(c, "one connection favoured: slowest_share %.2f, %lld messages", share, b.messages);
    return RES_PASS;
}

/* ------------------------------------------------------------------------
 * compare-short: a small comparison writes its three files
 * --------------------------------------------------------------------- */

#define CMP_STEPS 2
#define CMP_COUNTS 2
static const char *const cmp_steps[CMP_STEPS] = {"03_nonblocking", "09_iocp"};
/* one per measure: msgs/s, served, p99, CPU, idle CPU, threads, memory, fairness */
#define CMP_PANELS 8
static const char *const cmp_counts[CMP_COUNTS] = {"1", "8"};

#define MAX_CELLS 32

/* Splits `line` (changed in place) into cells at `sep`, spaces trimmed; a
 * Markdown row's leading and trailing '|' are dropped. */
static int split_cells(char *line, char sep, char **cells, int max)
{
    int n = 0;
    char *p = line, *end = line + strlen(line);
    while (end > p && (end[-1] == '\r' || end[-1] == ' '))
        *--end = '\0';
    if (sep == '|') {
        while (*p == ' ')
            p++;
        if (*p == '|')
            p++;
        if (end > p && end[-1] == '|')
            *--end = '\0';
    }
    for (;;) {
        char *next = strchr(p, sep), *e;
        if (next != NULL)
            *next = '\0';
        while (*p == ' ')
            p++;
        e = p + strlen(p);
        while (e > p && e[-1] == ' ')
            *--e = '\0';
        if (n < max)
            cells[n++] = p;
        if (next == NULL)
            break;
        p = next + 1;
    }
    return n;
}

static int cell_index(char **cells, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(cells[i], name) == 0)
            return i;
    return -1;
}

/* The whole cell is a finite number (strtod also takes "nan" and "inf"). */
static int cell_number(const char *cell, double *v)
{
    char *end;
    *v = strtod(cell, &end);
    return end != cell && *end == '\0' && *v > -1e15 && *v < 1e15;
}

/* A coordinate of the chart, parsed from `p`: a finite number. */
static int coordinate(const char *p, char **end)
{
    double v = strtod(p, end);
    return *end != p && v > -1e6 && v < 1e6;
}

/* The next line of `*text` (changed in place), or NULL at the end. */
static char *next_line(char **text)
{
    char *line = *text, *nl;
    if (line == NULL || *line == '\0')
        return NULL;
    nl = strchr(line, '\n');
    if (nl != NULL) {
        *nl = '\0';
        *text = nl + 1;
    } else {
        *text = line + strlen(line);
    }
    return line;
}

/* Which of the expected step/count pairs this row is, or -1. */
static int pair_of(const char *step, const char *count)
{
    for (int i = 0; i < CMP_STEPS; i++)
        for (int j = 0; j < CMP_COUNTS; j++)
            if (strcmp(step, cmp_steps[i]) == 0 && strcmp(count, cmp_counts[j]) == 0)
                return i * CMP_COUNTS + j;
    return -1;
}

static int check_md(char *text, char *why, size_t whysz)
{
    char *cells[MAX_CELLS], *line;
    int seen[CMP_STEPS * CMP_COUNTS] = {0};
    int n, i_step = -1, i_conns = -1, i_rate = -1, rows = 0, header = 0;
    while ((line = next_line(&text)) != NULL) {
        int pair;
        double rate;
        if (line[0] != '|')
            continue;
        n = split_cells(line, '|', cells, MAX_CELLS);
        if (!header) {
            header = n;
            i_step = cell_index(cells, n, "step");
            i_conns = cell_index(cells, n, "conns");
            i_rate = cell_index(cells, n, "msgs/s");
            if (i_step < 0 || i_conns < 0 || i_rate < 0 || cell_index(cells, n, "idle CPU %") < 0 ||
                cell_index(cells, n, "fair") < 0) {
                snprintf(why, whysz, "comparison.md: the table header has no step, conns, "
                                     "msgs/s, idle CPU %% or fair column");
                return 0;
            }
            continue;
        }
        if (cells[0][0] == '-' || cells[0][0] == ':')
            continue; /* | --- | ---: | */
        rows++;
        if (n != header) {
            snprintf(why, whysz, "comparison.md: a row of %d cells under a header of %d", n,
                     header);
            return 0;
        }
        pair = pair_of(cells[i_step], cells[i_conns]);
        if (pair < 0) {
            snprintf(why, whysz, "comparison.md: unexpected row for %s, %s connections",
                     cells[i_step], cells[i_conns]);
            return 0;
        }
        if (seen[pair]++) {
            snprintf(why, whysz, "comparison.md: two rows for %s, %s connections", cells[i_step],
                     cells[i_conns]);
            return 0;
        }
        if (!cell_number(cells[i_rate], &rate) || !(rate > 0)) {
            snprintf(why, whysz, "comparison.md: %s, %s connections: msgs/s is \"%s\", not a "
                                 "number above 0",
                     cells[i_step], cells[i_conns], cells[i_rate]);
            return 0;
        }
    }
    if (!header) {
        snprintf(why, whysz, "comparison.md: no Markdown table");
        return 0;
    }
    if (rows != CMP_STEPS * CMP_COUNTS) {
        snprintf(why, whysz, "comparison.md: %d rows, expected %d", rows, CMP_STEPS * CMP_COUNTS);
        return 0;
    }
    return 1;
}

/* idle_cpu_pct of each step (the smallest over its rows for 03, the
 * largest for the others): filled by check_csv */
static double idle_03_least, idle_others_most;

static int check_csv(char *text, char *why, size_t whysz)
{
    static const char *const columns[] = {
        "step", "connections", "established", "served", "refused", "messages", "seconds",
        "msgs_per_sec", "p50_ms", "p99_ms", "err_mismatch", "err_timeout", "note",
        "server_cpu_s", "cpu_s_per_100k", "idle_cpu_pct", "slowest_share", "threads", "mem_mb",
        "runs", "msgs_per_sec_min", "msgs_per_sec_max",
    };
    char *cells[MAX_CELLS], *line = next_line(&text);
    int seen[CMP_STEPS * CMP_COUNTS] = {0};
    int n, header, rows = 0, i_step, i_conns, i_served, i_rate, i_idle, i_note;
    idle_03_least = 1e9;
    idle_others_most = 0;
    if (line == NULL) {
        snprintf(why, whysz, "comparison.csv is empty");
        return 0;
    }
    header = split_cells(line, ',', cells, MAX_CELLS);
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++)
        if (cell_index(cells, header, columns[i]) < 0) {
            snprintf(why, whysz, "comparison.csv: no column %s in the header", columns[i]);
            return 0;
        }
    i_step = cell_index(cells, header, "step");
    i_conns = cell_index(cells, header, "connections");
    i_served = cell_index(cells, header, "served");
    i_rate = cell_index(cells, header, "msgs_per_sec");
    i_idle = cell_index(cells, header, "idle_cpu_pct");
    i_note = cell_index(cells, header, "note");
    while ((line = next_line(&text)) != NULL) {
        double conns, served, rate, idle, x;
        int pair;
        if (line[0] == '\0' || strcmp(line, "\r") == 0)
            continue;
        rows++;
        n = split_cells(line, ',', cells, MAX_CELLS);
        if (n != header) {
            snprintf(why, whysz, "comparison.csv: row %d has %d fields, the header %d", rows, n,
                     header);
            return 0;
        }
        pair = pair_of(cells[i_step], cells[i_conns]);
        if (pair < 0 || seen[pair]++) {
            snprintf(why, whysz, "comparison.csv: row %d is for %s, %s connections: unexpected "
                                 "or repeated",
                     rows, cells[i_step], cells[i_conns]);
            return 0;
        }
        if (!cell_number(cells[i_conns], &conns) || !cell_number(cells[i_served], &served) ||
            served != conns) {
            snprintf(why, whysz, "comparison.csv: %s, %s connections: served is \"%s\"",
                     cells[i_step], cells[i_conns], cells[i_served]);
            return 0;
        }
        if (!cell_number(cells[i_rate], &rate) || !(rate > 0)) {
            snprintf(why, whysz, "comparison.csv: %s, %s connections: msgs_per_sec is \"%s\"",
                     cells[i_step], cells[i_conns], cells[i_rate]);
            return 0;
        }
        /* every other column is a number (the step and the note excepted) */
        for (int k = 0; k < n; k++)
            if (k != i_step && k != i_note && !cell_number(cells[k], &x)) {
                snprintf(why, whysz, "comparison.csv: %s, %s connections: column %d is \"%s\", "
                                     "not a number",
                         cells[i_step], cells[i_conns], k + 1, cells[k]);
                return 0;
            }
        cell_number(cells[i_idle], &idle);
        if (strcmp(cells[i_step], "03_nonblocking") == 0) {
            if (idle < idle_03_least)
                idle_03_least = idle;
        } else if (idle > idle_others_most) {
            idle_others_most = idle;
        }
    }
    if (rows != CMP_STEPS * CMP_COUNTS) {
        snprintf(why, whysz, "comparison.csv: %d data rows, expected %d", rows,
                 CMP_STEPS * CMP_COUNTS);
        return 0;
    }
    return 1;
}

/* An <svg> document with one panel per measure, and in each one line
 * (<polyline>) per step, each through one point per connection count. */
static int check_svg(const char *text, char *why, size_t whysz)
{
    const char *p = text, *end = text + strlen(text);
    int lines = 0, panels = 0;
    for (const char *q = text; (q = strstr(q, "<g class=\"panel\"")) != NULL; q++)
        panels++;
    if (panels != CMP_PANELS) {
        snprintf(why, whysz, "comparison.svg: %d panels (<g class=\"panel\">), expected %d", panels,
                 CMP_PANELS);
        return 0;
    }
    while (*p == ' ' || *p == '\r' || *p == '\n' || *p == '\t')
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\r' || end[-1] == '\n' || end[-1] == '\t'))
        end--;
    if (strncmp(p, "<svg", 4) != 0) {
        snprintf(why, whysz, "comparison.svg does not start with <svg");
        return 0;
    }
    if (end - p < 6 || strncmp(end - 6, "</svg>", 6) != 0) {
        snprintf(why, whysz, "comparison.svg does not end with </svg>");
        return 0;
    }
    while ((p = strstr(p, "<polyline")) != NULL) {
        const char *pts = strstr(p, "points=\""), *close = strchr(p, '>');
        int points = 0;
        lines++;
        if (pts == NULL || close == NULL || pts > close) {
            snprintf(why, whysz, "comparison.svg: polyline %d has no points", lines);
            return 0;
        }
        pts += 8;
        while (*pts != '"' && *pts != '\0') {
            char *e;
            while (*pts == ' ')
                pts++;
            if (*pts == '"')
                break;
            if (!coordinate(pts, &e) || *e != ',') {
                snprintf(why, whysz, "comparison.svg: polyline %d: a point is not \"x,y\"", lines);
                return 0;
            }
            pts = e + 1;
            if (!coordinate(pts, &e)) {
                snprintf(why, whysz, "comparison.svg: polyline %d: a point is not \"x,y\"", lines);
                return 0;
            }
            pts = e;
            points++;
        }
        if (points != CMP_COUNTS) {
            snprintf(why, whysz, "comparison.svg: polyline %d has %d points, expected %d", lines,
                     points, CMP_COUNTS);
            return 0;
        }
        p = close;
    }
    if (lines != CMP_STEPS * CMP_PANELS) {
        snprintf(why, whysz, "comparison.svg: %d <polyline> elements, expected %d (one per step "
                             "and panel)",
                 lines, CMP_STEPS * CMP_PANELS);
        return 0;
    }
    return 1;
}

static const char *const cmp_files[] = {"comparison.md", "comparison.csv", "comparison.svg"};
#define N_CMP_FILES (sizeof cmp_files / sizeof cmp_files[0])

static enum result case_compare_short(struct ctx *c)
{
    char why[WHY_SIZE], dir[MAX_PATH], tmp[MAX_PATH], args[MAX_PATH + 96], tail[WHY_SIZE / 2];
    char path[MAX_PATH * 2], bin[MAX_PATH * 2], *slash;
    char *text[N_CMP_FILES] = {NULL, NULL, NULL};
    struct proc p;
    enum result out = RES_PASS;
    ULONGLONG t0;
    size_t i, len;
    DWORD n;

    /* compare takes the servers from the folder client.exe is in */
    snprintf(bin, sizeof bin, "%s", c->exe);
    slash = strrchr(bin, '\\');
    if (slash == NULL)
        slash = strrchr(bin, '/');
    if (slash != NULL)
        *slash = '\0';
    for (i = 0; i < CMP_STEPS; i++) {
        snprintf(path, sizeof path, "%s\\%s.exe", slash != NULL ? bin : ".", cmp_steps[i]);
        if (!file_exists(path))
            return skip(c, "needs %s.exe next to client.exe", cmp_steps[i]);
    }

    n = GetTempPathA((DWORD)sizeof tmp, tmp);
    if (n == 0 || n >= sizeof tmp)
        return fail(c, "GetTempPath failed: error %lu", GetLastError());
    snprintf(dir, sizeof dir, "%srun_tests_compare_%lu_%llu", tmp,
             (unsigned long)GetCurrentProcessId(), (unsigned long long)now_ms());
    if (!CreateDirectoryA(dir, NULL))
        return fail(c, "CreateDirectory(%s) failed: error %lu", dir, GetLastError());
    /* --same-prefix: under Wine the servers then run in this prefix, as
     * they do on Windows, and no second prefix is created for the test */
    snprintf(args, sizeof args, "compare --steps 3,9 --counts 1,8 -d 1 --same-prefix -o \"%s\"",
             dir);
    t0 = now_ms();
    if (!run_client(&p, c->exe, args, NULL, COMPARE_MS, why, sizeof why)) {
        out = fail(c, "%s", why);
        goto done;
    }
    proc_tail(&p, ERR_STREAM, tail, sizeof tail);
    if (p.exit_code != 0) {
        out = fail(c, "exit status %lu (expected 0); stderr: %s", (unsigned long)p.exit_code,
                   tail[0] ? tail : "(empty)");
        proc_stop(&p);
        goto done;
    }
    proc_stop(&p);
    info(c, "compare of 2 steps x 2 counts ended after %llu ms",
         (unsigned long long)(now_ms() - t0));
    for (i = 0; i < N_CMP_FILES; i++) {
        snprintf(path, sizeof path, "%s\\%s", dir, cmp_files[i]);
        text[i] = read_whole(path, &len);
        if (text[i] == NULL) {
            out = fail(c, "%s was not written (in %s)", cmp_files[i], dir);
            goto done;
        }
    }
    if (!check_md(text[0], why, sizeof why) || !check_csv(text[1], why, sizeof why) ||
        !check_svg(text[2], why, sizeof why))
        out = fail(c, "%s", why);
    /* 03 polls: with its clients silent it still spins, the others wait */
    else if (!(idle_03_least > 2 * idle_others_most + 2))
        out = fail(c, "idle CPU: 03_nonblocking %.1f%% at least, 09_iocp %.1f%% at most: 03's "
                      "spin should stand clearly above",
                   idle_03_least, idle_others_most);
    else
        info(c, "idle CPU: 03_nonblocking at least %.1f%%, 09_iocp at most %.1f%%", idle_03_least,
             idle_others_most);
done:
    for (i = 0; i < N_CMP_FILES; i++) {
        free(text[i]);
        snprintf(path, sizeof path, "%s\\%s", dir, cmp_files[i]);
        DeleteFileA(path);
    }
    RemoveDirectoryA(dir);
    return out;
}

/* ------------------------------------------------------------------------
 * buffers: client.exe buffers prints what it measured, and its figures
 * hold together: the TCP stream arrives whole (the tool checks every byte;
 * this checks its sums), the UDP datagrams kept and dropped add up to
 * those sent, a non-blocking connect completes and a refused one says so
 * --------------------------------------------------------------------- */

/* Does the client's stdout line that starts with `prefix` contain `text`? */
static int line_has(struct proc *p, const char *prefix, const char *text)
{
    char line[512];
    return proc_find_line(p, OUT_STREAM, prefix, 1, line, sizeof line) &&
           strstr(line, text) != NULL;
}

#define BUFFERS_MS 30000 /* about 3 s under Wine; a refused connect may take 2 s more on Windows */

static enum result case_buffers(struct ctx *c)
{
    char why[WHY_SIZE], line[512], tail[WHY_SIZE / 2];
    struct proc p;
    enum result out = RES_PASS;
    long long took = 0, read_slow = 0, more = 0, rest = 0, total = 0, sent = 0;
    long long dsent = 0, kept = 0, dropped = 0;

    if (!run_client(&p, c->exe, "buffers", NULL, BUFFERS_MS, why, sizeof why))
        return fail(c, "%s", why);
    proc_tail(&p, ERR_STREAM, tail, sizeof tail);
    if (p.exit_code != 0) {
        out = fail(c, "exit status %lu (expected 0); stderr: %s", (unsigned long)p.exit_code,
                   tail[0] ? tail : "(empty)");
    } else if (!line_number(&p, "tcp: the receiver does not read: send() took ", NULL, &took) ||
               !line_has(&p, "tcp: the receiver does not read:", "WSAEWOULDBLOCK") || took <= 0) {
        out = fail(c, "tcp, nobody reading: no \"send() took N bytes, then failed with "
                      "WSAEWOULDBLOCK\" line with N > 0");
    } else if (!line_number(&p, "tcp: the receiver read ", "bytes;", &read_slow) ||
               !line_number(&p, "tcp: the receiver read ", "more bytes in", &more) ||
               !line_number(&p, "tcp: then the sender closed its side", "more bytes", &rest) ||
               !line_number(&p, "tcp: then the sender closed its side", "in all", &total) ||
               !line_number(&p, "tcp: then the sender closed its side", "sent", &sent)) {
        out = fail(c, "tcp, a slow reader: the lines with the bytes read and sent are missing");
    } else if (sent != took + more || total != read_slow + rest || total != sent) {
        out = fail(c, "tcp: the figures do not add up: %lld taken with nobody reading + %lld "
                      "more = %lld sent; %lld read slowly + %lld at the end = %lld received",
                   took, more, sent, read_slow, rest, total);
    } else if (!proc_find_line(&p, OUT_STREAM, "tcp: then the sender closed its side", 1, line,
                               sizeof line) ||
               strstr(line, "every byte in order: nothing was lost") == NULL) {
        out = fail(c, "tcp: the stream did not arrive whole: %s", line);
    } else if (!line_number(&p, "udp: sent ", NULL, &dsent) ||
               !line_number(&p, "udp: then the receiver found ", NULL, &kept) ||
               !line_number(&p, "udp: then the receiver found ", "were dropped", &dropped)) {
        out = fail(c, "udp: the lines with the datagrams sent, kept and dropped are missing");
    } else if (dsent <= 0 || kept <= 0 || kept + dropped != dsent) {
        out = fail(c, "udp: %lld sent, %lld kept, %lld dropped: kept + dropped must be the "
                      "datagrams sent, and some kept", dsent, kept, dropped);
    } else if (!line_has(&p, "connect: to a listening port: select()", "connected")) {
        out = fail(c, "connect to a listening port: no \"select() reported it writable ... "
                      "connected\" line");
    } else if (!line_has(&p, "connect: to a port nobody listens on: select()", "SO_ERROR 10061")) {
        out = fail(c, "connect to a port nobody listens on: no \"SO_ERROR 10061\" line");
    } else {
        info(c, "tcp: %lld bytes taken with nobody reading, %lld sent and received whole; "
                "udp: %lld of %lld datagrams kept", took, sent, kept, dsent);
    }
    proc_stop(&p);
    return out;
}

/* ------------------------------------------------------------------------
 * The list: name, flags, deadline (s), function. Nothing is shared: each
 * case starts the servers it talks to.
 * --------------------------------------------------------------------- */

const struct test_case client_cases[] = {
    {"echo-client", 0, 60, case_echo_client},
    {"bench-counts", 0, 90, case_bench_counts},
    {"bench-detects-errors", 0, 240, case_bench_detects_errors},
    {"compare-short", 0, 180, case_compare_short},
    {"bench-fairness", 0, 90, case_bench_fairness},
    {"buffers", 0, 60, case_buffers},
    {NULL, 0, 0, NULL},
};
