/*
 * 02_thread_per_client - the blocking echo server with one thread per client.
 *
 * Model. The main thread blocks in accept(); for each client it starts a
 * thread that blocks in recv() and send() for that client alone, exactly
 * as step 01 did for its only client. The kernel schedules the threads: a
 * client whose data arrives wakes its own thread, the others sleep.
 *
 * What this step adds over 01. Clients are served at the same time, and
 * the code of a connection stays the same straight-line loop. The cost is
 * a thread per connection: a stack (here a 64 KiB reservation instead of
 * the default 1 MiB, so that a thousand threads fit in the address space
 * comfortably), a kernel object, and a context switch for every wake-up.
 * With thousands of clients the threads, not the network, are the load.
 * Shared state now needs a lock: the list of live connections is touched
 * by every client thread and by the Ctrl+C handler.
 *
 * Limits. A thread per connection: with 1,000 clients, 1,000 threads.
 * When a thread cannot be created (memory, address space) the server logs
 * it and closes that connection; the others go on. A client that sends
 * without reading blocks only its own thread in send_all(), and that
 * thread stops reading from it: backpressure, per client.
 *
 * Left out on purpose. A thread pool (steps 07 to 09 get there another
 * way), timeouts, IPv6.
 *
 * Build (alone, from this folder):
 *   cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 server.c ws2_32.lib
 *   x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0601 -o 02_thread_per_client.exe server.c -lws2_32
 * Run:
 *   02_thread_per_client.exe -p 40100      and in other consoles:  client.exe -p 40100
 *
 * Compare with step 01:
 *   diff 01_blocking/server.c 02_thread_per_client/server.c
 */
#include "lab.h"
#include <process.h>

#define MODEL "02_thread_per_client"

/* Stack reserved for each client thread. serve() needs little: the echo
 * buffer lives in struct conn on the heap, not on the stack. */
#define CLIENT_STACK (64 * 1024)

/* ------------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

struct conn {
    SOCKET s;
    long id;
    char peer[32];           /* "a.b.c.d:port", for the log */
    unsigned long long echoed;
    struct conn *prev, *next; /* the list of live connections */
    char buf[LAB_BUF_SIZE];  /* what recv() returned, until it is sent back */
};

static struct lab_options opt;
static SOCKET listener = INVALID_SOCKET;

/* The live connections, so that Ctrl+C can wake them from the handler
 * thread. Only the serving thread closes its socket; the lock keeps the
 * handler from touching a socket that is being closed (a socket handle,
 * like any handle, may be reused by the next socket as soon as it is
 * closed, and the handler would then shut down a stranger). */
static CRITICAL_SECTION conns_lock;
static struct conn *live;

/* Client threads still running, plus one held by main until it stops
 * accepting: the count can reach zero only after that, so `all_done` is
 * set once, when the last thread is gone. */
static volatile LONG threads_running = 1;
static HANDLE all_done;

static struct conn *conn_new(SOCKET s, const struct sockaddr_in *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        lab_log("out of memory: refusing a connection");
        closesocket(s);
        return NULL;
    }
    c->s = s;
    c->id = lab_next_conn_id();
    lab_addr_str(peer, c->peer, sizeof c->peer);
    EnterCriticalSection(&conns_lock);
    if (lab_stopping()) {
        /* accepted just as Ctrl+C came: wake() has already run and would
         * never wake this one, so do not start serving it */
        LeaveCriticalSection(&conns_lock);
        closesocket(s);
        free(c);
        return NULL;
    }
    c->next = live;
    if (live != NULL)
        live->prev = c;
    live = c;
    LeaveCriticalSection(&conns_lock);
    lab_log("conn %ld: connected from %s", c->id, c->peer);
    return c;
}

static void conn_free(struct conn *c, const char *why)
{
    EnterCriticalSection(&conns_lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        live = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    LeaveCriticalSection(&conns_lock);
    /* Graceful after recv() returned 0 (the client's FIN came, nothing is
     * left unread): what send() took is still delivered, then a FIN. A
     * socket closed with unread input is reset instead (Ctrl+C, below). */
    closesocket(c->s);
    lab_log("conn %ld: %s, %llu bytes echoed", c->id, why, c->echoed);
    free(c);
}

/* A failed recv/send ends that connection only. A reset is the peer's
 * business, not an error of ours; a call failing because Ctrl+C shut the
 * socket down is the shutdown, not an error either. */
static void conn_fail(struct conn *c, const char *call, int err)
{
    if (lab_stopping()) {
        conn_free(c, "closed at shutdown");
    } else if (lab_is_peer_gone(err)) {
        conn_free(c, "reset by peer");
    } else {
        lab_conn_error(c->id, call, err);
        conn_free(c, "closed after an error");
    }
}

/* ------------------------------------------------------------------------
 * Sending and receiving
 * --------------------------------------------------------------------- */

/* send() on a blocking socket returns once the bytes are copied into the
 * kernel's send buffer, not when the peer has them; it may also return
 * less than asked. Loop until all of it is taken. Returns 0 or the WSA
 * error. */
static int send_all(struct conn *c, const char *p, size_t n)
{
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        int sent = send(c->s, p, chunk, 0);
        if (sent == SOCKET_ERROR)
            return WSAGetLastError();
        p += sent;
        n -= (size_t)sent;
        c->echoed += (unsigned long long)sent;
        lab_count_echoed((size_t)sent);
    }
    return 0;
}

