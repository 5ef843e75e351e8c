/*
 * echo.c - client.exe with no mode: the console echo client used with
 * every step.
 *
 *   client.exe [-s HOST] [-p PORT]
 *
 * Reads lines from standard input, typed or piped, sends each one, waits
 * for the whole echo and prints it; end of input or an empty line ends it.
 * Standard output carries exactly the echoed bytes, so `client.exe < file`
 * reproduces the file when the server is right.
 *
 * TCP has no message boundaries: one send() of ours may come back in
 * several recv()s, so the client receives until it has as many bytes as it
 * sent (recv_exactly), never "one recv per line".
 */
#include "client.h"
#include <fcntl.h>
#include <io.h>

#define ECHO_TIMEOUT_MS 10000 /* a server that does not echo within this is broken */

static const char *opt_host = CLIENT_DEFAULT_HOST;
static unsigned short opt_port = CLIENT_DEFAULT_PORT;

static const struct opt echo_options[] = {
    {"-s", OPT_STR, &opt_host, 0, 0, "HOST", "server name or address (default 127.0.0.1)"},
    {"-p", OPT_PORT, &opt_port, 0, 0, "PORT", "server port (default 40100)"},
    OPT_END,
};

const struct opt_spec echo_spec = {
    "client",
    "usage: client.exe [-s HOST] [-p PORT] [-h]\n"
    "  Echo client: sends each line of standard input (typed or piped), prints\n"
    "  the echo; an empty line or end of input ends it.\n",
    echo_options,
    NULL,
};

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

int echo_main(int argc, char **argv)
{
    const char *host;
    long port;
    struct sockaddr_in to;
    char addr_text[INET_ADDRSTRLEN];
    static char line[65536], echo[65536];
    int err, interactive;
    DWORD timeout = ECHO_TIMEOUT_MS;
    SOCKET s;

    int rc = opt_parse(&echo_spec, argc, argv);
    if (rc != -1)
        return rc;
    host = opt_host;
    port = opt_port;
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

    rc = 0;
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
            fprintf(stderr, "client: the server closed the connection after %d of %d bytes\n", got,
                    n);
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
