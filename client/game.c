/*
 * game.c - client.exe game: the console game client for 10_game_server.
 *
 *   client.exe game [-s HOST] [-p PORT] [-n NAME] [-v RANGE] [-u MAX_USERS] [--script]
 *
 * Interactive (standard input is a console): draws the tiles around the
 * avatar, moves with the arrow keys or WASD, Enter opens a chat line
 * (Enter sends, Esc cancels), q logs out. The screen is redrawn only when
 * something changed.
 *
 * Scripted (standard input is not a console, or --script): reads one
 * command per line and prints one event per line, so that tests and
 * scripts can drive it:
 *   move up|down|left|right    waits for the server's answer, prints it
 *   chat TEXT                  teleport                 wait MS
 *   look                       prints everything in view, sorted by id
 *   quit                       (also at end of input) logs out
 * Events: "login ID X Y", "add ID X Y NAME", "move ID X Y", "remove ID",
 * "chat ID TEXT", "rtt MS", "fail REASON".
 *
 * A receiver thread reads packets and updates the view under a lock; the
 * main thread handles keys (or commands) and draws.
 */
#include "client.h"
#include "game_net.h"
#include <io.h>
#include <process.h>

#define MAX_SEEN 4096   /* objects in view at once; far above a 15x15 view */
#define CHAT_LINES 5
#define ANSWER_TIMEOUT_MS 5000

struct object {
    int id, x, y;
    char name[NAME_SIZE + 1];
};

static SOCKET sock = INVALID_SOCKET;
static CRITICAL_SECTION lock;
static HANDLE changed;            /* auto-reset: the view changed */
static int scripted, range = 7, max_users = 10000;

/* Everything below is guarded by `lock`. */
static int my_id = -1, my_x, my_y, logged_in, gone;
static struct object seen[MAX_SEEN];
static int nseen;
static char chat_log[CHAT_LINES][160];
static int nchat;
static unsigned int last_rtt = 0;
static int have_rtt;
static unsigned int awaiting_time; /* move_time we wait to see echoed (script) */
static int answered;
static char fail_reason[128];

static int find_seen(int id)
{
    for (int i = 0; i < nseen; i++)
        if (seen[i].id == id)
            return i;
    return -1;
}

