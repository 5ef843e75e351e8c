/*
 * proc.c - child processes for the test driver: the servers under test, the
 * bad command lines, and the helper that delivers console control events.
 *
 * A child's stdout and stderr go to two pipes, each drained by a thread of
 * its own into a buffer under a lock, so that a case can wait for a line
 * ("listening on", "stopped:") while the child goes on writing, and a child
 * can never block on a full pipe.
 *
 * Every server runs in a console of its own (CREATE_NEW_CONSOLE, window
 * hidden). That is what lets the driver stop it the way a user does, with a
 * console control event, without the event reaching anything else: the
 * driver may have no console at all (CI, `wine run_tests.exe` from a script)
 * and must not receive the event itself. A process can only send such an
 * event to the console it is attached to, so the driver starts a copy of
 * itself (`run_tests.exe --ctrl-event c|break PID`) that attaches to the
 * server's console and sends it there; see ctrl_helper_main.
 *
 * Everything started is also put in a job object that kills its processes
 * when the driver's handle to it closes: if the driver itself dies, no
 * server is left running.
 */
#include "tests.h"

static HANDLE job;
static CRITICAL_SECTION live_lock;
#define MAX_LIVE 64
static struct proc *live[MAX_LIVE]; /* started and not yet stopped */

void proc_init(void)
{
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
    InitializeCriticalSection(&live_lock);
    job = CreateJobObjectW(NULL, NULL);
    if (job != NULL) {
        memset(&lim, 0, sizeof lim);
        lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof lim)) {
            CloseHandle(job); /* best effort only: proc_kill_all is the main path */
            job = NULL;
        }
    }
}

static void live_add(struct proc *p)
{
    EnterCriticalSection(&live_lock);
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == NULL) {
            live[i] = p;
            break;
        }
    LeaveCriticalSection(&live_lock);
}

static void live_remove(struct proc *p)
{
    EnterCriticalSection(&live_lock);
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == p)
            live[i] = NULL;
    LeaveCriticalSection(&live_lock);
}

void proc_kill_all(void)
{
    EnterCriticalSection(&live_lock);
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] != NULL && live[i]->pi.hProcess != NULL)
            TerminateProcess(live[i]->pi.hProcess, 9);
    LeaveCriticalSection(&live_lock);
}

/* ------------------------------------------------------------------------
 * Output capture
 * --------------------------------------------------------------------- */

struct reader_arg {
    struct proc *p;
    enum stream st;
};

static struct capture *cap_of(struct proc *p, enum stream st)
{
    return st == OUT_STREAM ? &p->out : &p->err;
}

static void cap_append(struct capture *c, const char *data, size_t n)
{
    if (c->len + n > CAPTURE_MAX) { /* keep the beginning, count the rest */
        size_t room = CAPTURE_MAX - c->len;
        c->dropped += n - room;
        n = room;
    }
    if (n == 0)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        char *d;
        while (cap < c->len + n + 1)
            cap *= 2;
        d = (char *)realloc(c->data, cap);
        if (d == NULL) {
            c->dropped += n;
            return;
        }
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, data, n);
    c->len += n;
    c->data[c->len] = '\0';
}

static DWORD WINAPI reader_main(LPVOID arg)
{
    struct reader_arg *ra = (struct reader_arg *)arg;
    struct proc *p = ra->p;
    HANDLE h = ra->st == OUT_STREAM ? p->out_rd : p->err_rd;
    struct capture *c = cap_of(p, ra->st);
    char buf[4096];
    DWORD n;
    free(ra);
    /* ReadFile fails with ERROR_BROKEN_PIPE once every writer has closed
     * its end: the child exited (and nothing it started holds the pipe). */
    while (ReadFile(h, buf, (DWORD)sizeof buf, &n, NULL) && n > 0) {
        EnterCriticalSection(&p->lock);
        cap_append(c, buf, n);
        LeaveCriticalSection(&p->lock);
        WakeAllConditionVariable(&p->changed);
    }
    EnterCriticalSection(&p->lock);
    c->eof = 1;
    LeaveCriticalSection(&p->lock);
    WakeAllConditionVariable(&p->changed);
    return 0;
}

