/*
 * run_tests.c - the lab's test driver: command line, the table of steps,
 * running each case under a deadline, the result lines.
 *
 *   run_tests.exe [--only STEP] [--exe PATH] [--case LIST] [--quick] [--list] [-v] [-h]
 *   run_tests.exe --grade DIR --only STEP [--case LIST]   (grading a class: grade.c)
 *
 * By default every step whose executable is next to run_tests.exe
 * (build/) is tested: the echo steps 01..09, the game server 10, then the
 * pseudo-step `client` (build/client.exe: echo client, bench, compare;
 * its game and stress modes are cases of step 10); a missing one is one
 * SKIP line. With --only one step runs; --exe points that step's cases at
 * any executable (an instructor grading a student's server); --only kit
 * runs the kit checks alone (kit_checks.c). --quick and --grade: grade.c.
 * On Linux run
 * it under Wine with tools/wine-run.sh build/run_tests.exe (`make test`
 * does).
 *
 * Two helper modes, started by the driver itself as children:
 * `--ctrl-event c|break PID` (proc.c) and `--bad-server MODE ...`
 * (bad_server.c).
 *
 * To add a step or more cases: a case is a function taking a struct ctx
 * and returning PASS, FAIL or SKIP (with its reason in ctx.why); a step is
 * a row of `steps` below with its capacity, the list of cases it shares
 * with other steps and the list of its own.
 *
 * Build: `make run_tests` (or `nmake /f Makefile.nmake run_tests`); by hand,
 * from the repository root (SRCS: tests/run_tests.c tests/proc.c tests/net.c
 * tests/echo_cases.c tests/helpers.c tests/model_cases.c tests/client_cases.c
 * tests/game_cases.c tests/game_kit.c tests/game_play_cases.c
 * tests/game_load_cases.c tests/game_abuse_cases.c tests/chat_cases.c
 * tests/board_cases.c tests/bad_server.c tests/kit_checks.c tests/grade.c;
 * game_kit.h and board_cases.c include 10_game_server/protocol.h):
 *   x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -O2 -DWIN32_LEAN_AND_MEAN
 *       -D_WIN32_WINNT=0x0601 -o build/run_tests.exe SRCS -lws2_32 -lmswsock
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601
 *       /Fe:build/run_tests.exe SRCS ws2_32.lib mswsock.lib
 */
#include "tests.h"

/* ------------------------------------------------------------------------
 * The steps. capacity: clients served at the same time (contract, "Echo
 * servers"); closes_beyond: the one beyond is closed at once (04);
 * blocking_send: the model sends with blocking send() (see ctrl-c-stalled);
 * then the cases every such step runs, and the model's own.
 * --------------------------------------------------------------------- */

static const struct step steps[] = {
    {"01_blocking", CAP_ONE_AT_A_TIME, 0, 1, echo_cases, NULL},
    {"02_thread_per_client", 1000, 0, 1, echo_cases, NULL},
    {"03_nonblocking", 256, 0, 0, echo_cases, NULL},
    /* FD_SETSIZE - 1 of a default build; the capacity case reads the
     * server's "FD_SETSIZE is N" line */
    {"04_select", 63, 1, 0, echo_cases, NULL},
    {"05_wsaasyncselect", 1000, 0, 0, echo_cases, model_cases_05},
    {"06_wsaeventselect", 1000, 0, 0, echo_cases, model_cases_groups},
    {"07_overlapped_event", 1000, 0, 0, echo_cases, model_cases_07},
    {"08_overlapped_callback", 1000, 0, 0, echo_cases, model_cases_08},
    {"09_iocp", 1000, 0, 0, echo_cases, model_cases_09},
    /* the game server: its own protocol, its own cases */
    {"10_game_server", CAP_GAME_SERVER, 0, 0, game_cases, game_abuse_cases},
    /* the course's own programs beside step 08 (08_overlapped_callback/chat/) */
    {"08_chat", 100, 0, 0, chat_cases, NULL},
    {"08_board", CAP_GAME_SERVER, 0, 0, hw3_cases, board_cases},
    /* a grading profile: homework #3's cases only, for --only hw3 --exe
     * student.exe; its program is 08_board (see profiles below) */
    {"hw3", CAP_GAME_SERVER, 0, 0, hw3_cases, NULL},
    /* not a server: build/client.exe, against servers of the steps above */
    {"client", CAP_NOT_A_SERVER, 0, 0, client_cases, NULL},
};
#define N_STEPS (sizeof steps / sizeof steps[0])

