/*
 * net.c - socket helpers for the test driver.
 *
 * Every socket the driver opens is non-blocking and every wait goes through
 * select() with a timeout, so that a server that stops answering produces a
 * FAIL line and never a hung driver. SO_RCVTIMEO/SO_SNDTIMEO would cover
 * recv and send but not connect, and a blocking send of a large buffer
 * waits for all of it: select on one socket at a time covers all three.
 *
 * fd_sets are filled by hand (fd_count/fd_array, the Windows layout) rather
 * than with FD_SET, whose do/while(0) draws C4127 from MSVC at /W4.
 */
#include "tests.h"

ULONGLONG now_ms(void)
{
    return GetTickCount64();
}

int net_init(char *why, size_t whysz)
{
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) {
        snprintf(why, whysz, "WSAStartup failed: WSA %d", err);
        return 0;
    }
    return 1;
}

const char *net_status_text(enum net_status st, int err, char *buf, size_t bufsz)
{
    static const char *const plain[] = {"ok", "timed out", "connection closed by the server"};
    if (st == NET_RESET)
        snprintf(buf, bufsz, "connection reset (WSA %d)", err);
    else if (st == NET_OK || st == NET_TIMEOUT || st == NET_EOF)
        snprintf(buf, bufsz, "%s", plain[st]);
    else
        snprintf(buf, bufsz, "socket error WSA %d", err);
    return buf;
}

static enum net_status status_of(int err)
{
    if (err == WSAECONNRESET || err == WSAECONNABORTED || err == WSAENETRESET ||
        err == WSAESHUTDOWN)
        return NET_RESET;
    return NET_ERROR;
}

/* Waits until `s` is readable (want_write 0) or writable (1), or has an
 * error (connect). Returns 1 ready, 0 timeout, -1 select failed. */
static int wait_socket(SOCKET s, int want_write, DWORD ms)
{
    fd_set set, ex;
    struct timeval tv;
    int n;
    set.fd_count = 1;
    set.fd_array[0] = s;
    ex.fd_count = 1;
    ex.fd_array[0] = s; /* a failed non-blocking connect shows up here */
    tv.tv_sec = (long)(ms / 1000);
    tv.tv_usec = (long)((ms % 1000) * 1000);
    n = select(0, want_write ? NULL : &set, want_write ? &set : NULL, &ex, &tv);
    if (n == SOCKET_ERROR)
        return -1;
    return n > 0 ? 1 : 0;
}

static int set_nonblocking(SOCKET s)
{
    u_long on = 1;
    return ioctlsocket(s, FIONBIO, &on) == 0;
}

/* client/compare.c has its own copy: the driver and the client are two
 * programs that each build alone, and the copy is five calls long. */
unsigned short net_free_port(void)
{
    struct sockaddr_in sa;
    int len = (int)sizeof sa;
    unsigned short port = 0;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(s, (struct sockaddr *)&sa, (int)sizeof sa) == 0 &&
        getsockname(s, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    closesocket(s);
    return port;
}

/* rcvbuf > 0: SO_RCVBUF, set before connect (the window is negotiated
 * then). */
static SOCKET connect_start(unsigned short port, int rcvbuf, char *why, size_t whysz)
{
    struct sockaddr_in sa;
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        snprintf(why, whysz, "socket failed: WSA %d", WSAGetLastError());
        return INVALID_SOCKET;
    }
    if (rcvbuf > 0 &&
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, (const char *)&rcvbuf, (int)sizeof rcvbuf) != 0) {
        snprintf(why, whysz, "setsockopt(SO_RCVBUF) failed: WSA %d", WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    if (!set_nonblocking(s)) {
        snprintf(why, whysz, "ioctlsocket(FIONBIO) failed: WSA %d", WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    if (connect(s, (struct sockaddr *)&sa, (int)sizeof sa) == SOCKET_ERROR) {
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK) {
            snprintf(why, whysz, "connect failed: WSA %d", err);
            closesocket(s);
            return INVALID_SOCKET;
        }
    }
    return s;
}

SOCKET net_connect_start(unsigned short port, char *why, size_t whysz)
{
    return connect_start(port, 0, why, whysz);
}

int net_connect_wait(SOCKET s, DWORD ms, char *why, size_t whysz)
{
    int soerr = 0, len = (int)sizeof soerr;
    int r = wait_socket(s, 1, ms);
    if (r == 0) {
        snprintf(why, whysz, "connect timed out after %lu ms", (unsigned long)ms);
        return 0;
    }
    if (r < 0) {
        snprintf(why, whysz, "select failed: WSA %d", WSAGetLastError());
        return 0;
    }
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &len) == SOCKET_ERROR)
        soerr = WSAGetLastError();
    if (soerr != 0) {
        snprintf(why, whysz, "connect failed: WSA %d", soerr);
        return 0;
    }
    return 1;
}

SOCKET net_connect(unsigned short port, DWORD ms, char *why, size_t whysz)
{
    return net_connect_rcvbuf(port, 0, ms, why, whysz);
}

SOCKET net_connect_rcvbuf(unsigned short port, int rcvbuf, DWORD ms, char *why, size_t whysz)
{
    SOCKET s = connect_start(port, rcvbuf, why, whysz);
    if (s == INVALID_SOCKET)
        return INVALID_SOCKET;
    if (!net_connect_wait(s, ms, why, whysz)) {
        net_abort(s);
        return INVALID_SOCKET;
    }
    return s;
}