static HANDLE start_reader(struct proc *p, enum stream st)
{
    struct reader_arg *ra = (struct reader_arg *)malloc(sizeof *ra);
    HANDLE t;
    if (ra == NULL)
        return NULL;
    ra->p = p;
    ra->st = st;
    t = CreateThread(NULL, 0, reader_main, ra, 0, NULL);
    if (t == NULL)
        free(ra);
    return t;
}

/* ------------------------------------------------------------------------
 * Starting and stopping
 * --------------------------------------------------------------------- */

/* What a child that died while starting wrote on stderr before it went:
 * only what is already in the pipe (PeekNamedPipe does not wait), one line,
 * appended to `why`. */
static void append_dead_childs_words(HANDLE rd, char *why, size_t whysz)
{
    char text[160];
    DWORD avail = 0, got = 0, i;
    size_t len = strlen(why);
    if (!PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) || avail == 0)
        return;
    if (!ReadFile(rd, text, sizeof text - 1, &got, NULL) || got == 0)
        return;
    for (i = 0; i < got; i++)
        if (text[i] == '\r' || text[i] == '\n')
            break;
    text[i] = '\0';
    if (len + 16 < whysz)
        snprintf(why + len, whysz - len, "; it said: %s", text);
}

/* One attempt. `*retry` is set when the failure is the one a new attempt
 * cures (see proc_start_flags). */
