/*
 * tests.h - the lab's test driver (build/run_tests.exe), shared declarations.
 *
 * The driver starts each step's server as a child process, talks to it over
 * real sockets on 127.0.0.1 and prints one line per case:
 *
 *     PASS 04_select echo
 *     FAIL 04_select half-close: got 10 of 20 bytes back
 *     SKIP 05_wsaasyncselect: build/05_wsaasyncselect.exe not found
 *
 * and at the end "N passed, N failed[, N skipped]". Exit status 0 when
 * nothing failed, 1 otherwise, 2 for a bad command line.
 *
 * Files:
 *   run_tests.c     command line, the table of steps, running cases with a
 *                   deadline, the result lines (the lab.h copies are checked
 *                   by tools/check_tree.c: make check-lab, make check)
 *   proc.c          child processes: start with captured output, wait for a
 *                   line, stop (Ctrl+C / Ctrl+Break through a helper, or
 *                   TerminateProcess), the emergency kill of everything
 *   net.c           socket helpers, every one with a timeout
 *   echo_cases.c    the cases for the echo servers 01..09 (one table)
 *   helpers.c       the helpers the case files share
 *   model_cases.c   the cases of one model each: 05's messages for closed
 *                   sockets, 06/07's groups of 63, 08's routines while
 *                   connections arrive, 09's worker pool under 1,000 clients
 *   client_cases.c  the pseudo-step `client`: build/client.exe as echo
 *                   client, bench and compare
 *   game_cases.c    the cases of step 10, the game server (their table; the
 *                   command line, status line, Ctrl+C), with
 *                   game_play_cases.c (what players see: moves, chat, views,
 *                   reassembly, bad packets), game_load_cases.c (a full
 *                   server, a slow reader, many players, NPCs, client.exe's
 *                   game and stress modes) and game_kit.c/.h (packets of
 *                   10_game_server/protocol.h, players, the fixture)
 *   chat_cases.c    08_chat, the n:1 chat server beside step 08
 *   board_cases.c   08_board, homework #3's 8x8 board: the hw3 cases (also
 *                   the grading profile `--only hw3`) and the reference's own
 *   bad_server.c    the helper mode `run_tests.exe --bad-server MODE ...`: a
 *                   deliberately wrong echo server, for bench to catch
 *
 * Nothing may hang: every socket call waits with a timeout, every case runs
 * on its own thread under a deadline, and when a deadline passes the driver
 * kills the servers (which unblocks every socket) and reports a FAIL.
 */
#ifndef TESTS_H
#define TESTS_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY_SIZE 512 /* room for the reason printed after "FAIL step case: " */

/* ------------------------------------------------------------------------
 * The registry: steps and their cases (run_tests.c, echo_cases.c)
 * --------------------------------------------------------------------- */

enum result { RES_PASS, RES_FAIL, RES_SKIP };

struct step;
struct proc;

/* What a case gets. `srv` is the step's shared server (started with -q)
 * for cases flagged CASE_SHARED; other cases start what they need. */
struct ctx {
    const struct step *step;
    const char *exe; /* the executable under test */
    struct proc *srv;
    int verbose;
    char why[WHY_SIZE]; /* the reason, for FAIL and SKIP */
};

#define CASE_SHARED 1 /* runs against the step's shared server */
/* Which servers a case applies to, by their capacity (struct step): */
#define CASE_ONE_AT_A_TIME 2 /* only a step that serves one client at a time (01) */
#define CASE_CONCURRENT 4    /* only a step that serves several at once (02..09) */

struct test_case {
    const char *name;
    unsigned flags;
    int deadline_s; /* the case is aborted (servers killed) after this */
    enum result (*run)(struct ctx *c);
};

/* Capacity, from the contract: how many clients a step serves at once. */
#define CAP_NOT_A_SERVER 0  /* the pseudo-step `client` (build/client.exe) */
#define CAP_ONE_AT_A_TIME 1 /* 01: the others wait in the listen backlog */
#define CAP_GAME_SERVER -1  /* 10: players, not echo clients (its cases say how many) */

struct step {
    const char *name; /* "04_select": also the exe name, build/NAME.exe */
    int capacity;     /* clients served at the same time (at least) */
    int closes_beyond; /* 1: a connection beyond `capacity` is closed at once (04) */
    int blocking_send; /* 1: the model sends with blocking send() calls (01, 02) */
    const struct test_case *cases; /* ended by name NULL */
    const struct test_case *more;  /* the model's own cases, run after `cases`, or NULL */
};