void net_nodelay(SOCKET s)
{
    BOOL on = TRUE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&on, (int)sizeof on);
}

void net_close(SOCKET s)
{
    if (s != INVALID_SOCKET)
        closesocket(s);
}

void net_abort(SOCKET s)
{
    struct linger lg;
    if (s == INVALID_SOCKET)
        return;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, (int)sizeof lg);
    closesocket(s);
}

/* Pieces of at most 64 KiB: an int-sized length for send/recv either way. */
#define IO_CHUNK 65536

enum net_status net_send_all(SOCKET s, const void *buf, size_t len, DWORD ms, size_t *sent,
                             int *err)
{
    const char *p = (const char *)buf;
    size_t off = 0;
    *err = 0;
    while (off < len) {
        size_t want = len - off < IO_CHUNK ? len - off : IO_CHUNK;
        int n = send(s, p + off, (int)want, 0);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        *err = WSAGetLastError();
        if (*err != WSAEWOULDBLOCK) {
            *sent = off;
            return status_of(*err);
        }
        *err = 0;
        {
            int r = wait_socket(s, 1, ms); /* the timeout restarts after each piece */
            if (r <= 0) {
                *sent = off;
                if (r < 0)
                    *err = WSAGetLastError();
                return r == 0 ? NET_TIMEOUT : NET_ERROR;
            }
        }
    }
    *sent = off;
    return NET_OK;
}

/* The mirror of net_send_all, alike on purpose: one loop for both
 * directions would have to hide which readiness it waits for. */
static enum net_status recv_loop(SOCKET s, void *buf, size_t len, DWORD ms, size_t *got, int *err,
                                 int exact)
{
    char *p = (char *)buf;
    size_t off = 0;
    *err = 0;
    while (off < len) {
        size_t want = len - off < IO_CHUNK ? len - off : IO_CHUNK;
        int n = recv(s, p + off, (int)want, 0);
        if (n > 0) {
            off += (size_t)n;
            if (!exact)
                break;
            continue;
        }
        if (n == 0) {
            *got = off;
            return NET_EOF;
        }
        *err = WSAGetLastError();
        if (*err != WSAEWOULDBLOCK) {
            *got = off;
            return status_of(*err);
        }
        *err = 0;
        {
            int r = wait_socket(s, 0, ms);
            if (r <= 0) {
                *got = off;
                if (r < 0)
                    *err = WSAGetLastError();
                return r == 0 ? NET_TIMEOUT : NET_ERROR;
            }
        }
    }
    *got = off;
    return NET_OK;
}

enum net_status net_recv_exact(SOCKET s, void *buf, size_t len, DWORD ms, size_t *got, int *err)
{
    return recv_loop(s, buf, len, ms, got, err, 1);
}

enum net_status net_recv_some(SOCKET s, void *buf, size_t len, DWORD ms, size_t *got, int *err)
{
    return recv_loop(s, buf, len, ms, got, err, 0);
}

int net_echo(SOCKET s, const void *data, size_t len, DWORD ms, char *why, size_t whysz)
{
    char st[64];
    size_t done = 0;
    int err = 0, receiving = 0;
    enum net_status r;
    unsigned char *back = (unsigned char *)malloc(len ? len : 1);
    if (back == NULL) {
        snprintf(why, whysz, "out of memory");
        return 0;
    }
    r = net_send_all(s, data, len, ms, &done, &err);
    if (r == NET_OK) {
        receiving = 1;
        r = net_recv_exact(s, back, len, ms, &done, &err);
    }
    if (r != NET_OK) {
        snprintf(why, whysz, "%s %llu of %llu bytes%s: %s", receiving ? "got" : "sent",
                 (unsigned long long)done, (unsigned long long)len, receiving ? " back" : "",
                 net_status_text(r, err, st, sizeof st));
        free(back);
        return 0;
    }
    if (memcmp(back, data, len) != 0) {
        size_t i = 0;
        while (i < len && back[i] == ((const unsigned char *)data)[i])
            i++;
        snprintf(why, whysz, "echo differs at byte %llu of %llu (sent 0x%02x, got 0x%02x)",
                 (unsigned long long)i, (unsigned long long)len,
                 (unsigned)((const unsigned char *)data)[i], (unsigned)back[i]);
        free(back);
        return 0;
    }
    free(back);
    return 1;
}

void prng_seed(struct prng *r, uint32_t seed)
{
    r->x = seed ? seed : 0x9e3779b9u;
}

uint32_t prng_next(struct prng *r)
{
    uint32_t x = r->x;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->x = x;
    return x;
}

void prng_fill(struct prng *r, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(prng_next(r) >> 24);
}

int net_send_why(SOCKET s, const char *label, const void *data, size_t len, char *why,
                 size_t whysz)
{
    char st[64];
    size_t sent = 0;
    int err = 0;
    enum net_status r = net_send_all(s, data, len, NET_TIMEOUT_MS, &sent, &err);
    if (r != NET_OK)
        snprintf(why, whysz, "%s: send: %s", label, net_status_text(r, err, st, sizeof st));
    return r == NET_OK;
}

SOCKET net_connect_why(unsigned short port, const char *label, char *why, size_t whysz)
{
    char one[WHY_SIZE];
    SOCKET s = net_connect(port, CONNECT_MS, one, sizeof one);
    if (s == INVALID_SOCKET)
        snprintf(why, whysz, "%s: %s", label, one);
    else
        net_nodelay(s);
    return s;
}