static void event_line(const char *fmt, ...)
{
    va_list ap;
    if (!scripted)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void on_packet(const unsigned char *p)
{
    int id;
    switch (p[1]) {
    case SC_LOGIN_INFO:
        my_id = game_get_i32(p + 2);
        my_x = game_get_i16(p + 22);
        my_y = game_get_i16(p + 24);
        logged_in = 1;
        event_line("login %d %d %d", my_id, my_x, my_y);
        break;
    case SC_LOGIN_FAIL:
        snprintf(fail_reason, sizeof fail_reason, "login refused (server full?)");
        gone = 1;
        event_line("fail login refused");
        break;
    case SC_ADD_OBJECT: {
        id = game_get_i32(p + 2);
        int i = find_seen(id);
        if (i < 0 && nseen < MAX_SEEN)
            i = nseen++;
        if (i >= 0) {
            seen[i].id = id;
            seen[i].x = game_get_i16(p + 6);
            seen[i].y = game_get_i16(p + 8);
            memcpy(seen[i].name, p + 10, NAME_SIZE);
            seen[i].name[NAME_SIZE] = '\0';
            event_line("add %d %d %d %s", id, seen[i].x, seen[i].y, seen[i].name);
        }
        break;
    }
    case SC_REMOVE_OBJECT: {
        id = game_get_i32(p + 2);
        int i = find_seen(id);
        if (i >= 0)
            seen[i] = seen[--nseen];
        event_line("remove %d", id);
        break;
    }
    case SC_MOVE_OBJECT: {
        id = game_get_i32(p + 2);
        int x = game_get_i16(p + 6), y = game_get_i16(p + 8);
        unsigned int t = game_get_u32(p + 10);
        if (id == my_id) {
            my_x = x;
            my_y = y;
            if (t != 0) {
                last_rtt = game_now_ms32() - t; /* unsigned: right across the wrap */
                have_rtt = 1;
            }
            if (awaiting_time != 0 && t == awaiting_time)
                answered = 1;
        } else {
            int i = find_seen(id);
            if (i >= 0) {
                seen[i].x = x;
                seen[i].y = y;
            }
        }
        event_line("move %d %d %d", id, x, y);
        break;
    }
    case SC_CHAT: {
        char text[CHAT_SIZE + 1];
        id = game_get_i32(p + 2);
        memcpy(text, p + 6, CHAT_SIZE);
        text[CHAT_SIZE] = '\0';
        if (nchat == CHAT_LINES) {
            memmove(chat_log[0], chat_log[1], sizeof chat_log[0] * (CHAT_LINES - 1));
            nchat--;
        }
        snprintf(chat_log[nchat++], sizeof chat_log[0], "%d: %s", id, text);
        event_line("chat %d %s", id, text);
        break;
    }
    default:
        break; /* SC_LOGIN_OK, SC_STAT_CHANGE: nothing to show yet */
    }
}

static unsigned __stdcall receiver(void *arg)
{
    static struct game_rx rx;
    char buf[4096];
    (void)arg;
    game_rx_init(&rx);
    for (;;) {
        int n = recv(sock, buf, (int)sizeof buf, 0), err = 0;
        const unsigned char *p;
        EnterCriticalSection(&lock);
        if (n <= 0) {
            if (fail_reason[0] == '\0')
                snprintf(fail_reason, sizeof fail_reason, "the server closed the connection");
            gone = 1;
        } else {
            if (game_rx_push(&rx, buf, (size_t)n) != 0)
                err = 1;
            while (!err && (p = game_rx_next(&rx, &err)) != NULL)
                on_packet(p);
            if (err) {
                snprintf(fail_reason, sizeof fail_reason, "malformed packet from the server");
                gone = 1;
            }
        }
        int end = gone;
        LeaveCriticalSection(&lock);
        SetEvent(changed);
        if (end)
            return 0;
    }
}

static int send_packet(const unsigned char *p, int len)
{
    return net_send_all(sock, (const char *)p, len);
}

static unsigned int send_move(int dir)
{
    unsigned char mv[CS_MOVE_SIZE];
    unsigned int t = game_now_ms32();
    if (t == 0)
        t = 1; /* 0 is what a teleport's answer carries */
    game_make_move(mv, (unsigned char)dir, t);
    send_packet(mv, CS_MOVE_SIZE);
    return t;
}

/* ------------------------------------------------------------------------
 * Interactive: the console screen
 * --------------------------------------------------------------------- */

static HANDLE con_out;

static void put_line(int row, const char *text)
{
    COORD at;
    DWORD written;
    char line[128];
    at.X = 0;
    at.Y = (SHORT)row;
    snprintf(line, sizeof line, "%-79s", text); /* pad: overwrite what was there */
    WriteConsoleOutputCharacterA(con_out, line, (DWORD)strlen(line), at, &written);
}

static void clear_screen(void)
{
    CONSOLE_SCREEN_BUFFER_INFO info;
    COORD origin;
    DWORD written;
    origin.X = 0;
    origin.Y = 0;
    if (GetConsoleScreenBufferInfo(con_out, &info))
        FillConsoleOutputCharacterA(con_out, ' ', (DWORD)info.dwSize.X * (DWORD)info.dwSize.Y,
                                    origin, &written);
}

static void draw(const char *input, int typing)
{
    char row[128];
    int r = 0, players = 0, npcs = 0;
    EnterCriticalSection(&lock);
    for (int i = 0; i < nseen; i++) {
        if (seen[i].id >= max_users)
            npcs++;
        else
            players++;
    }
    snprintf(row, sizeof row, "id %d  pos (%d,%d)  players in view %d  NPCs %d  rtt %s", my_id,
             my_x, my_y, players, npcs, have_rtt ? "" : "-");
    if (have_rtt)
        snprintf(row + strlen(row), sizeof row - strlen(row), "%u ms", last_rtt);
    put_line(r++, row);
    put_line(r++, "");
    for (int dy = -range; dy <= range && r < 60; dy++) {
        int n = 0;
        for (int dx = -range; dx <= range && n < 100; dx++) {
            char ch = '.';
            if (dx == 0 && dy == 0) {
                ch = '@';
            } else {
                for (int i = 0; i < nseen; i++)
                    if (seen[i].x == my_x + dx && seen[i].y == my_y + dy)
                        ch = seen[i].id >= max_users ? 'N' : 'P';
            }
            row[n++] = ch;
            row[n++] = ' ';
        }
        row[n] = '\0';
        put_line(r++, row);
    }
    put_line(r++, "");
    put_line(r++, "arrows/WASD move, Enter chat, q quit.   @ you  P player  N NPC");
    for (int i = 0; i < CHAT_LINES; i++)
        put_line(r++, i < nchat ? chat_log[i] : "");
    snprintf(row, sizeof row, "%s%s", typing ? "say: " : "", typing ? input : "");
    put_line(r++, row);
    if (gone) {
        snprintf(row, sizeof row, "disconnected: %s", fail_reason);
        put_line(r++, row);
    }
    LeaveCriticalSection(&lock);
}

static int run_interactive(void)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    HANDLE waits[2];
    char input[CHAT_SIZE];
    int typing = 0, len = 0, quit = 0;
    DWORD mode;
    CONSOLE_CURSOR_INFO cursor;

    con_out = GetStdHandle(STD_OUTPUT_HANDLE);
    GetConsoleMode(in, &mode);
    SetConsoleMode(in, mode & ~(DWORD)(ENABLE_LINE_INPUT | ENABLE_ECHO_INPUT | ENABLE_MOUSE_INPUT));
    if (GetConsoleCursorInfo(con_out, &cursor)) {
        cursor.bVisible = FALSE;
        SetConsoleCursorInfo(con_out, &cursor);
    }
    clear_screen();
    input[0] = '\0';
    waits[0] = in;
    waits[1] = changed;
    draw(input, typing);
    while (!quit) {
        DWORD w = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
        if (w == WAIT_OBJECT_0 + 1) {
            draw(input, typing);
            EnterCriticalSection(&lock);
            quit = gone;
            LeaveCriticalSection(&lock);
            continue;
        }
        INPUT_RECORD rec[32];
        DWORD n = 0;
        if (!ReadConsoleInputA(in, rec, 32, &n))
            break;
        for (DWORD i = 0; i < n && !quit; i++) {
            if (rec[i].EventType != KEY_EVENT || !rec[i].Event.KeyEvent.bKeyDown)
                continue;
            WORD vk = rec[i].Event.KeyEvent.wVirtualKeyCode;
            char ch = rec[i].Event.KeyEvent.uChar.AsciiChar;
            if (typing) {
                if (vk == VK_RETURN) {
                    unsigned char pkt[CS_CHAT_SIZE];
                    if (len > 0) {
                        game_make_chat(pkt, input);
                        send_packet(pkt, CS_CHAT_SIZE);
                    }
                    typing = 0;
                    len = 0;
                    input[0] = '\0';
                } else if (vk == VK_ESCAPE) {
                    typing = 0;
                    len = 0;
                    input[0] = '\0';
                } else if (vk == VK_BACK && len > 0) {
                    input[--len] = '\0';
                } else if (ch >= 32 && ch < 127 && len < CHAT_SIZE - 1) {
                    input[len++] = ch;
                    input[len] = '\0';
                }
            } else if (vk == VK_UP || ch == 'w' || ch == 'W') {
                send_move(0);
            } else if (vk == VK_DOWN || ch == 's' || ch == 'S') {
                send_move(1);
            } else if (vk == VK_LEFT || ch == 'a' || ch == 'A') {
                send_move(2);
            } else if (vk == VK_RIGHT || ch == 'd' || ch == 'D') {
                send_move(3);
            } else if (vk == VK_RETURN) {
                typing = 1;
            } else if (ch == 'q' || ch == 'Q' || vk == VK_ESCAPE) {
                quit = 1;
            }
            draw(input, typing);
        }
    }
    cursor.bVisible = TRUE;
    SetConsoleCursorInfo(con_out, &cursor);
    SetConsoleMode(in, mode);
    printf("\n");
    return 0;
}

