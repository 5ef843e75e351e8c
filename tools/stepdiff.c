/*
 * stepdiff.c - build/stepdiff.exe: how far neighbouring steps have drifted.
 *
 *   stepdiff.exe                  the neighbour diffs of the echo steps
 *   stepdiff.exe --shared A B     functions A and B both define must match
 *
 * The echo steps share one skeleton, so that `diff 03_nonblocking/server.c
 * 04_select/server.c` shows the model and nothing else. Without arguments
 * this prints, for every pair of neighbouring NN_name/server.c (found in
 * the current folder), the lines a diff shows and, of those, the comment
 * lines that only re-wrap the same words and the lines that changed only
 * in white space. A re-wrap is drift and should be zero; a change of white
 * space is drift too, unless the model moved the code into a block of its
 * own (a loop that 05 adds around 04's recv, say). Renames and reordered
 * functions cannot be told from model change by a program: read the diff.
 * The report is for people; the exit status is 0 unless a file is missing.
 *
 * With --shared, every function that both files define (same name) must
 * have the same body, from its opening brace to its closing one (the
 * line that declares it may differ: static and inline in lab.h, external
 * in a program of several files). This is how 10_game_server/common.c is
 * held to tools/lab.h; the few functions it keeps in a version of its own
 * are listed below, each with the reason. Exit status 1 on a difference.
 *
 * The diff is a longest-common-subsequence over whole lines, the same
 * edit script `diff` prints for these files.
 */
#include <windows.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Functions that common.c (the game server) defines on purpose in a
 * version of its own: the --shared check skips them. */
static const struct {
    const char *name;
    const char *why;
} own_version[] = {
    {"lab_listen", "the game's listener is always overlapped (AcceptEx) and takes its options"},
    {"lab_on_stop", "the game server has no wake-up callback: its threads wait on the event"},
    {"lab_stopping", "the same test, on the game server's own stop flag"},
};

struct text {
    char *data;    /* the file, its line ends replaced by NULs */
    char **line;   /* the lines */
    size_t nlines;
};

static int read_lines(const char *path, struct text *t)
{
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    LARGE_INTEGER size;
    DWORD got = 0;
    size_t cap = 0;
    memset(t, 0, sizeof *t);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    if (GetFileSizeEx(h, &size) && size.QuadPart < (16 << 20)) {
        t->data = (char *)malloc((size_t)size.QuadPart + 1);
        if (t->data != NULL && (!ReadFile(h, t->data, (DWORD)size.QuadPart, &got, NULL) ||
                                (LONGLONG)got != size.QuadPart)) {
            free(t->data);
            t->data = NULL;
        }
    }
    CloseHandle(h);
    if (t->data == NULL)
        return 0;
    t->data[got] = '\0';
    for (char *p = t->data; *p != '\0';) {
        char *end = strchr(p, '\n');
        if (t->nlines == cap) {
            char **more;
            cap = cap ? cap * 2 : 256;
            more = (char **)realloc(t->line, cap * sizeof *more);
            if (more == NULL)
                return 0;
            t->line = more;
        }
        t->line[t->nlines++] = p;
        if (end == NULL)
            break;
        *end = '\0';
        if (end > p && end[-1] == '\r')
            end[-1] = '\0';
        p = end + 1;
    }
    return 1;
}

static void free_lines(struct text *t)
{
    free(t->data);
    free(t->line);
}

/* ------------------------------------------------------------------------
 * Neighbour diffs
 * --------------------------------------------------------------------- */

/* A line that holds only (part of) a comment: what a re-wrap moves. */
static int is_comment(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return (s[0] == '/' && (s[1] == '*' || s[1] == '/')) || s[0] == '*';
}

/* Appends the words of a comment line, without its comment marks, to
 * `words` (one space between words). */
static void add_words(const char *s, char **words, size_t *len, size_t *cap)
{
    while (*s != '\0') {
        const char *w;
        size_t n;
        while (*s == ' ' || *s == '\t')
            s++;
        w = s;
        while (*s != '\0' && *s != ' ' && *s != '\t')
            s++;
        n = (size_t)(s - w);
        if (n == 0 || (n == 2 && (memcmp(w, "/*", 2) == 0 || memcmp(w, "*/", 2) == 0 ||
                                  memcmp(w, "//", 2) == 0)) ||
            (n == 1 && *w == '*'))
            continue;
        if (*len + n + 2 > *cap) {
            char *more;
            *cap = (*len + n + 2) * 2;
            more = (char *)realloc(*words, *cap);
            if (more == NULL)
                exit(3);
            *words = more;
        }
        if (*len > 0)
            (*words)[(*len)++] = ' ';
        memcpy(*words + *len, w, n);
        *len += n;
        (*words)[*len] = '\0';
    }
}

/* One hunk of the diff: lines a[a0..a1) became b[b0..b1). Its comment
 * lines are a re-wrap when both sides have some and they carry the same
 * words. Returns how many lines (both sides) that is. */
