/*
 * compare.c - client.exe compare: every echo step under the same load.
 *
 *   client.exe compare [--steps LIST] [--counts LIST] [-b BYTES] [-d SECONDS]
 *                      [-r REPEATS] [-T THREADS] [--bin DIR] [-o DIR]
 *                      [--same-prefix] [--no-native] [--wine-generator]
 *
 * For each step and each connection count it starts the step's server
 * (quiet, on a free port, a fresh process for every measurement so that
 * one run's leftovers cannot colour the next; compare_run.c), runs the load
 * generator (bench.c) against it, then keeps the connections open and
 * silent for a second, and stops it. The server reports its own CPU time,
 * threads and working set (tools/lab.h, -S): compare reads them at the
 * start and the end of the loaded interval and across the silent one.
 * With -r each point is measured several times (in rounds, so that a
 * passing disturbance hits different points) and the median is reported
 * with its spread. Prints one aligned table and writes the same results as
 * Markdown, CSV and a chart with a panel per measure (compare_render.c).
 *
 * Under Wine, with tools/native_echo built, a native Linux epoll server
 * runs as one more row: the same generator, the same columns, no Wine on
 * the server's side.
 *
 * A count beyond what a model serves is reported (the "served" column,
 * the generator's timeouts and refusals), not fought.
 */
#include "compare.h"
#include "bench.h"

#define SETTLE_MS 500 /* after the load: the echoes in flight come back */
#define IDLE_MS 1000  /* then the silent interval whose CPU is measured */

static const char *all_steps[] = {
    "01_blocking",         "02_thread_per_client",   "03_nonblocking",
    "04_select",           "05_wsaasyncselect",      "06_wsaeventselect",
    "07_overlapped_event", "08_overlapped_callback", "09_iocp",
};
#define ALL_STEPS ((int)(sizeof all_steps / sizeof all_steps[0]))

/* The native Linux rows: tools/native_echo, edge- or level-triggered. */
#define NATIVE_ET "linux_epoll_et"
#define NATIVE_LT "linux_epoll_lt"

static struct results res;

static unsigned short free_port(void)
{
    struct sockaddr_in sa;
    int len = (int)sizeof sa;
    unsigned short p = 0;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(s, (struct sockaddr *)&sa, &len) == 0)
        p = ntohs(sa.sin_port);
    closesocket(s);
    return p;
}

/* ------------------------------------------------------------------------
 * One run of one point
 * --------------------------------------------------------------------- */

struct sampling {
    struct server *sv;
    struct srv_stats start;
    double *v; /* the run's measures */
    int ok;
};

/* Called by the generator at the end of the measured interval, while every
 * connection is still open: first the server under full load, then, the
 * generator sending nothing more, the same server with silent clients. */
static void at_end(void *arg)
{
    struct sampling *s = arg;
    struct srv_stats end, i0, i1;
    if (server_stats(s->sv, &end) != 0)
        return;
    s->v[M_CPU_S] = (end.cpu_ms - s->start.cpu_ms) / 1000.0;
    if (end.wineserver_t_ms > 0 &&
        s->start.wineserver_t_ms > 0) /* its system calls: see compare_run.c */
        s->v[M_CPU_S] += (end.wineserver_cpu_ms - s->start.wineserver_cpu_ms) / 1000.0;
    s->v[M_THREADS] = end.threads;
    s->v[M_MEM] = end.ws_peak_kb / 1024.0;
    Sleep(SETTLE_MS);
    if (server_stats(s->sv, &i0) != 0)
        return;
    Sleep(IDLE_MS);
    if (server_stats(s->sv, &i1) != 0 || i1.t_ms <= i0.t_ms)
        return;
    /* each on its own clock: the time between its two lines */
    s->v[M_IDLE] = (i1.cpu_ms - i0.cpu_ms) / (i1.t_ms - i0.t_ms) * 100.0;
    if (i1.wineserver_t_ms > i0.wineserver_t_ms && i0.wineserver_t_ms > 0)
        s->v[M_IDLE] += (i1.wineserver_cpu_ms - i0.wineserver_cpu_ms) /
                        (i1.wineserver_t_ms - i0.wineserver_t_ms) * 100.0;
    if (s->v[M_IDLE] < 0) /* CPU times tick in 10 ms steps under Wine: not below nothing */
        s->v[M_IDLE] = 0;
    s->ok = 1;
}

