/*
 * compare_run.c - the servers `client.exe compare` measures: start one,
 * read what it reports about itself, stop it.
 *
 * Every server is started with -S 100 (tools/lab.h): it prints a stats line
 * (its CPU time, threads, working set) ten times a second, and compare reads
 * those lines rather than opening the process, for one reason: under Wine
 * the servers run best in a Wine prefix of their own, and no handle crosses
 * prefixes.
 *
 * Why a prefix of their own: under Wine every socket call of a process goes
 * through its prefix's wineserver, a single-threaded process. With the
 * generator and the server in one prefix, one wineserver serves both, and
 * the table measures it more than the server (docs/comparison.md has the
 * figures). So under Wine, when tools/compare-serve.sh is there, each server
 * is started through it: the script runs `wine SERVER.exe` with another
 * WINEPREFIX, its output going to a file that compare reads, and stops it
 * when compare creates a stop file. Wine runs a Unix program that
 * CreateProcess is given (it forks and execs it), but passes it neither our
 * pipes nor a process handle: hence the files. The same way runs a native
 * Linux server (tools/native_echo.c) for the row that shows this machine
 * without Wine. On Windows, and with --same-prefix, a server is a child
 * process with a pipe for its output, as before.
 */
#include "compare.h"
#include <process.h>

#define READY_TIMEOUT_MS 15000
#define WARM_TIMEOUT_MS 180000 /* creating a Wine prefix takes 10-60 s */
#define STATS_MS 250           /* the reporter costs under 1% of a core at this rate */

struct server {
    int separate;
    PROCESS_INFORMATION pi; /* direct mode */
    HANDLE out;             /* its output: a pipe (direct) or the log file */
    HANDLE reader;
    volatile LONG stop; /* for the reader of a log file, which never ends */
    char stop_path[MAX_PATH];
    char log_path[MAX_PATH];
    CRITICAL_SECTION lock;
    char text[4096]; /* what it printed first (the ready line) */
    size_t have;
    int ready, ended;
    long seq; /* stats lines seen */
    struct srv_stats last;
    double ws_t_ms, ws_cpu_ms; /* the latest "wineserver:" line */
    char result[512];          /* a generator's "result:" line */
};

static int separate_mode;
static char script_unix[MAX_PATH]; /* tools/compare-serve.sh, as Unix sees it */
static char run_dir[MAX_PATH];     /* where logs and stop files go (Windows path) */
static long run_serial;

/* Wine exports this from kernel32; Windows has no such function, so its
 * presence is how compare knows it runs under Wine. */
typedef char *(__cdecl *unix_name_fn)(const WCHAR *);

static int unix_path(const char *win, char *out, size_t size)
{
    WCHAR w[MAX_PATH];
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    unix_name_fn fn = NULL;
    if (k32 != NULL) /* through void (*)(void): the documented way to say "any function" */
        fn = (unix_name_fn)(void (*)(void))GetProcAddress(k32, "wine_get_unix_file_name");
    if (fn == NULL || MultiByteToWideChar(CP_ACP, 0, win, -1, w, MAX_PATH) == 0)
        return -1;
    char *u = fn(w);
    if (u == NULL)
        return -1;
    int ok = strlen(u) < size;
    if (ok)
        memcpy(out, u, strlen(u) + 1);
    HeapFree(GetProcessHeap(), 0, u);
    return ok ? 0 : -1;
}

static int file_exists(const char *path)
{
    return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
}

/* Runs the script with a command line and waits (up to `ms`) for its log
 * to say `want`. The script is a Unix program: Wine forks and execs it. */
static int script_run(const char *cmdline_tail, const char *log, const char *want, DWORD ms)
{
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char cmd[2048];
    char buf[512];
    snprintf(cmd, sizeof cmd, "\"%s\" %s", script_unix, cmdline_tail);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(&pi, 0, sizeof pi);
    DeleteFileA(log);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return -1;
    if (pi.hProcess != NULL) { /* Wine gives none for a Unix program; Windows would */
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    ULONGLONG deadline = GetTickCount64() + ms;
    while (GetTickCount64() < deadline) {
        FILE *f = NULL;
        if (fopen_s(&f, log, "rb") == 0 && f != NULL) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            if (strstr(buf, want) != NULL)
                return 0;
        }
        Sleep(100);
    }
    return -1;
}