/* Serves one client until it leaves. recv() blocks until at least one
 * byte is there and returns what it has: 1 byte or a whole buffer,
 * whatever the client's send() calls were. */
static void serve(struct conn *c)
{
    for (;;) {
        int n = recv(c->s, c->buf, (int)sizeof c->buf, 0);
        if (n == 0) {
            /* The client half-closed (shutdown send, or closesocket), or
             * Ctrl+C shut the socket down. We owe nothing: each piece went
             * back before the next recv. */
            conn_free(c, lab_stopping() ? "closed at shutdown" : "closed by peer");
            return;
        }
        if (n == SOCKET_ERROR) {
            conn_fail(c, "recv", WSAGetLastError());
            return;
        }
        if (!opt.quiet)
            lab_log("conn %ld: %d bytes", c->id, n);
        int err = send_all(c, c->buf, (size_t)n);
        if (err != 0) {
            conn_fail(c, "send", err);
            return;
        }
    }
}

/* The body of every client thread: step 01's serve(), on a thread. */
static unsigned __stdcall client_thread(void *arg)
{
    serve(arg);
    if (InterlockedDecrement(&threads_running) == 0)
        SetEvent(all_done);
    return 0;
}

/* ------------------------------------------------------------------------
 * Stopping
 * --------------------------------------------------------------------- */

/* Runs on the Ctrl+C handler's thread while the other threads are blocked
 * in accept() or recv()/send(); each then sees lab_stopping() and winds down.
 *
 * A connection is woken, not closed: CancelIoEx() ends the call blocked on
 * it now (a blocking Winsock call is an I/O request on the socket's handle
 * like any other: it fails with 995), and shutdown(SD_BOTH) makes the next
 * call fail at once (WSAESHUTDOWN), so one about to start cannot block
 * either. The thread that serves the connection closes its socket itself.
 * The listener is the one socket closed here: a cancelled accept() would
 * miss a stop that came just before it, and shutdown() does not apply to a
 * listening socket. Closing makes accept() fail now or at once (WSAEINTR on
 * Windows, 995 under Wine); the reuse hazard above shrinks to main's few
 * instructions between reading `listener` and entering accept(): one
 * reason the later steps never block there. */
static void wake(void)
{
    EnterCriticalSection(&conns_lock);
    if (listener != INVALID_SOCKET)
        closesocket(listener);
    listener = INVALID_SOCKET;
    for (struct conn *c = live; c != NULL; c = c->next) {
        shutdown(c->s, SD_BOTH);
        CancelIoEx((HANDLE)c->s, NULL);
    }
    LeaveCriticalSection(&conns_lock);
}

/* ------------------------------------------------------------------------
 * Main: accept a client, give it a thread, repeat
 * --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    lab_parse_args(argc, argv, &opt, 0);
    lab_startup();
    InitializeCriticalSection(&conns_lock);
    all_done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (all_done == NULL)
        lab_fatal_win32("CreateEvent", GetLastError());
    listener = lab_listen(&opt, 0);
    lab_on_stop(wake);
    lab_ready(&opt, MODEL);

    while (!lab_stopping()) {
        struct sockaddr_in peer;
        int peer_len = (int)sizeof peer;
        SOCKET s = accept(listener, (struct sockaddr *)&peer, &peer_len);
        if (s == INVALID_SOCKET) {
            int err = WSAGetLastError();
            if (lab_stopping())
                break;
            /* A client that reset while still in the backlog, or a
             * shortage of sockets or memory: not a reason to stop serving.
             * A shortage makes accept() fail at once for as long as it
             * lasts; the pause keeps this loop from spinning meanwhile. */
            lab_error("accept", err);
            if (!lab_accept_gone(err))
                Sleep(100);
            continue;
        }
        struct conn *c = conn_new(s, &peer);
        if (c == NULL)
            continue;
        /* SOLUTION BEGIN: Serve c on a thread of its own instead of this one: count it in
         * threads_running, start client_thread(c) with _beginthreadex reserving (not
         * committing) CLIENT_STACK bytes of stack; if that fails, take the count back, log it
         * with lab_conn_error_win32 and conn_free(c, "closed: no thread for it"); else close the
         * thread handle, nobody joins it. */
        /* _beginthreadex, not CreateThread: the thread uses the C runtime
         * (printf). STACK_SIZE_PARAM_IS_A_RESERVATION makes CLIENT_STACK
         * the reserved size instead of the committed one. */
        InterlockedIncrement(&threads_running);
        uintptr_t th = _beginthreadex(NULL, CLIENT_STACK, client_thread, c,
                                      STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
        if (th == 0) {
            InterlockedDecrement(&threads_running);
            lab_conn_error_win32(c->id, "_beginthreadex", GetLastError());
            conn_free(c, "closed: no thread for it");
            continue;
        }
        CloseHandle((HANDLE)th); /* the thread runs on; we never join it */
        /* SOLUTION END: InterlockedIncrement(&threads_running); client_thread(c); */
    }

    EnterCriticalSection(&conns_lock);
    if (listener != INVALID_SOCKET)
        closesocket(listener);
    listener = INVALID_SOCKET;
    LeaveCriticalSection(&conns_lock);
    /* Drop main's own count; wait for the client threads wake() woke. */
    if (InterlockedDecrement(&threads_running) != 0)
        WaitForSingleObject(all_done, INFINITE);
    return lab_finish();
}
