/*
 * lab.h - the infrastructure every echo server of the lab shares.
 *
 * Argument parsing, error lines, the listening socket, logging, the
 * counters behind the exit summary and the Ctrl+C path. Nothing here knows
 * about an I/O model: the send/receive logic of each step is written in its
 * own server.c, on purpose.
 *
 * This file is copied byte-for-byte into every step folder so that a folder
 * builds on its own and can be handed out alone. The canonical copy is
 * tools/lab.h; `make sync-lab` copies it out, `make check-lab` (and the test
 * driver) fail when a copy differs. Edit tools/lab.h, never a copy.
 *
 * Everything is static: the header is included by exactly one .c file.
 * The functions are static and inline, so that a step which does not
 * call one of them builds without a warning (gcc -Wunused-function, MSVC
 * C4505 at /W4): a student may remove a call without breaking /WX.
 */
#ifndef LAB_H
#define LAB_H

/* The header's build lines pass these; set them here too, before the first
 * Windows header, so that a folder compiled with a bare command line (or a
 * toolchain whose default target is older) still sees inet_ntop and the
 * other Vista-and-later calls. 0x0601 is Windows 7. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601
#endif

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <psapi.h>
#include <tlhelp32.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MSVC's C compiler has always spelled it __inline; gcc and clang take
 * the C99 keyword. */
#ifdef _MSC_VER
#define LAB_INLINE __inline
#else
#define LAB_INLINE inline
#endif

#define LAB_DEFAULT_PORT 40100
#define LAB_BUF_SIZE 16384 /* per-connection echo buffer (bytes) */

/* Flags for lab_parse_args: which step-specific options a server takes. */
#define LAB_OPT_THREADS 1 /* -t N: worker threads (09) */

struct lab_options {
    char addr[INET_ADDRSTRLEN]; /* dotted IPv4 address to listen on */
    unsigned short port;
    int quiet;   /* -q: no line per message */
    int threads; /* -t N, 0 when not given (the step picks its default) */
};

/* ------------------------------------------------------------------------
 * Logging and errors
 * --------------------------------------------------------------------- */

/* One event per line. The line is formatted first and written with one
 * call: the C runtime locks the stream per call, so lines from several
 * threads never run into each other. Flushed at once: on Windows stdout
 * to a pipe is fully buffered, and a harness waiting for a line would
 * wait forever. */
static LAB_INLINE void lab_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)(sizeof line - 2); /* truncated: keep the newline */
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stdout);
    fflush(stdout);
}

/* The system's message for a Win32/WSA error number, on one line. */
static LAB_INLINE const char *lab_err_text(int err, char *text, size_t size)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, (DWORD)err, MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT),
                             text, (DWORD)size, NULL);
    if (n == 0) /* no English table installed: take the user's language */
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                           NULL, (DWORD)err, 0, text, (DWORD)size, NULL);
    if (n == 0)
        snprintf(text, size, "unknown error");
    /* the system text ends in "\r\n" (and may contain more of them) */
    for (char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    for (size_t len = strlen(text); len > 0 && text[len - 1] == ' '; len--)
        text[len - 1] = '\0';
    return text;
}

/* "CALL failed: WSA N: system text" on stderr. The caller passes the error
 * it read with WSAGetLastError() right after the call: anything in between
 * (even a printf) may overwrite it. */
static LAB_INLINE void lab_error(const char *call, int err)
{
    char text[256];
    fprintf(stderr, "%s failed: WSA %d: %s\n", call, err, lab_err_text(err, text, sizeof text));
    fflush(stderr);
}

/* A connection's failure is logged (stdout, like every connection event)
 * and closes that connection only. */
static LAB_INLINE void lab_conn_error(long id, const char *call, int err)
{
    char text[256];
    lab_log("conn %ld: %s failed: WSA %d: %s", id, call, err, lab_err_text(err, text, sizeof text));
}

/* A start-up failure: one line, exit status 1 (the contract). */
static LAB_INLINE void lab_fatal(const char *call, int err)
{
    lab_error(call, err);
    exit(1);
}

/* The same three for a Win32 call (CreateEvent, CreateThread, SetTimer...),
 * whose error comes from GetLastError(): "CALL failed: error N: text".
 * Both families share FormatMessage's table, but a number means something
 * else in each (GetLastError 8 is ERROR_NOT_ENOUGH_MEMORY, no Winsock code),
 * so the line says which family the number is from. */
static LAB_INLINE void lab_error_win32(const char *call, DWORD err)
{
    char text[256];
    fprintf(stderr, "%s failed: error %lu: %s\n", call, err,
            lab_err_text((int)err, text, sizeof text));
    fflush(stderr);
}