const char *run_init(const char *bin, int separate)
{
    char script[MAX_PATH], log[MAX_PATH], ulog[MAX_PATH], tail[1024];
    snprintf(script, sizeof script, "%s/../tools/compare-serve.sh", bin);
    snprintf(run_dir, sizeof run_dir, "%s/compare-run", bin);
    separate_mode = 0;
    if (!separate || unix_path(script, script_unix, sizeof script_unix) != 0 ||
        !file_exists(script))
        return "servers started by compare itself (one Wine prefix, or Windows)";
    CreateDirectoryA(run_dir, NULL); /* fails harmlessly when it exists */
    snprintf(log, sizeof log, "%s/warm.log", run_dir);
    if (unix_path(log, ulog, sizeof ulog) != 0)
        return "servers started by compare itself (no Unix path for the logs)";
    fprintf(stderr,
            "compare: preparing the servers' own Wine prefix (the first time takes a minute)\n");
    snprintf(tail, sizeof tail, "warm \"%s\"", ulog);
    if (script_run(tail, log, "ready", WARM_TIMEOUT_MS) != 0)
        return "servers started by compare itself (tools/compare-serve.sh warm failed)";
    separate_mode = 1;
    return "servers in a Wine prefix of their own (tools/compare-serve.sh)";
}

int run_can_native(void)
{
    return separate_mode;
}

void run_end(void)
{
    char log[MAX_PATH], ulog[MAX_PATH], tail[1024];
    if (!separate_mode)
        return;
    snprintf(log, sizeof log, "%s/end.log", run_dir);
    if (unix_path(log, ulog, sizeof ulog) != 0)
        return;
    snprintf(tail, sizeof tail, "end \"%s\"", ulog);
    script_run(tail, log, "ended", 15000);
}

/* "stats: t_ms=N cpu_ms=N threads=N ws_kb=N ws_peak_kb=N" */
static int parse_stats(const char *line, struct srv_stats *st)
{
    double t, cpu, ws, peak;
    int th;
    if (sscanf_s(line, "stats: t_ms=%lf cpu_ms=%lf threads=%d ws_kb=%lf ws_peak_kb=%lf", &t, &cpu,
                 &th, &ws, &peak) != 5)
        return -1;
    st->t_ms = t;
    st->cpu_ms = cpu;
    st->threads = th;
    st->ws_kb = ws;
    st->ws_peak_kb = peak;
    st->wineserver_t_ms = st->wineserver_cpu_ms = 0;
    return 0;
}

/* Keeps reading the server's output, line by line: the first 4 KB are kept
 * (the ready line, or why it did not start), stats lines are parsed. It
 * must keep reading in any case: even with -q a server logs every
 * connection, and a pipe nobody reads fills up and blocks the server. */
static unsigned __stdcall reader_main(void *arg)
{
    struct server *sv = arg;
    char buf[4096], line[512];
    size_t ll = 0;
    DWORD got;
    for (;;) {
        if (!ReadFile(sv->out, buf, (DWORD)sizeof buf, &got, NULL))
            break; /* the pipe closed: the server is gone */
        if (got == 0) {
            if (!sv->separate || sv->stop)
                break;
            Sleep(20); /* the end of the log file, for now */
            continue;
        }
        EnterCriticalSection(&sv->lock);
        for (DWORD i = 0; i < got; i++) {
            if (sv->have + 1 < sizeof sv->text) {
                sv->text[sv->have++] = buf[i];
                sv->text[sv->have] = '\0';
            }
            if (buf[i] != '\n') {
                if (ll + 1 < sizeof line)
                    line[ll++] = buf[i];
                continue;
            }
            line[ll] = '\0';
            ll = 0;
            struct srv_stats st;
            double wt, wc;
            if (sscanf_s(line, "wineserver: t_ms=%lf cpu_ms=%lf", &wt, &wc) == 2) {
                sv->ws_t_ms = wt;
                sv->ws_cpu_ms = wc;
            } else if (strncmp(line, "stats:", 6) == 0 && parse_stats(line, &st) == 0) {
                sv->last = st;
                sv->seq++;
            } else if (strncmp(line, "result:", 7) == 0 && sv->result[0] == '\0') {
                snprintf(sv->result, sizeof sv->result, "%s", line);
            } else if (strstr(line, "listening on") != NULL) {
                sv->ready = 1;
            } else if (strstr(line, "compare-serve: stopped") != NULL) {
                sv->ended = 1;
            }
        }
        LeaveCriticalSection(&sv->lock);
    }
    EnterCriticalSection(&sv->lock);
    sv->ended = 1;
    LeaveCriticalSection(&sv->lock);
    return 0;
}

