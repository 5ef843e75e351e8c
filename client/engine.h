/*
 * engine.h - the completion-port client engine under `bench` and `stress`.
 *
 * One process drives many connections from a few threads on one I/O
 * completion port. The engine owns the sockets and the overlapped
 * operations: it connects (ConnectEx), keeps one receive posted on every
 * open connection, keeps at most one send in flight (the rest of a short
 * send goes out before anything new), and cancels, closes and frees. A
 * mode (bench, stress) owns what the bytes mean: it registers a table of
 * callbacks, and the engine calls them per completion. The engine never
 * names a mode.
 *
 * Locking: every connection has a lock. The engine calls the callbacks
 * with it held; a mode's own thread takes it (engine_lock) before any
 * engine_* call on a connection, and the callbacks may call engine_kick,
 * engine_finish and engine_close on their own connection.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stddef.h>

struct engine;
struct eng_conn;

enum eng_state {
    ENG_FREE,       /* no socket: engine_connect may use the slot */
    ENG_CONNECTING, /* ConnectEx posted */
    ENG_OPEN,       /* connected: a receive is posted */
    ENG_CLOSING,    /* closed; operations still pending */
};

enum eng_end {
    ENG_CONNECT_FAILED, /* the connect failed (err: the WSA error) */
    ENG_EOF,            /* the peer closed: a receive returned 0 bytes */
    ENG_FAILED,         /* a receive or send failed (err: the WSA error) */
    ENG_CLOSED,         /* engine_close was called (connecting or open) */
};

struct engine_ops {
    /* The connect completed; a receive is already posted. */
    void (*on_open)(struct eng_conn *c);
    /* Bytes arrived (n > 0). `worker` is the calling thread's number,
     * 0..threads-1, for per-thread statistics. */
    void (*on_recv)(struct eng_conn *c, int worker, const char *data, size_t n);
    /* No send is in flight: copy up to `room` bytes to send into buf and
     * return how many (0: nothing to send now; engine_kick asks again). */
    size_t (*fill)(struct eng_conn *c, char *buf, size_t room);
    /* The engine stops using the connection: called exactly once per
     * engine_connect that returned 0, at the first of the causes. */
    void (*on_end)(struct eng_conn *c, enum eng_end why, int err);
};

struct engine_config {
    int conns;        /* slots, indices 0..conns-1 */
    int threads;      /* worker threads on the port */
    size_t recv_size; /* bytes per WSARecv */
    size_t send_size; /* bytes per WSASend (fill's room) */
    int nodelay;      /* TCP_NODELAY on every connection */
};

/* Creates the port, the slots and the worker threads. NULL after saying
 * why on stderr (nothing is left allocated). */
struct engine *engine_create(const struct engine_config *cfg, const struct engine_ops *ops);
/* Stops the workers and frees everything. Every slot must be free
 * (engine_wait_idle returned 0), or the workers must have failed. */
void engine_destroy(struct engine *e);

struct eng_conn *engine_conn(struct engine *e, int index);
int engine_index(const struct eng_conn *c);
void engine_lock(struct eng_conn *c);
void engine_unlock(struct eng_conn *c);

/* With the lock held: */
enum eng_state engine_state(const struct eng_conn *c);
/* Starts connecting a free slot to `to`, from `from` (NULL: any local
 * address). 0: on_open follows, or on_end (the connect failed, or
 * engine_close gave it up). Else the error; the slot stays free and no
 * callback follows. */
int engine_connect(struct eng_conn *c, const struct sockaddr_in *to,
                   const struct sockaddr_in *from);
/* Asks fill for bytes if no send is in flight. */
void engine_kick(struct eng_conn *c);
/* Sends what is staged, then half-closes (shutdown SD_SEND): the peer
 * sees a clean end. fill is not called again. */
void engine_finish(struct eng_conn *c);
/* Cancels the pending operations and closes the socket; on_end(ENG_CLOSED)
 * unless it already ended. The slot is free once the cancelled operations
 * have completed. Does nothing on a free or closing slot. */
void engine_close(struct eng_conn *c);

/* Closes every connection (engine_close, the locks taken here) and waits
 * until every slot is free. */
void engine_close_all(struct engine *e);
/* Waits until every slot is free. 0, or -1 when `ms` passed first or the
 * workers failed (the engine can then only be destroyed). */
int engine_wait_idle(struct engine *e, DWORD ms);

#endif
