/*
 * handout.c - build/handout.exe: turns a reference step into an assignment.
 *
 *   handout.exe [--level guided|open] STEP OUTDIR
 *   handout.exe --variant FILE STEP OUTDIR
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
 *     /+ SOLUTION END: (void)wr;          (a stub of several lines: one line
 *      + conn_fail(c, ...); +/             of code per comment line)
 *
 * (with '*' where this comment shows '+'). The handout compiles without
 * warnings and fails the step's tests until the student fills the regions
 * in. Markers must pair up, one region at a time; anything else is an
 * error, reported with the file and line, and nothing is written for it.
 *
 * A handout stands alone. Beside server.c and lab.h it gets:
 *   README.md, README.ko.md  the assignment's text for the student, from
 *                            docs/assignments/STEP.md and
 *                            docs/ko/assignments/STEP.md (the step's own
 *                            README explains the solution: it stays home)
 *   client.exe, run_tests.exe  the built tools, from this program's folder
 *   check.sh, check.cmd      build server.c and run the step's tests on it
 * A step without an assignment text (10) keeps its own READMEs.
 * A homework (`homeworks` below: 08_board, the board of
 * 08_overlapped_callback/board/) is handed out the same way, under its
 * name, with docs/assignments/NAME.md and its driver profile (hw3).
 *
 * Levels. guided (the default): the regions above. open: the model's whole
 * part is the student's: the bodies of the functions that `open_level`
 * below names are replaced by a TODO and a stub, the rest (lab.h, the
 * connection bookkeeping, accepting, main) stays. A body is found by the
 * house style: the function's line at column 0, then a line "{" and, at
 * its end, a line "}". The stubs fail every connection (WSAEOPNOTSUPP), so
 * a handout at either level fails the step's tests.
 *
 * --variant writes OUTDIR/STEP: the reference with one planted bug, for
 * testing the grading (tests/grading/). FILE holds hunks: lines "- text"
 * (the reference's lines, exactly, in a row) followed by lines "+ text"
 * (what replaces them); lines starting with '#' are comments.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN_TAG "/* SOLUTION BEGIN:"
#define END_TAG "/* SOLUTION END"

static void usage(FILE *f)
{
    fprintf(f, "usage: handout.exe [--level guided|open] STEP OUTDIR\n"
               "       handout.exe --variant FILE STEP OUTDIR\n"
               "  Copies the step folder STEP (a name such as 04_select, or a path) to\n"
               "  OUTDIR/STEP with every solution region replaced by a TODO comment\n"
               "  (open: the model's functions too), with the assignment's text, the\n"
               "  built client.exe and run_tests.exe, check.sh and check.cmd.\n"
               "  --variant: the reference with the bug FILE describes (grading tests).\n");
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
    int in_region = 0, in_begin = 0, in_end = 0, lineno = 0, begin_line = 0;
    char todo[4096] = "";
    size_t todo_len = 0;
    *regions = 0;
    if (out == NULL) {
        fprintf(stderr, "handout: %s: out of memory\n", name);
        return NULL;
    }
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
        if (in_end) {
            /* an END comment that goes on: each line is one more line of
             * the stub, after its " * " */
            const char *q = t, *stop = line_end;
            char keep[512];
            if (q < line_end && *q == '*' && (q + 1 >= line_end || q[1] != '/'))
                q++;
            if (memmem_str(q, line_end, "*/")) {
                in_end = 0;
                stop = strstr(q, "*/");
            }
            tag_text(q, stop, keep, sizeof keep);
            if (keep[0] != '\0')
                o += sprintf_s(o, len + 1 - (size_t)(o - out), "%s%s\n", indent, keep);
        } else if (in_begin) {
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
                fprintf(stderr,
                        "handout: %s:%d: SOLUTION BEGIN inside the region opened at line %d\n",
                        name, lineno, begin_line);
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
            in_end = !memmem_str(t + strlen(END_TAG), line_end, "*/");
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
    if (in_region || in_begin || in_end) {
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

/* ------------------------------------------------------------------------
 * The open level: per step, the functions whose bodies the student writes
 * --------------------------------------------------------------------- */

struct open_fn {
    const char *step, *fn;
    const char *todo; /* what the body does: the specification */
    const char *stub; /* lines (separated by \n) that keep it compiling and failing */
};

#define FAIL_CONN(name) "conn_fail(c, \"" name " (a TODO)\", WSAEOPNOTSUPP);"

static const struct open_fn open_level[] = {
    {"01_blocking", "serve",
     "Serve the client until it leaves: recv() into c->buf, send everything that arrived back "
     "with send_all(); recv() returning 0 ends the connection (conn_free), an error too "
     "(conn_fail with the call and WSAGetLastError()).",
     FAIL_CONN("serve")},
    {"02_thread_per_client", "send_all",
     "Send all n bytes of p on c->s: send() may take less than asked, so loop; count what went "
     "out in c->echoed and lab_count_echoed(). Return 0, or the WSA error of a failed send().",
     "(void)c;\n(void)p;\n(void)n;\nreturn WSAEOPNOTSUPP;"},
    {"02_thread_per_client", "serve",
     "Serve the client until it leaves: recv() into c->buf and send back what arrived with "
     "send_all(); recv() returning 0 ends it (conn_free), an error too (conn_fail).",
     "(void)&send_all;\n" FAIL_CONN("serve")},
    {"03_nonblocking", "on_readable",
     "Try recv() into c->buf: WSAEWOULDBLOCK means nothing yet (return), 0 means the client "
     "closed (conn_free), another error conn_fail; else keep len = n, off = 0 (bytes owed).",
     FAIL_CONN("on_readable")},
    {"03_nonblocking", "on_writable",
     "Try send() of buf[off..len): WSAEWOULDBLOCK means no room yet (return), another error "
     "conn_fail; else advance off, count the bytes (c->echoed, lab_count_echoed), and once all "
     "is out set len = off = 0.",
     FAIL_CONN("on_writable")},
    {"03_nonblocking", "sweep",
     "One pass over every connection (backwards: conn_free moves the last one into the freed "
     "slot): on_writable(c) while it owes bytes, else on_readable(c); then accept_new().",
     "(void)&on_writable;\nfor (size_t i = nconns; i-- > 0;)\n    on_readable(conns[i]);\n"
     "accept_new();"},
    {"04_select", "on_readable",
     "recv() into c->buf: WSAEWOULDBLOCK is not an error (return), 0 means the client closed "
     "(conn_free), another error conn_fail; else len = n, off = 0: the echo is owed.",
     FAIL_CONN("on_readable")},
    {"04_select", "on_writable",
     "send() buf[off..len): it may take less than asked; advance off, count the bytes "
     "(c->echoed, lab_count_echoed), and once all is out set len = off = 0 (read again).",
     FAIL_CONN("on_writable")},
    {"04_select", "build_sets",
     "Build this round's sets (select() overwrote the last ones): empty both, the listener "
     "always in rd, each connection in exactly one set: wr while it owes bytes, rd otherwise.",
     "FD_ZERO(rd);\nFD_ZERO(wr);\nFD_SET(listener, rd);"},
    {"04_select", "serve_ready",
     "Serve what select() left in the sets: each connection (backwards, as conn_free moves the "
     "last one) with on_readable() if it is in rd, on_writable() if in wr (FD_ISSET); then "
     "accept_new() if the listener is in rd. The stub closes every connection.",
     "(void)wr;\n(void)&on_readable;\n(void)&on_writable;\nif (FD_ISSET(listener, rd))\n"
     "    accept_new();\nwhile (nconns > 0)\n"
     "    conn_fail(conns[nconns - 1], \"serve_ready (a TODO)\", WSAEOPNOTSUPP);"},
    {"05_wsaasyncselect", "on_readable",
     "recv() into c->buf (WSAEWOULDBLOCK: a stale FD_READ, return; 0: closed, conn_free; "
     "another error: conn_fail); keep what arrived as owed and send it with on_writable().",
     FAIL_CONN("on_readable")},
    {"05_wsaasyncselect", "on_writable",
     "Send buf[off..len) until all is out (return 1: read again) or send() fails: "
     "WSAEWOULDBLOCK waits for FD_WRITE (return 0), another error conn_fail (return 0).",
     FAIL_CONN("on_writable") "\nreturn 0;"},
    {"05_wsaasyncselect", "on_conn_event",
     "Find the connection of s (conn_find; none: a message for a closed socket) and act on "
     "the one event: FD_READ, FD_WRITE (pay what is owed, then read what waited) and FD_CLOSE "
     "(peer_closed, pay, then read until recv() returns 0).",
     "struct conn *c = conn_find(s);\n(void)event;\n(void)&on_readable;\n(void)&on_writable;\n"
     "if (c != NULL)\n    " FAIL_CONN("on_conn_event")},
    {"06_wsaeventselect", "on_writable",
     "Send buf[off..len) until all is out (return 1) or send() fails: WSAEWOULDBLOCK waits for "
     "FD_WRITE (return 0), another error conn_fail (return 0).",
     FAIL_CONN("on_writable") "\nreturn 0;"},
    {"06_wsaeventselect", "on_readable",
     "recv() into c->buf (WSAEWOULDBLOCK: return; 0: closed; another error: conn_fail); the "
     "echo is then owed: on_writable(c).",
     FAIL_CONN("on_readable")},
    {"06_wsaeventselect", "on_events",
     "Read and reset c's events (WSAEnumNetworkEvents with c->ev); fail on an error code of "
     "FD_READ, FD_WRITE or FD_CLOSE; FD_CLOSE sets peer_closed; pay what is owed on FD_WRITE "
     "or FD_CLOSE, and read on FD_READ or FD_CLOSE once nothing is owed.",
     "(void)&on_readable;\n(void)&on_writable;\n" FAIL_CONN("on_events")},
    {"07_overlapped_event", "post_recv",
     "Keep op_prepare(); point op->wb at c->buf, count it in c->pending and post an "
     "overlapped WSARecv (flags initialised); WSA_IO_PENDING is success, another failure: undo "
     "the count and return the error; else 0.",
     "op_prepare(c, &c->recv_op, OP_RECV);\nreturn WSAEOPNOTSUPP;"},
    {"07_overlapped_event", "post_send",
     "Keep op_prepare(); point op->wb at buf[off..len), count it in c->pending and post an "
     "overlapped WSASend; WSA_IO_PENDING is success, another failure: undo the count and "
     "return the error; else 0.",
     "op_prepare(c, &c->send_op, OP_SEND);\nreturn WSAEOPNOTSUPP;"},
    {"07_overlapped_event", "on_recv_done",
     "A receive is over: fail on err, close on 0 bytes, else keep len = bytes, off = 0 and "
     "post_send() the echo (conn_fail if that fails).",
     "(void)err;\n(void)bytes;\n(void)&post_send;\n" FAIL_CONN("on_recv_done")},
    {"07_overlapped_event", "on_send_done",
     "A send is over: fail on err; advance off (a send may take less); post_send() the rest, "
     "or once all is out post_recv() the next receive (conn_fail if a post fails).",
     "(void)err;\n(void)bytes;\n" FAIL_CONN("on_send_done")},
    {"08_overlapped_callback", "post_recv",
     "Point op->wb at c->buf, count the operation in c->pending and post an overlapped "
     "WSARecv with on_io_done as its completion routine; WSA_IO_PENDING is success, another "
     "failure: undo the count and return the error; else 0.",
     "(void)c;\n(void)&on_io_done;\nreturn WSAEOPNOTSUPP;"},
    {"08_overlapped_callback", "post_send",
     "Point op->wb at buf[off..len), count it in c->pending and post an overlapped WSASend "
     "with on_io_done; WSA_IO_PENDING is success, another failure: undo the count and return "
     "the error; else 0.",
     "(void)c;\nreturn WSAEOPNOTSUPP;"},
    {"08_overlapped_callback", "on_recv_done",
     "A receive is over: fail on err, close on 0 bytes, else keep len = bytes, off = 0 and "
     "queue the echo with post_later(c, OP_SEND) (the main loop posts it: see post_later).",
     "(void)err;\n(void)bytes;\n(void)&post_later;\n" FAIL_CONN("on_recv_done")},
    {"08_overlapped_callback", "on_send_done",
     "A send is over: fail on err; advance off, count the bytes; queue the rest with "
     "post_later(c, OP_SEND), or once all is out the next receive (OP_RECV).",
     "(void)err;\n(void)bytes;\n" FAIL_CONN("on_send_done")},
    {"09_iocp", "post_recv",
     "Point op->wb at c->buf; holding c->lock and only while c->s is open, count the operation "
     "in c->pending and post an overlapped WSARecv (flags initialised); WSA_IO_PENDING is "
     "success, another failure: undo the count and return the error; else 0.",
     "(void)c;\nreturn WSAEOPNOTSUPP;"},
    {"09_iocp", "post_send",
     "Point op->wb at buf[off..len); holding c->lock and only while c->s is open, count it in "
     "c->pending and post an overlapped WSASend; WSA_IO_PENDING is success, another failure: "
     "undo the count and return the error; else 0.",
     "(void)c;\nreturn WSAEOPNOTSUPP;"},
    {"09_iocp", "on_recv_done",
     "A receive is over: fail on err, close on 0 bytes, else keep len = bytes, off = 0 and "
     "post_send() the echo (conn_fail if that fails).",
     "(void)err;\n(void)bytes;\n(void)&post_send;\n" FAIL_CONN("on_recv_done")},
    {"09_iocp", "on_send_done",
     "A send is over: fail on err; advance off; post_send() the rest, or once all is out "
     "post_recv() the next receive.",
     "(void)err;\n(void)bytes;\n" FAIL_CONN("on_send_done")},
    {"09_iocp", "worker",
     "Loop: GetQueuedCompletionStatus(port, ..., INFINITE); no OVERLAPPED: main's shutdown "
     "packet, or the port failed (log it): return 0; else CONTAINING_RECORD to the io_op and "
     "on_io_done() with 0, or when the call returned FALSE op_error() of GetLastError().",
     "(void)arg;\n(void)&on_io_done;\n(void)&op_error;\nreturn 0;"},
    /* Homework #3, the 8x8 board on completion routines: its guided regions
     * (the packet loop's checks, the logins' SC_ADD_OBJECTs, the move, the
     * leavers' SC_REMOVE_OBJECTs) and the model's functions as in 08. */
    {"08_board", "post_recv",
     "Point c->recv_op at rbuf[rlen..) (what an incomplete packet left stays in front), "
     "count it in c->pending and post an overlapped WSARecv with on_io_done as its "
     "completion routine; WSA_IO_PENDING is success, another failure: undo the count and "
     "return the error; else 0.",
     "(void)c;\n(void)&on_io_done;\nreturn WSAEOPNOTSUPP;"},
    {"08_board", "post_send",
     "Count the send in op->c->pending and post op's WSABUF with WSASend and on_io_done; "
     "WSA_IO_PENDING is success, another failure: undo the count and return the error; "
     "else 0.",
     "(void)op;\nreturn WSAEOPNOTSUPP;"},
    {"08_board", "on_recv_done",
     "A receive is over: fail on err, close on 0 bytes, else add the bytes to c->rlen, take "
     "every whole packet out of rbuf (checked as soon as its first two bytes are there: a "
     "bad one closes the connection after its sends), hand each to on_packet, keep the "
     "incomplete rest at the front and post_later(&c->recv_op).",
     "(void)err;\n(void)bytes;\n(void)&on_packet;\n(void)&cs_size;\n"
     "conn_free(c, \"on_recv_done is a TODO\");"},
    {"08_board", "on_send_done",
     "A send is over: free op; fail on err; count the bytes (lab_count_echoed); a send that "
     "took less than all ends the connection (conn_free); else a connection closing after "
     "its sends (c->closing) is freed once the last one is done (c->sends 0).",
     "struct conn *c = op->c;\nfree(op);\n(void)err;\n(void)bytes;\n"
     FAIL_CONN("on_send_done")},
};
#define N_OPEN (sizeof open_level / sizeof open_level[0])

/* The line at `p` (to `line_end`) defines function `fn`: column 0, the
 * name followed by '(' after a space or '*', no ';'. */
static int defines(const char *p, const char *line_end, const char *fn)
{
    size_t n = strlen(fn);
    if (p >= line_end || *p == ' ' || *p == '\t' || *p == '/' || *p == '*' || *p == '#')
        return 0;
    if (memchr(p, ';', (size_t)(line_end - p)) != NULL)
        return 0;
    for (const char *q = p + 1; q + n < line_end; q++)
        if ((q[-1] == ' ' || q[-1] == '*') && memcmp(q, fn, n) == 0 && q[n] == '(')
            return 1;
    return 0;
}

/* Replaces the body of `fn` in `text` by its TODO and stub. Returns the new
 * text (free it; `text` is freed) or NULL when the function is not found. */
static char *replace_body(char *text, const struct open_fn *o)
{
    char *p = text, *open_brace = NULL, *close_brace = NULL;
    while (*p) {
        char *nl = strchr(p, '\n');
        char *line_end = nl ? nl : p + strlen(p);
        if (defines(p, line_end, o->fn) && nl != NULL && strncmp(nl + 1, "{\n", 2) == 0) {
            open_brace = nl + 1;
            for (char *q = open_brace + 2; *q;
                 q = strchr(q, '\n') ? strchr(q, '\n') + 1 : q + strlen(q))
                if (strncmp(q, "}\n", 2) == 0 || strcmp(q, "}") == 0) {
                    close_brace = q;
                    break;
                }
            break;
        }
        p = nl ? nl + 1 : line_end;
    }
    if (open_brace == NULL || close_brace == NULL)
        return NULL;
    size_t size = strlen(text) + strlen(o->todo) * 2 + strlen(o->stub) * 2 + 256;
    char *out = malloc(size), *w = out;
    if (out == NULL)
        return NULL;
    size_t head = (size_t)(open_brace + 2 - text);
    memcpy(w, text, head);
    w += head;
    /* the TODO, wrapped at 96 columns as a comment block */
    w += snprintf(w, size - (size_t)(w - out), "    /* TODO:");
    size_t col = 12;
    for (const char *t = o->todo; *t;) {
        const char *sp = strchr(t, ' ');
        size_t wl = sp ? (size_t)(sp - t) : strlen(t);
        if (col + 1 + wl > 96) {
            w += snprintf(w, size - (size_t)(w - out), "\n     *");
            col = 6;
        }
        *w++ = ' ';
        memcpy(w, t, wl);
        w += wl;
        col += 1 + wl;
        t += wl;
        while (*t == ' ')
            t++;
    }
    w += snprintf(w, size - (size_t)(w - out), " */\n");
    for (const char *t = o->stub; *t;) {
        const char *e = strchr(t, '\n');
        size_t l = e ? (size_t)(e - t) : strlen(t);
        w += snprintf(w, size - (size_t)(w - out), "    %.*s\n", (int)l, t);
        t += l + (e ? 1 : 0);
    }
    snprintf(w, size - (size_t)(w - out), "%s", close_brace);
    free(text);
    return out;
}

/* ------------------------------------------------------------------------
 * --variant: the reference with a planted bug
 * --------------------------------------------------------------------- */

/* Applies the hunks of `spec` to `text`. Returns the new text (free it;
 * `text` is freed) or NULL after printing the error. */
static char *apply_variant(char *text, const char *spec, const char *spec_name)
{
    const char *p = spec;
    int hunks = 0;
    while (*p) {
        char from[8192] = "", to[8192] = "";
        size_t fl = 0, tl = 0;
        /* a hunk: "- " lines, then "+ " lines */
        while (*p) {
            const char *e = strchr(p, '\n');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l >= 1 && (p[0] == '-' || p[0] == '+')) {
                if (p[0] == '+' && fl == 0)
                    break;
                if (p[0] == '-' && tl > 0)
                    break; /* the next hunk */
                char *dst = p[0] == '-' ? from : to;
                size_t *dl = p[0] == '-' ? &fl : &tl;
                size_t skip = l >= 2 && p[1] == ' ' ? 2 : 1;
                if (*dl + l + 2 < sizeof from) {
                    memcpy(dst + *dl, p + skip, l - skip);
                    *dl += l - skip;
                    dst[(*dl)++] = '\n';
                    dst[*dl] = '\0';
                }
            } else if (fl > 0) {
                break; /* a comment or blank line ends the hunk */
            }
            p = e ? e + 1 : p + l;
        }
        if (fl == 0)
            break;
        char *at = strstr(text, from);
        if (at == NULL) {
            fprintf(stderr, "handout: %s: hunk %d: these lines are not in the reference:\n%s",
                    spec_name, hunks + 1, from);
            free(text);
            return NULL;
        }
        size_t n = strlen(text) - fl + tl + 1;
        char *out = malloc(n);
        if (out == NULL) {
            free(text);
            return NULL;
        }
        snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + fl);
        free(text);
        text = out;
        hunks++;
    }
    if (hunks == 0) {
        fprintf(stderr, "handout: %s: no hunk (lines \"- old\" then \"+ new\")\n", spec_name);
        free(text);
        return NULL;
    }
    return text;
}