/* The generator's side of one run with the native generator: its result
 * line, "result: established=N refused=N ...", into the run's measures. */
static int parse_result(const char *line, double *v)
{
    double est, ref, srv, msgs, secs, p50, p90, p99, mx, share, mism, clo, tmo;
    if (sscanf_s(line,
                 "result: established=%lf refused=%lf served=%lf messages=%lf seconds=%lf "
                 "p50_ms=%lf p90_ms=%lf p99_ms=%lf max_ms=%lf slowest_share=%lf mismatch=%lf "
                 "closed=%lf timeout=%lf",
                 &est, &ref, &srv, &msgs, &secs, &p50, &p90, &p99, &mx, &share, &mism, &clo,
                 &tmo) != 13)
        return -1;
    v[M_ESTABLISHED] = est;
    v[M_REFUSED] = ref;
    v[M_SERVED] = srv;
    v[M_MESSAGES] = msgs;
    v[M_SECONDS] = secs;
    v[M_MSGS] = secs > 0 ? msgs / secs : 0;
    v[M_P50] = p50;
    v[M_P90] = p90;
    v[M_P99] = p99;
    v[M_MAX] = mx;
    v[M_SHARE] = share;
    v[M_ERR_MISMATCH] = mism;
    v[M_ERR_CLOSED] = clo;
    v[M_ERR_TIMEOUT] = tmo;
    return 0;
}

/* One run with the native Linux generator (tools/native_bench), under
 * Wine: the load without Wine on the generator's side (docs/comparison.md
 * has why). It holds the connections open and silent after its report,
 * while at_end watches the server, as bench_run's callback does. */
static int run_native_generator(struct sampling *s, const char *gen, const struct bench_config *c,
                                double *v, char *note, size_t note_size)
{
    char args[160], line[512];
    struct server *g;
    int hold = SETTLE_MS + IDLE_MS + 1500; /* at_end waits up to 3 stats lines more */
    snprintf(args, sizeof args, "-p %u -c %d -b %d -d %d -H %d", (unsigned)c->port, c->connections,
             c->bytes, c->seconds, hold);
    g = server_start(gen, args, 0, note, note_size);
    if (g == NULL)
        return -1;
    int rc = -1;
    if (server_result(g, line, sizeof line, (DWORD)c->seconds * 1000 + 15000) != 0)
        snprintf(note, note_size, "no result from the native generator");
    else if (parse_result(line, v) != 0)
        snprintf(note, note_size, "cannot read: %.80s", line);
    else
        rc = 0;
    if (rc == 0) {
        at_end(s);
        if (!s->ok) {
            snprintf(note, note_size, "no stats line from the server");
            rc = -1;
        }
    }
    server_stop(g);
    if (rc == 0) {
        v[M_MBPS] = v[M_MSGS] * c->bytes / 1e6;
        v[M_CPU100K] = v[M_MESSAGES] > 0 ? v[M_CPU_S] / v[M_MESSAGES] * 100000.0 : 0;
    }
    return rc;
}