static int start_direct(struct server *sv, const char *program, const char *args, char *note,
                        size_t ns)
{
    SECURITY_ATTRIBUTES sa;
    STARTUPINFOA si;
    HANDLE wr;
    char cmd[1024];
    memset(&sa, 0, sizeof sa);
    sa.nLength = sizeof sa;
    sa.bInheritHandle = TRUE;
    if (!CreatePipe(&sv->out, &wr, &sa, 0)) {
        snprintf(note, ns, "CreatePipe failed (error %lu)", GetLastError());
        return -1;
    }
    SetHandleInformation(sv->out, HANDLE_FLAG_INHERIT, 0);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = wr;
    si.hStdError = wr;
    snprintf(cmd, sizeof cmd, "\"%s\" %s", program, args);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &sv->pi)) {
        snprintf(note, ns, "cannot start %s (error %lu)", program, GetLastError());
        CloseHandle(wr);
        CloseHandle(sv->out);
        return -1;
    }
    CloseHandle(wr); /* ours; the child has its own copy */
    return 0;
}

static int start_separate(struct server *sv, const char *program, const char *args, char *note,
                          size_t ns)
{
    char uprog[MAX_PATH], ulog[MAX_PATH], ustop[MAX_PATH], tail[2048];
    long n = ++run_serial;
    snprintf(sv->log_path, sizeof sv->log_path, "%s/server-%ld.log", run_dir, n);
    snprintf(sv->stop_path, sizeof sv->stop_path, "%s/server-%ld.stop", run_dir, n);
    DeleteFileA(sv->log_path);
    DeleteFileA(sv->stop_path);
    if (unix_path(program, uprog, sizeof uprog) != 0 ||
        unix_path(sv->log_path, ulog, sizeof ulog) != 0 ||
        unix_path(sv->stop_path, ustop, sizeof ustop) != 0) {
        snprintf(note, ns, "no Unix path for %s", program);
        return -1;
    }
    /* The script creates the log; open it once it is there. */
    snprintf(tail, sizeof tail, "run \"%s\" \"%s\" \"%s\" %s", ulog, ustop, uprog, args);
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "\"%s\" %s", script_unix, tail);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(&pi, 0, sizeof pi);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        snprintf(note, ns, "cannot run tools/compare-serve.sh (error %lu)", GetLastError());
        return -1;
    }
    if (pi.hProcess != NULL) {
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    ULONGLONG deadline = GetTickCount64() + READY_TIMEOUT_MS;
    while ((sv->out = CreateFileA(sv->log_path, GENERIC_READ,
                                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                                  OPEN_EXISTING, 0, NULL)) == INVALID_HANDLE_VALUE) {
        if (GetTickCount64() > deadline) {
            snprintf(note, ns, "no output from tools/compare-serve.sh");
            return -1;
        }
        Sleep(20);
    }
    return 0;
}