static LAB_INLINE void lab_conn_error_win32(long id, const char *call, DWORD err)
{
    char text[256];
    lab_log("conn %ld: %s failed: error %lu: %s", id, call, err,
            lab_err_text((int)err, text, sizeof text));
}

static LAB_INLINE void lab_fatal_win32(const char *call, DWORD err)
{
    lab_error_win32(call, err);
    exit(1);
}

/* "a.b.c.d:port" of an IPv4 socket address. */
static LAB_INLINE const char *lab_addr_str(const struct sockaddr_in *sa, char *buf, size_t size)
{
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip) == NULL)
        snprintf(ip, sizeof ip, "?");
    snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
    return buf;
}

/* Is this error just "the peer went away"? Such a close is not an error of
 * the server: it is logged as a reset and costs only that connection.
 * The echo steps pass WSA codes (07 to 09 translate a failed completion
 * with WSAGetOverlappedResult); the Win32 codes a completion port reports
 * for the same events (64 for a reset, 1236 for an aborted connection,
 * 121 for a timeout) are here too, for code that passes GetLastError(). */
static LAB_INLINE int lab_is_peer_gone(int err)
{
    return err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENETRESET ||
           err == WSAESHUTDOWN || err == WSAETIMEDOUT || err == ERROR_NETNAME_DELETED ||
           err == ERROR_CONNECTION_ABORTED || err == ERROR_SEM_TIMEOUT;
}

/* accept() failed because that one client went away while it waited in
 * the backlog: not a shortage, so no reason to pause accepting. Windows
 * reports it as WSAECONNRESET; Wine 8 as WSAENOTCONN. */
static LAB_INLINE int lab_accept_gone(int err)
{
    return err == WSAECONNRESET || err == WSAENOTCONN;
}

/* ------------------------------------------------------------------------
 * Self-report for client.exe compare: -S MS
 * --------------------------------------------------------------------- */

/* With -S MS a thread started at the ready line prints, every MS ms, one
 *   stats: t_ms=N cpu_ms=N threads=N ws_kb=N ws_peak_kb=N
 * line: this process's clock, CPU time (user + kernel), threads, working
 * set and its peak. `compare` reads these lines instead of opening the
 * process: on Linux it runs the servers in a Wine prefix of their own, so
 * that the generator does not share their wineserver, and a process in
 * another prefix cannot be opened. Not part of the contract; a student can
 * ignore it. The reporter leaves itself out: its own CPU time is
 * subtracted and it is not counted as a thread. Counting threads takes a
 * snapshot of the system's threads (about 3 ms of CPU under Wine), so it
 * is counted on every fifth line only. */
static DWORD lab_stats_ms;

static LAB_INLINE int lab_stats_threads(void)
{
    THREADENTRY32 te;
    int n = 0;
    DWORD pid = GetCurrentProcessId();
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

static LAB_INLINE ULONGLONG lab_stats_ft(const FILETIME *a, const FILETIME *b)
{
    ULARGE_INTEGER x, y;
    x.LowPart = a->dwLowDateTime;
    x.HighPart = a->dwHighDateTime;
    y.LowPart = b->dwLowDateTime;
    y.HighPart = b->dwHighDateTime;
    return x.QuadPart + y.QuadPart; /* 100 ns units */
}

static LAB_INLINE DWORD WINAPI lab_stats_main(void *arg)
{
    ULONGLONG shown = 0; /* never less than a previous line: the two times
                            it subtracts tick at different moments */
    int threads = 0;
    (void)arg;
    for (unsigned long line = 0; lab_stats_ms != 0; line++) { /* until the process ends */
        FILETIME c, e, k, u, tk, tu;
        ULONGLONG cpu = 0, mine = 0;
        PROCESS_MEMORY_COUNTERS pm;
        if (GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u))
            cpu = lab_stats_ft(&k, &u);
        if (GetThreadTimes(GetCurrentThread(), &c, &e, &tk, &tu))
            mine = lab_stats_ft(&tk, &tu);
        if (cpu > mine && cpu - mine > shown)
            shown = cpu - mine;
        if (line % 5 == 0)
            threads = lab_stats_threads() - 1;
        memset(&pm, 0, sizeof pm);
        pm.cb = sizeof pm;
        K32GetProcessMemoryInfo(GetCurrentProcess(), &pm, sizeof pm);
        /* printf and fflush, not lab_log: these lines are for a program,
         * and -q must not silence them */
        printf("stats: t_ms=%llu cpu_ms=%llu threads=%d ws_kb=%llu ws_peak_kb=%llu\n",
               (unsigned long long)GetTickCount64(), shown / 10000, threads,
               (unsigned long long)pm.WorkingSetSize / 1024,
               (unsigned long long)pm.PeakWorkingSetSize / 1024);
        fflush(stdout);
        Sleep(lab_stats_ms);
    }
    return 0;
}