static int run_point(const char *program, const char *extra, const struct bench_config *base,
                     int count, const char *native_gen, double *v, char *note, size_t note_size)
{
    struct bench_config c = *base;
    struct bench_result r;
    struct sampling s;
    char args[128];
    int rc = -1;

    c.port = free_port();
    c.connections = count;
    snprintf(args, sizeof args, "-q -p %u%s", (unsigned)c.port, extra);
    memset(&s, 0, sizeof s);
    s.v = v;
    s.sv = server_start(program, args, 1, note, note_size);
    if (s.sv == NULL)
        return -1;
    memset(&r, 0, sizeof r);
    if (server_stats(s.sv, &s.start) != 0) {
        snprintf(note, note_size, "no stats line from the server");
    } else if (native_gen != NULL) {
        rc = run_native_generator(&s, native_gen, &c, v, note, note_size);
        server_stop(s.sv);
        return rc;
    } else {
        c.at_end = at_end;
        c.at_end_arg = &s;
        if (bench_run(&c, &r) != 0)
            snprintf(note, note_size, "the generator could not run");
        else if (!s.ok)
            snprintf(note, note_size, "no stats line from the server");
        else
            rc = 0;
    }
    server_stop(s.sv);
    if (rc == 0) {
        v[M_ESTABLISHED] = r.established;
        v[M_SERVED] = r.served;
        v[M_REFUSED] = r.refused;
        v[M_MESSAGES] = (double)r.messages;
        v[M_SECONDS] = r.seconds;
        v[M_MSGS] = r.msgs_per_sec;
        v[M_MBPS] = r.mb_per_sec;
        v[M_P50] = r.lat_p50_ms;
        v[M_P90] = r.lat_p90_ms;
        v[M_P99] = r.lat_p99_ms;
        v[M_MAX] = r.lat_max_ms;
        v[M_CPU100K] = r.messages ? v[M_CPU_S] / (double)r.messages * 100000.0 : 0;
        v[M_SHARE] = r.slowest_share;
        v[M_ERR_MISMATCH] = r.err_mismatch;
        v[M_ERR_RESET] = r.err_reset;
        v[M_ERR_CLOSED] = r.err_closed;
        v[M_ERR_TIMEOUT] = r.err_timeout;
        v[M_ERR_OTHER] = r.err_other;
    }
    bench_result_free(&r);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of the runs (the mean of the middle two for an even count),
 * and their smallest and largest value. */
static void summarise(struct cell *cl)
{
    double col[CMP_MAX_REPEATS];
    if (cl->runs == 0)
        return;
    for (int m = 0; m < M_COUNT; m++) {
        for (int k = 0; k < cl->runs; k++)
            col[k] = cl->v[k][m];
        qsort(col, (size_t)cl->runs, sizeof col[0], cmp_double);
        cl->lo[m] = col[0];
        cl->hi[m] = col[cl->runs - 1];
        cl->med[m] = (col[(cl->runs - 1) / 2] + col[cl->runs / 2]) / 2.0;
    }
}

/* ------------------------------------------------------------------------
 * Command line
 * --------------------------------------------------------------------- */

/* What the option table fills; compare_main turns it into the run. */
static struct {
    const char *steps, *counts, *bin, *out;
    int bytes, seconds, repeats, threads;
    int same_prefix, no_native, wine_generator;
} opt_cmp;

static const struct opt compare_options[] = {
    {"--steps", OPT_STR, &opt_cmp.steps, 1, 200, "LIST",
     "comma-separated step names or numbers (default: all nine),\n"
     "                 and under Wine " NATIVE_ET " / " NATIVE_LT " (native Linux)"},
    {"--counts", OPT_STR, &opt_cmp.counts, 1, 200, "LIST",
     "comma-separated connection counts (default 1,16,64,256,1000)"},
    {"-b", OPT_INT, &opt_cmp.bytes, 1, 1048576, "BYTES", "message size (default 64)"},
    {"-d", OPT_INT, &opt_cmp.seconds, 1, 600, "SECONDS", "measured seconds per run (default 3)"},
    {"-r", OPT_INT, &opt_cmp.repeats, 1, CMP_MAX_REPEATS, "REPEATS",
     "runs per point, the median is reported (default 1)"},
    {"-T", OPT_INT, &opt_cmp.threads, 1, 64, "THREADS", "generator threads (default 4)"},
    {"--bin", OPT_STR, &opt_cmp.bin, 1, MAX_PATH - 1, "DIR",
     "where the servers are (default: next to client.exe)"},
    {"-o", OPT_STR, &opt_cmp.out, 1, MAX_PATH - 1, "DIR",
     "where comparison.md/.csv/.svg go (default: DIR of --bin, i.e. build/)"},
    {"--same-prefix", OPT_FLAG, &opt_cmp.same_prefix, 0, 0, NULL,
     "under Wine: run the servers in the generator's own Wine prefix\n"
     "                 (the old way; they then share one wineserver)"},
    {"--no-native", OPT_FLAG, &opt_cmp.no_native, 0, 0, NULL,
     "under Wine: no native Linux epoll row"},
    {"--wine-generator", OPT_FLAG, &opt_cmp.wine_generator, 0, 0, NULL,
     "under Wine: load from client.exe bench, not from\n"
     "                 build/native_bench (the default when it is there)"},
    OPT_END,
};

static const struct opt_spec compare_spec = {
    "compare",
    "usage: client.exe compare [--steps LIST] [--counts LIST] [-b BYTES] [-d SECONDS]\n"
    "                          [-r REPEATS] [-T THREADS] [--bin DIR] [-o DIR]\n"
    "                          [--same-prefix] [--no-native] [--wine-generator]\n"
    "  Runs every echo step under the same load, one fresh server per measurement,\n"
    "  and prints connections served, msgs/s, p99 latency, server CPU per 100k\n"
    "  messages, server CPU while the clients are silent, fairness (the slowest\n"
    "  connection's share of the mean), threads and memory.\n",
    compare_options,
    NULL,
};

static int add_target(const char *name, int native)
{
    if (res.ntargets == CMP_MAX_TARGETS)
        return -1;
    res.names[res.ntargets] = name;
    res.native[res.ntargets] = native;
    res.ntargets++;
    return 0;
}

static int parse_steps(const char *list)
{
    char buf[512];
    if (strlen(list) >= sizeof buf)
        return -1;
    memcpy(buf, list, strlen(list) + 1);
    res.ntargets = 0;
    for (char *tok = buf, *next; tok != NULL && *tok; tok = next) {
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        int found = -1;
        for (int i = 0; i < ALL_STEPS; i++)
            if (strcmp(tok, all_steps[i]) == 0 ||
                (strlen(tok) <= 2 && strtol(tok, NULL, 10) == i + 1 && *tok >= '0' && *tok <= '9'))
                found = i;
        int bad;
        if (strcmp(tok, NATIVE_ET) == 0 || strcmp(tok, NATIVE_LT) == 0)
            bad = add_target(strcmp(tok, NATIVE_ET) == 0 ? NATIVE_ET : NATIVE_LT, 1);
        else
            bad = found < 0 || add_target(all_steps[found], 0) != 0;
        if (bad) {
            fprintf(stderr, "compare: unknown step: %s\n", tok);
            return -1;
        }
    }
    return res.ntargets > 0 ? 0 : -1;
}

static int parse_counts(const char *list)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return -1;
    memcpy(buf, list, strlen(list) + 1);
    res.ncounts = 0;
    for (char *tok = buf, *next; tok != NULL && *tok; tok = next) {
        long v;
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        if (!net_parse_num(tok, 1, 100000, &v) || res.ncounts == CMP_MAX_COUNTS) {
            fprintf(stderr, "compare: bad connection count: %s\n", tok);
            return -1;
        }
        if (res.ncounts > 0 && v <= res.counts[res.ncounts - 1]) {
            fprintf(stderr, "compare: counts must increase: %s\n", tok);
            return -1;
        }
        res.counts[res.ncounts++] = (int)v;
    }
    return res.ncounts > 0 ? 0 : -1;
}

