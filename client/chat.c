/*
 * chat.c - client.exe chat: the console client of the n:1 chat server
 * (08_overlapped_callback/chat, build/08_chat.exe).
 *
 *   client.exe chat [-s HOST] [-p PORT] [-n NAME]
 *
 * Every line typed (or piped) is sent as one chat packet, "NAME: line"
 * when a name is given; every packet the server sends is printed on a
 * line of its own: "[ID] text" for a client's message, "[server] text"
 * for the server's own lines (who joined, who left). "/quit" or the end
 * of input ends it.
 *
 * The packet (see the server): uint8 size (whole packet, 5..255), uint32
 * sender id (little-endian), then the text. Lines longer than one packet
 * holds go out as several packets.
 *
 * Two threads, because a console read blocks: this thread receives and
 * prints, a second one reads standard input and sends. When input ends
 * the sender half-closes the connection; the server then closes it, and
 * the receive loop ends.
 */
#include "client.h"
#include <process.h>

#define CHAT_HEAD 5
#define CHAT_MAX 255
#define CHAT_TEXT_MAX (CHAT_MAX - CHAT_HEAD)

static SOCKET chat_sock = INVALID_SOCKET;
static char chat_name[64];

static int send_text(const char *text, size_t len)
{
    unsigned char pkt[CHAT_MAX];
    do {
        size_t n = len > CHAT_TEXT_MAX ? CHAT_TEXT_MAX : len;
        pkt[0] = (unsigned char)(CHAT_HEAD + n);
        memset(pkt + 1, 0, 4); /* the sender id: the server fills it in */
        memcpy(pkt + CHAT_HEAD, text, n);
        int err = net_send_all(chat_sock, (const char *)pkt, (int)(CHAT_HEAD + n));
        if (err != 0)
            return err;
        text += n;
        len -= n;
    } while (len > 0);
    return 0;
}

/* Standard input, line by line, to the server. */
static unsigned __stdcall chat_input(void *arg)
{
    char line[1024], msg[1100];
    (void)arg;
    while (fgets(line, (int)sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        int len, err;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (strcmp(line, "/quit") == 0)
            break;
        if (n == 0)
            continue;
        if (chat_name[0])
            len = snprintf(msg, sizeof msg, "%s: %s", chat_name, line);
        else
            len = snprintf(msg, sizeof msg, "%s", line);
        if (len < 0)
            continue;
        if ((size_t)len >= sizeof msg)
            len = (int)sizeof msg - 1;
        err = send_text(msg, (size_t)len);
        if (err != 0) {
            net_print_error("chat: send", err);
            break;
        }
    }
    /* no more from us: the server sees the end and closes, which ends
     * the receive loop */
    shutdown(chat_sock, SD_SEND);
    return 0;
}

static void chat_usage(FILE *f)
{
    fprintf(f, "usage: client.exe chat [-s HOST] [-p PORT] [-n NAME]\n"
               "  Console client of the chat server (08_chat.exe): type lines, see everyone's.\n"
               "  /quit or the end of input leaves.\n"
               "  -s HOST   server (default %s)\n"
               "  -p PORT   port (default %d)\n"
               "  -n NAME   put \"NAME: \" before every line sent\n",
            CLIENT_DEFAULT_HOST, CLIENT_DEFAULT_PORT);
    fflush(f);
}

int chat_main(int argc, char **argv)
{
    const char *host = CLIENT_DEFAULT_HOST;
    long port = CLIENT_DEFAULT_PORT;
    struct sockaddr_in to;
    unsigned char buf[4096];
    size_t have = 0;
    int err, rc = 0;
    HANDLE input;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        int ok = 0;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            chat_usage(stdout);
            return 0;
        } else if (strcmp(a, "-s") == 0 && val != NULL) {
            host = val;
            ok = 1;
        } else if (strcmp(a, "-p") == 0) {
            ok = net_parse_num(val, 1, 65535, &port);
        } else if (strcmp(a, "-n") == 0 && val != NULL && strlen(val) > 0 &&
                   strlen(val) < sizeof chat_name) {
            snprintf(chat_name, sizeof chat_name, "%s", val);
            ok = 1;
        }
        if (!ok) {
            fprintf(stderr, "chat: bad or unknown argument: %s\n", a);
            chat_usage(stderr);
            return 2;
        }
        i++;
    }

    err = net_resolve(host, (unsigned short)port, &to);
    if (err != 0) {
        net_print_error("chat: getaddrinfo", err);
        return 1;
    }
    chat_sock = net_connect(&to, 5000, &err);
    if (chat_sock == INVALID_SOCKET) {
        char text[256];
        fprintf(stderr, "chat: connect to %s:%ld failed: WSA %d: %s\n", host, port, err,
                net_err_text(err, text, sizeof text));
        return 1;
    }
    input = (HANDLE)_beginthreadex(NULL, 0, chat_input, NULL, 0, NULL);
    if (input == NULL) {
        fprintf(stderr, "chat: cannot start the input thread\n");
        closesocket(chat_sock);
        return 1;
    }

    /* Receive and print whole packets; TCP may split them anywhere. */
    for (;;) {
        int n = recv(chat_sock, (char *)buf + have, (int)(sizeof buf - have), 0);
        size_t off = 0;
        if (n == 0)
            break;
        if (n == SOCKET_ERROR) {
            err = WSAGetLastError();
            if (err != WSAECONNRESET && err != WSAECONNABORTED) {
                net_print_error("chat: recv", err);
                rc = 1;
            }
            break;
        }
        have += (size_t)n;
        while (have - off >= 1 && buf[off] >= CHAT_HEAD && have - off >= buf[off]) {
            const unsigned char *p = buf + off;
            unsigned long id = (unsigned long)p[1] | (unsigned long)p[2] << 8 |
                               (unsigned long)p[3] << 16 | (unsigned long)p[4] << 24;
            int len = p[0] - CHAT_HEAD;
            char text[CHAT_MAX];
            for (int k = 0; k < len; k++) /* plain ASCII on the console */
                text[k] = (p[CHAT_HEAD + k] >= 32 && p[CHAT_HEAD + k] < 127)
                              ? (char)p[CHAT_HEAD + k] : '?';
            text[len] = '\0';
            if (id == 0)
                printf("[server] %s\n", text);
            else
                printf("[%lu] %s\n", id, text);
            off += p[0];
        }
        fflush(stdout);
        if (have - off >= 1 && buf[off] < CHAT_HEAD) {
            fprintf(stderr, "chat: malformed packet from the server (size %u)\n", buf[off]);
            rc = 1;
            break;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    printf("disconnected\n");
    fflush(stdout);
    closesocket(chat_sock);
    /* The input thread may sit in a console read that nothing can end:
     * leave it; the process ends with this return. */
    CloseHandle(input);
    return rc;
}