/* ------------------------------------------------------------------------
 * The rest of the folder: assignment text, tools, check scripts
 * --------------------------------------------------------------------- */

static int copy_file(const char *from, const char *to)
{
    size_t len;
    char *data = read_all(from, &len);
    int r;
    if (data == NULL)
        return -1;
    r = write_all(to, data, len);
    free(data);
    return r;
}

/* check.sh: Linux (mingw-w64 and Wine) and MSYS2 (mingw-w64). */
static const char check_sh[] =
    "#!/bin/sh\n"
    "# check.sh - builds server.c and runs this step's tests against it.\n"
    "#\n"
    "#   ./check.sh                 every case of the step\n"
    "#   ./check.sh --case echo     one case (a comma-separated list for more)\n"
    "#\n"
    "# Linux: needs mingw-w64 (x86_64-w64-mingw32-gcc) and Wine. MSYS2 (MINGW64\n"
    "# shell): needs mingw-w64-x86_64-gcc. It installs nothing: it says what is\n"
    "# missing. Prints one PASS/FAIL/SKIP line per case and \"N passed, N failed\";\n"
    "# exit status 0 when nothing failed.\n"
    "STEP=@STEP@\n"
    "LIBS=\"@LIBS@\"\n"
    "cd \"$(dirname \"$0\")\" || exit 2\n"
    "case \"$(uname -s)\" in\n"
    "  MINGW*|MSYS*|CYGWIN*) native=1 ;;\n"
    "  *) native=0 ;;\n"
    "esac\n"
    "CC=\n"
    "for c in x86_64-w64-mingw32-gcc gcc; do\n"
    "  [ $native = 0 ] && [ $c = gcc ] && continue  # Linux's own gcc makes no .exe\n"
    "  command -v $c >/dev/null 2>&1 && { CC=$c; break; }\n"
    "done\n"
    "if [ -z \"$CC\" ]; then\n"
    "  echo \"check: no mingw-w64 compiler (x86_64-w64-mingw32-gcc) on PATH. Install it:\"\n"
    "  echo \"  Debian/Ubuntu: sudo apt-get install gcc-mingw-w64-x86-64\"\n"
    "  echo \"  MSYS2 (MINGW64 shell): pacman -S mingw-w64-x86_64-gcc\"\n"
    "  echo \"  (on Windows, check.cmd builds with Visual Studio's cl instead)\"\n"
    "  exit 2\n"
    "fi\n"
    "if [ $native = 0 ] && ! command -v wine >/dev/null 2>&1; then\n"
    "  echo \"check: Wine is needed to run the tests on Linux. Install it:\"\n"
    "  echo \"  Debian/Ubuntu: sudo apt-get install wine64 (or wine)\"\n"
    "  exit 2\n"
    "fi\n"
    "rm -f server.exe\n"
    "echo \"check: $CC -std=c11 -O2 -Wall -Wextra -Werror ... -o server.exe server.c $LIBS\"\n"
    "if ! LC_ALL=C $CC -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN \\\n"
    "     -D_WIN32_WINNT=0x0601 -o server.exe server.c $LIBS; then\n"
    "  echo \"FAIL $STEP build: server.c does not build without warnings (see above)\"\n"
    "  echo \"0 passed, 1 failed\"\n"
    "  exit 1\n"
    "fi\n"
    "if [ $native = 1 ]; then\n"
    "  exec ./run_tests.exe --only $STEP --exe server.exe --quick \"$@\"\n"
    "fi\n"
    "# Wine: quiet, no Mono/Gecko prompts, enough file descriptors (a socket\n"
    "# costs one in the wineserver and one in the process); warmed up with its\n"
    "# output discarded, or its helper services would hold our stdout open.\n"
    "export WINEDEBUG=\"${WINEDEBUG:--all}\"\n"
    "export WINEDLLOVERRIDES=\"${WINEDLLOVERRIDES:-mscoree,mshtml=}\"\n"
    "ulimit -n 65536 2>/dev/null || ulimit -n \"$(ulimit -Hn)\" 2>/dev/null || true\n"
    "wine cmd /c exit >/dev/null 2>&1 </dev/null\n"
    "wine ./run_tests.exe --only $STEP --exe server.exe --quick \"$@\"\n";

