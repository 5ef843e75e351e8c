/*
 * compare.c - client.exe compare: every echo step under the same load.
 *
 *   client.exe compare [--steps LIST] [--counts LIST] [-b BYTES] [-d SECONDS]
 *                      [-T THREADS] [--bin DIR] [-o DIR]
 *
 * For each step and each connection count it starts the step's server
 * (quiet, on a free port, a fresh process for every measurement so that
 * one run's leftovers cannot colour the next), waits for its ready line,
 * runs the load generator (bench.c) against it, samples the server
 * process's CPU time, working set and thread count at the end of the
 * measured interval, and stops it. Prints one aligned table and writes the
 * same results as Markdown, CSV and an SVG chart.
 *
 * A count beyond what a model serves is reported (the "served" column,
 * the generator's timeouts and refusals), not fought.
 */
#include "client.h"
#include "bench.h"
#include <math.h>
#include <process.h>
#include <psapi.h>
#include <tlhelp32.h>

#define MAX_STEPS 16
#define MAX_COUNTS 16
#define READY_TIMEOUT_MS 15000

static const char *all_steps[] = {
    "01_blocking", "02_thread_per_client", "03_nonblocking", "04_select", "05_wsaasyncselect",
    "06_wsaeventselect", "07_overlapped_event", "08_overlapped_callback", "09_iocp",
};
#define ALL_STEPS ((int)(sizeof all_steps / sizeof all_steps[0]))

struct cell {
    int ran;          /* 0: the server did not start (see note) */
    struct bench_result r;
    double cpu_s;     /* server CPU time (user + kernel) during the run */
    double mem_mb;    /* server working set at the end of the interval */
    int threads;      /* server threads at the end of the interval */
    char note[96];
};

static const char *steps[MAX_STEPS];
static int nsteps;
static int counts[MAX_COUNTS];
static int ncounts;
static struct cell cells[MAX_STEPS][MAX_COUNTS];

/* ------------------------------------------------------------------------
 * The server under test: a child process
 * --------------------------------------------------------------------- */

struct server {
    PROCESS_INFORMATION pi;
    HANDLE out;      /* read end of its stdout (and stderr) */
    HANDLE drain;    /* the thread that keeps reading it after the ready line */
    char text[4096]; /* what it printed before it was ready */
    ULONGLONG cpu0;  /* its CPU time when the run started (100 ns) */
};

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

static unsigned __stdcall drain_main(void *pipe)
{
    char buf[4096];
    DWORD got;
    while (ReadFile((HANDLE)pipe, buf, (DWORD)sizeof buf, &got, NULL) && got > 0)
        ;
    return 0; /* end of file: the server is gone */
}

/* Starts EXE -q -p PORT and waits for "listening on". Returns 0, or -1
 * with the reason in `note`. */
static int server_start(struct server *sv, const char *exe, unsigned short port, char *note, size_t note_size)
{
    SECURITY_ATTRIBUTES sa;
    STARTUPINFOA si;
    HANDLE wr;
    char cmd[1024];
    size_t have = 0;

    memset(sv, 0, sizeof *sv);
    memset(&sa, 0, sizeof sa);
    sa.nLength = sizeof sa;
    sa.bInheritHandle = TRUE;
    if (!CreatePipe(&sv->out, &wr, &sa, 0)) {
        snprintf(note, note_size, "CreatePipe failed (%lu)", GetLastError());
        return -1;
    }
    SetHandleInformation(sv->out, HANDLE_FLAG_INHERIT, 0);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = wr;
    snprintf(cmd, sizeof cmd, "\"%s\" -q -p %u", exe, (unsigned)port);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &sv->pi)) {
        snprintf(note, note_size, "cannot start %s (error %lu)", exe, GetLastError());
        CloseHandle(wr);
        CloseHandle(sv->out);
        return -1;
    }
    CloseHandle(wr); /* ours; the child has its own copy */

    /* Read until the ready line. PeekNamedPipe first, so that a server that
     * neither prints nor exits cannot block us past the time limit. */
    ULONGLONG deadline = GetTickCount64() + READY_TIMEOUT_MS;
    while (GetTickCount64() < deadline) {
        DWORD avail = 0, got = 0;
        if (!PeekNamedPipe(sv->out, NULL, 0, NULL, &avail, NULL))
            break; /* the server exited and the pipe closed */
        if (avail == 0) {
            Sleep(20); /* nothing printed yet: poll, within the deadline */
            continue;
        }
        if (have + 1 >= sizeof sv->text)
            break;
        if (!ReadFile(sv->out, sv->text + have, (DWORD)(sizeof sv->text - 1 - have), &got, NULL))
            break;
        have += got;
        sv->text[have] = '\0';
        if (strstr(sv->text, "listening on") != NULL) {
            /* Even with -q a server logs every connection: a pipe nobody
             * reads fills up after a few kilobytes, and the server then
             * blocks in printf with all its clients. Keep reading. */
            sv->drain = (HANDLE)_beginthreadex(NULL, 0, drain_main, sv->out, 0, NULL);
            if (sv->drain != NULL)
                return 0;
            snprintf(note, note_size, "cannot start a thread");
            break;
        }
    }
    snprintf(note, note_size, "not ready: %.80s", have ? sv->text : "no output");
    for (char *p = note; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    TerminateProcess(sv->pi.hProcess, 1);
    WaitForSingleObject(sv->pi.hProcess, 5000);
    CloseHandle(sv->pi.hProcess);
    CloseHandle(sv->pi.hThread);
    CloseHandle(sv->out);
    return -1;
}

