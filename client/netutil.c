/*
 * netutil.c - socket helpers shared by the modes of client.exe.
 */
#include "netutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The same lines as lab_err_text in tools/lab.h (and 10_game_server's
 * copy), on purpose: lab.h is the servers' handout header, with a
 * server's Ctrl+C, listener and counters in static state, and client.exe
 * is no server; a dozen lines are cheaper than that coupling. */
const char *net_err_text(int err, char *text, size_t size)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, (DWORD)err, MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT),
                             text, (DWORD)size, NULL);
    if (n == 0)
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                           NULL, (DWORD)err, 0, text, (DWORD)size, NULL);
    if (n == 0)
        snprintf(text, size, "unknown error");
    for (char *p = text; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    for (size_t len = strlen(text); len > 0 && text[len - 1] == ' '; len--)
        text[len - 1] = '\0';
    return text;
}

void net_print_error(const char *what, int err)
{
    char text[256];
    fprintf(stderr, "%s failed: WSA %d: %s\n", what, err, net_err_text(err, text, sizeof text));
    fflush(stderr);
}

int net_parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (s == NULL || *s == '\0')
        return 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

int net_resolve(const char *host, unsigned short port, struct sockaddr_in *out)
{
    struct addrinfo hints, *res = NULL;
    int err;
    /* Hints always: with none, getaddrinfo also returns raw-socket and
     * datagram entries (Wine does, and so may Windows). */
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    err = getaddrinfo(host, NULL, &hints, &res);
    if (err != 0)
        return err;
    memcpy(out, res->ai_addr, sizeof *out);
    out->sin_port = htons(port);
    freeaddrinfo(res);
    return 0;
}

SOCKET net_connect(const struct sockaddr_in *to, DWORD timeout_ms, int *err)
{
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    u_long nonblocking = 1, blocking = 0;
    fd_set wr, ex;
    struct timeval tv;

    if (s == INVALID_SOCKET) {
        *err = WSAGetLastError();
        return INVALID_SOCKET;
    }
    /* connect() on a blocking socket waits as long as the system likes
     * (about 21 s on Windows for an unanswered SYN): connect without
     * blocking and wait for the result with select() and our own limit. */
    ioctlsocket(s, FIONBIO, &nonblocking);
    if (connect(s, (const struct sockaddr *)to, (int)sizeof *to) == SOCKET_ERROR) {
        *err = WSAGetLastError();
        if (*err != WSAEWOULDBLOCK) {
            closesocket(s);
            return INVALID_SOCKET;
        }
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        FD_SET(s, &wr);
        FD_SET(s, &ex); /* Winsock reports a failed connect in the except set */
        tv.tv_sec = (long)(timeout_ms / 1000);
        tv.tv_usec = (long)(timeout_ms % 1000) * 1000;
        int n = select(0, NULL, &wr, &ex, &tv);
        if (n == 0) {
            *err = WSAETIMEDOUT;
            closesocket(s);
            return INVALID_SOCKET;
        }
        if (n == SOCKET_ERROR || FD_ISSET(s, &ex)) {
            int so_err = 0, len = (int)sizeof so_err;
            getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&so_err, &len);
            *err = (n == SOCKET_ERROR) ? WSAGetLastError() : (so_err ? so_err : WSAECONNREFUSED);
            closesocket(s);
            return INVALID_SOCKET;
        }
    }
    ioctlsocket(s, FIONBIO, &blocking);
    *err = 0;
    return s;
}

int net_send_all(SOCKET s, const char *p, int n)
{
    /* send() on a blocking socket may take less than it was given */
    while (n > 0) {
        int sent = send(s, p, n, 0);
        if (sent == SOCKET_ERROR)
            return WSAGetLastError();
        p += sent;
        n -= sent;
    }
    return 0;
}