/* fopen_s, not fopen: MSVC rejects fopen at /W4 /WX (C4996). */
static int write_file(const char *dir, const char *name,
                      void (*writer)(FILE *, const struct results *))
{
    char path[MAX_PATH];
    FILE *f = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fopen_s(&f, path, "wb") != 0 || f == NULL) {
        fprintf(stderr, "compare: cannot write %s\n", path);
        return -1;
    }
    writer(f, &res);
    fclose(f);
    return 0;
}

static void table_writer(FILE *f, const struct results *r)
{
    render_markdown(f, r);
}

/* ------------------------------------------------------------------------
 * The run
 * --------------------------------------------------------------------- */

int compare_main(int argc, char **argv)
{
    char bin[MAX_PATH], out[MAX_PATH] = "";
    struct bench_config base;
    int steps_given = 0, separate = 1, native = 1, wine_generator = 0;

    memset(&res, 0, sizeof res);
    memset(&base, 0, sizeof base);
    base.host = "127.0.0.1";
    base.bytes = 64;
    base.seconds = 3;
    base.pipeline = 1;
    base.threads = 4;
    base.timeout_ms = 5000; /* thread-per-client under Wine may take seconds to start them all */
    res.repeats = 1;
    /* default: the directory client.exe lives in */
    DWORD n = GetModuleFileNameA(NULL, bin, (DWORD)sizeof bin);
    if (n == 0 || n >= sizeof bin)
        memcpy(bin, ".", 2);
    else
        for (char *p = bin + n; p > bin; p--)
            if (p[-1] == '\\' || p[-1] == '/') {
                p[-1] = '\0';
                break;
            }
    parse_steps("1,2,3,4,5,6,7,8,9");
    parse_counts("1,16,64,256,1000");

    memset(&opt_cmp, 0, sizeof opt_cmp);
    opt_cmp.bytes = base.bytes;
    opt_cmp.seconds = base.seconds;
    opt_cmp.repeats = res.repeats;
    opt_cmp.threads = base.threads;
    int rc = opt_parse(&compare_spec, argc, argv); /* -1: go on */
    if (rc != -1)
        return rc;
    if (opt_cmp.steps != NULL && parse_steps(opt_cmp.steps) != 0)
        return opt_fail(&compare_spec, "--steps: bad step list");
    if (opt_cmp.counts != NULL && parse_counts(opt_cmp.counts) != 0)
        return opt_fail(&compare_spec, "--counts: bad connection counts");
    steps_given = opt_cmp.steps != NULL;
    separate = !opt_cmp.same_prefix;
    native = !opt_cmp.no_native;
    wine_generator = opt_cmp.wine_generator;
    base.bytes = opt_cmp.bytes;
    base.seconds = opt_cmp.seconds;
    base.threads = opt_cmp.threads;
    res.repeats = opt_cmp.repeats;
    if (opt_cmp.bin != NULL)
        memcpy(bin, opt_cmp.bin, strlen(opt_cmp.bin) + 1);
    if (opt_cmp.out != NULL)
        memcpy(out, opt_cmp.out, strlen(opt_cmp.out) + 1);
    if (out[0] == '\0')
        memcpy(out, bin, strlen(bin) + 1);
    CreateDirectoryA(out, NULL); /* fails harmlessly when it exists */

    snprintf(res.setup, sizeof res.setup, "%s", run_init(bin, separate));
    char native_exe[MAX_PATH];
    snprintf(native_exe, sizeof native_exe, "%s/native_echo", bin);
    int have_native = run_can_native() && GetFileAttributesA(native_exe) != INVALID_FILE_ATTRIBUTES;
    /* Under Wine, with the servers in their own prefix, the load comes
     * from a native Linux generator when there is one: a generator under
     * Wine costs several wineserver round trips per message itself, and in
     * ping-pong its delay is part of every round trip (docs/comparison.md
     * has the measurement). On Windows: bench, always. */
    char gen_exe[MAX_PATH];
    const char *native_gen = NULL;
    size_t used = strlen(res.setup);
    snprintf(gen_exe, sizeof gen_exe, "%s/native_bench", bin);
    if (run_can_native() && !wine_generator &&
        GetFileAttributesA(gen_exe) != INVALID_FILE_ATTRIBUTES) {
        native_gen = gen_exe;
        snprintf(res.setup + used, sizeof res.setup - used,
                 "; load: native Linux generator");
    } else {
        snprintf(res.setup + used, sizeof res.setup - used, "; load: client.exe bench");
    }
    if (!steps_given && native && have_native)
        add_target(NATIVE_ET, 1);
    for (int i = 0; i < res.ntargets; i++)
        if (res.native[i] && !have_native) {
            fprintf(stderr, "compare: %s needs Wine on Linux, a separate prefix and %s\n",
                    res.names[i], native_exe);
            run_end();
            return 2;
        }

    int total = res.ntargets * res.ncounts * res.repeats, done = 0;
    fprintf(stderr,
            "compare: %d servers x %d connection counts x %d runs, %d s each, %d-byte messages\n",
            res.ntargets, res.ncounts, res.repeats, base.seconds, base.bytes);
    fprintf(stderr, "compare: %s\n", res.setup);
    /* In rounds: every point once, then every point again. */
    for (int rep = 0; rep < res.repeats; rep++)
        for (int i = 0; i < res.ntargets; i++) {
            char exe[MAX_PATH];
            const char *extra = "";
            if (res.native[i]) {
                snprintf(exe, sizeof exe, "%s", native_exe);
                extra = strcmp(res.names[i], NATIVE_ET) == 0 ? " -e" : "";
            } else {
                snprintf(exe, sizeof exe, "%s/%s.exe", bin, res.names[i]);
            }
            for (int j = 0; j < res.ncounts; j++) {
                struct cell *cl = &res.cells[i][j];
                double *pv = cl->v[cl->runs];
                done++;
                fprintf(stderr, "compare: [%d/%d] %s, %d connections: ", done, total, res.names[i],
                        res.counts[j]);
                fflush(stderr);
                memset(pv, 0, sizeof cl->v[0]);
                if (run_point(exe, extra, &base, res.counts[j], native_gen, pv, cl->note,
                              sizeof cl->note) != 0) {
                    fprintf(stderr, "%s\n", cl->note);
                    continue;
                }
                cl->runs++;
                fprintf(stderr, "%.0f msgs/s, %.0f served, idle CPU %.1f%%\n", pv[M_MSGS],
                        pv[M_SERVED], pv[M_IDLE]);
            }
        }
    run_end();
    for (int i = 0; i < res.ntargets; i++)
        for (int j = 0; j < res.ncounts; j++)
            summarise(&res.cells[i][j]);

    char when[64];
    SYSTEMTIME st;
    GetLocalTime(&st);
    snprintf(when, sizeof when, "%04u-%02u-%02u %02u:%02u", st.wYear, st.wMonth, st.wDay, st.wHour,
             st.wMinute);
    snprintf(res.title, sizeof res.title, "Echo servers: %d-byte ping-pong, %d s per point%s (%s)",
             base.bytes, base.seconds, res.repeats > 1 ? ", median of runs" : "", when);
    printf("\n%s\n%s\n\n", res.title, res.setup);
    render_table(stdout, &res, 0);
    fflush(stdout);
    rc = 0;
    rc |= write_file(out, "comparison.md", table_writer);
    rc |= write_file(out, "comparison.csv", render_csv);
    rc |= write_file(out, "comparison.svg", render_svg);
    if (rc == 0)
        printf("\nwritten: %s/comparison.md, comparison.csv, comparison.svg\n", out);
    return rc == 0 ? 0 : 1;
}