static ULONGLONG cpu_time(HANDLE process)
{
    FILETIME c, e, k, u;
    ULARGE_INTEGER kk, uu;
    if (!GetProcessTimes(process, &c, &e, &k, &u))
        return 0;
    kk.LowPart = k.dwLowDateTime;
    kk.HighPart = k.dwHighDateTime;
    uu.LowPart = u.dwLowDateTime;
    uu.HighPart = u.dwHighDateTime;
    return kk.QuadPart + uu.QuadPart;
}

static int thread_count(DWORD pid)
{
    THREADENTRY32 te;
    int n = 0;
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    te.dwSize = sizeof te;
    if (Thread32First(snap, &te)) {
        do {
            if (te.th32OwnerProcessID == pid)
                n++;
        } while (Thread32Next(snap, &te));
    }
    CloseHandle(snap);
    return n;
}

/* Called by the generator at the end of the measured interval, while every
 * connection is still open: the moment the server is under full load. */
static void sample(void *arg)
{
    struct server *sv = ((void **)arg)[0];
    struct cell *cl = ((void **)arg)[1];
    PROCESS_MEMORY_COUNTERS pmc;
    cl->cpu_s = (double)(cpu_time(sv->pi.hProcess) - sv->cpu0) / 1e7;
    memset(&pmc, 0, sizeof pmc);
    pmc.cb = sizeof pmc;
    if (GetProcessMemoryInfo(sv->pi.hProcess, &pmc, sizeof pmc))
        cl->mem_mb = (double)pmc.WorkingSetSize / (1024.0 * 1024.0);
    cl->threads = thread_count(sv->pi.dwProcessId);
}

static void server_stop(struct server *sv)
{
    /* The measurements are taken; no summary is needed, so no Ctrl+C. */
    TerminateProcess(sv->pi.hProcess, 0);
    WaitForSingleObject(sv->pi.hProcess, 10000);
    /* the pipe reaches end of file once the server is gone */
    if (WaitForSingleObject(sv->drain, 5000) == WAIT_TIMEOUT)
        CancelSynchronousIo(sv->drain);
    WaitForSingleObject(sv->drain, 5000);
    CloseHandle(sv->drain);
    CloseHandle(sv->pi.hProcess);
    CloseHandle(sv->pi.hThread);
    CloseHandle(sv->out);
}

/* ------------------------------------------------------------------------
 * Output: console table, Markdown, CSV, SVG
 * --------------------------------------------------------------------- */

static void fmt_served(const struct cell *cl, int count, char *buf, size_t size)
{
    if (!cl->ran)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%d/%d", cl->r.served, count);
}