static LAB_INLINE void lab_stats_start(void)
{
    HANDLE t;
    if (lab_stats_ms == 0)
        return;
    t = CreateThread(NULL, 0, lab_stats_main, NULL, 0, NULL);
    if (t == NULL)
        lab_fatal_win32("CreateThread", GetLastError());
    CloseHandle(t); /* it runs until the process ends */
}

/* ------------------------------------------------------------------------
 * Command line
 * --------------------------------------------------------------------- */

static LAB_INLINE void lab_usage(FILE *f, const char *prog, unsigned flags)
{
    fprintf(f, "usage: %s [-p PORT] [-a ADDR]%s [-q] [-h]\n", prog,
            (flags & LAB_OPT_THREADS) ? " [-t THREADS]" : "");
    fprintf(f, "  -p PORT     TCP port, 1..65535 (default %d)\n", LAB_DEFAULT_PORT);
    fprintf(f, "  -a ADDR     IPv4 address to listen on (default 0.0.0.0)\n");
    if (flags & LAB_OPT_THREADS)
        fprintf(f, "  -t THREADS  worker threads, 1..256 (default: see README.md)\n");
    fprintf(f, "  -q          quiet: no line per message\n");
    fprintf(f, "  -h          this help\n");
    fflush(f);
}

/* Whole string is a decimal number in [lo, hi]. */
static LAB_INLINE int lab_parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (s == NULL || *s == '\0')
        return 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static LAB_INLINE void lab_bad_args(const char *prog, unsigned flags, const char *what,
                                    const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", prog, what, arg ? ": " : "", arg ? arg : "");
    lab_usage(stderr, prog, flags);
    exit(2);
}

/* Parses the contract's command line. Bad arguments: usage on stderr and
 * exit status 2; -h: usage on stdout and exit status 0. */
static LAB_INLINE void lab_parse_args(int argc, char **argv, struct lab_options *o, unsigned flags)
{
    const char *prog = argc > 0 ? argv[0] : "server";
    long v;
    for (const char *p = prog; *p; p++) /* the name, not the whole path */
        if (*p == '\\' || *p == '/')
            prog = p + 1;
    memset(o, 0, sizeof *o);
    memcpy(o->addr, "0.0.0.0", sizeof "0.0.0.0");
    o->port = LAB_DEFAULT_PORT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "/?") == 0) {
            lab_usage(stdout, prog, flags);
            exit(0);
        } else if (strcmp(a, "-q") == 0) {
            o->quiet = 1;
        } else if (strcmp(a, "-p") == 0) {
            if (!lab_parse_num(val, 1, 65535, &v))
                lab_bad_args(prog, flags, "-p needs a port 1..65535", val);
            o->port = (unsigned short)v;
            i++;
        } else if (strcmp(a, "-a") == 0) {
            struct in_addr probe;
            if (val == NULL || strlen(val) >= sizeof o->addr ||
                inet_pton(AF_INET, val, &probe) != 1)
                lab_bad_args(prog, flags, "-a needs a dotted IPv4 address", val);
            memcpy(o->addr, val, strlen(val) + 1);
            i++;
        } else if (strcmp(a, "-S") == 0) { /* compare's self-report, see lab_stats_ms */
            if (!lab_parse_num(val, 10, 60000, &v))
                lab_bad_args(prog, flags, "-S needs milliseconds 10..60000", val);
            lab_stats_ms = (DWORD)v;
            i++;
        } else if (strcmp(a, "-t") == 0 && (flags & LAB_OPT_THREADS)) {
            if (!lab_parse_num(val, 1, 256, &v))
                lab_bad_args(prog, flags, "-t needs a thread count 1..256", val);
            o->threads = (int)v;
            i++;
        } else {
            lab_bad_args(prog, flags, "unknown argument", a);
        }
    }
}

/* ------------------------------------------------------------------------
 * Start-up: Winsock and the listening socket
 * --------------------------------------------------------------------- */

static LAB_INLINE void lab_startup(void)
{
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) /* WSAStartup returns its error; WSAGetLastError is not valid yet */
        lab_fatal("WSAStartup", err);
}

/* Creates, binds and listens. `wsa_flags` is passed to WSASocket:
 * WSA_FLAG_OVERLAPPED for the steps that do overlapped I/O on the listener
 * (AcceptEx), 0 otherwise. Any failure is a start-up failure: exit 1. */