/* check.cmd: Windows, with Visual Studio's cl (or a mingw-w64 gcc). */
static const char check_cmd[] =
    "@echo off\r\n"
    "rem check.cmd - builds server.c and runs this step's tests against it.\r\n"
    "rem\r\n"
    "rem   check.cmd                 every case of the step\r\n"
    "rem   check.cmd --case echo     one case (a comma-separated list for more)\r\n"
    "rem\r\n"
    "rem Builds with cl (run it from a \"Developer Command Prompt for VS\"), or\r\n"
    "rem else with a mingw-w64 gcc on PATH. Prints one PASS/FAIL/SKIP line per\r\n"
    "rem case and \"N passed, N failed\"; exit status 0 when nothing failed.\r\n"
    "setlocal\r\n"
    "cd /d \"%~dp0\"\r\n"
    "set STEP=@STEP@\r\n"
    "if exist server.exe del server.exe\r\n"
    "for %%X in (cl.exe) do if not \"%%~$PATH:X\"==\"\" goto cl\r\n"
    "for %%X in (x86_64-w64-mingw32-gcc.exe) do if not \"%%~$PATH:X\"==\"\" goto mingw\r\n"
    "for %%X in (gcc.exe) do if not \"%%~$PATH:X\"==\"\" goto gcc\r\n"
    "echo check: no C compiler found. Open \"x64 Native Tools Command Prompt for VS\"\r\n"
    "echo (Visual Studio, or its Build Tools, with \"Desktop development with C++\"),\r\n"
    "echo cd to this folder and run check.cmd again; or put a mingw-w64 gcc on PATH.\r\n"
    "exit /b 2\r\n"
    ":cl\r\n"
    "echo check: cl /nologo /W4 /WX ... /Feserver.exe server.c @CLLIBS@\r\n"
    "cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 /Feserver.exe server.c "
    "@CLLIBS@\r\n"
    "if errorlevel 1 goto nobuild\r\n"
    "goto run\r\n"
    ":mingw\r\n"
    "set CC=x86_64-w64-mingw32-gcc\r\n"
    "goto gccbuild\r\n"
    ":gcc\r\n"
    "set CC=gcc\r\n"
    ":gccbuild\r\n"
    "echo check: %CC% -std=c11 -O2 -Wall -Wextra -Werror ... -o server.exe server.c @LIBS@\r\n"
    "%CC% -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 "
    "-o server.exe server.c @LIBS@\r\n"
    "if errorlevel 1 goto nobuild\r\n"
    ":run\r\n"
    "run_tests.exe --only %STEP% --exe server.exe --quick %*\r\n"
    "exit /b %errorlevel%\r\n"
    ":nobuild\r\n"
    "echo FAIL %STEP% build: server.c does not build without warnings (see above)\r\n"
    "echo 0 passed, 1 failed\r\n"
    "exit /b 1\r\n";

