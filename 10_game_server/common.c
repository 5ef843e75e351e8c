/*
 * common.c - the game server's infrastructure: command line, log and
 * error lines, the listening socket, Ctrl+C.
 *
 * The same code as the echo steps' lab.h (tools/lab.h), with three
 * changes: the functions are not static (this program has several .c
 * files), the command line is the game's (map, view range, players), and
 * the listener is always overlapped (AcceptEx needs it). Nothing here
 * knows about the completion port or the game.
 */
#include "game.h"
#include <stdarg.h>

struct game_options opt; /* the command line, parsed once by game_parse_args */

/* ------------------------------------------------------------------------
 * Logging and errors
 * --------------------------------------------------------------------- */

/* One event per line, flushed at once: on Windows stdout to a pipe is
 * fully buffered, and a test harness waiting for a line would wait
 * forever. Lines from several workers do not mix: the C runtime locks
 * the stream for each call, and the whole line is one call. */
void lab_log(const char *fmt, ...)
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
const char *lab_err_text(int err, char *text, size_t size)
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
 * it read right after the call: anything in between may overwrite it. */
void lab_error(const char *call, int err)
{
    char text[256];
    fprintf(stderr, "%s failed: WSA %d: %s\n", call, err, lab_err_text(err, text, sizeof text));
    fflush(stderr);
}

/* A start-up failure: one line, exit status 1 (the contract). */
void lab_fatal(const char *call, int err)
{
    lab_error(call, err);
    exit(1);
}

/* "a.b.c.d:port" of an IPv4 socket address. */
const char *lab_addr_str(const struct sockaddr_in *sa, char *buf, size_t size)
{
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip) == NULL)
        snprintf(ip, sizeof ip, "?");
    snprintf(buf, size, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
    return buf;
}

/* Is this error just "the peer went away"? Such a close is not an error
 * of the server: it is logged as a reset and costs only that connection.
 * A failed completion reports a Win32 code through GetLastError (64 for a
 * reset, 1236 for an aborted connection), a failed call a WSA code: both
 * families are here. */
int lab_is_peer_gone(int err)
{
    return err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENETRESET ||
           err == WSAESHUTDOWN || err == WSAETIMEDOUT || err == ERROR_NETNAME_DELETED ||
           err == ERROR_CONNECTION_ABORTED || err == ERROR_SEM_TIMEOUT;
}

/* ------------------------------------------------------------------------
 * Command line
 * --------------------------------------------------------------------- */

static void usage(FILE *f, const char *prog)
{
    fprintf(f, "usage: %s [-p PORT] [-a ADDR] [-t THREADS] [-m WIDTHxHEIGHT] [-v RANGE]\n", prog);
    fprintf(f, "       %*s [-u MAX_USERS] [-n NPCS] [-L SECONDS] [-I SECONDS] [-r MOVES]\n",
            (int)strlen(prog), "");
    fprintf(f, "       %*s [-q] [-h]\n", (int)strlen(prog), "");
    fprintf(f, "  -p PORT       TCP port, 1..65535 (default %d)\n", PORT_NUM);
    fprintf(f, "  -a ADDR       IPv4 address to listen on (default 0.0.0.0)\n");
    fprintf(
        f, "  -t THREADS    IOCP worker threads, 1..%d (default: 2 per processor, see README.md)\n",
        GAME_MAX_THREADS);
    fprintf(f, "  -m WxH        map size in tiles, each side 1..%d (default 2000x2000)\n",
            GAME_MAX_SIDE);
    fprintf(f, "  -v RANGE      view range: A sees B when |dx| <= RANGE and |dy| <= RANGE,\n");
    fprintf(f, "                0..%d (default 7, a 15x15 view)\n", GAME_MAX_SIDE);
    fprintf(f, "  -u MAX_USERS  players at the same time, 1..%d (default 10000)\n", GAME_MAX_USERS);
    fprintf(f, "  -n NPCS       non-player characters, 0..%d (default: one per %d tiles,\n",
            GAME_MAX_NPCS, GAME_TILES_PER_NPC);
    fprintf(f, "                200000 on 2000x2000, 3 on 8x8)\n");
    fprintf(f, "  -L SECONDS    login timeout: a connection not logged in by then, or leaving a\n");
    fprintf(f, "                packet incomplete that long, is closed; 0 = none (default %d)\n",
            LOGIN_TIMEOUT_DEFAULT);
    fprintf(f, "  -I SECONDS    idle timeout: a player that sends nothing that long is closed;\n");
    fprintf(f, "                0 = none (the default)\n");
    fprintf(f, "  -r MOVES      rate limit: moves per second per player, chats and teleports a\n");
    fprintf(f, "                fifth of it; the excess is dropped; 0 = none (default %d)\n",
            RATE_DEFAULT);
    fprintf(f, "  -q            quiet: no status lines, no line per connection (errors are still "
               "logged)\n");
    fprintf(f, "  -h            this help\n");
    fflush(f);
}

