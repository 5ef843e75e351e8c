/*
 * kit_checks.c - checks of the teaching kit, run in full mode (no --exe)
 * when the repository is there, after the lab.h copies:
 *
 *   docs readme-pairs   the top README.md and every step's (and step
 *                       subfolder's) README.md have a README.ko.md, and
 *                       every docs/X.md, docs/assignments/X.md and
 *                       docs/instructor/X.md a twin under docs/ko/, with
 *                       the same headings: the same number, levels and order
 *   handout NN_name-guided, NN_name-open
 *                       build/handouts/NN_name/ (and open/NN_name/), built
 *                       by `make handouts`, copied alone to a temporary
 *                       folder: its check script (check.sh under Wine,
 *                       check.cmd on Windows) builds server.c and runs the
 *                       step's tests, which must fail, passing none but
 *                       bad-args, help and port-in-use
 *   handout NN_name+reference
 *                       the same folder with the reference server.c put in
 *                       passes (a subset: REFERENCE_SUBSET, or for
 *                       homework #3's 08_board BOARD_SUBSET; the open
 *                       folder with the reference is the same folder, so
 *                       once per step)
 *   grade three-submissions
 *                       run_tests --grade on the reference, the handout and
 *                       a broken variant writes the CSV and feedback files
 *                       with the right verdicts
 *   handout NN_name     build/handouts/NN_name.exe of a step without a
 *                       check script (10) starts, and fails what the
 *                       reference passes
 *
 * That the reference itself passes is the rest of the suite.
 */
#include "tests.h"

/* The levels of a Markdown file's headings ("1222"), outside code fences. */
static int heading_levels(const char *path, char *out, size_t size)
{
    size_t len = 0, k = 0;
    int fence = 0;
    char *text = read_whole(path, &len);
    if (text == NULL)
        return 0;
    for (char *line = text; line != NULL && *line;) {
        char *next = strchr(line, '\n');
        if (strncmp(line, "```", 3) == 0) {
            fence = !fence;
        } else if (!fence && line[0] == '#') {
            int level = 0;
            while (line[level] == '#')
                level++;
            if (line[level] == ' ' && k + 1 < size)
                out[k++] = (char)('0' + (level > 9 ? 9 : level));
        }
        line = next ? next + 1 : NULL;
    }
    out[k] = '\0';
    free(text);
    return 1;
}

/* Compares one English/Korean pair; appends a complaint to `bad`. */
static void compare_pair(const char *en, const char *ko, const char *label, char *bad, size_t badsz,
                         int *pairs)
{
    char a[256], b[256];
    size_t used = strlen(bad);
    if (!file_exists(en))
        return;
    if (!file_exists(ko)) {
        snprintf(bad + used, badsz - used, "%s%s has no Korean twin", used ? "; " : "", label);
        return;
    }
    (*pairs)++;
    if (!heading_levels(en, a, sizeof a) || !heading_levels(ko, b, sizeof b))
        snprintf(bad + used, badsz - used, "%s%s unreadable", used ? "; " : "", label);
    else if (strcmp(a, b) != 0)
        snprintf(bad + used, badsz - used, "%s%s headings differ (levels %s vs %s)",
                 used ? "; " : "", label, a, b);
}

/* The programs in a step's subfolders (08_overlapped_callback/chat, board):
 * their README pairs too. */
static void compare_subfolders(const char *root, const char *step, char *bad, size_t badsz,
                               int *pairs)
{
    char pattern[MAX_PATH * 2], en[MAX_PATH * 2], ko[MAX_PATH * 2], label[MAX_PATH];
    WIN32_FIND_DATAA fd;
    HANDLE f;
    snprintf(pattern, sizeof pattern, "%s\\%s\\*", root, step);
    f = FindFirstFileA(pattern, &fd);
    if (f == INVALID_HANDLE_VALUE)
        return;
    do {
        if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || fd.cFileName[0] == '.')
            continue;
        snprintf(en, sizeof en, "%s\\%s\\%s\\README.md", root, step, fd.cFileName);
        snprintf(ko, sizeof ko, "%s\\%s\\%s\\README.ko.md", root, step, fd.cFileName);
        snprintf(label, sizeof label, "%s/%s", step, fd.cFileName);
        compare_pair(en, ko, label, bad, badsz, pairs);
    } while (FindNextFileA(f, &fd));
    FindClose(f);
}

