/*
 * check_tree.c - the house checks of the lab (`make check`, `nmake /f
 * Makefile.nmake check`): what a reviewer would otherwise check by eye.
 *
 *   check_tree [--cc gcc|cl] [--wrap COMMAND] [--lab-only] [--root DIR]
 *
 * 1. sources: every *.c and *.h of the tree (outside build/ and dot
 *    folders) is ASCII, with LF line ends (no CR, no BOM), and no line is
 *    wider than 100 columns, except the header's build lines (those that
 *    contain "cl /nologo" or "mingw32-gcc": one command, one line).
 * 2. lab.h copies: every step folder's lab.h (and the one in each folder
 *    below a step, 08's chat/ and board/) equals tools/lab.h byte for
 *    byte, and a copy of 10_game_server/protocol.h there (08's board)
 *    equals it (the one implementation of that check: the Makefiles'
 *    check-lab runs this program with --lab-only).
 * 3. each folder alone: every step 01..09 is copied, alone, to a
 *    temporary folder and built there with the build line its server.c
 *    header gives: the line starting " *   x86_64-w64-mingw32-gcc" (--cc
 *    gcc, the default) or " *   cl /nologo" (--cc cl). --wrap runs the
 *    line through COMMAND (tools/msvc-kit.sh on Linux). So a handout that
 *    says how to build it really builds that way; the line must also
 *    carry -Werror (/WX) and -D_WIN32_WINNT= (/D_WIN32_WINNT=), as the
 *    Makefiles do.
 *
 * A problem is printed as "file:line: what", each check as a PASS or FAIL
 * line, then "N passed, N failed" (the line CI adds up); exit status 0
 * when nothing failed, 1 otherwise, 2 for a bad command line.
 *
 * Portable C on purpose: it is built for the machine that runs the make (a
 * native program on Linux, an .exe on Windows), because it must start the
 * compilers itself. A Windows build running under Wine cannot start Linux
 * compilers and wait for them (Wine starts a Unix program but gives no exit
 * status), so there step 3 is reported as skipped, with the reason.
 *
 * Build (alone, from the repository root):
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -o build/check_tree tools/check_tree.c
 *   cl /nologo /W4 /WX /Febuild/check_tree.exe tools/check_tree.c
 */
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#define _POSIX_C_SOURCE 200809L /* mkdtemp, opendir */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH 100
#define PATH_LEN 1024
#define MAX_NAMES 256 /* entries of one folder this tree can have */

static int n_passed, n_failed, problems;

/* "file:line: what" (line 0: the whole file). */
static void problem(const char *file, long line, const char *what)
{
    if (line > 0)
        printf("%s:%ld: %s\n", file, line, what);
    else
        printf("%s: %s\n", file, what);
    problems++;
}