/* Whole string is a decimal number in [lo, hi]. */
static int parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* "WIDTHxHEIGHT", each side in [1, GAME_MAX_SIDE]. */
static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a, b;
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    a = strtol(s, &end, 10);
    if (*end != 'x' && *end != 'X')
        return 0;
    s = end + 1;
    if (*s < '0' || *s > '9')
        return 0;
    b = strtol(s, &end, 10);
    if (*end != '\0' || a < 1 || a > GAME_MAX_SIDE || b < 1 || b > GAME_MAX_SIDE)
        return 0;
    *w = (int)a;
    *h = (int)b;
    return 1;
}

static void bad_args(const char *prog, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s\n", prog, what, arg ? ": " : "", arg ? arg : "");
    usage(stderr, prog);
    exit(2);
}

/* Parses the contract's command line. Bad arguments: usage on stderr and
 * exit status 2; -h: usage on stdout and exit status 0. */
void game_parse_args(int argc, char **argv, struct game_options *o)
{
    const char *prog = argc > 0 ? argv[0] : MODEL;
    long v;
    for (const char *p = prog; *p; p++) /* the name, not the whole path */
        if (*p == '\\' || *p == '/')
            prog = p + 1;
    memset(o, 0, sizeof *o);
    memcpy(o->addr, "0.0.0.0", sizeof "0.0.0.0");
    o->port = PORT_NUM;
    o->width = 2000;
    o->height = 2000;
    o->range = 7;
    o->max_users = 10000;
    o->npcs = -1; /* not given: from the map, below */
    o->login_timeout = LOGIN_TIMEOUT_DEFAULT;
    o->idle_timeout = 0;
    o->rate = RATE_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "/?") == 0) {
            usage(stdout, prog);
            exit(0);
        } else if (strcmp(a, "-q") == 0) {
            o->quiet = 1;
            continue;
        } else if (strcmp(a, "-p") == 0) {
            if (!parse_num(val, 1, 65535, &v))
                bad_args(prog, "-p needs a port 1..65535", val);
            o->port = (unsigned short)v;
        } else if (strcmp(a, "-a") == 0) {
            struct in_addr probe;
            if (val == NULL || strlen(val) >= sizeof o->addr ||
                inet_pton(AF_INET, val, &probe) != 1)
                bad_args(prog, "-a needs a dotted IPv4 address", val);
            memcpy(o->addr, val, strlen(val) + 1);
        } else if (strcmp(a, "-t") == 0) {
            if (!parse_num(val, 1, GAME_MAX_THREADS, &v))
                bad_args(prog, "-t needs a thread count 1..256", val);
            o->threads = (int)v;
        } else if (strcmp(a, "-m") == 0) {
            if (!parse_size(val, &o->width, &o->height))
                bad_args(prog, "-m needs WIDTHxHEIGHT, each 1..32767", val);
        } else if (strcmp(a, "-v") == 0) {
            if (!parse_num(val, 0, GAME_MAX_SIDE, &v))
                bad_args(prog, "-v needs a view range 0..32767", val);
            o->range = (int)v;
        } else if (strcmp(a, "-u") == 0) {
            if (!parse_num(val, 1, GAME_MAX_USERS, &v))
                bad_args(prog, "-u needs a player count 1..100000", val);
            o->max_users = (int)v;
        } else if (strcmp(a, "-n") == 0) {
            if (!parse_num(val, 0, GAME_MAX_NPCS, &v))
                bad_args(prog, "-n needs an NPC count 0..1000000", val);
            o->npcs = (int)v;
        } else if (strcmp(a, "-L") == 0) {
            if (!parse_num(val, 0, 86400, &v))
                bad_args(prog, "-L needs a login timeout in seconds 0..86400", val);
            o->login_timeout = (int)v;
        } else if (strcmp(a, "-I") == 0) {
            if (!parse_num(val, 0, 86400, &v))
                bad_args(prog, "-I needs an idle timeout in seconds 0..86400", val);
            o->idle_timeout = (int)v;
        } else if (strcmp(a, "-r") == 0) {
            if (!parse_num(val, 0, 1000000, &v))
                bad_args(prog, "-r needs a move rate per second 0..1000000", val);
            o->rate = (int)v;
        } else {
            bad_args(prog, "unknown argument", a);
        }
        i++; /* the option's value */
    }
    if (o->npcs < 0) {
        long long n = (long long)o->width * o->height / GAME_TILES_PER_NPC;
        o->npcs = n > GAME_MAX_NPCS ? GAME_MAX_NPCS : (int)n;
    }
}