static void print_table(FILE *f, int markdown)
{
    const char *hdr[] = {"step", "conns", "served", "msgs/s", "p99 ms", "CPU s/100k", "threads", "mem MB"};
    if (markdown) {
        fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", hdr[0], hdr[1], hdr[2], hdr[3], hdr[4],
                hdr[5], hdr[6], hdr[7]);
        fprintf(f, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    } else {
        fprintf(f, "%-24s %6s %10s %9s %9s %11s %8s %8s\n", hdr[0], hdr[1], hdr[2], hdr[3], hdr[4], hdr[5],
                hdr[6], hdr[7]);
    }
    for (int i = 0; i < nsteps; i++) {
        for (int j = 0; j < ncounts; j++) {
            const struct cell *cl = &cells[i][j];
            char served[32], cpu[32];
            fmt_served(cl, counts[j], served, sizeof served);
            if (cl->r.messages > 0)
                snprintf(cpu, sizeof cpu, "%.2f", cl->cpu_s / (double)cl->r.messages * 100000.0);
            else
                snprintf(cpu, sizeof cpu, "-");
            if (!cl->ran) {
                if (markdown)
                    fprintf(f, "| %s | %d | - | - | - | - | - | - |\n", steps[i], counts[j]);
                else
                    fprintf(f, "%-24s %6d %10s  %s\n", steps[i], counts[j], "-", cl->note);
                continue;
            }
            if (markdown)
                fprintf(f, "| %s | %d | %s | %.0f | %.2f | %s | %d | %.1f |\n", steps[i], counts[j], served,
                        cl->r.msgs_per_sec, cl->r.lat_p99_ms, cpu, cl->threads, cl->mem_mb);
            else
                fprintf(f, "%-24s %6d %10s %9.0f %9.2f %11s %8d %8.1f\n", steps[i], counts[j], served,
                        cl->r.msgs_per_sec, cl->r.lat_p99_ms, cpu, cl->threads, cl->mem_mb);
        }
    }
}

static void write_csv(FILE *f)
{
    fprintf(f, "step,connections,established,served,refused,messages,seconds,msgs_per_sec,mb_per_sec,"
               "p50_ms,p90_ms,p99_ms,max_ms,server_cpu_s,cpu_s_per_100k,threads,mem_mb,"
               "err_mismatch,err_reset,err_closed,err_timeout,err_other,note\n");
    for (int i = 0; i < nsteps; i++)
        for (int j = 0; j < ncounts; j++) {
            const struct cell *cl = &cells[i][j];
            const struct bench_result *r = &cl->r;
            double per100k = r->messages ? cl->cpu_s / (double)r->messages * 100000.0 : 0;
            fprintf(f, "%s,%d,%d,%d,%d,%llu,%.3f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%d,%.2f,%ld,%ld,%ld,%ld,%ld,%s\n",
                    steps[i], counts[j], r->established, r->served, r->refused, r->messages, r->seconds,
                    r->msgs_per_sec, r->mb_per_sec, r->lat_p50_ms, r->lat_p90_ms, r->lat_p99_ms, r->lat_max_ms,
                    cl->cpu_s, per100k, cl->threads, cl->mem_mb, r->err_mismatch, r->err_reset, r->err_closed,
                    r->err_timeout, r->err_other, cl->ran ? "" : "not run");
        }
}

/* A line chart: messages per second against connections, one line per
 * step, both axes logarithmic (the counts span three decades, and so do
 * the rates between a blocking and a completion-port server). */
static void write_svg(FILE *f, const char *title)
{
    static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    const double W = 760, H = 440, L = 70, R = 200, T = 40, B = 50;
    double xmin = counts[0], xmax = counts[ncounts - 1], ymin = 1e30, ymax = 0;
    for (int i = 0; i < nsteps; i++)
        for (int j = 0; j < ncounts; j++) {
            double v = cells[i][j].r.msgs_per_sec;
            if (v > 0 && v < ymin)
                ymin = v;
            if (v > ymax)
                ymax = v;
        }
    if (ymax <= 0) {
        ymin = 1;
        ymax = 10;
    }
    double ylo = pow(10, floor(log10(ymin))), yhi = pow(10, ceil(log10(ymax)));
    if (yhi <= ylo)
        yhi = ylo * 10;
    if (xmax <= xmin)
        xmax = xmin * 10;
#define XPOS(v) (L + (log10(v) - log10(xmin)) / (log10(xmax) - log10(xmin)) * (W - L - R))
#define YPOS(v) (H - B - (log10(v) - log10(ylo)) / (log10(yhi) - log10(ylo)) * (H - T - B))
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n", (W - R + L) / 2,
            title);
    /* grid and labels */
    for (double y = ylo; y <= yhi * 1.001; y *= 10) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, YPOS(y),
                W - R, YPOS(y));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", L - 6, YPOS(y) + 4, y);
    }
    for (int j = 0; j < ncounts; j++) {
        double x = XPOS(counts[j]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, T, x, H - B);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", x, H - B + 16, counts[j]);
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n", L, T,
            W - L - R, H - T - B);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">connections (log scale)</text>\n",
            (W - R + L) / 2, H - 12);
    fprintf(f, "<text transform=\"translate(16 %.0f) rotate(-90)\" text-anchor=\"middle\">messages per second "
               "(log scale)</text>\n", (H - B + T) / 2);
    for (int i = 0; i < nsteps; i++) {
        const char *col = colors[i % 10];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int j = 0; j < ncounts; j++)
            if (cells[i][j].r.msgs_per_sec > 0)
                fprintf(f, "%.1f,%.1f ", XPOS(counts[j]), YPOS(cells[i][j].r.msgs_per_sec));
        fprintf(f, "\"/>\n");
        for (int j = 0; j < ncounts; j++)
            if (cells[i][j].r.msgs_per_sec > 0)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", XPOS(counts[j]),
                        YPOS(cells[i][j].r.msgs_per_sec), col);
        double ly = T + 10 + i * 20;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                W - R + 15, ly, W - R + 40, ly, col);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\">%s</text>\n", W - R + 46, ly + 4, steps[i]);
    }
    fprintf(f, "</svg>\n");
