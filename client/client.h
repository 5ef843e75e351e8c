/*
 * client.h - what the parts of client.exe share.
 *
 * client.exe is one program with several modes, chosen by the first
 * argument (client.c): none for the line echo client (echo.c); the others
 * live in a file each and are listed by `client.exe --help`. Below the
 * modes: engine.c (the completion-port client engine of bench and
 * stress), options.c (the option parser), netutil.c (socket helpers),
 * game_net.c (the game packets).
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
#include "netutil.h"
#include "options.h"

#define CLIENT_DEFAULT_HOST "127.0.0.1"
#define CLIENT_DEFAULT_PORT 40100

extern const struct opt_spec echo_spec; /* echo.c: client.exe -h starts with it */

/* The modes: argv[0] is the mode's name. */
int echo_main(int argc, char **argv);    /* echo.c: no mode named */
int bench_main(int argc, char **argv);   /* bench.c */
int compare_main(int argc, char **argv); /* compare.c */
int stress_main(int argc, char **argv);  /* stress.c */
int game_main(int argc, char **argv);    /* game.c */
int chat_main(int argc, char **argv);    /* chat.c */
int buffers_main(int argc, char **argv); /* buffers.c */

#endif