/* One check's verdict, from the problems counted since it began. */
static void verdict(const char *name, int problems_before, const char *skipped)
{
    if (skipped != NULL) {
        printf("SKIP %s: %s\n", name, skipped);
    } else if (problems == problems_before) {
        printf("PASS %s\n", name);
        n_passed++;
    } else {
        printf("FAIL %s\n", name);
        n_failed++;
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------------
 * Files and folders, the little this program needs of each system
 * --------------------------------------------------------------------- */

/* dir/name into `out`; 0 when it does not fit (the caller reports it). */
static int join(char *out, size_t size, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + 1 + b + 1 > size) {
        out[0] = '\0';
        return 0;
    }
    memcpy(out, dir, a);
    out[a] = '/';
    memcpy(out + a + 1, name, b + 1);
    return 1;
}

static FILE *open_file(const char *path, const char *mode)
{
#ifdef _MSC_VER
    FILE *f = NULL;
    return fopen_s(&f, path, mode) == 0 ? f : NULL;
#else
    return fopen(path, mode);
#endif
}

/* A whole file, malloc'd (NUL added); NULL if unreadable. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = open_file(path, "rb");
    char *data = NULL;
    size_t cap = 0, n = 0, got;
    if (f == NULL)
        return NULL;
    do {
        if (cap - n < 65536) {
            char *more = (char *)realloc(data, cap + 65536 + 1);
            if (more == NULL) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = more;
            cap += 65536;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    data[n] = '\0';
    *len = n;
    return data;
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = open_file(path, "wb");
    int ok;
    if (f == NULL)
        return 0;
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* The names in a folder (no "." and ".."), each malloc'd; `dirs` set to
 * which are folders. Returns how many, -1 if the folder cannot be read. */
static int list_dir(const char *dir, char **names, int *dirs, int max)
{
    int n = 0;
#ifdef _WIN32
    char pattern[PATH_LEN];
    WIN32_FIND_DATAA fd;
    HANDLE h;
    snprintf(pattern, sizeof pattern, "%s/*", dir);
    h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE)
        return -1;
    do {
        if (strcmp(fd.cFileName, ".") == 0 || strcmp(fd.cFileName, "..") == 0 || n == max)
            continue;
        names[n] = (char *)malloc(strlen(fd.cFileName) + 1);
        if (names[n] == NULL)
            break;
        memcpy(names[n], fd.cFileName, strlen(fd.cFileName) + 1);
        dirs[n++] = (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    } while (FindNextFileA(h, &fd));
    FindClose(h);
#else
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL && n < max) {
        char path[PATH_LEN];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        join(path, sizeof path, dir, e->d_name);
        if (lstat(path, &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
            continue; /* links and the like are not sources of the lab */
        names[n] = (char *)malloc(strlen(e->d_name) + 1);
        if (names[n] == NULL)
            break;
        memcpy(names[n], e->d_name, strlen(e->d_name) + 1);
        dirs[n++] = S_ISDIR(st.st_mode);
    }
    closedir(d);
#endif
    /* a fixed order, so that two runs print the same */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            int td = dirs[j];
            names[j] = names[j - 1];
            dirs[j] = dirs[j - 1];
            names[j - 1] = t;
            dirs[j - 1] = td;
        }
    return n;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
}

static int make_temp_dir(char *out, size_t size)
{
#ifdef _WIN32
    char base[MAX_PATH];
    DWORD len = GetTempPathA(sizeof base, base);
    if (len == 0 || len >= sizeof base)
        return 0;
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(out, size, "%scheck_tree_%lu_%u", base, GetCurrentProcessId(), i);
        if (CreateDirectoryA(out, NULL))
            return 1;
    }
    return 0;
#else
    snprintf(out, size, "/tmp/check_tree_XXXXXX");
    return mkdtemp(out) != NULL;
#endif
}

/* Removes a folder this program filled with files only. */
static void remove_temp_dir(const char *dir)
{
    char *names[MAX_NAMES], path[PATH_LEN];
    int dirs[MAX_NAMES];
    int n = list_dir(dir, names, dirs, MAX_NAMES);
    for (int i = 0; i < n; i++) {
        join(path, sizeof path, dir, names[i]);
        if (!dirs[i])
            remove(path);
    }
    free_names(names, n > 0 ? n : 0);
#ifdef _WIN32
    RemoveDirectoryA(dir);
#else
    rmdir(dir);
#endif
}

