/*
 * client.c - the entry point of client.exe: picks the mode named by the
 * first argument and runs it. Nothing else lives here.
 *
 *   client.exe [-s HOST] [-p PORT]       the line echo client (echo.c)
 *   client.exe MODE [options]            another mode (client.exe --help)
 */
#include "client.h"

struct mode {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the mode's name */
    const char *summary;
};

static const struct mode modes[] = {
    {"bench", bench_main, "load generator: connections, msgs/s, latency, errors"},
    {"buffers", buffers_main, "the socket chapter's experiments: TCP and UDP buffers, connect"},
    {"chat", chat_main, "console client of the chat server (08_chat)"},
    {"compare", compare_main, "every echo step under the same load, side by side"},
    {"game", game_main, "console game client for 10_game_server"},
    {"stress", stress_main, "the course's stress test for 10_game_server"},
    {NULL, NULL, NULL},
};

/* The echo client's help, then the modes. */
static void usage(FILE *f)
{
    opt_usage(&echo_spec, f);
    fprintf(f, "\nOther modes (client.exe MODE -h for each):\n");
    for (const struct mode *m = modes; m->name != NULL; m++)
        fprintf(f, "  %-8s  %s\n", m->name, m->summary);
    fflush(f);
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    int rc = -1;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) {
        net_print_error("WSAStartup", err);
        return 1;
    }
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        rc = 0;
    } else if (argc > 1 && argv[1][0] != '-') {
        for (const struct mode *m = modes; m->name != NULL; m++)
            if (strcmp(argv[1], m->name) == 0)
                rc = m->run(argc - 1, argv + 1);
        if (rc == -1) {
            fprintf(stderr, "client: unknown mode: %s\n", argv[1]);
            usage(stderr);
            rc = 2;
        }
    } else {
        rc = echo_main(argc, argv);
    }
    WSACleanup();
    return rc;
}