/* Every docs/SUB*.md against docs/ko/SUB*.md (SUB: "" or "name\\"). */
static void compare_docs(const char *root, const char *sub, char *bad, size_t badsz, int *pairs)
{
    char pattern[MAX_PATH * 2], en[MAX_PATH * 2], ko[MAX_PATH * 2], label[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE f;
    snprintf(pattern, sizeof pattern, "%s\\docs\\%s*.md", root, sub);
    f = FindFirstFileA(pattern, &fd);
    if (f == INVALID_HANDLE_VALUE)
        return;
    do {
        snprintf(en, sizeof en, "%s\\docs\\%s%s", root, sub, fd.cFileName);
        snprintf(ko, sizeof ko, "%s\\docs\\ko\\%s%s", root, sub, fd.cFileName);
        snprintf(label, sizeof label, "docs/%s%s", sub, fd.cFileName);
        for (char *p = label; *p; p++)
            if (*p == '\\')
                *p = '/';
        compare_pair(en, ko, label, bad, badsz, pairs);
    } while (FindNextFileA(f, &fd));
    FindClose(f);
}

void check_readme_pairs(report_fn report, int verbose)
{
    char root[MAX_PATH], pattern[MAX_PATH * 2], en[MAX_PATH * 2], ko[MAX_PATH * 2],
        bad[WHY_SIZE] = "";
    WIN32_FIND_DATAA fd;
    HANDLE f;
    int pairs = 0;
    if (!repo_root(root, sizeof root))
        return;
    snprintf(en, sizeof en, "%s\\docs\\README.md", root);
    if (!file_exists(en))
        return; /* a handed-out folder: no docs to compare */

    snprintf(pattern, sizeof pattern, "%s\\*", root);
    f = FindFirstFileA(pattern, &fd);
    if (f != INVALID_HANDLE_VALUE) {
        do {
            const char *n = fd.cFileName;
            int step = isdigit((unsigned char)n[0]) && isdigit((unsigned char)n[1]) && n[2] == '_';
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
                (!step && strcmp(n, "client") != 0))
                continue;
            snprintf(en, sizeof en, "%s\\%s\\README.md", root, n);
            snprintf(ko, sizeof ko, "%s\\%s\\README.ko.md", root, n);
            compare_pair(en, ko, n, bad, sizeof bad, &pairs);
            compare_subfolders(root, n, bad, sizeof bad, &pairs);
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
    /* the top README, then every page of the guide and of its folders of
     * pages (the assignment texts, the instructor's keys) */
    snprintf(en, sizeof en, "%s\\README.md", root);
    snprintf(ko, sizeof ko, "%s\\README.ko.md", root);
    compare_pair(en, ko, "README.md", bad, sizeof bad, &pairs);
    compare_docs(root, "", bad, sizeof bad, &pairs);
    compare_docs(root, "assignments\\", bad, sizeof bad, &pairs);
    compare_docs(root, "instructor\\", bad, sizeof bad, &pairs);
    report("docs", "readme-pairs", bad[0] ? RES_FAIL : RES_PASS, bad);
    if (verbose)
        printf("  docs readme-pairs: %d pairs compared\n", pairs);
}

/* What the reference of every step does and a handout must not: two
 * clients at once, each gets its echo (01 serves one at a time: one). For
 * 10, a login is answered. Returns 1 when the server under test does it. */
static int serves_like_reference(const char *step, struct proc *srv, char *why, size_t whysz)
{
    SOCKET a, b = INVALID_SOCKET;
    int ok;
    if (strncmp(step, "10", 2) == 0) {
        unsigned char login[22], info[26];
        size_t got = 0;
        int err = 0;
        memset(login, 0, sizeof login);
        login[0] = 22;
        login[1] = 0; /* CS_LOGIN */
        memcpy(login + 2, "grader", 6);
        a = net_connect(srv->port, CONNECT_MS, why, whysz);
        if (a == INVALID_SOCKET)
            return 0;
        ok = net_send_all(a, login, sizeof login, 5000, &got, &err) == NET_OK &&
             net_recv_exact(a, info, sizeof info, 5000, &got, &err) == NET_OK && info[1] == 2;
        if (!ok)
            snprintf(why, whysz, "no SC_LOGIN_INFO for a login");
        net_close(a);
        return ok;
    }
    a = net_connect(srv->port, CONNECT_MS, why, whysz);
    if (a == INVALID_SOCKET)
        return 0;
    ok = net_echo(a, "hello\n", 6, 5000, why, whysz);
    if (ok && strncmp(step, "01", 2) != 0) {
        b = net_connect(srv->port, CONNECT_MS, why, whysz);
        ok = b != INVALID_SOCKET && net_echo(b, "second\n", 7, 5000, why, whysz);
    }
    net_close(a);
    if (b != INVALID_SOCKET)
        net_close(b);
    return ok;
}

/* ------------------------------------------------------------------------
 * Handouts that stand alone (build/handouts/NN_name/, build/handouts/open/)
 * --------------------------------------------------------------------- */

/* The reference's cases a check script runs to pass a handout folder with
 * the reference server.c put in: a few, to keep the suite short (the
 * reference's full runs are the rest of the suite). */
#define REFERENCE_SUBSET "echo,binary,half-close"
#define CHECK_SCRIPT_MS (300 * 1000) /* one check script run, build included */

/* Homework #3's board, handed out as build/handouts/08_board/: its
 * reference is in 08_overlapped_callback/board/, its check script runs the
 * hw3 profile, whose cases the subset names. */
#define BOARD_HANDOUT "08_board"
#define BOARD_REFERENCE "08_overlapped_callback\\board"
#define BOARD_SUBSET "login,see-others,moves-seen-by-all"

/* Copies the files (not the folders) of `from` into `to`, made afresh. */
static int copy_folder(const char *from, const char *to)
{
    char pattern[MAX_PATH * 2], a[MAX_PATH * 2], b[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE f;
    int ok = 1;
    CreateDirectoryA(to, NULL);
    snprintf(pattern, sizeof pattern, "%s\\*", from);
    f = FindFirstFileA(pattern, &fd);
    if (f == INVALID_HANDLE_VALUE)
        return 0;
    do {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        snprintf(a, sizeof a, "%s\\%s", from, fd.cFileName);
        snprintf(b, sizeof b, "%s\\%s", to, fd.cFileName);
        ok &= CopyFileA(a, b, FALSE) != 0;
    } while (FindNextFileA(f, &fd));
    FindClose(f);
    return ok;
}

static void remove_folder(const char *dir)
{
    char pattern[MAX_PATH * 2], path[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE f;
    snprintf(pattern, sizeof pattern, "%s\\*", dir);
    f = FindFirstFileA(pattern, &fd);
    if (f != INVALID_HANDLE_VALUE) {
        do {
            if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s\\%s", dir, fd.cFileName);
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                remove_folder(path);
            else
                DeleteFileA(path);
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
    RemoveDirectoryA(dir);
}

/* Runs the folder's check script with `args`; its output (NUL-terminated,
 * malloc'd) or NULL with `why` set. On Windows: cmd /c check.cmd. Under
 * Wine: check.sh, by /bin/sh, a Unix process (Wine starts one when asked
 * to run a Unix program, but does not wait for it or pass on its status:
 * so the script writes its output and status into files, which are polled
 * for). */
static char *run_check_script(const char *dir, const char *args, char *why, size_t whysz)
{
    char out_path[MAX_PATH * 2], rc_path[MAX_PATH * 2];
    size_t len = 0;
    snprintf(out_path, sizeof out_path, "%s\\check.out", dir);
    snprintf(rc_path, sizeof rc_path, "%s\\check.rc", dir);
    DeleteFileA(out_path);
    DeleteFileA(rc_path);
    if (under_wine()) {
        typedef char *(__cdecl * unix_name_fn)(const WCHAR *);
        unix_name_fn unix_name = (unix_name_fn)(void (*)(void))GetProcAddress(
            GetModuleHandleA("kernel32.dll"), "wine_get_unix_file_name");
        WCHAR wdir[MAX_PATH * 2];
        char cmd[MAX_PATH * 6], *udir;
        STARTUPINFOA si;
        PROCESS_INFORMATION pi;
        ULONGLONG t0 = now_ms();
        if (unix_name == NULL || MultiByteToWideChar(CP_ACP, 0, dir, -1, wdir, MAX_PATH * 2) == 0 ||
            (udir = unix_name(wdir)) == NULL) {
            snprintf(why, whysz, "no Unix name for %s", dir);
            return NULL;
        }
        snprintf(cmd, sizeof cmd,
                 "/bin/sh -c \"cd '%s' && sh ./check.sh %s >check.out 2>&1; echo $? >check.rc\"",
                 udir, args);
        HeapFree(GetProcessHeap(), 0, udir);
        memset(&si, 0, sizeof si);
        si.cb = sizeof si;
        if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
            snprintf(why, whysz, "cannot start /bin/sh: error %lu", GetLastError());
            return NULL;
        }
        CloseHandle(pi.hThread);
        CloseHandle(pi.hProcess);
        while (!file_exists(rc_path)) {
            if (now_ms() - t0 > CHECK_SCRIPT_MS) {
                snprintf(why, whysz, "check.sh did not finish within %d s", CHECK_SCRIPT_MS / 1000);
                return NULL;
            }
            Sleep(200); /* polling a file: Wine gives no handle to wait on */
        }
        Sleep(100); /* the status line is written, let its shell close the file */
    } else {
        char comspec[MAX_PATH], cmdargs[MAX_PATH * 4];
        struct proc p;
        char *text;
        FILE *f = NULL;
        if (GetEnvironmentVariableA("ComSpec", comspec, sizeof comspec) == 0)
            snprintf(comspec, sizeof comspec, "cmd.exe");
        snprintf(cmdargs, sizeof cmdargs, "/c \"\"%s\\check.cmd\" %s\"", dir, args);
        memset(&p, 0, sizeof p);
        if (!proc_start(&p, comspec, cmdargs, why, whysz))
            return NULL;
        if (!proc_wait(&p, CHECK_SCRIPT_MS)) {
            snprintf(why, whysz, "check.cmd did not finish within %d s", CHECK_SCRIPT_MS / 1000);
            proc_stop(&p);
            return NULL;
        }
        proc_drain(&p, 5000);
        text = proc_text(&p, OUT_STREAM);
        if (fopen_s(&f, rc_path, "w") == 0 && f != NULL) {
            fprintf(f, "%lu\n", (unsigned long)p.exit_code);
            fclose(f);
        }
        if (text != NULL && fopen_s(&f, out_path, "w") == 0 && f != NULL) {
            fputs(text, f);
            fclose(f);
        }
        free(text);
        proc_stop(&p);
    }
    char *out = read_whole(out_path, &len);
    if (out == NULL)
        snprintf(why, whysz, "the check script left no output");
    return out;
}

/* The verdict of a check run's output: the counts of its last line, and
 * the PASS lines that are not of the cases whose code is given. */
static int check_counts(const char *out, int *passed, int *failed, char *extra, size_t extrasz)
{
    const char *p = out, *last = NULL;
    extra[0] = '\0';
    *passed = *failed = -1;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, "PASS ", 5) == 0) {
            const char *name = strchr(p + 5, ' ');
            char nm[64] = "";
            size_t n = 0;
            for (name = name ? name + 1 : p + 5;
                 *name && *name != '\n' && *name != '\r' && n + 1 < sizeof nm;)
                nm[n++] = *name++;
            nm[n] = '\0';
            if (!quick_basic_case(nm) && strlen(extra) + n + 2 < extrasz)
                snprintf(extra + strlen(extra), extrasz - strlen(extra), "%s%s",
                         extra[0] ? "," : "", nm);
        }
        if (strstr(p, " passed, ") != NULL && (nl == NULL || strstr(p, " passed, ") < nl))
            last = p;
        p = nl ? nl + 1 : NULL;
    }
    if (last == NULL)
        return 0;
    /* "N passed, N failed" (strtol: sscanf is deprecated under /W4) */
    char *end;
    *passed = (int)strtol(last, &end, 10);
    if (strncmp(end, " passed, ", 9) != 0)
        return 0;
    *failed = (int)strtol(end + 9, &end, 10);
    return strncmp(end, " failed", 7) == 0;
}

/* One handout folder: copied alone, its check script must build it and
 * fail (only the given cases may pass); with the reference server.c put
 * in (when `reference` is set) it must pass REFERENCE_SUBSET. */
static void check_one_handout(report_fn report, int verbose, const char *root, const char *src,
                              const char *level, const char *step, int reference)
{
    char tmp[MAX_PATH], dir[MAX_PATH * 2], name[MAX_PATH], why[WHY_SIZE] = "";
    char ref[MAX_PATH * 2], to[MAX_PATH * 2], extra[WHY_SIZE];
    int passed, failed;
    char *out;
    snprintf(name, sizeof name, "%s-%s", step, level);
    GetTempPathA(sizeof tmp, tmp);
    snprintf(dir, sizeof dir, "%slab-handout-%lu-%s", tmp, GetCurrentProcessId(), name);
    remove_folder(dir);
    if (!copy_folder(src, dir)) {
        report("handout", name, RES_FAIL, "cannot copy the folder to a temporary one");
        remove_folder(dir);
        return;
    }
    out = run_check_script(dir, "", why, sizeof why);
    if (out == NULL) {
        report("handout", name, RES_FAIL, why);
    } else if (strstr(out, " build: ") != NULL ||
               !check_counts(out, &passed, &failed, extra, sizeof extra)) {
        char tail[200];
        size_t n = strlen(out);
        snprintf(tail, sizeof tail, "%s", out + (n > 150 ? n - 150 : 0));
        snprintf(why, sizeof why, "as handed out, its check script did not build and run it: %s",
                 tail);
        report("handout", name, RES_FAIL, why);
    } else if (failed == 0 || extra[0]) {
        snprintf(why, sizeof why, "as handed out it passes what it must fail: %s",
                 failed == 0 ? "every case" : extra);
        report("handout", name, RES_FAIL, why);
    } else {
        if (verbose)
            printf("  handout %s: as handed out: %d passed, %d failed\n", name, passed, failed);
        report("handout", name, RES_PASS, NULL);
    }
    free(out);
    if (reference) {
        char rname[MAX_PATH + 16];
        snprintf(rname, sizeof rname, "%s+reference", step);
        int board = strcmp(step, BOARD_HANDOUT) == 0;
        snprintf(ref, sizeof ref, "%s\\%s\\server.c", root, board ? BOARD_REFERENCE : step);
        snprintf(to, sizeof to, "%s\\server.c", dir);
        out = CopyFileA(ref, to, FALSE)
                  ? run_check_script(dir, board ? "--case " BOARD_SUBSET
                                                : "--case " REFERENCE_SUBSET,
                                     why, sizeof why)
                  : NULL;
        if (out == NULL) {
            report("handout", rname, RES_FAIL,
                   why[0] ? why : "cannot put the reference server.c in");
        } else if (!check_counts(out, &passed, &failed, extra, sizeof extra) || failed != 0 ||
                   passed != 3) {
            char tail[200];
            size_t n = strlen(out);
            snprintf(tail, sizeof tail, "%s", out + (n > 150 ? n - 150 : 0));
            snprintf(why, sizeof why, "with the reference server.c, its check script says: %s",
                     tail);
            report("handout", rname, RES_FAIL, why);
        } else {
            report("handout", rname, RES_PASS, NULL);
        }
        free(out);
    }
    remove_folder(dir);
}

/* --grade on a folder of three: the reference, the handout as handed out
 * and a broken variant (tests/grading/04_select/peer-close-ignored.txt,
 * built by `make grading`), on a few cases: the CSV and the feedback files
 * must say what each one is. */
#define GRADE_STEP "04_select"
#define GRADE_VARIANT "peer-close-ignored"
#define GRADE_CASES "echo,half-close,bad-args"

/* The CSV row of `student` starts with these counts and has these results. */
static int csv_row_is(const char *csv, const char *student, const char *counts, const char *results)
{
    char head[128];
    const char *row;
    snprintf(head, sizeof head, "\n\"%s\",%s,", student, counts);
    row = strstr(csv, head);
    if (row == NULL)
        return 0;
    /* the selected cases' columns, in the step's order, with the empty
     * columns of the cases not run left out */
    char got[256] = "";
    const char *p = row + strlen(head);
    while (*p && *p != '\n' && *p != '"') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0 && strlen(got) + n + 2 < sizeof got)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s", got[0] ? "," : "",
                     (int)n, p);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return strcmp(got, results) == 0;
}