#undef XPOS
#undef YPOS
}

/* fopen_s, not fopen: MSVC rejects fopen at /W4 /WX (C4996). */
static int write_file(const char *dir, const char *name, void (*writer)(FILE *, const void *), const void *arg)
{
    char path[MAX_PATH];
    FILE *f = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fopen_s(&f, path, "wb") != 0 || f == NULL) {
        fprintf(stderr, "compare: cannot write %s\n", path);
        return -1;
    }
    writer(f, arg);
    fclose(f);
    return 0;
}

static void md_writer(FILE *f, const void *arg)
{
    fprintf(f, "# Comparison of the echo steps\n\n%s\n\n", (const char *)arg);
    print_table(f, 1);
    fprintf(f, "\n![messages per second against connections](comparison.svg)\n");
}

static void csv_writer(FILE *f, const void *arg)
{
    (void)arg;
    write_csv(f);
}

static void svg_writer(FILE *f, const void *arg)
{
    write_svg(f, (const char *)arg);
}

/* ------------------------------------------------------------------------
 * Command line and the run
 * --------------------------------------------------------------------- */

static void compare_usage(FILE *f)
{
    fprintf(f, "usage: client.exe compare [--steps LIST] [--counts LIST] [-b BYTES] [-d SECONDS]\n"
               "                          [-T THREADS] [--bin DIR] [-o DIR]\n"
               "  Runs every echo step under the same load, one fresh server per measurement,\n"
               "  and prints msgs/s, p99 latency, server CPU per 100k messages, threads, memory.\n"
               "  --steps LIST   comma-separated step names or numbers (default: all nine)\n"
               "  --counts LIST  comma-separated connection counts (default 1,16,64,256,1000)\n"
               "  -b BYTES       message size (default 64)\n"
               "  -d SECONDS     measured seconds per run (default 4)\n"
               "  -T THREADS     generator threads (default 4)\n"
               "  --bin DIR      where the servers are (default: next to client.exe)\n"
               "  -o DIR         where comparison.md/.csv/.svg go (default: DIR of --bin, i.e. build/)\n");
    fflush(f);
}

static int parse_steps(const char *list)
{
    char buf[512];
    if (strlen(list) >= sizeof buf)
        return -1;
    memcpy(buf, list, strlen(list) + 1);
    nsteps = 0;
    for (char *tok = buf, *next; tok != NULL && *tok; tok = next) {
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        int found = -1;
        for (int i = 0; i < ALL_STEPS; i++)
            if (strcmp(tok, all_steps[i]) == 0 ||
                (strlen(tok) <= 2 && strtol(tok, NULL, 10) == i + 1 && *tok >= '0' && *tok <= '9'))
                found = i;
        if (found < 0 || nsteps == MAX_STEPS) {
            fprintf(stderr, "compare: unknown step: %s\n", tok);
            return -1;
        }
        steps[nsteps++] = all_steps[found];
    }
    return nsteps > 0 ? 0 : -1;
}