/* ------------------------------------------------------------------------
 * Scripted: commands from standard input
 * --------------------------------------------------------------------- */

static int cmp_object(const void *a, const void *b)
{
    const struct object *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int run_script(void)
{
    char line[256];
    while (fgets(line, (int)sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        EnterCriticalSection(&lock);
        int end = gone;
        LeaveCriticalSection(&lock);
        if (end)
            break;
        if (strncmp(line, "move ", 5) == 0) {
            static const char *dirs[] = {"up", "down", "left", "right"};
            int dir = -1;
            for (int i = 0; i < 4; i++)
                if (strcmp(line + 5, dirs[i]) == 0)
                    dir = i;
            if (dir < 0) {
                event_line("fail unknown direction: %s", line + 5);
                continue;
            }
            EnterCriticalSection(&lock);
            answered = 0;
            awaiting_time = send_move(dir);
            LeaveCriticalSection(&lock);
            /* Wait for our own SC_MOVE_OBJECT, so that the next command
             * sees the world after this move. */
            ULONGLONG deadline = GetTickCount64() + ANSWER_TIMEOUT_MS;
            int ok = 0;
            while (GetTickCount64() < deadline) {
                WaitForSingleObject(changed, 100);
                EnterCriticalSection(&lock);
                ok = answered;
                end = gone;
                LeaveCriticalSection(&lock);
                if (ok || end)
                    break;
            }
            if (ok)
                event_line("rtt %u", last_rtt);
            else
                event_line("fail no answer to the move within %d s", ANSWER_TIMEOUT_MS / 1000);
        } else if (strncmp(line, "chat ", 5) == 0) {
            unsigned char pkt[CS_CHAT_SIZE];
            game_make_chat(pkt, line + 5);
            send_packet(pkt, CS_CHAT_SIZE);
        } else if (strcmp(line, "teleport") == 0) {
            unsigned char pkt[2];
            game_make_simple(pkt, CS_TELEPORT);
            send_packet(pkt, 2);
        } else if (strncmp(line, "wait ", 5) == 0) {
            long ms;
            if (net_parse_num(line + 5, 0, 600000, &ms))
                Sleep((DWORD)ms); /* the script asked for it */
        } else if (strcmp(line, "look") == 0) {
            static struct object copy[MAX_SEEN];
            EnterCriticalSection(&lock);
            int k = nseen;
            memcpy(copy, seen, (size_t)k * sizeof copy[0]);
            event_line("me %d %d %d", my_id, my_x, my_y);
            LeaveCriticalSection(&lock);
            qsort(copy, (size_t)k, sizeof copy[0], cmp_object);
            for (int i = 0; i < k; i++)
                event_line("see %d %d %d %s", copy[i].id, copy[i].x, copy[i].y, copy[i].name);
            event_line("seen %d", k);
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else if (line[0] != '\0' && line[0] != '#') {
            event_line("fail unknown command: %s", line);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Entry
 * --------------------------------------------------------------------- */

static const char *opt_host = CLIENT_DEFAULT_HOST, *opt_name;
static unsigned short opt_port = 4000;
static int opt_script;

static const struct opt game_options[] = {
    {"-s", OPT_STR, &opt_host, 0, 0, "HOST", "server (default 127.0.0.1)"},
    {"-p", OPT_PORT, &opt_port, 0, 0, "PORT", "port (default 4000)"},
    {"-n", OPT_STR, &opt_name, 1, NAME_SIZE - 1, "NAME", "player name (default: player<pid>)"},
    {"-v", OPT_INT, &range, 1, 30, "RANGE", "view range the server uses (default 7: a 15x15 view)"},
    {"-u", OPT_INT, &max_users, 1, 1000000, "MAX_USERS",
     "the server's -u: ids from here on are NPCs (default 10000)"},
    {"--script", OPT_FLAG, &opt_script, 0, 0, NULL,
     "read commands from standard input (the default when it is not a console)"},
    OPT_END,
};

static const struct opt_spec game_spec = {
    "game",
    "usage: client.exe game [-s HOST] [-p PORT] [-n NAME] [-v RANGE] [-u MAX_USERS] [--script]\n"
    "  Console client for 10_game_server. Arrow keys or WASD move, Enter chats, q quits.\n",
    game_options,
    "  Script commands: move up|down|left|right, chat TEXT, teleport, wait MS, look, quit;\n"
    "  one event is printed per line.\n",
};

int game_main(int argc, char **argv)
{
    const char *host;
    char name[NAME_SIZE];
    long port_num;
    struct sockaddr_in to;
    int err, rc = opt_parse(&game_spec, argc, argv);
    if (rc != -1)
        return rc;
    host = opt_host;
    port_num = opt_port;
    if (opt_name != NULL)
        snprintf(name, sizeof name, "%s", opt_name);
    else
        snprintf(name, sizeof name, "player%lu", GetCurrentProcessId());
    scripted = opt_script || !_isatty(_fileno(stdin));

    err = net_resolve(host, (unsigned short)port_num, &to);
    if (err != 0) {
        net_print_error("game: getaddrinfo", err);
        return 1;
    }
    sock = net_connect(&to, 5000, &err);
    if (sock == INVALID_SOCKET) {
        char text[256];
        fprintf(stderr, "game: connect to %s:%ld failed: WSA %d: %s\n", host, port_num, err,
                net_err_text(err, text, sizeof text));
        return 1;
    }
    int one = 1;
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    InitializeCriticalSection(&lock);
    changed = CreateEventW(NULL, FALSE, FALSE, NULL);

    unsigned char login[CS_LOGIN_SIZE];
    game_make_login(login, name);
    send_packet(login, CS_LOGIN_SIZE);
    HANDLE rx = (HANDLE)_beginthreadex(NULL, 0, receiver, NULL, 0, NULL);
    if (rx == NULL || changed == NULL) {
        fprintf(stderr, "game: cannot start the receiver thread\n");
        return 1;
    }

    /* Wait for the answer to the login before taking commands. */
    ULONGLONG deadline = GetTickCount64() + ANSWER_TIMEOUT_MS;
    int ready = 0, end = 0;
    while (!ready && !end && GetTickCount64() < deadline) {
        WaitForSingleObject(changed, 100);
        EnterCriticalSection(&lock);
        ready = logged_in;
        end = gone;
        LeaveCriticalSection(&lock);
    }
    if (!ready) {
        fprintf(stderr, "game: no login: %s\n",
                fail_reason[0] ? fail_reason : "no answer from the server");
        closesocket(sock);
        WaitForSingleObject(rx, 5000);
        return 1;
    }

    rc = scripted ? run_script() : run_interactive();

    unsigned char out[2];
    game_make_simple(out, CS_LOGOUT);
    send_packet(out, 2);
    shutdown(sock, SD_SEND);
    WaitForSingleObject(rx, 5000); /* the server closes after the logout */
    closesocket(sock);
    EnterCriticalSection(&lock);
    if (scripted && gone && fail_reason[0] && !logged_in)
        rc = 1;
    LeaveCriticalSection(&lock);
    return rc;
}
