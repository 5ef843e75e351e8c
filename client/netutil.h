/*
 * netutil.h - the socket helpers of client.exe (netutil.c): error text,
 * number arguments, name resolution, a connect with a time limit and a
 * blocking send-all. Every mode uses some of them.
 */
#ifndef NETUTIL_H
#define NETUTIL_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <stddef.h>

/* The system's text for a Win32 or WSA error code, on one line. */
const char *net_err_text(int err, char *text, size_t size);
/* "WHAT failed: WSA N: system text" on stderr. */
void net_print_error(const char *what, int err);
/* A decimal number lo..hi: 1 and *out set, else 0. */
int net_parse_num(const char *s, long lo, long hi, long *out);
/* Resolves HOST:PORT to an IPv4 address. Returns 0 or a WSA error. */
int net_resolve(const char *host, unsigned short port, struct sockaddr_in *out);
/* Blocking connect with a time limit. Returns the socket, or
 * INVALID_SOCKET with *err set (WSAETIMEDOUT when the limit passed). */
SOCKET net_connect(const struct sockaddr_in *to, DWORD timeout_ms, int *err);
/* Sends all n bytes on a blocking socket. Returns 0 or the WSA error. */
int net_send_all(SOCKET s, const char *p, int n);

#endif