/* Running under Wine? Then the compilers are Linux programs it cannot run. */
static int under_wine(void)
{
#ifdef _WIN32
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------------
 * 1. Sources: ASCII, LF, width
 * --------------------------------------------------------------------- */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static void check_source(const char *path)
{
    size_t len = 0, col = 0, start = 0;
    long line = 1;
    int bad_byte = 0, cr = 0;
    char what[128];
    char *text = read_file(path, &len);
    if (text == NULL) {
        problem(path, 0, "cannot be read");
        return;
    }
    for (size_t i = 0; i <= len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (i == len || ch == '\n') {
            /* the build lines of a header are one command each, however wide */
            text[i] = '\0';
            if (col > MAX_WIDTH && strstr(text + start, "cl /nologo") == NULL &&
                strstr(text + start, "mingw32-gcc") == NULL) {
                snprintf(what, sizeof what, "%lu columns (at most %d)", (unsigned long)col,
                         MAX_WIDTH);
                problem(path, line, what);
            }
            line++;
            col = 0;
            start = i + 1;
            continue;
        }
        col++;
        if (ch == '\r' && !cr) { /* one report a file: a CRLF file has thousands */
            problem(path, line, "CR (line ends must be LF; see .gitattributes)");
            cr = 1;
        } else if ((ch > 126 || (ch < 32 && ch != '\t' && ch != '\r')) && !bad_byte) {
            snprintf(what, sizeof what, "byte 0x%02x is not ASCII text (a BOM, UTF-8, CP949?)",
                     (unsigned)ch);
            problem(path, line, what);
            bad_byte = 1;
        }
    }
    free(text);
}

/* Every *.c and *.h below `dir`, but build/ (copies and handouts) and the
 * dot folders (.git, .wine, .msvc-kit). */
static int walk_sources(const char *dir, int depth)
{
    char *names[MAX_NAMES], path[PATH_LEN];
    int dirs[MAX_NAMES], files = 0;
    int n = list_dir(dir, names, dirs, MAX_NAMES);
    if (n < 0)
        return 0;
    for (int i = 0; i < n; i++) {
        if (names[i][0] == '.' || (depth == 0 && strcmp(names[i], "build") == 0))
            continue;
        join(path, sizeof path, dir, names[i]);
        if (dirs[i]) {
            if (depth < 8)
                files += walk_sources(path, depth + 1);
        } else if (ends_with(names[i], ".c") || ends_with(names[i], ".h")) {
            check_source(path[0] == '.' && path[1] == '/' ? path + 2 : path);
            files++;
        }
    }
    free_names(names, n);
    return files;
}

/* ------------------------------------------------------------------------
 * 2. lab.h copies
 * --------------------------------------------------------------------- */

static int is_step_dir(const char *name)
{
    return name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' &&
           name[2] == '_';
}

/* Compares one copy (root/rel) with its canonical text; 1 if it exists. */
static int compare_copy(const char *root, const char *rel, const char *canon, size_t canon_len,
                        const char *canon_name)
{
    char path[PATH_LEN], what[PATH_LEN + 64];
    size_t len = 0;
    char *copy;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    copy = read_file(path, &len);
    if (copy == NULL)
        return 0; /* a folder without that shared file (10 has no lab.h) */
    if (len != canon_len || memcmp(copy, canon, len) != 0) {
        size_t at = 0;
        long line = 1;
        while (at < len && at < canon_len && copy[at] == canon[at])
            line += copy[at++] == '\n';
        snprintf(what, sizeof what, "differs from %s from here on (make sync-lab)", canon_name);
        problem(rel, line, what);
    }
    free(copy);
    return 1;
}

/* The copies of a shared file: NAME in every step folder and in the
 * folders one level below them (08's chat/ and board/), except in the
 * folder that holds the canonical file itself. */
static int check_copies_of(const char *root, const char *name, const char *canon_rel)
{
    char *names[MAX_NAMES], *subs[MAX_NAMES], path[PATH_LEN], rel[PATH_LEN];
    int dirs[MAX_NAMES], subdirs[MAX_NAMES], copies = 0;
    size_t canon_len = 0;
    char *canon;
    int n;
    snprintf(path, sizeof path, "%s/%s", root, canon_rel);
    canon = read_file(path, &canon_len);
    if (canon == NULL)
        return -1;
    n = list_dir(root, names, dirs, MAX_NAMES);
    for (int i = 0; i < n; i++) {
        int m;
        if (!dirs[i] || !is_step_dir(names[i]))
            continue;
        snprintf(rel, sizeof rel, "%s/%s", names[i], name);
        if (strcmp(rel, canon_rel) != 0)
            copies += compare_copy(root, rel, canon, canon_len, canon_rel);
        snprintf(path, sizeof path, "%s/%s", root, names[i]);
        m = list_dir(path, subs, subdirs, MAX_NAMES);
        for (int j = 0; j < m; j++) {
            if (!subdirs[j])
                continue;
            snprintf(rel, sizeof rel, "%s/%s/%s", names[i], subs[j], name);
            copies += compare_copy(root, rel, canon, canon_len, canon_rel);
        }
        free_names(subs, m > 0 ? m : 0);
    }
    free_names(names, n > 0 ? n : 0);
    free(canon);
    return copies;
}

static void check_lab_copies(const char *root)
{
    char what[128];
    int before = problems;
    int labs = check_copies_of(root, "lab.h", "tools/lab.h");
    int protos;
    if (labs < 0) {
        verdict("lab.h copies", before, "no tools/lab.h (a handed-out folder?)");
        return;
    }
    /* 08's board speaks step 10's protocol and carries a copy of it */
    protos = check_copies_of(root, "protocol.h", "10_game_server/protocol.h");
    snprintf(what, sizeof what, "lab.h copies (%d), protocol.h copies (%d)", labs,
             protos > 0 ? protos : 0);
    verdict(what, before, NULL);
}

/* ------------------------------------------------------------------------
 * 3. Each step folder built alone, with its header's line
 * --------------------------------------------------------------------- */

/* The header's line for this compiler, without the " *   " in front. */
static int find_build_line(const char *text, const char *cc, char *cmd, size_t size,
                           long *line_no)
{
    const char *want = strcmp(cc, "cl") == 0 ? " *   cl /nologo" : " *   x86_64-w64-mingw32-gcc";
    const char *p = text;
    long line = 1;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n >= strlen(want) && strncmp(p, want, strlen(want)) == 0) {
            const char *cmd_at = p + 5; /* past " *   " */
            n -= 5;
            while (n > 0 && (cmd_at[n - 1] == '\r' || cmd_at[n - 1] == ' '))
                n--;
            if (n + 1 > size)
                return 0;
            memcpy(cmd, cmd_at, n);
            cmd[n] = '\0';
            *line_no = line;
            return 1;
        }
        if (end == NULL)
            break;
        p = end + 1;
        line++;
    }
    return 0;
}