/* Writes a template with @STEP@, @LIBS@ and @CLLIBS@ filled in. */
static int write_template(const char *path, const char *tpl, const char *step, int user32)
{
    char out[8192];
    size_t k = 0;
    const char *libs = user32 ? "-lws2_32 -lmswsock -luser32" : "-lws2_32 -lmswsock";
    const char *cllibs = user32 ? "ws2_32.lib mswsock.lib user32.lib" : "ws2_32.lib mswsock.lib";
    for (const char *t = tpl; *t && k + 128 < sizeof out;) {
        const char *v = NULL;
        if (strncmp(t, "@STEP@", 6) == 0)
            v = step, t += 6;
        else if (strncmp(t, "@LIBS@", 6) == 0)
            v = libs, t += 6;
        else if (strncmp(t, "@CLLIBS@", 8) == 0)
            v = cllibs, t += 8;
        if (v != NULL)
            k += (size_t)snprintf(out + k, sizeof out - k, "%s", v);
        else
            out[k++] = *t++;
    }
    if (write_all(path, out, k) != 0) {
        fprintf(stderr, "handout: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* Homework handed out like a step: its name (the handout's folder), its
 * folder in the repository, and the driver's profile that grades it. */
static const struct homework {
    const char *name, *folder, *tests;
} homeworks[] = {
    {"08_board", "08_overlapped_callback/board", "hw3"},
};
#define N_HOMEWORKS (sizeof homeworks / sizeof homeworks[0])

/* The folder this program is in (build/), for client.exe and run_tests.exe. */
static void own_dir(char *buf, size_t size)
{
    DWORD n = GetModuleFileNameA(NULL, buf, (DWORD)size);
    char *slash = NULL;
    for (DWORD i = 0; i < n && i < size; i++)
        if (buf[i] == '\\' || buf[i] == '/')
            slash = buf + i;
    if (slash != NULL)
        *slash = '\0';
    else
        snprintf(buf, size, ".");
}

int main(int argc, char **argv)
{
    char src_dir[MAX_PATH], out_dir[MAX_PATH], pattern[MAX_PATH], exe_dir[MAX_PATH];
    char assignment[MAX_PATH * 2], assignment_ko[MAX_PATH * 2];
    const char *step, *variant = NULL;
    int open = 0, has_text = 0, user32 = 0;
    WIN32_FIND_DATAA fd;
    HANDLE h;
    int total = 0, failed = 0, argi = 1;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "--level") == 0) {
        if (strcmp(argv[2], "open") == 0) {
            open = 1;
        } else if (strcmp(argv[2], "guided") != 0) {
            fprintf(stderr, "handout: --level %s: guided or open\n", argv[2]);
            return 2;
        }
        argi = 3;
    } else if (argc == 5 && strcmp(argv[1], "--variant") == 0) {
        variant = argv[2];
        argi = 3;
    } else if (argc != 3) {
        usage(stderr);
        return 2;
    }
    own_dir(exe_dir, sizeof exe_dir);
    /* STEP: a homework's name or folder, a folder as given, or a step name
     * next to the build folder */
    const struct homework *hw = NULL;
    for (size_t i = 0; i < N_HOMEWORKS; i++)
        if (strcmp(argv[argi], homeworks[i].name) == 0 ||
            strcmp(argv[argi], homeworks[i].folder) == 0)
            hw = &homeworks[i];
    DWORD attr = GetFileAttributesA(argv[argi]);
    if (hw != NULL) {
        snprintf(src_dir, sizeof src_dir, "%s/../%s", exe_dir, hw->folder);
    } else if (attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY)) {
        snprintf(src_dir, sizeof src_dir, "%s", argv[argi]);
    } else {
        snprintf(src_dir, sizeof src_dir, "%s/../%s", exe_dir, argv[argi]);
        attr = GetFileAttributesA(src_dir);
        if (attr == INVALID_FILE_ATTRIBUTES || !(attr & FILE_ATTRIBUTE_DIRECTORY)) {
            fprintf(stderr, "handout: no step folder %s (nor %s)\n", argv[argi], src_dir);
            return 1;
        }
    }
    step = argv[argi];
    for (const char *q = argv[argi]; *q; q++)
        if ((*q == '/' || *q == '\\') && q[1] != '\0')
            step = q + 1;
    if (hw != NULL)
        step = hw->name;
    snprintf(out_dir, sizeof out_dir, "%s/%s", argv[argi + 1], step);
    for (char *q = out_dir + strlen(out_dir); q > out_dir && (q[-1] == '/' || q[-1] == '\\'); q--)
        q[-1] = '\0';
    char step_name[MAX_PATH];
    snprintf(step_name, sizeof step_name, "%s", out_dir + strlen(argv[argi + 1]) + 1);
    /* OUTDIR and its parents (build/grading/04_select/BUG); any may exist */
    for (char *q = out_dir; *q; q++) {
        if ((*q == '/' || *q == '\\') && q > out_dir && q[-1] != ':') {
            char keep = *q;
            *q = '\0';
            CreateDirectoryA(out_dir, NULL);
            *q = keep;
        }
    }
    if (!CreateDirectoryA(out_dir, NULL) && GetLastError() != ERROR_ALREADY_EXISTS) {
        fprintf(stderr, "handout: cannot create %s (error %lu)\n", out_dir, GetLastError());
        return 1;
    }
    /* A folder handed out before: its files go (one gone from the step must
     * not linger); folders in it are left alone. */
    snprintf(pattern, sizeof pattern, "%s/*", out_dir);
    h = FindFirstFileA(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            char old[MAX_PATH * 2];
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                continue;
            snprintf(old, sizeof old, "%s/%s", out_dir, fd.cFileName);
            DeleteFileA(old);
        } while (FindNextFileA(h, &fd));
        FindClose(h);
    }
    /* The assignment's text, in the repository's docs (the parent of the step). */
    const char *up = hw != NULL ? "../.." : ".."; /* a homework is a folder deeper */
    snprintf(assignment, sizeof assignment, "%s/%s/docs/assignments/%s.md", src_dir, up,
             step_name);
    snprintf(assignment_ko, sizeof assignment_ko, "%s/%s/docs/ko/assignments/%s.md", src_dir, up,
             step_name);
    has_text = variant == NULL && GetFileAttributesA(assignment) != INVALID_FILE_ATTRIBUTES;

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
        /* the reference's explanation stays home when there is a text for the student */
        if ((has_text || variant != NULL) && ends_with(fd.cFileName, ".md"))
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
        if (variant != NULL && strcmp(fd.cFileName, "server.c") == 0) {
            size_t slen;
            char *spec = read_all(variant, &slen);
            if (spec == NULL) {
                fprintf(stderr, "handout: cannot read %s\n", variant);
                free(text);
                return 1;
            }
            result = apply_variant(text, spec, variant);
            free(spec);
            if (result == NULL)
                return 1;
            text = result;
            len = strlen(text);
            total++;
        } else if (variant == NULL &&
                   (ends_with(fd.cFileName, ".c") || ends_with(fd.cFileName, ".h"))) {
            if (strcmp(fd.cFileName, "server.c") == 0 && strstr(text, "user32") != NULL)
                user32 = 1;
            for (size_t i = 0; open && i < N_OPEN; i++) {
                if (strcmp(open_level[i].step, step_name) != 0 ||
                    strcmp(fd.cFileName, "server.c") != 0)
                    continue;
                char *r = replace_body(text, &open_level[i]);
                if (r == NULL) {
                    fprintf(stderr, "handout: %s: no function %s() with its body at column 0\n",
                            from, open_level[i].fn);
                    free(text);
                    return 1;
                }
                text = r;
                total++;
            }
            len = strlen(text);
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
            printf("handout: %s: %d solution region%s replaced\n", fd.cFileName, regions,
                   regions == 1 ? "" : "s");
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
    if (variant != NULL) {
        printf("handout: wrote %s (the reference with %s)\n", out_dir, variant);
        fflush(stdout);
        return 0;
    }
    if (has_text) {
        char to[MAX_PATH * 2], from[MAX_PATH * 2];
        snprintf(to, sizeof to, "%s/README.md", out_dir);
        if (copy_file(assignment, to) != 0) {
            fprintf(stderr, "handout: cannot copy %s\n", assignment);
            return 1;
        }
        snprintf(to, sizeof to, "%s/README.ko.md", out_dir);
        if (copy_file(assignment_ko, to) != 0) {
            fprintf(stderr, "handout: cannot copy %s\n", assignment_ko);
            return 1;
        }
        /* the tools a student checks with, and the scripts that run them */
        static const char *const tools[] = {"client.exe", "run_tests.exe"};
        for (size_t i = 0; i < 2; i++) {
            snprintf(from, sizeof from, "%s/%s", exe_dir, tools[i]);
            snprintf(to, sizeof to, "%s/%s", out_dir, tools[i]);
            if (copy_file(from, to) != 0) {
                fprintf(stderr, "handout: cannot copy %s (build it first: make all)\n", from);
                return 1;
            }
        }
        snprintf(to, sizeof to, "%s/check.sh", out_dir);
        /* a homework's scripts run its grading profile (--only hw3) */
        const char *tests = hw != NULL ? hw->tests : step_name;
        if (write_template(to, check_sh, tests, user32) != 0)
            return 1;
        snprintf(to, sizeof to, "%s/check.cmd", out_dir);
        if (write_template(to, check_cmd, tests, user32) != 0)
            return 1;
    }
    printf("handout: wrote %s (%s level, %d place%s to fill in)\n", out_dir,
           open ? "open" : "guided", total, total == 1 ? "" : "s");
    fflush(stdout);
    return 0;
}