/* Case lists, each ended by an entry with name NULL. */
extern const struct test_case echo_cases[];        /* 01..09 (echo_cases.c) */
extern const struct test_case model_cases_05[];      /* model_cases.c */
extern const struct test_case model_cases_groups[];  /* 06 */
extern const struct test_case model_cases_07[];      /* 06's, and 07's own */
extern const struct test_case model_cases_08[];
extern const struct test_case model_cases_09[];
extern const struct test_case client_cases[]; /* the pseudo-step `client` (client_cases.c) */
extern const struct test_case game_cases[];   /* 10 (game_cases.c) */
extern const struct test_case game_abuse_cases[]; /* 10: misbehaving clients (game_abuse_cases.c) */
extern const struct test_case chat_cases[];   /* 08_chat (chat_cases.c) */
extern const struct test_case hw3_cases[];    /* homework #3, the board (board_cases.c) */
extern const struct test_case board_cases[];  /* 08_board's own, after hw3_cases */

/* Sets c->why and returns RES_FAIL (or RES_SKIP): `return fail(c, ...)`. */
enum result fail(struct ctx *c, const char *fmt, ...);
enum result skip(struct ctx *c, const char *fmt, ...);
/* An information line, printed with -v only (indented, never PASS/FAIL). */
void info(const struct ctx *c, const char *fmt, ...);

/* Running under Wine? (ntdll exports wine_get_version there.) */
int under_wine(void);
/* This program's own path (for the helper modes) and its directory. */
const char *self_path(void);
/* build/NAME.exe: the program NAME next to run_tests.exe. */
void exe_path(const char *name, char *buf, size_t bufsz);
int file_exists(const char *path);
/* The repository root (the parent of build/): 1, or 0 when unknown. */
int repo_root(char *root, size_t size);
/* A whole file, NUL-terminated (up to 64 MiB), malloc'd; NULL if unreadable. */
char *read_whole(const char *path, size_t *len);

/* ------------------------------------------------------------------------
 * Child processes (proc.c)
 * --------------------------------------------------------------------- */

enum stream { OUT_STREAM, ERR_STREAM };

struct capture {
    char *data; /* NUL-terminated; capped at CAPTURE_MAX, the rest counted */
    size_t len, cap;
    size_t dropped;
    int eof;
};
#define CAPTURE_MAX (4u << 20)

struct proc {
    PROCESS_INFORMATION pi;
    int started, reaped;
    DWORD exit_code; /* valid once reaped */
    HANDLE out_rd, err_rd, out_thread, err_thread;
    CRITICAL_SECTION lock;
    CONDITION_VARIABLE changed;
    struct capture out, err;
    unsigned short port; /* servers: the port it was told to use */
};

/* Starts `exe args` with stdout and stderr captured, in its own hidden
 * console (so that a console control event can reach it and nothing
 * else). 1 on success, 0 with `why` set. */
int proc_start(struct proc *p, const char *exe, const char *args, char *why, size_t whysz);
/* The same with `input` (at most PROC_INPUT_MAX bytes) on its stdin, which
 * then reaches end-of-file: the pipe is written and closed at once. */
#define PROC_INPUT_MAX 4096
int proc_start_input(struct proc *p, const char *exe, const char *args, const void *input,
                     size_t len, char *why, size_t whysz);
/* Waits up to `ms` for the process to exit; 1 if it has (exit_code set). */
int proc_wait(struct proc *p, DWORD ms);
int proc_running(struct proc *p);
/* TerminateProcess if still running, then release everything. Safe on a
 * proc that never started, and twice. */
void proc_stop(struct proc *p);
/* Waits for the output to reach end-of-file (the process exited and
 * nothing else holds the pipe), up to `ms`. */
void proc_drain(struct proc *p, DWORD ms);

/* Lines: match by prefix (`prefix` 1) or substring. Returns 1 and copies
 * the line (without CR/LF) to `line` when found. */
int proc_find_line(struct proc *p, enum stream st, const char *text, int prefix, char *line,
                   size_t linesz);
/* Waits up to `ms` for such a line. 1 found, 0 timeout, -1 the stream
 * ended (process exited) without it. */
int proc_wait_line(struct proc *p, enum stream st, const char *text, int prefix, DWORD ms,
                   char *line, size_t linesz);
/* Number of complete lines in a stream so far. */
size_t proc_line_count(struct proc *p, enum stream st);
/* Copy of a stream (the whole capture), NUL-terminated, malloc'd. */
char *proc_text(struct proc *p, enum stream st);
/* The last `max` characters of a stream on one line (for reasons). */
void proc_tail(struct proc *p, enum stream st, char *buf, size_t bufsz);

/* A server of the lab: picks a free port, starts `exe -p PORT -a 127.0.0.1
 * [-q]`, waits up to 15 s for the ready line; retries once with another
 * port when the start failed with "bind failed" (someone took the port
 * between our probe and the server's bind). 1 ready, 0 with `why` set. */
