/*
 * client.h - what the parts of client.exe share.
 *
 * client.exe is one program with several modes, chosen by the first
 * argument: none for the line echo client (client.c); the others live in a
 * file each and are listed by `client.exe --help`.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_DEFAULT_HOST "127.0.0.1"
#define CLIENT_DEFAULT_PORT 40100

/* The modes: argv[0] is the mode's name. */
int bench_main(int argc, char **argv);   /* bench.c */
int compare_main(int argc, char **argv); /* compare.c */
int stress_main(int argc, char **argv);  /* stress.c */
int game_main(int argc, char **argv);    /* game.c */
int chat_main(int argc, char **argv);    /* chat.c */
int buffers_main(int argc, char **argv); /* buffers.c */

/* netutil.c */
const char *net_err_text(int err, char *text, size_t size);
void net_print_error(const char *what, int err);
int net_parse_num(const char *s, long lo, long hi, long *out);
/* Resolves HOST:PORT to an IPv4 address. Returns 0 or a WSA error. */
int net_resolve(const char *host, unsigned short port, struct sockaddr_in *out);
/* Blocking connect with a time limit. Returns the socket, or
 * INVALID_SOCKET with *err set (WSAETIMEDOUT when the limit passed). */
SOCKET net_connect(const struct sockaddr_in *to, DWORD timeout_ms, int *err);
/* Sends all n bytes on a blocking socket. Returns 0 or the WSA error. */
int net_send_all(SOCKET s, const char *p, int n);

#endif