static size_t rewrapped(const struct text *a, size_t a0, size_t a1, const struct text *b,
                        size_t b0, size_t b1)
{
    char *wa = NULL, *wb = NULL;
    size_t la = 0, ca = 0, lb = 0, cb = 0, na = 0, nb = 0, out = 0;
    for (size_t i = a0; i < a1; i++)
        if (is_comment(a->line[i])) {
            add_words(a->line[i], &wa, &la, &ca);
            na++;
        }
    for (size_t j = b0; j < b1; j++)
        if (is_comment(b->line[j])) {
            add_words(b->line[j], &wb, &lb, &cb);
            nb++;
        }
    if (na > 0 && nb > 0 && la > 0 && la == lb && memcmp(wa, wb, la) == 0)
        out = na + nb;
    free(wa);
    free(wb);
    return out;
}

/* Do two lines differ only in spaces and tabs (re-indented, re-spaced)? */
static int same_but_space(const char *x, const char *y)
{
    for (;;) {
        while (*x == ' ' || *x == '\t')
            x++;
        while (*y == ' ' || *y == '\t')
            y++;
        if (*x != *y)
            return 0;
        if (*x == '\0')
            return 1;
        x++;
        y++;
    }
}

/* In one hunk: lines removed that come back changed only in white space,
 * each paired with one added line. Returns how many lines (both sides). */
static size_t respaced(const struct text *a, size_t a0, size_t a1, const struct text *b,
                       size_t b0, size_t b1)
{
    size_t out = 0;
    unsigned char used[4096];
    if (b1 - b0 > sizeof used)
        return 0;
    memset(used, 0, b1 - b0);
    for (size_t i = a0; i < a1; i++)
        for (size_t j = b0; j < b1; j++)
            if (!used[j - b0] && a->line[i][0] != '\0' && same_but_space(a->line[i], b->line[j])) {
                used[j - b0] = 1;
                out += 2;
                break;
            }
    return out;
}

/* Lines changed (removed plus added), comment re-wrap lines, and lines
 * that changed only in white space. */
