/*
 * grade.c - grading a class, and the quick profile it runs with.
 *
 *   run_tests.exe --grade DIR --only STEP [--case LIST]
 *
 * DIR holds one submission per student: a folder NAME/ with the student's
 * build (NAME/server.exe, or the one .exe in it), or a file NAME.exe. A
 * folder with only server.c must be built first, with the compiler of the
 * platform: tools/grade.sh (mingw-w64, under Wine on Linux) or
 * tools/grade.cmd (cl) build every such folder with the step's lab.h, then
 * call this; a build that failed leaves NAME/build.log, whose text goes
 * into the CSV. Each submission runs the step's cases in the quick profile
 * (below), one after the other, and gets:
 *
 *   DIR/NAME.feedback.txt   the driver's lines for it, and "N passed, N failed"
 *   DIR/grades.csv          a row: student, passed, failed, skipped, one
 *                           column per case (PASS, FAIL, SKIP, or empty when
 *                           not run), build errors
 *
 * The quick profile (--quick, which check.sh and check.cmd also use): a
 * server that does not echo two lines in turn, on two clients at once
 * (one for 01), each within QUICK_PROBE_MS,
 * gets its echo cases reported as FAIL "not run" instead of each waiting
 * for its timeouts (a handout as handed out leaves its clients waiting:
 * three minutes a run without this); only the cases whose code is given
 * (bad-args, help, port-in-use) still run. And no case may take longer
 * than QUICK_DEADLINE_S, whatever its own deadline.
 */
#include "tests.h"

/* ------------------------------------------------------------------------
 * The quick profile
 * --------------------------------------------------------------------- */

/* The cases a server passes with the code lab.h gives: run even when the
 * probe failed. */
static const char *const basic_cases[] = {"bad-args", "help", "port-in-use"};

int quick_basic_case(const char *name)
{
    for (size_t i = 0; i < sizeof basic_cases / sizeof basic_cases[0]; i++)
        if (strcmp(name, basic_cases[i]) == 0)
            return 1;
    return 0;
}

/* Does `name` appear in the comma-separated `list`? */
int case_selected(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

/* Starts the server and echoes two lines in turn on one client (on two at
 * once for the steps that serve several). 1 when it echoes; else 0 with `why` set
 * to the reason every echo case is not run. */
int quick_probe(const struct step *st, const char *exe, char *why, size_t whysz)
{
    struct proc srv;
    char r[WHY_SIZE] = "";
    SOCKET a = INVALID_SOCKET, b = INVALID_SOCKET;
    int ok = 0;
    if (st->capacity == CAP_NOT_A_SERVER || st->capacity == CAP_GAME_SERVER)
        return 1; /* not an echo server: no probe */
    memset(&srv, 0, sizeof srv);
    if (!server_start(&srv, exe, 1, r, sizeof r)) {
        snprintf(why, whysz, "not run (--quick): the server did not start: %s", r);
        proc_stop(&srv);
        return 0;
    }
    a = net_connect(srv.port, CONNECT_MS, r, sizeof r);
    if (a != INVALID_SOCKET && st->capacity != CAP_ONE_AT_A_TIME)
        b = net_connect(srv.port, CONNECT_MS, r, sizeof r);
    if (a != INVALID_SOCKET && (st->capacity == CAP_ONE_AT_A_TIME || b != INVALID_SOCKET)) {
        /* two rounds each: a server that echoes once and then stops (no
         * next receive posted) must not get past the probe either */
        for (int round = 0; round < 2 && (round == 0 || ok); round++) {
            ok = net_echo(a, "probe\n", 6, QUICK_PROBE_MS, r, sizeof r);
            if (ok && b != INVALID_SOCKET)
                ok = net_echo(b, "probe two\n", 10, QUICK_PROBE_MS, r, sizeof r);
        }
    }
    if (a != INVALID_SOCKET)
        net_close(a);
    if (b != INVALID_SOCKET)
        net_close(b);
    proc_stop(&srv);
    if (!ok)
        snprintf(why, whysz, "not run (--quick): the server did not echo a line within %d s: %s",
                 QUICK_PROBE_MS / 1000, r);
    return ok;
}

/* ------------------------------------------------------------------------
 * Grading a folder of submissions
 * --------------------------------------------------------------------- */

#define MAX_STUDENTS 1000
#define MAX_GRADE_CASES 64

static struct {
    int active;
    FILE *feedback;
    const struct test_case *const *cases;
    size_t n_cases;
    char res[MAX_GRADE_CASES]; /* 'P', 'F', 'S', or 0: not run */
    int passed, failed, skipped;
} g;

/* (tests.h) Called by report(): while grading, the line goes to the
 * student's feedback file and its result to the CSV row. 1 when taken. */
int grade_note(const char *line, const char *name, enum result r)
{
    if (!g.active)
        return 0;
    if (g.feedback != NULL)
        fprintf(g.feedback, "%s\n", line);
    for (size_t i = 0; i < g.n_cases; i++)
        if (strcmp(g.cases[i]->name, name) == 0)
            g.res[i] = r == RES_PASS ? 'P' : r == RES_FAIL ? 'F' : 'S';
    if (r == RES_PASS)
        g.passed++;
    else if (r == RES_FAIL)
        g.failed++;
    else
        g.skipped++;
    return 1;
}

static int name_cmp(const void *a, const void *b)
{
    return _stricmp(*(const char *const *)a, *(const char *const *)b);
}

/* A CSV field: quoted, quotes doubled, line breaks made " | ", other
 * control and non-ASCII bytes left out. */
static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"')
            fputs("\"\"", f);
        else if (*s == '\n')
            fputs(" | ", f);
        else if ((unsigned char)*s >= 32 && (unsigned char)*s <= 126)
            fputc(*s, f); /* plain ASCII, as every line of the driver */
    }
    fputc('"', f);
}