static void check_grading(report_fn report, int verbose, const char *root)
{
    static const char *const from[] = {"build\\" GRADE_STEP ".exe",
                                       "build\\handouts\\" GRADE_STEP ".exe",
                                       "build\\grading\\" GRADE_STEP "\\" GRADE_VARIANT ".exe"};
    static const char *const to[] = {"reference.exe", "handout.exe", "broken.exe"};
    char tmp[MAX_PATH], dir[MAX_PATH * 2], a[MAX_PATH * 2], b[MAX_PATH * 2], args[MAX_PATH * 3];
    char why[WHY_SIZE] = "";
    struct proc p;
    char *csv = NULL, *fb = NULL;
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%s\\%s", root, from[i]);
        if (!file_exists(a))
            return; /* no `make handouts grading` in this build */
    }
    GetTempPathA(sizeof tmp, tmp);
    snprintf(dir, sizeof dir, "%slab-grade-%lu", tmp, GetCurrentProcessId());
    remove_folder(dir);
    CreateDirectoryA(dir, NULL);
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "%s\\%s", root, from[i]);
        snprintf(b, sizeof b, "%s\\%s", dir, to[i]);
        CopyFileA(a, b, FALSE);
    }
    snprintf(args, sizeof args, "--grade \"%s\" --only " GRADE_STEP " --case " GRADE_CASES, dir);
    memset(&p, 0, sizeof p);
    if (!proc_start(&p, self_path(), args, why, sizeof why)) {
        report("grade", "three-submissions", RES_FAIL, why);
    } else if (!proc_wait(&p, CHECK_SCRIPT_MS)) {
        report("grade", "three-submissions", RES_FAIL, "--grade did not finish within 300 s");
    } else {
        snprintf(a, sizeof a, "%s\\grades.csv", dir);
        csv = read_whole(a, &len);
        snprintf(a, sizeof a, "%s\\broken.feedback.txt", dir);
        fb = read_whole(a, &len);
        if (p.exit_code != 0 || csv == NULL)
            snprintf(why, sizeof why, "--grade exited with %lu, grades.csv %s",
                     (unsigned long)p.exit_code, csv ? "written" : "missing");
        else if (!csv_row_is(csv, "reference", "3,0,0", "PASS,PASS,PASS"))
            snprintf(why, sizeof why, "the reference's row is not 3 passed: %.200s", csv);
        else if (!csv_row_is(csv, "handout", "1,2,0", "FAIL,FAIL,PASS"))
            snprintf(why, sizeof why, "the handout's row is not 1 passed (bad-args): %.200s", csv);
        else if (!csv_row_is(csv, "broken", "2,1,0", "PASS,FAIL,PASS"))
            snprintf(why, sizeof why, "the broken variant's row is not half-close failed: %.200s",
                     csv);
        else if (fb == NULL || strstr(fb, "FAIL " GRADE_STEP " half-close: ") == NULL ||
                 strstr(fb, "2 passed, 1 failed") == NULL)
            snprintf(why, sizeof why, "broken.feedback.txt lacks the driver's lines: %.200s",
                     fb ? fb : "(missing)");
        if (verbose && why[0] == '\0')
            printf("  grade three-submissions: %s", csv);
        report("grade", "three-submissions", why[0] ? RES_FAIL : RES_PASS, why);
    }
    proc_stop(&p);
    free(csv);
    free(fb);
    remove_folder(dir);
}