static void diff_counts(const struct text *a, const struct text *b, size_t *changed,
                        size_t *rewrap, size_t *space)
{
    size_t n = a->nlines, m = b->nlines, i = 0, j = 0;
    /* lcs[i][j]: length of the common subsequence of a[i..] and b[j..] */
    unsigned *lcs = (unsigned *)calloc((n + 1) * (m + 1), sizeof *lcs);
    if (lcs == NULL)
        exit(3);
#define LCS(i, j) lcs[(i) * (m + 1) + (j)]
    for (size_t x = n; x-- > 0;)
        for (size_t y = m; y-- > 0;)
            LCS(x, y) = strcmp(a->line[x], b->line[y]) == 0
                            ? LCS(x + 1, y + 1) + 1
                            : (LCS(x + 1, y) > LCS(x, y + 1) ? LCS(x + 1, y) : LCS(x, y + 1));
    *changed = *rewrap = *space = 0;
    while (i < n || j < m) {
        size_t i0 = i, j0 = j;
        /* a hunk: everything up to the next line the two have in common */
        while ((i < n || j < m) && !(i < n && j < m && strcmp(a->line[i], b->line[j]) == 0 &&
                                     LCS(i, j) == LCS(i + 1, j + 1) + 1)) {
            if (j >= m || (i < n && LCS(i + 1, j) >= LCS(i, j + 1)))
                i++;
            else
                j++;
        }
        *changed += (i - i0) + (j - j0);
        *rewrap += rewrapped(a, i0, i, b, j0, j);
        *space += respaced(a, i0, i, b, j0, j);
        if (i < n && j < m) {
            i++;
            j++;
        }
    }
#undef LCS
    free(lcs);
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static int neighbour_diffs(void)
{
    WIN32_FIND_DATAA fd;
    HANDLE f = FindFirstFileA("*", &fd);
    char *step[32];
    size_t nsteps = 0, total_changed = 0, total_rewrap = 0, total_space = 0;
    if (f != INVALID_HANDLE_VALUE) {
        do {
            const char *s = fd.cFileName;
            char path[MAX_PATH];
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
                !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != '_' ||
                nsteps == sizeof step / sizeof step[0])
                continue;
            snprintf(path, sizeof path, "%s/server.c", s);
            if (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES)
                continue; /* not a one-file echo step (10_game_server) */
            step[nsteps] = _strdup(s);
            if (step[nsteps] != NULL)
                nsteps++;
        } while (FindNextFileA(f, &fd));
        FindClose(f);
    }
    if (nsteps < 2) {
        fprintf(stderr, "stepdiff: no NN_name/server.c here; run it from the repository root\n");
        return 2;
    }
    qsort(step, nsteps, sizeof step[0], cmp_names);
    printf("%-48s %8s %17s %12s\n", "neighbour diff (server.c)", "changed", "comment re-wraps",
           "white space");
    for (size_t k = 0; k + 1 < nsteps; k++) {
        struct text a, b;
        char pa[MAX_PATH], pb[MAX_PATH], pair[96];
        size_t changed, rewrap, space;
        snprintf(pa, sizeof pa, "%s/server.c", step[k]);
        snprintf(pb, sizeof pb, "%s/server.c", step[k + 1]);
        if (!read_lines(pa, &a) || !read_lines(pb, &b)) {
            fprintf(stderr, "stepdiff: cannot read %s or %s\n", pa, pb);
            return 2;
        }
        diff_counts(&a, &b, &changed, &rewrap, &space);
        snprintf(pair, sizeof pair, "%s - %s", step[k], step[k + 1]);
        printf("%-48s %8zu %17zu %12zu\n", pair, changed, rewrap, space);
        total_changed += changed;
        total_rewrap += rewrap;
        total_space += space;
        free_lines(&a);
        free_lines(&b);
    }
    printf("%-48s %8zu %17zu %12zu\n", "total", total_changed, total_rewrap, total_space);
    for (size_t k = 0; k < nsteps; k++)
        free(step[k]);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------------
 * Shared functions
 * --------------------------------------------------------------------- */

/* If line k opens a function definition at the left margin ("type
 * name(args)" with its body's "{" alone on a later line), returns the
 * name's length and sets *name; else 0. */
static size_t function_at(const struct text *t, size_t k, const char **name)
{
    const char *s = t->line[k], *paren = strchr(s, '('), *e;
    size_t len = strlen(s);
    if (paren == NULL || !(isalpha((unsigned char)s[0]) || s[0] == '_') || s[len - 1] == ';' ||
        strncmp(s, "typedef", 7) == 0 || strchr(s, '=') != NULL)
        return 0;
    e = paren;
    while (e > s && (isalnum((unsigned char)e[-1]) || e[-1] == '_'))
        e--;
    if (e == paren)
        return 0;
    /* the declaration may run over a few lines; then "{" alone */
    for (size_t j = k; j < t->nlines && j < k + 4; j++) {
        if (strcmp(t->line[j], "{") == 0) {
            *name = e;
            return (size_t)(paren - e);
        }
        if (strchr(t->line[j], ';') != NULL)
            return 0;
    }
    return 0;
}

/* The body of the function whose declaration starts at line k: the lines
 * from "{" to "}" at the left margin, joined into one string (free it). */
static char *body_of(const struct text *t, size_t k)
{
    size_t start = k, len = 0;
    char *out;
    while (strcmp(t->line[start], "{") != 0)
        start++;
    for (size_t j = start; j < t->nlines; j++) {
        len += strlen(t->line[j]) + 1;
        if (strcmp(t->line[j], "}") == 0)
            break;
    }
    out = (char *)malloc(len + 1);
    if (out == NULL)
        exit(3);
    out[0] = '\0';
    for (size_t j = start, at = 0; j < t->nlines; j++) {
        size_t n = strlen(t->line[j]);
        memcpy(out + at, t->line[j], n);
        at += n;
        out[at++] = '\n';
        out[at] = '\0';
        if (strcmp(t->line[j], "}") == 0)
            break;
    }
    return out;
}

static int is_own_version(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof own_version / sizeof own_version[0]; i++)
        if (strlen(own_version[i].name) == len && memcmp(own_version[i].name, name, len) == 0)
            return 1;
    return 0;
}

static int shared_functions(const char *pa, const char *pb)
{
    struct text a, b;
    int same = 0, differ = 0;
    if (!read_lines(pa, &a) || !read_lines(pb, &b)) {
        fprintf(stderr, "stepdiff: cannot read %s or %s\n", pa, pb);
        return 2;
    }
    for (size_t i = 0; i < a.nlines; i++) {
        const char *na, *nb;
        size_t la = function_at(&a, i, &na);
        if (la == 0 || is_own_version(na, la))
            continue;
        for (size_t j = 0; j < b.nlines; j++) {
            size_t lb = function_at(&b, j, &nb);
            char *ba, *bb;
            if (lb != la || memcmp(na, nb, la) != 0)
                continue;
            ba = body_of(&a, i);
            bb = body_of(&b, j);
            if (strcmp(ba, bb) == 0) {
                same++;
            } else {
                printf("%s (line %zu) differs from %s (line %zu): %.*s\n", pb, j + 1, pa, i + 1,
                       (int)la, na);
                differ++;
            }
            free(ba);
            free(bb);
            break;
        }
    }
    printf("%s and %s: %d shared functions the same, %d different, %d kept apart on purpose\n",
           pa, pb, same, differ, (int)(sizeof own_version / sizeof own_version[0]));
    fflush(stdout);
    free_lines(&a);
    free_lines(&b);
    return differ ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return neighbour_diffs();
    if (argc == 4 && strcmp(argv[1], "--shared") == 0)
        return shared_functions(argv[2], argv[3]);
    fprintf(argc == 2 && strcmp(argv[1], "-h") == 0 ? stdout : stderr,
            "usage: stepdiff.exe               neighbour diffs of NN_name/server.c\n"
            "       stepdiff.exe --shared A B  functions A and B both define must match\n");
    return argc == 2 && strcmp(argv[1], "-h") == 0 ? 0 : 2;
}