int server_start(struct proc *p, const char *exe, int quiet, char *why, size_t whysz);
/* The same with `pre` before the usual arguments: "-t 4 " for 09's worker
 * threads, "--bad-server close " for this program's helper mode. */
int server_start_args(struct proc *p, const char *exe, const char *pre, int quiet, char *why,
                      size_t whysz);

/* Console control events, through the helper mode of this program. */
enum ctrl_result { CTRL_SENT, CTRL_NOT_DELIVERABLE, CTRL_HELPER_FAILED };
enum ctrl_result proc_send_ctrl(struct proc *p, DWORD event, char *why, size_t whysz);
/* The helper itself: run_tests.exe --ctrl-event c|break PID. */
int ctrl_helper_main(const char *event, const char *pid);

/* Emergency: kill every child still running (deadline passed, Ctrl+C). */
void proc_kill_all(void);
void proc_init(void);

/* ------------------------------------------------------------------------
 * Sockets (net.c). All sockets are non-blocking; every wait has a timeout
 * that counts from the last progress (a slow but moving transfer is fine,
 * a stalled one fails).
 * --------------------------------------------------------------------- */

#define NET_TIMEOUT_MS 10000 /* default: a server that says nothing for 10 s is hung */

enum net_status { NET_OK, NET_TIMEOUT, NET_EOF, NET_RESET, NET_ERROR };

int net_init(char *why, size_t whysz);
/* A port that was free a moment ago (bind 127.0.0.1:0, read it, close). */
unsigned short net_free_port(void);
/* Connects to 127.0.0.1:port within `ms`; INVALID_SOCKET with `why` set. */
SOCKET net_connect(unsigned short port, DWORD ms, char *why, size_t whysz);
/* The same with SO_RCVBUF set to `rcvbuf` bytes before connecting. */
SOCKET net_connect_rcvbuf(unsigned short port, int rcvbuf, DWORD ms, char *why, size_t whysz);
/* Starts a connection without waiting (for batches); then net_connect_wait. */
SOCKET net_connect_start(unsigned short port, char *why, size_t whysz);
int net_connect_wait(SOCKET s, DWORD ms, char *why, size_t whysz);
enum net_status net_send_all(SOCKET s, const void *buf, size_t len, DWORD ms, size_t *sent,
                             int *err);
/* Receives exactly `len` bytes (fewer on failure: `*got`). */
enum net_status net_recv_exact(SOCKET s, void *buf, size_t len, DWORD ms, size_t *got, int *err);
/* Receives whatever comes within `ms` (0 bytes: NET_TIMEOUT). */
enum net_status net_recv_some(SOCKET s, void *buf, size_t len, DWORD ms, size_t *got, int *err);
void net_close(SOCKET s);
void net_abort(SOCKET s); /* SO_LINGER {1,0}: the peer sees a reset */
void net_nodelay(SOCKET s);
/* "timed out", "connection closed", "reset", "error WSA N" */
const char *net_status_text(enum net_status st, int err, char *buf, size_t bufsz);

/* Sends `len` bytes, reads them back, compares. 1 ok, 0 with `why` set
 * (for example "got 10 of 20 bytes back: timed out"). */
int net_echo(SOCKET s, const void *data, size_t len, DWORD ms, char *why, size_t whysz);
/* Connects within CONNECT_MS with TCP_NODELAY on: the socket, or
 * INVALID_SOCKET with `why` set to "LABEL: ...". The players of the game
 * cases connect through it. */
SOCKET net_connect_why(unsigned short port, const char *label, char *why, size_t whysz);
/* Sends all of `data` within NET_TIMEOUT_MS: 1, or 0 with `why` set to
 * "LABEL: send: timed out" and the like. The players of every case file
 * send through it. */
int net_send_why(SOCKET s, const char *label, const void *data, size_t len, char *why,
                 size_t whysz);

/* A deterministic byte stream (xorshift), to generate and verify data. */
struct prng {
    uint32_t x;
};
void prng_seed(struct prng *r, uint32_t seed);
uint32_t prng_next(struct prng *r);
void prng_fill(struct prng *r, unsigned char *buf, size_t len);

/* Milliseconds since some start, for measuring. */
ULONGLONG now_ms(void);

/* ------------------------------------------------------------------------
 * Helpers the case files share (helpers.c)
 * --------------------------------------------------------------------- */

#define CONNECT_MS 5000

