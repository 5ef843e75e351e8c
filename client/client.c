/*
 * client.c - the console echo client used with every step, and the entry
 * point of client.exe's other modes.
 *
 *   client.exe [-s HOST] [-p PORT]       the line echo client (this file)
 *   client.exe MODE [options]            another mode (client.exe --help)
 *
 * The echo client reads lines from standard input, typed or piped, sends
 * each one, waits for the whole echo and prints it; end of input or an
 * empty line ends it. Standard output carries exactly the echoed bytes, so
 * `client.exe < file` reproduces the file when the server is right.
 *
 * TCP has no message boundaries: one send() of ours may come back in
 * several recv()s, so the client receives until it has as many bytes as it
 * sent (recv_exactly), never "one recv per line".
 */
#include "client.h"
#include "bench.h"
#include <fcntl.h>
#include <io.h>

#define ECHO_TIMEOUT_MS 10000 /* a server that does not echo within this is broken */

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

static void usage(FILE *f)
{
    fprintf(f, "usage: client.exe [-s HOST] [-p PORT] [-h]\n");
    fprintf(f, "  Echo client: sends each line of standard input (typed or piped), prints\n");
    fprintf(f, "  the echo; an empty line or end of input ends it.\n");
    fprintf(f, "  -s HOST   server name or address (default %s)\n", CLIENT_DEFAULT_HOST);
    fprintf(f, "  -p PORT   server port (default %d)\n", CLIENT_DEFAULT_PORT);
    fprintf(f, "  -h        this help\n");
    if (modes[0].name != NULL) {
        fprintf(f, "\nOther modes (client.exe MODE -h for each):\n");
        for (const struct mode *m = modes; m->name != NULL; m++)
            fprintf(f, "  %-8s  %s\n", m->name, m->summary);
    }
    fflush(f);
}

/* Receives exactly n bytes. Returns 0, or -1 if the server closed first
 * (*got says how far it came), or a WSA error. */
static int recv_exactly(SOCKET s, char *buf, int n, int *got)
{
    *got = 0;
    while (*got < n) {
        int r = recv(s, buf + *got, n - *got, 0);
        if (r == 0)
            return -1;
        if (r == SOCKET_ERROR)
            return WSAGetLastError();
        *got += r;
    }
    return 0;
}

static int echo_main(int argc, char **argv)
{
    const char *host = CLIENT_DEFAULT_HOST;
    long port = CLIENT_DEFAULT_PORT;
    struct sockaddr_in to;
    char addr_text[INET_ADDRSTRLEN];
    static char line[65536], echo[65536];
    int err, interactive;
    DWORD timeout = ECHO_TIMEOUT_MS;
    SOCKET s;

    for (int i = 1; i < argc; i++) {
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "-s") == 0) {
            if (val == NULL) {
                fprintf(stderr, "client: -s needs a host\n");
                usage(stderr);
                return 2;
            }
            host = val;
            i++;
        } else if (strcmp(argv[i], "-p") == 0) {
            if (!net_parse_num(val, 1, 65535, &port)) {
                fprintf(stderr, "client: -p needs a port 1..65535\n");
                usage(stderr);
                return 2;
            }
            i++;
        } else {
            fprintf(stderr, "client: unknown argument: %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    err = net_resolve(host, (unsigned short)port, &to);
    if (err != 0) {
        fprintf(stderr, "client: cannot resolve %s: ", host);
        net_print_error("getaddrinfo", err);
        return 1;
    }
    inet_ntop(AF_INET, &to.sin_addr, addr_text, sizeof addr_text);
    s = net_connect(&to, 5000, &err);
    if (s == INVALID_SOCKET) {
        char text[256];
        fprintf(stderr, "client: connect to %s:%ld failed: WSA %d: %s\n", addr_text, port, err,
                net_err_text(err, text, sizeof text));
        if (err == WSAECONNREFUSED)
            fprintf(stderr, "client: is the server running on port %ld?\n", port);
        return 1;
    }
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout, sizeof timeout);

    interactive = _isatty(_fileno(stdin));
    /* Piped, the bytes go through unchanged (no CRLF translation either
     * way), so that `client.exe < file > copy` gives copy == file. */
    if (!interactive)
        _setmode(_fileno(stdin), _O_BINARY);
    if (!_isatty(_fileno(stdout)))
        _setmode(_fileno(stdout), _O_BINARY);
    if (interactive)
        fprintf(stderr, "connected to %s:%ld; type lines, an empty line quits\n", addr_text, port);

    int rc = 0;
    while (fgets(line, (int)sizeof line, stdin) != NULL) {
        int n = (int)strlen(line), got;
        if (n == 0 || strcmp(line, "\n") == 0 || strcmp(line, "\r\n") == 0)
            break;
        if ((err = net_send_all(s, line, n)) != 0) {
            net_print_error("client: send", err);
            rc = 1;
            break;
        }
        err = recv_exactly(s, echo, n, &got);
        if (err == -1) {
            fprintf(stderr, "client: the server closed the connection after %d of %d bytes\n", got, n);
            rc = 1;
            break;
        }
        if (err != 0) {
            if (err == WSAETIMEDOUT)
                fprintf(stderr, "client: no whole echo within %d s (%d of %d bytes)\n",
                        ECHO_TIMEOUT_MS / 1000, got, n);
            else
                net_print_error("client: recv", err);
            rc = 1;
            break;
        }
        fwrite(echo, 1, (size_t)n, stdout);
        fflush(stdout);
    }

    /* Say goodbye the polite way: half-close, then wait for the server to
     * close its side, so that it sees a clean end rather than a reset. */
    shutdown(s, SD_SEND);
    while (recv(s, echo, (int)sizeof echo, 0) > 0)
        ;
    closesocket(s);
    return rc;
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) {
        net_print_error("WSAStartup", err);
        return 1;
    }
    int rc = -1;
    if (argc > 1 && argv[1][0] != '-') {
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