static void check_handout_exes(report_fn report, int verbose);

void check_handouts(report_fn report, int verbose)
{
    static const char *const levels[] = {"guided", "open"};
    char root[MAX_PATH], pattern[MAX_PATH * 2], src[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE f;
    if (!repo_root(root, sizeof root))
        return;
    for (int l = 0; l < 2; l++) {
        snprintf(pattern, sizeof pattern, "%s\\build\\handouts%s\\*", root, l ? "\\open" : "");
        f = FindFirstFileA(pattern, &fd);
        if (f == INVALID_HANDLE_VALUE)
            continue; /* no `make handouts` in this build */
        do {
            const char *n = fd.cFileName;
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || !isdigit((unsigned char)n[0]))
                continue;
            snprintf(src, sizeof src, "%s\\build\\handouts%s\\%s\\check.sh", root,
                     l ? "\\open" : "", n);
            if (!file_exists(src))
                continue; /* a step without an assignment text (10): the old check below */
            snprintf(src, sizeof src, "%s\\build\\handouts%s\\%s", root, l ? "\\open" : "", n);
            /* the reference in the open folder is the guided folder with it: once */
            check_one_handout(report, verbose, root, src, levels[l], n, l == 0);
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
    check_grading(report, verbose, root);
    check_handout_exes(report, verbose);
}

/* build/handouts/NN_name.exe of a step without a check script (10): it
 * starts, and does not serve like the reference. */
static void check_handout_exes(report_fn report, int verbose)
{
    char root[MAX_PATH], pattern[MAX_PATH * 2];
    WIN32_FIND_DATAA fd;
    HANDLE f;
    if (!repo_root(root, sizeof root))
        return;
    snprintf(pattern, sizeof pattern, "%s\\build\\handouts\\*.exe", root);
    f = FindFirstFileA(pattern, &fd);
    if (f == INVALID_HANDLE_VALUE)
        return; /* no `make handouts` in this build */
    do {
        char exe[MAX_PATH * 2], step[MAX_PATH], why[WHY_SIZE] = "", start_why[WHY_SIZE] = "";
        struct proc srv;
        size_t n = strlen(fd.cFileName);
        if (n < 5 || n - 4 >= sizeof step)
            continue;
        memcpy(step, fd.cFileName, n - 4);
        step[n - 4] = '\0';
        snprintf(exe, sizeof exe, "%s\\build\\handouts\\%s\\check.sh", root, step);
        if (file_exists(exe))
            continue; /* a handout that stands alone: checked by its script above */
        snprintf(exe, sizeof exe, "%s\\build\\handouts\\%s", root, fd.cFileName);
        memset(&srv, 0, sizeof srv);
        /* -n 0: the game server without NPCs starts in a moment */
        if (!server_start_args(&srv, exe, strncmp(step, "10", 2) == 0 ? "-n 0 " : "", 1, start_why,
                               sizeof start_why)) {
            report("handout", step, RES_FAIL, start_why);
        } else if (serves_like_reference(step, &srv, why, sizeof why)) {
            report("handout", step, RES_FAIL,
                   "serves like the reference: its solution regions are not TODOs");
        } else {
            if (verbose)
                printf("  handout %s fails as it should: %s\n", step, why);
            report("handout", step, RES_PASS, NULL);
        }
        proc_stop(&srv);
    } while (FindNextFileA(f, &fd));
    FindClose(f);
}