static int proc_start_once(struct proc *p, const char *exe, const char *args, DWORD flags,
                           HANDLE in, int *retry, char *why, size_t whysz)
{
    SECURITY_ATTRIBUTES sa;
    STARTUPINFOA si;
    HANDLE out_wr = NULL, err_wr = NULL, nul;
    char *cmd;
    size_t cmdsz = strlen(exe) + strlen(args) + 4;
    BOOL ok;

    memset(p, 0, sizeof *p);
    InitializeCriticalSection(&p->lock);
    InitializeConditionVariable(&p->changed);

    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;
    if (!CreatePipe(&p->out_rd, &out_wr, &sa, 0) || !CreatePipe(&p->err_rd, &err_wr, &sa, 0)) {
        snprintf(why, whysz, "CreatePipe failed: error %lu", GetLastError());
        goto fail;
    }
    /* only the write ends go to the child */
    SetHandleInformation(p->out_rd, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(p->err_rd, HANDLE_FLAG_INHERIT, 0);
    nul = in != NULL ? INVALID_HANDLE_VALUE
                     : CreateFileA("NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                                   OPEN_EXISTING, 0, NULL);

    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW;
    si.wShowWindow = SW_HIDE; /* the server's own console, not on the desktop */
    si.hStdInput = in != NULL ? in : nul;
    si.hStdOutput = out_wr;
    si.hStdError = err_wr;

    cmd = (char *)malloc(cmdsz);
    if (cmd == NULL) {
        snprintf(why, whysz, "out of memory");
        if (nul != INVALID_HANDLE_VALUE)
            CloseHandle(nul);
        goto fail;
    }
    snprintf(cmd, cmdsz, "\"%s\" %s", exe, args);
    /* Suspended until it is in the job, so that nothing it does escapes. */
    ok = CreateProcessA(NULL, cmd, NULL, NULL, TRUE, flags | CREATE_SUSPENDED, NULL, NULL, &si,
                        &p->pi);
    if (!ok) {
        DWORD err = GetLastError();
        snprintf(why, whysz, "CreateProcess(%s) failed: error %lu", cmd, err);
        *retry = err == ERROR_INTERNAL_ERROR;
    }
    free(cmd);
    if (nul != INVALID_HANDLE_VALUE)
        CloseHandle(nul);
    CloseHandle(out_wr); /* ours; the child has its copies */
    CloseHandle(err_wr);
    out_wr = err_wr = NULL;
    if (!ok) {
        append_dead_childs_words(p->err_rd, why, whysz);
        goto fail;
    }
    if (job != NULL)
        AssignProcessToJobObject(job, p->pi.hProcess); /* may fail in a job of our own: fine */
    p->started = 1;
    live_add(p);
    p->out_thread = start_reader(p, OUT_STREAM);
    p->err_thread = start_reader(p, ERR_STREAM);
    ResumeThread(p->pi.hThread);
    if (p->out_thread == NULL || p->err_thread == NULL) {
        snprintf(why, whysz, "CreateThread failed: error %lu", GetLastError());
        proc_stop(p);
        return 0;
    }
    return 1;

fail:
    if (out_wr)
        CloseHandle(out_wr);
    if (err_wr)
        CloseHandle(err_wr);
    if (p->out_rd)
        CloseHandle(p->out_rd);
    if (p->err_rd)
        CloseHandle(p->err_rd);
    p->out_rd = p->err_rd = NULL;
    DeleteCriticalSection(&p->lock);
    return 0;
}

/* `in`: the child's stdin (an inheritable handle, the caller's to close),
 * or NULL for NUL.
 *
 * Wine: CreateProcess fails with ERROR_INTERNAL_ERROR (1359) when the new
 * process ends before it has told the wineserver it started (ntdll's
 * NtCreateUserProcess turns "not started, exit code 0" into
 * STATUS_INTERNAL_ERROR). It is rare (once so far in the CI runs of this
 * project, a suite starting some 600 processes each time), nothing of ours
 * has run yet, and the next start works; so that one error is tried twice
 * more, saying so. */
static int proc_start_flags(struct proc *p, const char *exe, const char *args, DWORD flags,
                            HANDLE in, char *why, size_t whysz)
{
    int attempt;
    for (attempt = 1;; attempt++) {
        int retry = 0;
        if (proc_start_once(p, exe, args, flags, in, &retry, why, whysz))
            return 1;
        if (!retry || attempt == 3)
            return 0;
        fprintf(stderr, "proc: %s; starting it again\n", why);
        fflush(stderr);
        Sleep(100);
    }
}

int proc_start(struct proc *p, const char *exe, const char *args, char *why, size_t whysz)
{
    return proc_start_flags(p, exe, args, CREATE_NEW_CONSOLE, NULL, why, whysz);
}

int proc_start_input(struct proc *p, const char *exe, const char *args, const void *input,
                     size_t len, char *why, size_t whysz)
{
    SECURITY_ATTRIBUTES sa;
    HANDLE rd, wr;
    DWORD n = 0;
    int ok;
    if (len > PROC_INPUT_MAX) {
        snprintf(why, whysz, "proc_start_input: %llu bytes of input, at most %d",
                 (unsigned long long)len, PROC_INPUT_MAX);
        return 0;
    }
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = NULL;
    sa.bInheritHandle = TRUE;
    /* A pipe with room for all of the input: the write below completes
     * at once, whatever the child does, and nothing waits on it. */
    if (!CreatePipe(&rd, &wr, &sa, 4 * PROC_INPUT_MAX)) {
        snprintf(why, whysz, "CreatePipe failed: error %lu", GetLastError());
        return 0;
    }
    /* Only the read end goes to the child: were the write end inherited
     * too, the child would hold it open and never see end-of-file. */
    SetHandleInformation(wr, HANDLE_FLAG_INHERIT, 0);
    ok = proc_start_flags(p, exe, args, CREATE_NEW_CONSOLE, rd, why, whysz);
    CloseHandle(rd);
    if (ok && len > 0 && (!WriteFile(wr, input, (DWORD)len, &n, NULL) || n != (DWORD)len)) {
        snprintf(why, whysz, "writing the child's stdin failed: error %lu", GetLastError());
        CloseHandle(wr);
        proc_stop(p);
        return 0;
    }
    CloseHandle(wr); /* end-of-file for the child */
    return ok;
}

int proc_wait(struct proc *p, DWORD ms)
{
    if (!p->started)
        return 1;
    if (p->reaped)
        return 1;
    if (WaitForSingleObject(p->pi.hProcess, ms) != WAIT_OBJECT_0)
        return 0;
    GetExitCodeProcess(p->pi.hProcess, &p->exit_code);
    p->reaped = 1;
    return 1;
}

int proc_running(struct proc *p)
{
    return p->started && !proc_wait(p, 0);
}

void proc_drain(struct proc *p, DWORD ms)
{
    HANDLE t[2];
    DWORD n = 0;
    if (p->out_thread)
        t[n++] = p->out_thread;
    if (p->err_thread)
        t[n++] = p->err_thread;
    if (n > 0)
        WaitForMultipleObjects(n, t, TRUE, ms);
}

void proc_stop(struct proc *p)
{
    if (!p->started)
        return;
    if (!proc_wait(p, 0)) {
        TerminateProcess(p->pi.hProcess, 9);
        proc_wait(p, 5000);
    }
    live_remove(p);
    /* The readers end when the pipes report end-of-file. Should something
     * still hold a write end, cancel their reads rather than wait. */
    proc_drain(p, 3000);
    if (p->out_thread && WaitForSingleObject(p->out_thread, 0) != WAIT_OBJECT_0)
        CancelSynchronousIo(p->out_thread);
    if (p->err_thread && WaitForSingleObject(p->err_thread, 0) != WAIT_OBJECT_0)
        CancelSynchronousIo(p->err_thread);
    proc_drain(p, 2000);
    if (p->out_thread)
        CloseHandle(p->out_thread);
    if (p->err_thread)
        CloseHandle(p->err_thread);
    if (p->out_rd)
        CloseHandle(p->out_rd);
    if (p->err_rd)
        CloseHandle(p->err_rd);
    CloseHandle(p->pi.hThread);
    CloseHandle(p->pi.hProcess);
    free(p->out.data);
    free(p->err.data);
    DeleteCriticalSection(&p->lock);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------------------
 * Lines
 * --------------------------------------------------------------------- */

/* Looks through the complete lines of `c` (and the unterminated rest once
 * the stream ended). Call with the lock held. */
static int find_locked(const struct capture *c, const char *text, int prefix, char *line,
                       size_t linesz)
{
    size_t start = 0, tlen = strlen(text);
    if (c->data == NULL)
        return 0;
    while (start < c->len) {
        const char *s = c->data + start;
        const char *nl = (const char *)memchr(s, '\n', c->len - start);
        size_t n;
        int hit = 0;
        if (nl == NULL && !c->eof)
            break;
        n = nl ? (size_t)(nl - s) : c->len - start;
        if (n > 0 && s[n - 1] == '\r') /* CRLF from a text-mode stdout */
            n--;
        if (prefix)
            hit = n >= tlen && memcmp(s, text, tlen) == 0;
        else
            for (size_t i = 0; !hit && i + tlen <= n; i++)
                hit = memcmp(s + i, text, tlen) == 0;
        if (hit) {
            if (line != NULL && linesz > 0) {
                size_t k = n < linesz - 1 ? n : linesz - 1;
                memcpy(line, s, k);
                line[k] = '\0';
            }
            return 1;
        }
        start += (nl ? (size_t)(nl - s) + 1 : c->len - start);
    }
    return 0;
}

int proc_find_line(struct proc *p, enum stream st, const char *text, int prefix, char *line,
                   size_t linesz)
{
    int r;
    EnterCriticalSection(&p->lock);
    r = find_locked(cap_of(p, st), text, prefix, line, linesz);
    LeaveCriticalSection(&p->lock);
    return r;
}

int proc_wait_line(struct proc *p, enum stream st, const char *text, int prefix, DWORD ms,
                   char *line, size_t linesz)
{
    ULONGLONG end = now_ms() + ms;
    int r = 0;
    EnterCriticalSection(&p->lock);
    for (;;) {
        ULONGLONG now;
        const struct capture *c = cap_of(p, st);
        if (find_locked(c, text, prefix, line, linesz)) {
            r = 1;
            break;
        }
        if (c->eof) {
            r = -1;
            break;
        }
        now = now_ms();
        if (now >= end)
            break;
        /* Woken by each piece of output and at end-of-file; at most 200 ms
         * so that a child that died without closing its pipes is noticed. */
        SleepConditionVariableCS(&p->changed, &p->lock,
                                 (DWORD)(end - now < 200 ? end - now : 200));
        if (!cap_of(p, st)->eof && !proc_running(p)) {
            /* exited: give the reader a moment to see end-of-file */
            LeaveCriticalSection(&p->lock);
            proc_drain(p, 1000);
            EnterCriticalSection(&p->lock);
            if (find_locked(cap_of(p, st), text, prefix, line, linesz))
                r = 1;
            else
                r = -1;
            break;
        }
    }
    LeaveCriticalSection(&p->lock);
    return r;
}

size_t proc_line_count(struct proc *p, enum stream st)
{
    size_t n = 0;
    const struct capture *c;
    EnterCriticalSection(&p->lock);
    c = cap_of(p, st);
    for (size_t i = 0; i < c->len; i++)
        if (c->data[i] == '\n')
            n++;
    LeaveCriticalSection(&p->lock);
    return n;
}

char *proc_text(struct proc *p, enum stream st)
{
    char *t;
    const struct capture *c;
    EnterCriticalSection(&p->lock);
    c = cap_of(p, st);
    t = (char *)malloc(c->len + 1);
    if (t != NULL) {
        if (c->len)
            memcpy(t, c->data, c->len);
        t[c->len] = '\0';
    }
    LeaveCriticalSection(&p->lock);
    return t;
}

void proc_tail(struct proc *p, enum stream st, char *buf, size_t bufsz)
{
    const struct capture *c;
    size_t from, k = 0;
    if (bufsz == 0)
        return;
    EnterCriticalSection(&p->lock);
    c = cap_of(p, st);
    from = c->len > 300 ? c->len - 300 : 0;
    for (size_t i = from; i < c->len && k + 1 < bufsz; i++) {
        unsigned char ch = (unsigned char)c->data[i];
        if (ch == '\r')
            continue;
        /* one line of plain ASCII, whatever the child wrote */
        buf[k++] = (char)(ch == '\n' ? '|' : (ch < 32 || ch > 126) ? '?' : ch);
    }
    LeaveCriticalSection(&p->lock);
    while (k > 0 && buf[k - 1] == '|')
        k--;
    buf[k] = '\0';
}

/* ------------------------------------------------------------------------
 * Servers
 * --------------------------------------------------------------------- */

#define READY_MS 15000

int server_start(struct proc *p, const char *exe, int quiet, char *why, size_t whysz)
{
    return server_start_args(p, exe, "", quiet, why, whysz);
}

int server_start_args(struct proc *p, const char *exe, const char *pre, int quiet, char *why,
                      size_t whysz)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        char args[160], line[256], tail[WHY_SIZE / 2];
        unsigned short port = net_free_port();
        int r;
        if (port == 0) {
            snprintf(why, whysz, "no free port found");
            return 0;
        }
        /* -a 127.0.0.1: the tests connect there, and a loopback listener
         * needs no firewall permission when the suite runs on Windows. */
        snprintf(args, sizeof args, "%s-p %u -a 127.0.0.1%s", pre, (unsigned)port,
                 quiet ? " -q" : "");
        if (!proc_start(p, exe, args, why, whysz))
            return 0;
        p->port = port;
        r = proc_wait_line(p, OUT_STREAM, "listening on", 0, READY_MS, line, sizeof line);
        if (r == 1)
            return 1;
        if (r == 0) {
            proc_tail(p, ERR_STREAM, tail, sizeof tail);
            snprintf(why, whysz, "no ready line (\"listening on\") within %d s; stderr: %s",
                     READY_MS / 1000, tail[0] ? tail : "(empty)");
            proc_stop(p);
            return 0;
        }
        proc_wait(p, 2000);
        proc_tail(p, ERR_STREAM, tail, sizeof tail);
        if (attempt == 0 && proc_find_line(p, ERR_STREAM, "bind failed", 0, NULL, 0)) {
            proc_stop(p); /* the port was taken after we probed it: once more */
            continue;
        }
        snprintf(why, whysz, "server exited (status %lu) before its ready line; stderr: %s",
                 (unsigned long)p->exit_code, tail[0] ? tail : "(empty)");
        proc_stop(p);
        return 0;
    }
    snprintf(why, whysz, "bind failed twice on ports that were free a moment before");
    return 0;
}

/* ------------------------------------------------------------------------
 * Console control events
 * --------------------------------------------------------------------- */

/* Exit codes of the helper. */
#define HELPER_ATTACH_FAILED 3
#define HELPER_EVENT_FAILED 4

enum ctrl_result proc_send_ctrl(struct proc *p, DWORD event, char *why, size_t whysz)
{
    struct proc h;
    char args[64], tail[WHY_SIZE / 2];
    enum ctrl_result res;
    snprintf(args, sizeof args, "--ctrl-event %s %lu", event == CTRL_BREAK_EVENT ? "break" : "c",
             (unsigned long)p->pi.dwProcessId);
    /* DETACHED_PROCESS: the helper needs no console of its own, it attaches
     * to the server's. */
    if (!proc_start_flags(&h, self_path(), args, DETACHED_PROCESS, NULL, why, whysz))
        return CTRL_HELPER_FAILED;
    if (!proc_wait(&h, 10000)) {
        snprintf(why, whysz, "the --ctrl-event helper did not finish within 10 s");
        proc_stop(&h);
        return CTRL_HELPER_FAILED;
    }
    proc_drain(&h, 2000);
    proc_tail(&h, ERR_STREAM, tail, sizeof tail);
    if (h.exit_code == 0) {
        res = CTRL_SENT;
    } else if (h.exit_code == HELPER_EVENT_FAILED) {
        snprintf(why, whysz, "%s", tail[0] ? tail : "GenerateConsoleCtrlEvent failed");
        res = CTRL_NOT_DELIVERABLE;
    } else {
        snprintf(why, whysz, "--ctrl-event helper: status %lu: %s", (unsigned long)h.exit_code,
                 tail[0] ? tail : "(no message)");
        res = CTRL_HELPER_FAILED;
    }
    proc_stop(&h);
    return res;
}

/* The helper must survive the event it sends to its own console. */
static BOOL WINAPI helper_ignore(DWORD type)
{
    (void)type;
    return TRUE;
}

static void helper_say(HANDLE h, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    DWORD n;
    int len;
    va_start(ap, fmt);
    len = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof buf)
        len = (int)sizeof buf - 1;
    WriteFile(h, buf, (DWORD)len, &n, NULL);
}

