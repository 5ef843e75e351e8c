/*
 * game_net.c - building, reading and reassembling game packets.
 */
#include "game_net.h"
#include <windows.h>
#include <string.h>

int game_sc_size(int type)
{
    switch (type) {
    case SC_LOGIN_INFO: return (int)sizeof(SC_LOGIN_INFO_PACKET);
    case SC_ADD_OBJECT: return (int)sizeof(SC_ADD_OBJECT_PACKET);
    case SC_REMOVE_OBJECT: return (int)sizeof(SC_REMOVE_OBJECT_PACKET);
    case SC_MOVE_OBJECT: return (int)sizeof(SC_MOVE_OBJECT_PACKET);
    case SC_CHAT: return (int)sizeof(SC_CHAT_PACKET);
    case SC_LOGIN_OK: return (int)sizeof(SC_LOGIN_OK_PACKET);
    case SC_LOGIN_FAIL: return (int)sizeof(SC_LOGIN_FAIL_PACKET);
    case SC_STAT_CHANGE: return (int)sizeof(SC_STAT_CHANGE_PACKET);
    default: return 0;
    }
}

void game_rx_init(struct game_rx *rx)
{
    rx->len = rx->off = 0;
}

int game_rx_push(struct game_rx *rx, const char *data, size_t n)
{
    /* Move the unread tail to the front when the new bytes would not fit
     * behind it; a tail is less than one packet (255 bytes). */
    if (rx->len + n > sizeof rx->buf) {
        memmove(rx->buf, rx->buf + rx->off, rx->len - rx->off);
        rx->len -= rx->off;
        rx->off = 0;
    }
    if (n > sizeof rx->buf - rx->len)
        return -1;
    memcpy(rx->buf + rx->len, data, n);
    rx->len += n;
    return 0;
}

const unsigned char *game_rx_next(struct game_rx *rx, int *err)
{
    size_t have = rx->len - rx->off;
    const unsigned char *p = rx->buf + rx->off;
    *err = 0;
    if (have < 2)
        return NULL;
    int size = p[0], want = game_sc_size(p[1]);
    if (size < 2 || want == 0 || size != want) {
        *err = 1;
        return NULL;
    }
    if (have < (size_t)size)
        return NULL;
    rx->off += (size_t)size;
    if (rx->off == rx->len)
        rx->off = rx->len = 0;
    return p;
}

int game_get_i32(const unsigned char *p)
{
    return (int)game_get_u32(p);
}

unsigned int game_get_u32(const unsigned char *p)
{
    return (unsigned int)p[0] | (unsigned int)p[1] << 8 | (unsigned int)p[2] << 16 |
           (unsigned int)p[3] << 24;
}

int game_get_i16(const unsigned char *p)
{
    return (short)(unsigned short)(p[0] | p[1] << 8);
}

static void put_u32(unsigned char *p, unsigned int v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

void game_make_login(unsigned char *out, const char *name)
{
    size_t n = strlen(name);
    memset(out, 0, CS_LOGIN_SIZE);
    out[0] = (unsigned char)CS_LOGIN_SIZE;
    out[1] = CS_LOGIN;
    memcpy(out + 2, name, n < NAME_SIZE - 1 ? n : NAME_SIZE - 1); /* NUL-padded */
}

void game_make_move(unsigned char *out, unsigned char dir, unsigned int t)
{
    out[0] = (unsigned char)CS_MOVE_SIZE;
    out[1] = CS_MOVE;
    out[2] = dir;
    put_u32(out + 3, t);
}

void game_make_chat(unsigned char *out, const char *text)
{
    size_t n = strlen(text);
    memset(out, 0, CS_CHAT_SIZE);
    out[0] = (unsigned char)CS_CHAT_SIZE;
    out[1] = CS_CHAT;
    memcpy(out + 2, text, n < CHAT_SIZE - 1 ? n : CHAT_SIZE - 1); /* NUL-terminated within */
}

void game_make_simple(unsigned char *out, int type)
{
    out[0] = 2;
    out[1] = (unsigned char)type;
}

/* QueryPerformanceCounter, not GetTickCount: that one advances in 15.6 ms
 * steps on Windows, too coarse for a round trip on one machine. */
unsigned int game_now_ms32(void)
{
    LARGE_INTEGER t, f;
    QueryPerformanceCounter(&t);
    QueryPerformanceFrequency(&f);
    return (unsigned int)((unsigned long long)t.QuadPart * 1000ull /
                          (unsigned long long)f.QuadPart);
}
