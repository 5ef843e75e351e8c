/*
 * handout.c - build/handout.exe: turns a reference step into an assignment.
 *
 *   handout.exe STEP OUTDIR
 *
 * Copies the step's folder (STEP is a step name such as 04_select, found
 * next to the build folder, or a path to a folder) to OUTDIR/STEP, and in
 * every .c and .h file replaces each solution region by a TODO comment
 * that says what to write. A region is marked by a pair of comment lines,
 * the one marker style of the whole lab:
 *
 *     /+ SOLUTION BEGIN: what the student writes; the comment may go on
 *      + over more lines, as any comment +/
 *     ... the reference code ...
 *     /+ SOLUTION END +/                  or
 *     /+ SOLUTION END: return 0; +/       (code the handout keeps instead,
 *                                          so that it still compiles)
 *
 * (with '*' where this comment shows '+'). The handout compiles without
 * warnings and fails the step's tests until the student fills the regions
 * in. Markers must pair up, one region at a time; anything else is an
 * error, reported with the file and line, and nothing is written for it.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN_TAG "/* SOLUTION BEGIN:"
#define END_TAG "/* SOLUTION END"

static void usage(FILE *f)
{
    fprintf(f, "usage: handout.exe STEP OUTDIR\n"
               "  Copies the step folder STEP (a name such as 04_select, or a path) to\n"
               "  OUTDIR/STEP with every solution region replaced by a TODO comment.\n");
    fflush(f);
}

/* Reads a whole file. Returns a NUL-terminated buffer (free it) or NULL. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = NULL;
    char *buf;
    long size;
    if (fopen_s(&f, path, "rb") != 0 || f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)(size < 0 ? 0 : size) + 1);
    if (buf == NULL || size < 0 || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[size] = '\0';
    *len = (size_t)size;
    return buf;
}

static int write_all(const char *path, const char *data, size_t len)
{
    FILE *f = NULL;
    if (fopen_s(&f, path, "wb") != 0 || f == NULL)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok ? 0 : -1;
}

/* Does [p, end) contain the string s? */
static int memmem_str(const char *p, const char *end, const char *s)
{
    size_t n = strlen(s);
    for (; p + n <= end; p++)
        if (memcmp(p, s, n) == 0)
            return 1;
    return 0;
}

/* The text after a tag up to its closing star-slash, trimmed. */
static void tag_text(const char *after, const char *line_end, char *out, size_t size)
{
    const char *close = strstr(after, "*/");
    if (close == NULL || close > line_end)
        close = line_end;
    while (after < close && (*after == ' ' || *after == ':'))
        after++;
    while (close > after && close[-1] == ' ')
        close--;
    size_t n = (size_t)(close - after);
    if (n >= size)
        n = size - 1;
    memcpy(out, after, n);
    out[n] = '\0';
}

/* Replaces the regions of one source text. Returns the new text (free it)
 * or NULL after printing the error; *regions counts what was replaced. */
static char *strip(const char *name, const char *src, size_t len, int *regions)
{
    char *out = malloc(len + 2), *o = out;
    char indent[128] = "";
    const char *p = src, *end = src + len;
    int in_region = 0, in_begin = 0, lineno = 0, begin_line = 0;
    char todo[4096] = "";
    size_t todo_len = 0;
    *regions = 0;
    if (out == NULL)
        return NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        const char *t = p;
        lineno++;
        while (t < line_end && (*t == ' ' || *t == '\t'))
            t++;
        size_t rest = (size_t)(line_end - t);
        int is_begin = rest >= strlen(BEGIN_TAG) && strncmp(t, BEGIN_TAG, strlen(BEGIN_TAG)) == 0;
        int is_end = rest >= strlen(END_TAG) && strncmp(t, END_TAG, strlen(END_TAG)) == 0;
        if (in_begin) {
            /* a line of a BEGIN comment that goes on over several lines */
            size_t n = (size_t)(next - p);
            if (todo_len + n < sizeof todo) {
                memcpy(todo + todo_len, p, n);
                todo_len += n;
            }
            if (memmem_str(p, line_end, "*/"))
                in_begin = 0;
        } else if (is_begin) {
            if (in_region) {
                fprintf(stderr, "handout: %s:%d: SOLUTION BEGIN inside the region opened at line %d\n", name,
                        lineno, begin_line);
                free(out);
                return NULL;
            }
            in_region = 1;
            begin_line = lineno;
            /* The handout keeps the comment, lines and all, with
             * "SOLUTION BEGIN:" turned into "TODO:". */
            size_t ind = (size_t)(t - p);
            todo_len = 0;
            memcpy(todo, p, ind);
            todo_len = ind;
            todo_len += (size_t)snprintf(todo + todo_len, sizeof todo - todo_len, "/* TODO:");
            size_t n = (size_t)(next - (t + strlen(BEGIN_TAG)));
            if (todo_len + n < sizeof todo) {
                memcpy(todo + todo_len, t + strlen(BEGIN_TAG), n);
                todo_len += n;
            }
            if (!memmem_str(t + strlen(BEGIN_TAG), line_end, "*/"))
                in_begin = 1;
            size_t k = ind < sizeof indent - 1 ? ind : sizeof indent - 1;
            memcpy(indent, p, k);
            indent[k] = '\0';
        } else if (is_end) {
            char keep[512];
            if (!in_region) {
                fprintf(stderr, "handout: %s:%d: SOLUTION END without a BEGIN\n", name, lineno);
                free(out);
                return NULL;
            }
            in_region = 0;
            (*regions)++;
            tag_text(t + strlen(END_TAG), line_end, keep, sizeof keep);
            memcpy(o, todo, todo_len);
            o += todo_len;
            if (todo_len > 0 && o[-1] != '\n')
                *o++ = '\n';
            if (keep[0] != '\0')
                o += sprintf_s(o, len + 1 - (size_t)(o - out), "%s%s\n", indent, keep);
        } else if (!in_region) {
            memcpy(o, p, (size_t)(next - p));
            o += next - p;
        }
        p = next;
    }
    if (in_region || in_begin) {
        fprintf(stderr, "handout: %s:%d: SOLUTION BEGIN never ended\n", name, begin_line);
        free(out);
        return NULL;
    }
    *o = '\0';
    return out;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && _stricmp(s + a - b, suffix) == 0;
}