/* run_tests.exe --ctrl-event c|break PID: attach to PID's console and send
 * the event to every process on it (group 0; the server is the only other
 * one there). The error text goes to the stderr handle we were started
 * with, kept aside before the console changes. */
int ctrl_helper_main(const char *event, const char *pid_text)
{
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    DWORD ev = strcmp(event, "break") == 0 ? CTRL_BREAK_EVENT : CTRL_C_EVENT;
    const char *name = ev == CTRL_BREAK_EVENT ? "CTRL_BREAK_EVENT" : "CTRL_C_EVENT";
    char *end;
    unsigned long pid = strtoul(pid_text, &end, 10);
    DWORD e;
    if (*end != '\0' || pid == 0) {
        helper_say(err, "--ctrl-event: bad process id %s\n", pid_text);
        return 2;
    }
    FreeConsole();
    if (!AttachConsole((DWORD)pid)) {
        e = GetLastError();
        helper_say(err, "AttachConsole(%lu) failed: error %lu\n", pid, (unsigned long)e);
        return HELPER_ATTACH_FAILED;
    }
    SetConsoleCtrlHandler(helper_ignore, TRUE);
    if (!GenerateConsoleCtrlEvent(ev, 0)) {
        e = GetLastError();
        FreeConsole();
        helper_say(err, "GenerateConsoleCtrlEvent(%s) failed: error %lu\n", name, (unsigned long)e);
        return HELPER_EVENT_FAILED;
    }
    /* The event reaches the processes asynchronously, each on a new thread;
     * detaching at once does not cancel it. */
    FreeConsole();
    return 0;
}