/* ------------------------------------------------------------------------
 * Start-up: Winsock and the listening socket
 * --------------------------------------------------------------------- */

void lab_startup(void)
{
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) /* WSAStartup returns its error; WSAGetLastError is not valid yet */
        lab_fatal("WSAStartup", err);
}

/* Creates, binds and listens, overlapped (AcceptEx is issued on it). Any
 * failure is a start-up failure: exit 1. */
SOCKET lab_listen(const struct game_options *o)
{
    struct sockaddr_in sa;
    SOCKET s;
    BOOL on = TRUE;

    s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
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
    /* SOMAXCONN lets Windows choose a large backlog: a stress test
     * connects thousands of clients as fast as it can. */
    if (listen(s, SOMAXCONN) == SOCKET_ERROR)
        lab_fatal("listen", WSAGetLastError());
    return s;
}

/* ------------------------------------------------------------------------
 * Stopping: Ctrl+C, Ctrl+Break, the console closing
 * --------------------------------------------------------------------- */

static volatile LONG stop_flag;
static HANDLE stop_event; /* manual-reset, set once a stop is asked */
static HANDLE done_event; /* set by lab_done, after the summary */

/* Runs on a thread the system creates for the purpose, while the server's
 * threads go on: it only raises the flag and the event main() waits on,
 * and lets main() close the sockets. */
static BOOL WINAPI ctrl_handler(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
        if (InterlockedExchange(&stop_flag, 1) == 0)
            SetEvent(stop_event);
        /* For CTRL_CLOSE_EVENT and the others Windows ends the process as
         * soon as this returns: give the server time to close its sockets
         * and print the summary. 10 s is below the 5 to 20 s Windows
         * grants a closing console before it kills the process anyway. */
        WaitForSingleObject(done_event, 10000);
        return TRUE;
    default:
        return FALSE;
    }
}

void lab_on_stop(void)
{
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (stop_event == NULL || done_event == NULL)
        lab_fatal("CreateEvent", (int)GetLastError());
    if (!SetConsoleCtrlHandler(ctrl_handler, TRUE))
        lab_fatal("SetConsoleCtrlHandler", (int)GetLastError());
}

int lab_stopping(void)
{
    return InterlockedCompareExchange(&stop_flag, 0, 0) != 0;
}

HANDLE lab_stop_event_handle(void)
{
    return stop_event;
}

/* After the summary line: lets a waiting Ctrl+C handler return. */
void lab_done(void)
{
    WSACleanup();
    if (done_event)
        SetEvent(done_event);
}