/* The executable of a submission folder: server.exe, else the one .exe. */
static int find_exe(const char *folder, char *exe, size_t size)
{
    char pattern[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    int found = 0;
    snprintf(exe, size, "%s\\server.exe", folder);
    if (file_exists(exe))
        return 1;
    snprintf(pattern, sizeof pattern, "%s\\*.exe", folder);
    h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    do {
        if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) && !found) {
            snprintf(exe, size, "%s\\%s", folder, fd.cFileName);
            found = 1;
        }
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    return found;
}

int grade_main(const struct step *st, const char *dir, const struct test_case *const *cases,
               size_t n_cases, void (*run)(const struct step *st, const char *exe))
{
    char pattern[MAX_PATH * 2], path[MAX_PATH * 2];
    char **names = NULL;
    size_t n = 0;
    WIN32_FIND_DATAA fd;
    HANDLE h;
    FILE *csv = NULL;
    ULONGLONG t_all = now_ms();

    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "run_tests: --grade %s: cannot list the folder\n", dir);
        return 2;
    }
    names = (char **)calloc(MAX_STUDENTS, sizeof *names);
    do {
        const char *nm = fd.cFileName;
        size_t len = strlen(nm);
        int is_dir = (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
        if (names == NULL || n >= MAX_STUDENTS || nm[0] == '.')
            continue;
        if (!is_dir && !(len > 4 && _stricmp(nm + len - 4, ".exe") == 0))
            continue; /* grades.csv, the feedback files, anything else */
        names[n] = _strdup(nm);
        if (names[n] != NULL)
            n++;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
    if (names == NULL || n == 0) {
        fprintf(stderr, "run_tests: --grade %s: no submissions (a folder or a .exe each)\n", dir);
        free(names);
        return 2;
    }
    qsort(names, n, sizeof *names, name_cmp);

    snprintf(path, sizeof path, "%s\\grades.csv", dir);
    if (fopen_s(&csv, path, "w") != 0 || csv == NULL) {
        fprintf(stderr, "run_tests: cannot write %s\n", path);
        return 1;
    }
    fprintf(csv, "student,passed,failed,skipped");
    for (size_t k = 0; k < n_cases; k++)
        fprintf(csv, ",%s", cases[k]->name);
    fprintf(csv, ",build_errors\n");
    printf("grade: %s: %lu submission%s in %s\n", st->name, (unsigned long)n, n == 1 ? "" : "s",
           dir);
    fflush(stdout);

    for (size_t i = 0; i < n; i++) {
        char student[MAX_PATH], exe[MAX_PATH * 2], build_err[WHY_SIZE] = "";
        size_t len = strlen(names[i]);
        DWORD attr;
        ULONGLONG t0 = now_ms();
        snprintf(student, sizeof student, "%s", names[i]);
        snprintf(path, sizeof path, "%s\\%s", dir, names[i]);
        attr = GetFileAttributesA(path);
        if (attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY)) {
            if (!find_exe(path, exe, sizeof exe)) {
                char log[MAX_PATH * 2];
                size_t loglen = 0;
                char *text;
                snprintf(log, sizeof log, "%s\\build.log", path);
                text = read_whole(log, &loglen);
                snprintf(build_err, sizeof build_err, "%s",
                         text != NULL && text[0] ? text
                                                 : "no executable: build server.c first "
                                                   "(tools/grade.sh or tools/grade.cmd)");
                free(text);
                exe[0] = '\0';
            }
        } else {
            student[len - 4] = '\0'; /* NAME.exe */
            snprintf(exe, sizeof exe, "%s", path);
        }

        memset(&g, 0, sizeof g);
        g.cases = cases;
        g.n_cases = n_cases < MAX_GRADE_CASES ? n_cases : MAX_GRADE_CASES;
        snprintf(path, sizeof path, "%s\\%s.feedback.txt", dir, student);
        if (fopen_s(&g.feedback, path, "w") != 0)
            g.feedback = NULL;
        if (g.feedback != NULL)
            fprintf(g.feedback, "%s, %s\n", st->name, student);
        g.active = 1;
        if (exe[0] != '\0') {
            run(st, exe);
        } else {
            char line[WHY_SIZE + 64], one[WHY_SIZE];
            size_t k = 0;
            for (const char *p = build_err; *p && k + 1 < sizeof one; p++) {
                unsigned char ch = (unsigned char)*p;
                one[k++] = (char)(ch == '\n' ? '|' : (ch < 32 || ch > 126) ? ' ' : ch);
            }
            one[k] = '\0';
            snprintf(line, sizeof line, "FAIL %s build: %s", st->name, one);
            grade_note(line, "build", RES_FAIL);
        }
        g.active = 0;
        if (g.feedback != NULL) {
            if (g.skipped > 0)
                fprintf(g.feedback, "%d passed, %d failed, %d skipped\n", g.passed, g.failed,
                        g.skipped);
            else
                fprintf(g.feedback, "%d passed, %d failed\n", g.passed, g.failed);
            fclose(g.feedback);
            g.feedback = NULL;
        }
        csv_field(csv, student);
        fprintf(csv, ",%d,%d,%d", g.passed, g.failed, g.skipped);
        for (size_t k = 0; k < n_cases; k++)
            fprintf(csv, ",%s",
                    k >= g.n_cases || !g.res[k] ? ""
                    : g.res[k] == 'P'           ? "PASS"
                    : g.res[k] == 'F'           ? "FAIL"
                                                : "SKIP");
        fputc(',', csv);
        csv_field(csv, build_err);
        fputc('\n', csv);
        fflush(csv);
        printf("grade: %s: %d passed, %d failed, %d skipped%s (%.1f s)\n", student, g.passed,
               g.failed, g.skipped, build_err[0] ? ", not built" : "",
               (double)(now_ms() - t0) / 1000.0);
        fflush(stdout);
        free(names[i]);
    }
    fclose(csv);
    free(names);
    printf("grade: %lu submission%s in %.1f s; %s\\grades.csv and NAME.feedback.txt written\n",
           (unsigned long)n, n == 1 ? "" : "s", (double)(now_ms() - t_all) / 1000.0, dir);
    fflush(stdout);
    return 0;
}