/* Nothing more arrives within `ms`: 1, else 0 with `why` set. */
int expect_silence(SOCKET s, DWORD ms, char *why, size_t whysz);
/* Reads `len` bytes and checks them against the stream `r` generates. */
int recv_verify(SOCKET s, struct prng *r, size_t len, DWORD ms, char *why, size_t whysz);
/* Echoes the message printf(fmt, i) (at most 47 bytes) on `s`. */
int echo_msg(SOCKET s, const char *fmt, int i, char *why, size_t whysz);
/* Sends each of `n` sockets its message printf(fmt, i), then reads every
 * echo back: all connections are in flight at once. */
int round_trip_all(SOCKET *s, int n, const char *fmt, char *why, size_t whysz);
int contains_nocase(const char *hay, const char *needle);
/* Starts `exe PRE-p PORT -a 127.0.0.1 -q` on a port we hold: 1 when it
 * exits with status 1 and one "bind failed: WSA N..." line on stderr, 0
 * with `why` set. `pre`: "" or options ending in a space ("-n 0 "). */
int port_in_use_check(const char *exe, const char *pre, char *why, size_t whysz);

/* A thread that writes `len` bytes of a prng stream, in pieces of random
 * sizes, while the case's own thread reads (writer_start, writer_join). */
struct writer {
    SOCKET s;
    size_t len;     /* at most this many bytes */
    size_t min_len; /* writer_start_until: at least this many, then until `stop` */
    uint32_t seed;
    DWORD idle_ms;
    volatile LONG sent; /* progress (bytes, under 2 GiB), read by the case thread */
    volatile LONG stop; /* set by the case thread (writer_start_until) */
    volatile LONG done; /* set after the last piece: `sent` is final */
    enum net_status st;
    int err;
};
HANDLE writer_start(struct writer *w, SOCKET s, size_t len, uint32_t seed);
/* Writes at least `min_len` bytes, then until w->stop is set, at most `max_len`. */
HANDLE writer_start_until(struct writer *w, SOCKET s, size_t min_len, size_t max_len,
                          uint32_t seed);
int writer_join(HANDLE t, SOCKET s, int reader_failed, char *why, size_t whysz,
                const struct writer *w);

/* Adds "; one" to the reasons gathered in `why`. */
void append_reason(char *why, size_t whysz, const char *one);
/* `n` servers started with the bad command lines `args`: each exits, all
 * within 10 s, with status 2 and a usage on stderr (with `quiet_stdout`,
 * nothing on stdout). Stops them. 1, or 0 with every complaint in `why`. */
int bad_args_verdict(struct proc *p, const char *const *args, size_t n, int quiet_stdout,
                     char *why, size_t whysz);

/* After a console event: the server exits within `ms`, with status 0 and
 * its "stopped: ..." line (copied to `line`). 1, or 0 with `why` set;
 * `after` names the event in the reason ("Ctrl+C"). */
int stopped_cleanly(struct proc *srv, DWORD ms, const char *after, char *line, size_t linesz,
                    char *why, size_t whysz);
/* Ctrl+C sent to `srv`, which must then stop cleanly within 10 s
 * (stopped_cleanly; its summary line goes to the log). `with` says what
 * is connected, for the reason ("3 clients connected"). */
enum result ctrl_c_verdict(struct ctx *c, struct proc *srv, const char *with);

/* 04 prints "FD_SETSIZE is N" just after its ready line: a build with a
 * raised FD_SETSIZE (graded with --exe) serves N - 1 clients. Returns
 * that, or `dflt` when the line does not come within a second. */
int fd_setsize_capacity(struct proc *srv, int dflt);

/* The helper mode of bad_server.c: run_tests.exe --bad-server MODE -p PORT
 * [-a ADDR] [-q]. */
int bad_server_main(int argc, char **argv);

/* The teaching kit (kit_checks.c), in full runs: every README.md and its
 * README.ko.md (docs/X.md and docs/ko/X.md) have the same headings; every
 * build/handouts/NN_name.exe starts and fails what the reference passes. */
typedef void (*report_fn)(const char *step, const char *name, enum result r, const char *why);
void check_readme_pairs(report_fn report, int verbose);
void check_handouts(report_fn report, int verbose);

/* grade.c: grading a class (run_tests.exe --grade DIR --only STEP) and the
 * quick profile (--quick) it runs with; --case LIST picks cases. */
#define QUICK_PROBE_MS 5000  /* the probe's wait for one echo */
#define QUICK_DEADLINE_S 60  /* no case takes longer in the quick profile */
int quick_basic_case(const char *name);
int case_selected(const char *list, const char *name);
int quick_probe(const struct step *st, const char *exe, char *why, size_t whysz);
int grade_note(const char *line, const char *name, enum result r);
int grade_main(const struct step *st, const char *dir, const struct test_case *const *cases,
               size_t n_cases, void (*run)(const struct step *st, const char *exe));

#endif /* TESTS_H */