/* Grading profiles: rows of `steps` that run a subset of another step's
 * cases against that step's program. They run only when asked for with
 * --only (a full run has the full step already). */
static const struct {
    const char *profile, *exe;
} profiles[] = {
    {"hw3", "08_board"},
};

/* The program a step's row runs by default (build/NAME.exe), or NULL
 * when the row is not a profile. */
static const char *profile_exe(const struct step *st)
{
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
        if (strcmp(st->name, profiles[i].profile) == 0)
            return profiles[i].exe;
    return NULL;
}

/* ------------------------------------------------------------------------
 * Results
 * --------------------------------------------------------------------- */

static int verbose;
static int quick_mode;                 /* --quick: see grade.c */
static const char *case_filter = NULL; /* --case LIST */
static int n_passed, n_failed, n_skipped;

static void vset(struct ctx *c, const char *fmt, va_list ap)
{
    vsnprintf(c->why, sizeof c->why, fmt, ap);
}

/* fail and skip differ only in what they return; each needs its own
 * va_list, since C cannot pass `...` on (deliberately alike). */
enum result fail(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(c, fmt, ap);
    va_end(ap);
    return RES_FAIL;
}

enum result skip(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(c, fmt, ap);
    va_end(ap);
    return RES_SKIP;
}

/* The name of the case being run, for info lines. */
static const char *current_case = "";

void info(const struct ctx *c, const char *fmt, ...)
{
    char buf[WHY_SIZE];
    va_list ap;
    if (!verbose)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("  %s %s: %s\n", c->step ? c->step->name : "", current_case, buf);
    fflush(stdout);
}

/* A result line: plain ASCII, one line, whatever a server wrote into the
 * reason. */
static void report(const char *step, const char *name, enum result r, const char *why)
{
    static const char *const word[] = {"PASS", "FAIL", "SKIP"};
    char clean[WHY_SIZE];
    size_t k = 0;
    for (size_t i = 0; why && why[i] && k + 1 < sizeof clean; i++) {
        unsigned char ch = (unsigned char)why[i];
        clean[k++] = (char)(ch == '\n' ? '|' : (ch < 32 || ch > 126) ? '?' : ch);
    }
    clean[k] = '\0';
    char line[WHY_SIZE + 256];
    snprintf(line, sizeof line, "%s %s%s%s%s%s", word[r], step, step[0] && name[0] ? " " : "",
             name, (r != RES_PASS && clean[0]) ? ": " : "", r != RES_PASS ? clean : "");
    if (grade_note(line, name, r))
        return; /* grading: the student's feedback file takes it */
    printf("%s\n", line);
    fflush(stdout);
    if (r == RES_PASS)
        n_passed++;
    else if (r == RES_FAIL)
        n_failed++;
    else
        n_skipped++;
}

static void summary(void)
{
    if (n_skipped > 0)
        printf("%d passed, %d failed, %d skipped\n", n_passed, n_failed, n_skipped);
    else
        printf("%d passed, %d failed\n", n_passed, n_failed);
    fflush(stdout);
}

/* ------------------------------------------------------------------------
 * Environment
 * --------------------------------------------------------------------- */

int under_wine(void)
{
    HMODULE nt = GetModuleHandleA("ntdll.dll");
    return nt != NULL && GetProcAddress(nt, "wine_get_version") != NULL;
}

static char self[MAX_PATH], self_dir[MAX_PATH];

const char *self_path(void)
{
    return self;
}

void exe_path(const char *name, char *buf, size_t bufsz)
{
    snprintf(buf, bufsz, "%s\\%s.exe", self_dir, name);
}