int main(int argc, char **argv)
{
    char src_dir[MAX_PATH], out_dir[MAX_PATH], pattern[MAX_PATH];
    const char *step;
    WIN32_FIND_DATAA fd;
    HANDLE h;
    int total = 0, failed = 0;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 3) {
        usage(stderr);
        return 2;
    }
    /* STEP: a folder as given, or a step name next to the build folder */
    DWORD attr = GetFileAttributesA(argv[1]);
    if (attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY)) {
        snprintf(src_dir, sizeof src_dir, "%s", argv[1]);
    } else {
        char exe[MAX_PATH];
        DWORD n = GetModuleFileNameA(NULL, exe, (DWORD)sizeof exe);
        char *slash = NULL;
        for (DWORD i = 0; i < n; i++)
            if (exe[i] == '\\' || exe[i] == '/')
                slash = exe + i;
        if (slash != NULL)
            *slash = '\0';
        snprintf(src_dir, sizeof src_dir, "%s/../%s", exe, argv[1]);
        attr = GetFileAttributesA(src_dir);
        if (attr == INVALID_FILE_ATTRIBUTES || !(attr & FILE_ATTRIBUTE_DIRECTORY)) {
            fprintf(stderr, "handout: no step folder %s (nor %s)\n", argv[1], src_dir);
            return 1;
        }
    }
    step = argv[1];
    for (const char *q = argv[1]; *q; q++)
        if ((*q == '/' || *q == '\\') && q[1] != '\0')
            step = q + 1;
    snprintf(out_dir, sizeof out_dir, "%s/%s", argv[2], step);
    for (char *q = out_dir + strlen(out_dir); q > out_dir && (q[-1] == '/' || q[-1] == '\\'); q--)
        q[-1] = '\0';
    CreateDirectoryA(argv[2], NULL); /* either may exist already */
    if (!CreateDirectoryA(out_dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
        fprintf(stderr, "handout: cannot create %s (error %lu)\n", out_dir, GetLastError());
        return 1;
    }

    snprintf(pattern, sizeof pattern, "%s/*", src_dir);
    h = FindFirstFileA(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "handout: cannot list %s\n", src_dir);
        return 1;
    }
    do {
        char from[MAX_PATH], to[MAX_PATH];
        size_t len;
        int regions = 0;
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            continue;
        snprintf(from, sizeof from, "%s/%s", src_dir, fd.cFileName);
        snprintf(to, sizeof to, "%s/%s", out_dir, fd.cFileName);
        char *text = read_all(from, &len);
        if (text == NULL) {
            fprintf(stderr, "handout: cannot read %s\n", from);
            failed = 1;
            continue;
        }
        char *result = text;
        if (ends_with(fd.cFileName, ".c") || ends_with(fd.cFileName, ".h")) {
            result = strip(from, text, len, &regions);
            if (result == NULL) {
                failed = 1;
                free(text);
                continue;
            }
            len = strlen(result);
            total += regions;
        }
        if (write_all(to, result, len) != 0) {
            fprintf(stderr, "handout: cannot write %s\n", to);
            failed = 1;
        } else if (regions > 0) {
            printf("handout: %s: %d solution region%s replaced\n", fd.cFileName, regions, regions == 1 ? "" : "s");
        }
        if (result != text)
            free(result);
        free(text);
    } while (FindNextFileA(h, &fd));
    FindClose(h);

    if (failed)
        return 1;
    if (total == 0) {
        fprintf(stderr, "handout: %s has no solution regions: nothing to hand out\n", src_dir);
        return 1;
    }
    printf("handout: wrote %s (%d regions to fill in)\n", out_dir, total);
    fflush(stdout);
    return 0;
}
