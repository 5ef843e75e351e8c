/*
 * kit_checks.c - checks of the teaching kit, run in full mode (no --exe)
 * when the repository is there, after the lab.h copies:
 *
 *   docs readme-pairs   every step README.md has a README.ko.md (and every
 *                       docs/X.md a docs/ko/X.md) with the same headings:
 *                       the same number, levels and order
 *   handout NN_name     build/handouts/NN_name.exe (built by `make
 *                       handouts`) starts, and fails what the reference
 *                       passes: its solution regions are TODOs
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
    snprintf(pattern, sizeof pattern, "%s\\docs\\*.md", root);
    f = FindFirstFileA(pattern, &fd);
    if (f != INVALID_HANDLE_VALUE) {
        do {
            char label[MAX_PATH + 8];
            snprintf(en, sizeof en, "%s\\docs\\%s", root, fd.cFileName);
            snprintf(ko, sizeof ko, "%s\\docs\\ko\\%s", root, fd.cFileName);
            snprintf(label, sizeof label, "docs/%s", fd.cFileName);
            /* contract.md is the course's specification, kept in English */
            if (strcmp(fd.cFileName, "contract.md") != 0)
                compare_pair(en, ko, label, bad, sizeof bad, &pairs);
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
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

void check_handouts(report_fn report, int verbose)
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