static LAB_INLINE SOCKET lab_listen(const struct lab_options *o, DWORD wsa_flags)
{
    struct sockaddr_in sa;
    SOCKET s;
    BOOL on = TRUE;

    s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, wsa_flags);
    if (s == INVALID_SOCKET)
        lab_fatal("socket", WSAGetLastError());
    /* SO_EXCLUSIVEADDRUSE: on Windows SO_REUSEADDR would let another
     * program bind the same port and steal connections; a server asks for
     * the opposite. A port in use then fails bind with WSAEADDRINUSE. */
    if (setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on, sizeof on) ==
        SOCKET_ERROR)
        lab_fatal("setsockopt(SO_EXCLUSIVEADDRUSE)", WSAGetLastError());
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(o->port);
    if (inet_pton(AF_INET, o->addr, &sa.sin_addr) != 1)
        lab_fatal("inet_pton", WSAEINVAL);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) == SOCKET_ERROR)
        lab_fatal("bind", WSAGetLastError());
    /* SOMAXCONN lets Windows choose a large backlog: step 01 parks its
     * waiting clients there, and the capacity tests connect 1,000 at once. */
    if (listen(s, SOMAXCONN) == SOCKET_ERROR)
        lab_fatal("listen", WSAGetLastError());
    return s;
}

/* The ready line the contract promises (tests wait for it). */
static LAB_INLINE void lab_ready(const struct lab_options *o, const char *model)
{
    lab_log("%s: listening on %s:%u", model, o->addr, (unsigned)o->port);
    lab_stats_start();
}

/* ------------------------------------------------------------------------
 * Counters for the exit summary
 * --------------------------------------------------------------------- */

static volatile LONG lab_conn_ids;       /* connections accepted so far */
static volatile LONG64 lab_bytes_echoed; /* bytes sent back, all connections */

static LAB_INLINE LONG lab_next_conn_id(void)
{
    return InterlockedIncrement(&lab_conn_ids);
}

static LAB_INLINE void lab_count_echoed(size_t n)
{
    InterlockedExchangeAdd64(&lab_bytes_echoed, (LONG64)n);
}

/* ------------------------------------------------------------------------
 * Stopping: Ctrl+C, Ctrl+Break, the console closing
 * --------------------------------------------------------------------- */

static volatile LONG lab_stop_flag;
static HANDLE lab_stop_event; /* manual-reset, set once a stop is asked */
static HANDLE lab_done_event; /* set by lab_finish, after the summary */
static void (*lab_wake_fn)(void);

/* Runs on a thread the system creates for the purpose, while the server's
 * own threads go on: it only asks them to stop (flag, event, the step's
 * wake-up call) and lets them close their sockets themselves. */
static LAB_INLINE BOOL WINAPI lab_ctrl_handler(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        if (InterlockedExchange(&lab_stop_flag, 1) == 0) {
            SetEvent(lab_stop_event);
            if (lab_wake_fn)
                lab_wake_fn();
        }
        /* For CTRL_CLOSE_EVENT and the others Windows ends the process as
         * soon as this returns: give the server time to close its sockets
         * and print the summary. Windows itself waits at most 5 s for a
         * closing console (20 s at logoff or shutdown, which only services
         * see), per the HandlerRoutine documentation, then ends the
         * process anyway; so a wait longer than 5 s buys nothing there.
         * Ctrl+C and Ctrl+Break have no such limit and do not end the
         * process: main goes on after this returns. */
        WaitForSingleObject(lab_done_event, 5000);
        return TRUE;
    default:
        return FALSE;
    }
}

/* `wake` (may be NULL) runs on the handler thread once a stop is asked: it
 * interrupts whatever the step's threads are blocked in. Steps that wait
 * on lab_stop_event, or poll lab_stopping(), need none. */
static LAB_INLINE void lab_on_stop(void (*wake)(void))
{
    lab_wake_fn = wake;
    lab_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    lab_done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (lab_stop_event == NULL || lab_done_event == NULL)
        lab_fatal_win32("CreateEvent", GetLastError());
    if (!SetConsoleCtrlHandler(lab_ctrl_handler, TRUE))
        lab_fatal_win32("SetConsoleCtrlHandler", GetLastError());
}

static LAB_INLINE int lab_stopping(void)
{
    return InterlockedCompareExchange(&lab_stop_flag, 0, 0) != 0;
}

/* The one-line summary, then exit status 0. Call after every socket is
 * closed and every thread of the step has ended. */
static LAB_INLINE int lab_finish(void)
{
    lab_log("stopped: %ld connections served, %lld bytes echoed",
            (long)lab_conn_ids, (long long)lab_bytes_echoed);
    WSACleanup();
    if (lab_done_event)
        SetEvent(lab_done_event);
    return 0;
}

#endif /* LAB_H */