static int find_self(void)
{
    DWORD n = GetModuleFileNameA(NULL, self, (DWORD)sizeof self);
    char *slash;
    if (n == 0 || n >= sizeof self)
        return 0;
    memcpy(self_dir, self, (size_t)n + 1);
    slash = strrchr(self_dir, '\\');
    if (slash == NULL)
        slash = strrchr(self_dir, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    return 1;
}

/* (tests.h) The repository: the parent of the folder run_tests.exe is in. */
int repo_root(char *root, size_t size)
{
    char *slash;
    if (strlen(self_dir) >= size)
        return 0;
    memcpy(root, self_dir, strlen(self_dir) + 1);
    slash = strrchr(root, '\\');
    if (slash == NULL)
        slash = strrchr(root, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    return 1;
}

int file_exists(const char *path)
{
    DWORD a = GetFileAttributesA(path);
    return a != INVALID_FILE_ATTRIBUTES && !(a & FILE_ATTRIBUTE_DIRECTORY);
}

/* Ctrl+C on the driver: take the servers down with it. */
static BOOL WINAPI driver_ctrl(DWORD type)
{
    (void)type;
    proc_kill_all();
    return FALSE; /* and the default handler ends the driver */
}

/* ------------------------------------------------------------------------
 * Running cases
 * --------------------------------------------------------------------- */

struct case_run {
    struct ctx *c;
    const struct test_case *tc;
    enum result res;
};

static DWORD WINAPI case_main(LPVOID arg)
{
    struct case_run *r = (struct case_run *)arg;
    r->res = r->tc->run(r->c);
    return 0;
}

/* Runs one case on a thread of its own. Past its deadline the servers are
 * killed, which ends every socket wait of the case at once; a case that
 * still does not return ends the whole run (never a hung driver). */
static enum result run_case(struct ctx *c, const struct test_case *tc, int *killed)
{
    struct case_run r;
    HANDLE t;
    ULONGLONG t0 = now_ms();
    *killed = 0;
    c->why[0] = '\0';
    current_case = tc->name;
    r.c = c;
    r.tc = tc;
    r.res = RES_FAIL;
    t = CreateThread(NULL, 0, case_main, &r, 0, NULL);
    if (t == NULL)
        return fail(c, "CreateThread failed: error %lu", GetLastError());
    int deadline_s = quick_mode && tc->deadline_s > QUICK_DEADLINE_S ? QUICK_DEADLINE_S
                                                                      : tc->deadline_s;
    if (WaitForSingleObject(t, (DWORD)deadline_s * 1000) != WAIT_OBJECT_0) {
        *killed = 1;
        proc_kill_all();
        if (WaitForSingleObject(t, 3 * NET_TIMEOUT_MS) != WAIT_OBJECT_0) {
            report(c->step->name, tc->name, RES_FAIL,
                   "did not finish, even after its servers were killed; stopping the run");
            summary();
            ExitProcess(1); /* the job object takes any child still alive */
        }
        CloseHandle(t);
        return fail(c, "did not finish within %d s (servers killed)", deadline_s);
    }
    CloseHandle(t);
    if (verbose)
        printf("  %s %s: %.2f s\n", c->step->name, tc->name, (double)(now_ms() - t0) / 1000.0);
    return r.res;
}

static void describe_exit(struct proc *p, char *buf, size_t bufsz)
{
    char tail[WHY_SIZE / 2];
    proc_drain(p, 1000);
    proc_tail(p, ERR_STREAM, tail, sizeof tail);
    if (p->exit_code > 255)
        snprintf(buf, bufsz, "status 0x%08lx; stderr: %s", (unsigned long)p->exit_code,
                 tail[0] ? tail : "(empty)");
    else
        snprintf(buf, bufsz, "status %lu; stderr: %s", (unsigned long)p->exit_code,
                 tail[0] ? tail : "(empty)");
}

/* A step's cases in the order they run: the shared list, then its own. */
#define MAX_CASES 64

/* A row of a list several steps share may be for some of them only. */
static int case_applies(const struct step *st, const struct test_case *tc)
{
    if (tc->flags & CASE_ONE_AT_A_TIME)
        return st->capacity == CAP_ONE_AT_A_TIME;
    if (tc->flags & CASE_CONCURRENT)
        return st->capacity > CAP_ONE_AT_A_TIME;
    return 1;
}

static size_t step_cases(const struct step *st, const struct test_case **out, size_t max)
{
    size_t n = 0;
    for (const struct test_case *tc = st->cases; tc->name != NULL && n < max; tc++)
        if (case_applies(st, tc))
            out[n++] = tc;
    for (const struct test_case *tc = st->more; tc != NULL && tc->name != NULL && n < max; tc++)
        out[n++] = tc;
    return n;
}

static void run_step(const struct step *st, const char *exe)
{
    struct proc srv;
    int have_srv = 0;
    const char *prev = NULL;
    const struct test_case *cases[MAX_CASES];
    size_t n_cases;
    struct ctx c;
    char why[WHY_SIZE], ex[WHY_SIZE], start_failed[WHY_SIZE] = "";
    char probe_failed[WHY_SIZE] = ""; /* --quick: the echo cases are not run */

    memset(&c, 0, sizeof c);
    memset(&srv, 0, sizeof srv);
    c.step = st;
    c.exe = exe;
    c.verbose = verbose;
    n_cases = step_cases(st, cases, MAX_CASES);
    if (quick_mode)
        quick_probe(st, exe, probe_failed, sizeof probe_failed);
    for (size_t k = 0; k < n_cases; k++) {
        const struct test_case *tc = cases[k];
        enum result r;
        int killed;
        if (case_filter != NULL && !case_selected(case_filter, tc->name))
            continue;
        if (probe_failed[0] && !quick_basic_case(tc->name)) {
            report(st->name, tc->name, RES_FAIL, probe_failed);
            continue;
        }
        c.srv = NULL;
        if (tc->flags & CASE_SHARED) {
            if (have_srv && !proc_running(&srv)) {
                /* it died after the previous case had finished */
                describe_exit(&srv, ex, sizeof ex);
                snprintf(why, sizeof why, "exited after case %s: %s", prev ? prev : "?", ex);
                report(st->name, "server", RES_FAIL, why);
                proc_stop(&srv);
                have_srv = 0;
            }
            if (!have_srv && start_failed[0] == '\0') {
                have_srv = server_start(&srv, exe, 1, why, sizeof why);
                if (!have_srv) /* tried once: each try costs up to 15 s */
                    snprintf(start_failed, sizeof start_failed, "server did not start: %s", why);
                else if (verbose)
                    printf("  %s: server started on port %u\n", st->name, (unsigned)srv.port);
            }
            if (!have_srv) {
                report(st->name, tc->name, RES_FAIL, start_failed);
                prev = tc->name;
                continue;
            }
            c.srv = &srv;
        }
        r = run_case(&c, tc, &killed);
        if ((tc->flags & CASE_SHARED) && !killed && !proc_running(&srv)) {
            size_t n = strlen(c.why);
            describe_exit(&srv, ex, sizeof ex);
            if (r != RES_FAIL)
                snprintf(c.why, sizeof c.why, "the server exited: %s", ex);
            else
                snprintf(c.why + n, sizeof c.why - n, " (the server exited: %s)", ex);
            r = RES_FAIL;
            proc_stop(&srv);
            have_srv = 0;
        }
        if (killed && have_srv) {
            proc_stop(&srv); /* killed with the rest; the next case starts another */
            have_srv = 0;
        }
        report(st->name, tc->name, r, c.why);
        prev = tc->name;
    }
    if (have_srv)
        proc_stop(&srv); /* nothing is left running */
}

/* ------------------------------------------------------------------------
 * Files (the lab.h copies are checked by tools/check_tree.c: make check-lab)
 * --------------------------------------------------------------------- */

/* (tests.h) The compare case's result files, the kit checks' docs. */
char *read_whole(const char *path, size_t *len)
{
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    LARGE_INTEGER size;
    char *data = NULL;
    DWORD got = 0;
    if (h == INVALID_HANDLE_VALUE)
        return NULL;
    if (GetFileSizeEx(h, &size) && size.QuadPart < (64 << 20)) {
        data = (char *)malloc((size_t)size.QuadPart + 1);
        if (data != NULL && (!ReadFile(h, data, (DWORD)size.QuadPart, &got, NULL) ||
                             got != (DWORD)size.QuadPart)) {
            free(data);
            data = NULL;
        }
    }
    CloseHandle(h);
    if (data != NULL) {
        data[got] = '\0';
        *len = (size_t)got;
    }
    return data;
}

/* ------------------------------------------------------------------------
 * Command line
 * --------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: run_tests.exe [--only STEP] [--exe PATH] [--case LIST] [--quick]\n"
               "                     [--grade DIR] [--list] [-v] [-h]\n"
               "  --only STEP  run one step: 04_select, or just 04; `client` for client.exe;\n"
               "               `hw3` for homework #3 (the board, against 08_board.exe);\n"
               "               `kit` for the kit checks only (docs, handouts, grading)\n"
               "  --exe PATH   run that step's cases against PATH instead of build/STEP.exe\n"
               "               (grading a student's server); needs --only\n"
               "  --case LIST  run only these cases (comma-separated names, see --list)\n"
               "  --quick      a server that does not echo at all fails its echo cases at once\n"
               "               (not run), and no case runs over %d s\n"
               "  --grade DIR  grade every submission in DIR (a folder or a .exe each) with\n"
               "               --quick: DIR/grades.csv, DIR/NAME.feedback.txt; needs --only\n"
               "  --list       list the steps, their cases and which executables are present\n"
               "  -v           verbose: timings and details\n"
               "  -h           this help\n"
               "Prints one PASS/FAIL/SKIP line per case and \"N passed, N failed\" at the end;\n"
               "exit status 0 when nothing failed, 1 otherwise, 2 for a bad command line.\n",
            QUICK_DEADLINE_S);
    fflush(f);
}

static const struct step *find_step(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < N_STEPS; i++) {
        const char *s = steps[i].name;
        if (strcmp(s, name) == 0 || (len == 2 && memcmp(s, name, 2) == 0))
            return &steps[i];
    }
    return NULL;
}

static void exe_of(const struct step *st, char *buf, size_t bufsz)
{
    exe_path(profile_exe(st) != NULL ? profile_exe(st) : st->name, buf, bufsz);
}

static void list_steps(void)
{
    char exe[MAX_PATH * 2];
    const struct test_case *cases[MAX_CASES];
    for (size_t i = 0; i < N_STEPS; i++) {
        size_t col = 8, n = step_cases(&steps[i], cases, MAX_CASES);
        exe_of(&steps[i], exe, sizeof exe);
        if (steps[i].capacity == CAP_NOT_A_SERVER)
            printf("%s: %s (client.exe, against the servers of the steps)\n  cases:",
                   steps[i].name, file_exists(exe) ? "built" : "not built");
        else if (profile_exe(&steps[i]) != NULL)
            printf("%s: %s (a grading profile of %s: with --only, and --exe to grade)\n  cases:",
                   steps[i].name, file_exists(exe) ? "built" : "not built",
                   profile_exe(&steps[i]));
        else if (steps[i].capacity == CAP_GAME_SERVER)
            printf("%s: %s (the game server, protocol.h)\n  cases:", steps[i].name,
                   file_exists(exe) ? "built" : "not built");
        else if (steps[i].capacity == CAP_ONE_AT_A_TIME)
            printf("%s: %s (one client at a time)\n  cases:", steps[i].name,
                   file_exists(exe) ? "built" : "not built");
        else
            printf("%s: %s (%d clients at once%s)\n  cases:", steps[i].name,
                   file_exists(exe) ? "built" : "not built", steps[i].capacity,
                   steps[i].closes_beyond ? ", closes the next" : "");
        for (size_t k = 0; k < n; k++) {
            const struct test_case *tc = cases[k];
            size_t len = strlen(tc->name) + 1;
            if (col + len > 78) {
                printf("\n        ");
                col = 8;
            }
            printf(" %s", tc->name);
            col += len;
        }
        printf("\n");
    }
    printf("docs readme-pairs, handout NN_name (full runs in the repository;\n"
           "  handouts after make handouts)\n");
}

int main(int argc, char **argv)
{
    const char *only = NULL, *exe_arg = NULL, *grade_dir = NULL;
    int list = 0;
    char why[WHY_SIZE];

    /* run_tests.exe --ctrl-event c|break PID: the helper of proc.c */
    if (argc == 4 && strcmp(argv[1], "--ctrl-event") == 0)
        return ctrl_helper_main(argv[2], argv[3]);
    /* run_tests.exe --bad-server MODE -p PORT ...: bad_server.c */
    if (argc >= 2 && strcmp(argv[1], "--bad-server") == 0)
        return bad_server_main(argc, argv);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "/?") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "-v") == 0) {
            verbose = 1;
        } else if (strcmp(a, "--list") == 0) {
            list = 1;
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(a, "--exe") == 0 && i + 1 < argc) {
            exe_arg = argv[++i];
        } else if (strcmp(a, "--quick") == 0) {
            quick_mode = 1;
        } else if (strcmp(a, "--case") == 0 && i + 1 < argc) {
            case_filter = argv[++i];
        } else if (strcmp(a, "--grade") == 0 && i + 1 < argc) {
            grade_dir = argv[++i];
            quick_mode = 1;
        } else {
            fprintf(stderr, "run_tests: %s: %s\n",
                    (strcmp(a, "--only") == 0 || strcmp(a, "--exe") == 0 ||
                     strcmp(a, "--case") == 0 || strcmp(a, "--grade") == 0)
                        ? "missing value after"
                                                                           : "unknown argument",
                    a);
            usage(stderr);
            return 2;
        }
    }
    if (grade_dir != NULL && (only == NULL || exe_arg != NULL)) {
        fprintf(stderr, "run_tests: --grade needs --only STEP (which step's cases), not --exe\n");
        usage(stderr);
        return 2;
    }
    if (exe_arg != NULL && only == NULL) {
        fprintf(stderr, "run_tests: --exe needs --only STEP (which step's cases to run)\n");
        usage(stderr);
        return 2;
    }
    int kit_only = only != NULL && strcmp(only, "kit") == 0; /* --only kit: kit_checks.c */
    if (only != NULL && !kit_only && find_step(only) == NULL) {
        fprintf(stderr, "run_tests: no step %s; the steps are:", only);
        for (size_t i = 0; i < N_STEPS; i++)
            fprintf(stderr, " %s", steps[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    if (exe_arg != NULL && !file_exists(exe_arg)) {
        fprintf(stderr, "run_tests: --exe %s: no such file\n", exe_arg);
        return 2;
    }
    if (!find_self()) {
        fprintf(stderr, "run_tests: GetModuleFileName failed: error %lu\n", GetLastError());
        return 1;
    }
    if (list) {
        list_steps();
        return 0;
    }

    /* A crashing server must end as a FAIL line, not as a dialog box that
     * waits for a click: the error mode is inherited by the children. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    /* Children inherit "ignore Ctrl+C" from us: make sure it is off, or the
     * ctrl-c case could not reach them. */
    SetConsoleCtrlHandler(NULL, FALSE);
    SetConsoleCtrlHandler(driver_ctrl, TRUE);
    if (!net_init(why, sizeof why)) {
        fprintf(stderr, "run_tests: %s\n", why);
        return 1;
    }
    proc_init();

    if (grade_dir != NULL) { /* grading a class: grade.c */
        const struct test_case *cases[MAX_CASES];
        size_t n = step_cases(find_step(only), cases, MAX_CASES);
        int rc = grade_main(find_step(only), grade_dir, cases, n, run_step);
        WSACleanup();
        return rc;
    }
    for (size_t i = 0; i < N_STEPS; i++) {
        const struct step *st = &steps[i];
        char exe[MAX_PATH * 2];
        if (kit_only || (only != NULL && st != find_step(only)))
            continue;
        if (only == NULL && profile_exe(st) != NULL)
            continue; /* a grading profile: with --only */
        if (exe_arg != NULL)
            snprintf(exe, sizeof exe, "%s", exe_arg);
        else
            exe_of(st, exe, sizeof exe);
        if (!file_exists(exe)) {
            snprintf(why, sizeof why, "%s.exe not found next to run_tests.exe", st->name);
            report(st->name, "", RES_SKIP, why);
            continue;
        }
        run_step(st, exe);
    }
    if (exe_arg == NULL && (only == NULL || kit_only)) { /* the teaching kit (kit_checks.c) */
        check_readme_pairs(report, verbose);
        check_handouts(report, verbose);
    }
    summary();
    WSACleanup();
    return n_failed > 0 ? 1 : 0;
}