static int parse_counts(const char *list)
{
    char buf[256];
    if (strlen(list) >= sizeof buf)
        return -1;
    memcpy(buf, list, strlen(list) + 1);
    ncounts = 0;
    for (char *tok = buf, *next; tok != NULL && *tok; tok = next) {
        long v;
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        if (!net_parse_num(tok, 1, 100000, &v) || ncounts == MAX_COUNTS) {
            fprintf(stderr, "compare: bad connection count: %s\n", tok);
            return -1;
        }
        if (ncounts > 0 && v <= counts[ncounts - 1]) {
            fprintf(stderr, "compare: counts must increase: %s\n", tok);
            return -1;
        }
        counts[ncounts++] = (int)v;
    }
    return ncounts > 0 ? 0 : -1;
}

int compare_main(int argc, char **argv)
{
    char bin[MAX_PATH], out[MAX_PATH] = "";
    struct bench_config base;
    long v;

    memset(&base, 0, sizeof base);
    base.host = "127.0.0.1";
    base.bytes = 64;
    base.seconds = 4;
    base.pipeline = 1;
    base.threads = 4;
    base.timeout_ms = 5000; /* thread-per-client under Wine may take seconds to start them all */
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

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        int bad = val == NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            compare_usage(stdout);
            return 0;
        } else if (bad) {
            bad = 1;
        } else if (strcmp(a, "--steps") == 0) {
            bad = parse_steps(val) != 0;
        } else if (strcmp(a, "--counts") == 0) {
            bad = parse_counts(val) != 0;
        } else if (strcmp(a, "-b") == 0 && net_parse_num(val, 1, 1048576, &v)) {
            base.bytes = (int)v;
        } else if (strcmp(a, "-d") == 0 && net_parse_num(val, 1, 600, &v)) {
            base.seconds = (int)v;
        } else if (strcmp(a, "-T") == 0 && net_parse_num(val, 1, 64, &v)) {
            base.threads = (int)v;
        } else if (strcmp(a, "--bin") == 0 && strlen(val) < sizeof bin) {
            memcpy(bin, val, strlen(val) + 1);
        } else if (strcmp(a, "-o") == 0 && strlen(val) < sizeof out) {
            memcpy(out, val, strlen(val) + 1);
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "compare: bad or unknown argument: %s\n", a);
            compare_usage(stderr);
            return 2;
        }
        i++;
    }
    if (out[0] == '\0')
        memcpy(out, bin, strlen(bin) + 1);
    CreateDirectoryA(out, NULL); /* fails harmlessly when it exists */

    int total = nsteps * ncounts, done = 0;
    fprintf(stderr, "compare: %d steps x %d connection counts, %d s each, %d-byte messages\n", nsteps, ncounts,
            base.seconds, base.bytes);
    for (int i = 0; i < nsteps; i++) {
        char exe[MAX_PATH];
        snprintf(exe, sizeof exe, "%s/%s.exe", bin, steps[i]);
        for (int j = 0; j < ncounts; j++) {
            struct cell *cl = &cells[i][j];
            struct server sv;
            struct bench_config c = base;
            void *pair[2];
            done++;
            fprintf(stderr, "compare: [%d/%d] %s, %d connections\n", done, total, steps[i], counts[j]);
            fflush(stderr);
            c.port = free_port();
            c.connections = counts[j];
            if (server_start(&sv, exe, c.port, cl->note, sizeof cl->note) != 0) {
                fprintf(stderr, "compare:   %s\n", cl->note);
                continue;
            }
            pair[0] = &sv;
            pair[1] = cl;
            c.at_end = sample;
            c.at_end_arg = pair;
            sv.cpu0 = cpu_time(sv.pi.hProcess);
            if (bench_run(&c, &cl->r) == 0)
                cl->ran = 1;
            server_stop(&sv);
        }
    }

    char title[256], when[64];
    SYSTEMTIME st;
    GetLocalTime(&st);
    snprintf(when, sizeof when, "%04u-%02u-%02u %02u:%02u", st.wYear, st.wMonth, st.wDay, st.wHour, st.wMinute);
    snprintf(title, sizeof title, "Echo steps: %d-byte ping-pong, %d s per point (%s)", base.bytes, base.seconds,
             when);
    printf("\n%s\n\n", title);
    print_table(stdout, 0);
    fflush(stdout);
    int rc = 0;
    rc |= write_file(out, "comparison.md", md_writer, title);
    rc |= write_file(out, "comparison.csv", csv_writer, NULL);
    rc |= write_file(out, "comparison.svg", svg_writer, title);
    if (rc == 0)
        printf("\nwritten: %s/comparison.md, comparison.csv, comparison.svg\n", out);
    return rc == 0 ? 0 : 1;
}