/* The first lines of the compiler's output, indented, for the report. */
static void print_log(const char *path)
{
    size_t len = 0, shown = 0;
    char *log = read_file(path, &len);
    const char *p = log;
    if (log == NULL)
        return;
    while (*p && shown < 12) {
        const char *end = strchr(p, '\n');
        int n = (int)(end ? end - p : (long)strlen(p));
        printf("    %.*s\n", n > 200 ? 200 : n, p);
        shown++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    free(log);
}

static void build_alone(const char *root, const char *step, const char *cc, const char *wrap)
{
    char src[PATH_LEN], tmp[PATH_LEN], path[PATH_LEN], cmd[2048], shell[4096], what[2200];
    char *names[MAX_NAMES], *server, check_name[128];
    int dirs[MAX_NAMES], before = problems, n, rc;
    size_t len = 0;
    long line_no = 0;

    snprintf(check_name, sizeof check_name, "%s builds alone (%s line)", step, cc);
    snprintf(src, sizeof src, "%s/%s", root, step);
    join(path, sizeof path, src, "server.c");
    server = read_file(path, &len);
    if (server == NULL) {
        verdict(check_name, before, "no server.c");
        return;
    }
    if (!find_build_line(server, cc, cmd, sizeof cmd, &line_no)) {
        snprintf(what, sizeof what, "no build line \" *   %s\" in the header",
                 strcmp(cc, "cl") == 0 ? "cl /nologo ..." : "x86_64-w64-mingw32-gcc ...");
        snprintf(path, sizeof path, "%s/server.c", step);
        problem(path, 0, what);
        free(server);
        verdict(check_name, before, NULL);
        return;
    }
    free(server);
    {
        /* the house rule the Makefiles follow: warnings are errors, and the
         * Windows version lab.h is written for is named, not assumed */
        static const char *const gcc_flags[] = {"-Werror", "-D_WIN32_WINNT=", NULL};
        static const char *const cl_flags[] = {"/WX", "/D_WIN32_WINNT=", NULL};
        const char *const *need = strcmp(cc, "cl") == 0 ? cl_flags : gcc_flags;
        for (int i = 0; need[i] != NULL; i++)
            if (strstr(cmd, need[i]) == NULL) {
                snprintf(what, sizeof what, "the build line lacks %s", need[i]);
                snprintf(path, sizeof path, "%s/server.c", step);
                problem(path, line_no, what);
            }
    }
    if (!make_temp_dir(tmp, sizeof tmp)) {
        problem(step, 0, "cannot make a temporary folder");
        verdict(check_name, before, NULL);
        return;
    }
    /* the folder alone: its files, nothing of the rest of the tree */
    n = list_dir(src, names, dirs, MAX_NAMES);
    for (int i = 0; i < n; i++) {
        char *data;
        if (dirs[i])
            continue;
        join(path, sizeof path, src, names[i]);
        data = read_file(path, &len);
        join(path, sizeof path, tmp, names[i]);
        if (data == NULL || !write_file(path, data, len))
            problem(path, 0, "cannot copy into the temporary folder");
        free(data);
    }
    free_names(names, n > 0 ? n : 0);
#ifdef _WIN32
    snprintf(shell, sizeof shell, "cd /d \"%s\" && %s%s%s > build.log 2>&1", tmp,
             wrap ? wrap : "", wrap ? " " : "", cmd);
#else
    snprintf(shell, sizeof shell, "cd '%s' && %s%s%s > build.log 2>&1", tmp,
             wrap ? wrap : "", wrap ? " " : "", cmd);
#endif
    fflush(stdout);
    rc = system(shell);
    if (rc != 0) {
        snprintf(what, sizeof what, "the build line failed in a copy of the folder alone: %s",
                 cmd);
        snprintf(path, sizeof path, "%s/server.c", step);
        problem(path, line_no, what);
        join(path, sizeof path, tmp, "build.log");
        print_log(path);
    }
    remove_temp_dir(tmp);
    verdict(check_name, before, NULL);
}

static void check_builds(const char *root, const char *cc, const char *wrap)
{
    char *names[MAX_NAMES];
    int dirs[MAX_NAMES], n;
    if (under_wine()) {
        verdict("step folders built alone", problems,
                "under Wine this program cannot run the compilers: on Linux that part is "
                "make check (mingw-w64 line) and make check-msvc (cl line)");
        return;
    }
    n = list_dir(root, names, dirs, MAX_NAMES);
    for (int i = 0; i < n; i++) {
        /* 01..09: one server.c each; 10 is several files, built by the Makefiles */
        if (dirs[i] && is_step_dir(names[i]) && names[i][0] == '0')
            build_alone(root, names[i], cc, wrap);
    }
    free_names(names, n > 0 ? n : 0);
}

/* ------------------------------------------------------------------------
 * Command line
 * --------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: check_tree [--cc gcc|cl] [--wrap COMMAND] [--lab-only] [--root DIR]\n"
               "  --cc gcc|cl     which header build line to try (default gcc)\n"
               "  --wrap COMMAND  run that line through COMMAND (tools/msvc-kit.sh)\n"
               "  --lab-only      only compare the lab.h copies with tools/lab.h\n"
               "  --root DIR      the repository root (default: the current folder)\n");
}

int main(int argc, char **argv)
{
    const char *cc = "gcc", *wrap = NULL, *root = ".";
    int lab_only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cc") == 0 && i + 1 < argc &&
            (strcmp(argv[i + 1], "gcc") == 0 || strcmp(argv[i + 1], "cl") == 0)) {
            cc = argv[++i];
        } else if (strcmp(argv[i], "--wrap") == 0 && i + 1 < argc) {
            wrap = argv[++i];
        } else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
            root = argv[++i];
        } else if (strcmp(argv[i], "--lab-only") == 0) {
            lab_only = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!lab_only) {
        int before = problems, files = walk_sources(root, 0);
        char name[64];
        snprintf(name, sizeof name, "sources: ASCII, LF, width (%d files)", files);
        verdict(name, before, files == 0 ? "no *.c or *.h found (wrong --root?)" : NULL);
    }
    check_lab_copies(root);
    if (!lab_only)
        check_builds(root, cc, wrap);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed > 0 ? 1 : 0;
}
