/*
 * bad_server.c - a deliberately wrong echo server, for the bench cases.
 *
 *   run_tests.exe --bad-server corrupt|close|starve -p PORT [-a ADDR] [-q]
 *
 * `client.exe bench` must notice a server that gets the echo wrong, and
 * the lab has no such server (every step is meant to be right), so the
 * driver provides one: the same command line and ready line as a step, so
 * that server_start_args starts it like any server.
 *
 *   corrupt  echoes everything, but flips one bit of every 1000th byte of
 *            each connection (bytes 999, 1999, ...): the data arrives in
 *            full and in time, and only a byte-for-byte check sees it.
 *   close    echoes what its first recv() returns, then closes the
 *            connection (a half-close, then it reads until the client
 *            closes: the client sees end-of-file, not a reset).
 *   starve   echoes everything right, but favours its first connection:
 *            every other one waits STARVE_DELAY_MS before each echo, so
 *            the first is served many times as often (the unfairness
 *            `slowest_share` must show).
 *
 * A thread per connection with blocking calls: it serves a handful of
 * connections for a few seconds, and the driver ends it with
 * TerminateProcess (proc_stop), which is why nothing here waits with a
 * limit or handles Ctrl+C.
 */
#include "tests.h"

enum bad_mode { BAD_CORRUPT, BAD_CLOSE, BAD_STARVE };

struct bad_conn {
    SOCKET s;
    enum bad_mode mode;
    int favoured; /* starve: the first connection, never delayed */
};

#define CORRUPT_EVERY 1000
#define STARVE_DELAY_MS 50

static int send_all_blocking(SOCKET s, const char *p, int n)
{
    while (n > 0) {
        int k = send(s, p, n, 0);
        if (k == SOCKET_ERROR)
            return 0;
        p += k;
        n -= k;
    }
    return 1;
}

static DWORD WINAPI bad_conn_main(LPVOID arg)
{
    struct bad_conn *bc = (struct bad_conn *)arg;
    SOCKET s = bc->s;
    enum bad_mode mode = bc->mode;
    int favoured = bc->favoured;
    unsigned long long total = 0;
    char buf[16384];
    int n;
    free(bc);
    while ((n = recv(s, buf, (int)sizeof buf, 0)) > 0) {
        if (mode == BAD_CORRUPT)
            for (int i = 0; i < n; i++)
                if ((total + (unsigned long long)i) % CORRUPT_EVERY == CORRUPT_EVERY - 1)
                    buf[i] = (char)(buf[i] ^ 0x20);
        if (mode == BAD_STARVE && !favoured)
            Sleep(STARVE_DELAY_MS);
        total += (unsigned long long)n;
        if (!send_all_blocking(s, buf, n))
            break;
        if (mode == BAD_CLOSE) {
            shutdown(s, SD_SEND);
            while (recv(s, buf, (int)sizeof buf, 0) > 0)
                ; /* what the client still sends: unread data would make the close a reset */
            break;
        }
    }
    closesocket(s);
    return 0;
}

static void bad_usage(void)
{
    fprintf(stderr, "usage: run_tests.exe --bad-server corrupt|close|starve -p PORT [-a ADDR] "
                    "[-q]\n");
    fflush(stderr);
}

int bad_server_main(int argc, char **argv)
{
    const char *addr = "127.0.0.1";
    const char *mode_name;
    enum bad_mode mode;
    long port = 0;
    struct sockaddr_in sa;
    WSADATA wsa;
    SOCKET l;
    int err;

    if (argc < 3) {
        bad_usage();
        return 2;
    }
    mode_name = argv[2];
    if (strcmp(mode_name, "corrupt") == 0) {
        mode = BAD_CORRUPT;
    } else if (strcmp(mode_name, "close") == 0) {
        mode = BAD_CLOSE;
    } else if (strcmp(mode_name, "starve") == 0) {
        mode = BAD_STARVE;
    } else {
        bad_usage();
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || port < 1 || port > 65535) {
                bad_usage();
                return 2;
            }
        } else if (strcmp(argv[i], "-a") == 0 && i + 1 < argc) {
            addr = argv[++i];
        } else if (strcmp(argv[i], "-q") != 0) {
            bad_usage();
            return 2;
        }
    }
    if (port == 0) {
        bad_usage();
        return 2;
    }
    err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) {
        fprintf(stderr, "WSAStartup failed: WSA %d\n", err);
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        bad_usage();
        return 2;
    }
    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (l == INVALID_SOCKET) {
        fprintf(stderr, "socket failed: WSA %d\n", WSAGetLastError());
        return 1;
    }
    /* the same words as a step's failure: server_start retries on them */
    if (bind(l, (struct sockaddr *)&sa, (int)sizeof sa) == SOCKET_ERROR) {
        fprintf(stderr, "bind failed: WSA %d\n", WSAGetLastError());
        return 1;
    }
    if (listen(l, SOMAXCONN) == SOCKET_ERROR) {
        fprintf(stderr, "listen failed: WSA %d\n", WSAGetLastError());
        return 1;
    }
    printf("bad-server %s: listening on %s:%ld\n", mode_name, addr, port);
    fflush(stdout);
    for (int accepted = 0;; accepted++) {
        struct bad_conn *bc;
        HANDLE t;
        SOCKET a = accept(l, NULL, NULL);
        if (a == INVALID_SOCKET) {
            /* no retry loop that could spin: the case sees the exit */
            fprintf(stderr, "accept failed: WSA %d\n", WSAGetLastError());
            return 1;
        }
        bc = (struct bad_conn *)malloc(sizeof *bc);
        if (bc == NULL) {
            closesocket(a);
            continue;
        }
        bc->s = a;
        bc->mode = mode;
        bc->favoured = accepted == 0;
        t = CreateThread(NULL, 64 * 1024, bad_conn_main, bc, STACK_SIZE_PARAM_IS_A_RESERVATION,
                         NULL);
        if (t == NULL) {
            free(bc);
            closesocket(a);
            continue;
        }
        CloseHandle(t);
    }
}