struct server *server_start(const char *program, const char *args, int is_server, char *note,
                            size_t note_size)
{
    char full[512];
    struct server *sv = calloc(1, sizeof *sv);
    if (sv == NULL) {
        snprintf(note, note_size, "out of memory");
        return NULL;
    }
    InitializeCriticalSection(&sv->lock);
    sv->separate = separate_mode;
    if (is_server)
        snprintf(full, sizeof full, "%s -S %d", args, STATS_MS);
    else
        snprintf(full, sizeof full, "%s", args);
    int rc = sv->separate ? start_separate(sv, program, full, note, note_size)
                          : start_direct(sv, program, full, note, note_size);
    if (rc != 0) {
        DeleteCriticalSection(&sv->lock);
        free(sv);
        return NULL;
    }
    sv->reader = (HANDLE)_beginthreadex(NULL, 0, reader_main, sv, 0, NULL);
    if (sv->reader == NULL) {
        snprintf(note, note_size, "cannot start a thread");
        server_stop(sv);
        return NULL;
    }
    if (!is_server)
        return sv; /* a generator: it starts at once */
    /* Ready when it said so and its first stats line came. */
    ULONGLONG deadline = GetTickCount64() + READY_TIMEOUT_MS;
    for (;;) {
        int ready, ended;
        long seq;
        EnterCriticalSection(&sv->lock);
        ready = sv->ready;
        ended = sv->ended;
        seq = sv->seq;
        LeaveCriticalSection(&sv->lock);
        if (ready && seq > 0)
            return sv;
        if (ended || GetTickCount64() > deadline)
            break;
        Sleep(20);
    }
    EnterCriticalSection(&sv->lock);
    snprintf(note, note_size, "not ready: %.80s", sv->have ? sv->text : "no output");
    LeaveCriticalSection(&sv->lock);
    for (char *p = note; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    server_stop(sv);
    return NULL;
}

int server_result(struct server *sv, char *buf, size_t size, DWORD timeout_ms)
{
    ULONGLONG deadline = GetTickCount64() + timeout_ms;
    for (;;) {
        int got, ended;
        EnterCriticalSection(&sv->lock);
        got = sv->result[0] != '\0';
        ended = sv->ended;
        if (got)
            snprintf(buf, size, "%s", sv->result);
        LeaveCriticalSection(&sv->lock);
        if (got)
            return 0;
        if (ended || GetTickCount64() > deadline)
            return -1;
        Sleep(10);
    }
}

int server_stats(struct server *sv, struct srv_stats *st)
{
    long seq0;
    EnterCriticalSection(&sv->lock);
    seq0 = sv->seq;
    LeaveCriticalSection(&sv->lock);
    ULONGLONG deadline = GetTickCount64() + 2000;
    while (GetTickCount64() < deadline) {
        int got = 0;
        EnterCriticalSection(&sv->lock);
        if (sv->seq != seq0) {
            *st = sv->last;
            st->wineserver_t_ms = sv->ws_t_ms;
            st->wineserver_cpu_ms = sv->ws_cpu_ms;
            got = 1;
        }
        LeaveCriticalSection(&sv->lock);
        if (got)
            return 0;
        Sleep(5);
    }
    return -1;
}

void server_stop(struct server *sv)
{
    if (sv->separate) {
        /* the script sees the stop file, ends the server, says "stopped" */
        HANDLE h = CreateFileA(sv->stop_path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, 0, NULL);
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
        ULONGLONG deadline = GetTickCount64() + 10000;
        while (GetTickCount64() < deadline) {
            int ended;
            EnterCriticalSection(&sv->lock);
            ended = sv->ended;
            LeaveCriticalSection(&sv->lock);
            if (ended || sv->reader == NULL)
                break;
            Sleep(20);
        }
        InterlockedExchange(&sv->stop, 1);
    } else {
        /* The measurements are taken; no summary is needed, so no Ctrl+C. */
        TerminateProcess(sv->pi.hProcess, 0);
        WaitForSingleObject(sv->pi.hProcess, 10000);
    }
    if (sv->reader != NULL) {
        /* the pipe reaches end of file once the server is gone */
        if (WaitForSingleObject(sv->reader, 5000) == WAIT_TIMEOUT)
            CancelSynchronousIo(sv->reader);
        WaitForSingleObject(sv->reader, 5000);
        CloseHandle(sv->reader);
    }
    if (!sv->separate) {
        CloseHandle(sv->pi.hProcess);
        CloseHandle(sv->pi.hThread);
    }
    CloseHandle(sv->out);
    if (sv->separate) {
        DeleteFileA(sv->log_path);
        DeleteFileA(sv->stop_path);
    }
    DeleteCriticalSection(&sv->lock);
    free(sv);
}
