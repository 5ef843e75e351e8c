/*
 * packet.c - the packet codec: checks what clients send, builds what the
 * server sends. Pure: no sockets, no sessions, no locks, no globals; bytes
 * in, bytes or a verdict out. The world (world.c) calls it; nothing here
 * calls anything else of the server, so it can be read, and tested, alone.
 *
 * TCP delivers bytes, not packets. One receive may hold half a packet,
 * or twenty packets and the first byte of the next; the client's 22-byte
 * CS_LOGIN may arrive one byte at a time. codec_next() looks at the front
 * of a receive buffer and says which: a whole valid packet (and its size),
 * not enough bytes yet, or a bad packet (and what is wrong with it).
 *
 * Nothing from the network is trusted: a packet is used only after its
 * size byte, its type and the session's state have been checked, as soon
 * as the first two bytes are there (a bad header is bad whatever follows).
 * Fields are read through a copy: the buffer has no alignment.
 */
#include "game.h"

/* The size of each client packet type, 0 for an unknown type. */
static unsigned cs_size(unsigned type)
{
    switch (type) {
    case CS_LOGIN:
        return (unsigned)sizeof(CS_LOGIN_PACKET);
    case CS_MOVE:
        return (unsigned)sizeof(CS_MOVE_PACKET);
    case CS_CHAT:
        return (unsigned)sizeof(CS_CHAT_PACKET);
    case CS_ATTACK:
        return (unsigned)sizeof(CS_ATTACK_PACKET);
    case CS_TELEPORT:
        return (unsigned)sizeof(CS_TELEPORT_PACKET);
    case CS_LOGOUT:
        return (unsigned)sizeof(CS_LOGOUT_PACKET);
    default:
        return 0;
    }
}

static const char *cs_name(unsigned type)
{
    static const char *const names[] = {"CS_LOGIN", "CS_MOVE", "CS_CHAT",
                                        "CS_ATTACK", "CS_TELEPORT", "CS_LOGOUT"};
    return type < sizeof names / sizeof names[0] ? names[type] : "?";
}

/* The packet at the front of buf[0..len): CODEC_WHOLE (valid, *size
 * bytes), CODEC_PARTIAL (its bytes are still on their way), or CODEC_BAD
 * (`why` says what is wrong, for the log line). `logged_in`: anything but
 * CS_LOGIN is bad before the login. */
enum codec_verdict codec_next(const char *buf, unsigned len, int logged_in, unsigned *size,
                              char *why, size_t whysz)
{
    unsigned sz, type, need;
    if (len == 0)
        return CODEC_PARTIAL;
    sz = (unsigned char)buf[0];
    if (sz < 2) {
        snprintf(why, whysz, "size %u is smaller than 2", sz);
        return CODEC_BAD;
    }
    if (len < 2)
        return CODEC_PARTIAL; /* the type byte is still on its way */
    type = (unsigned char)buf[1];
    need = cs_size(type);
    if (need == 0) {
        snprintf(why, whysz, "unknown type %u", type);
        return CODEC_BAD;
    }
    if (sz != need) {
        snprintf(why, whysz, "size %u for %s, which is %u bytes", sz, cs_name(type), need);
        return CODEC_BAD;
    }
    if (!logged_in && type != CS_LOGIN) {
        snprintf(why, whysz, "%s before CS_LOGIN", cs_name(type));
        return CODEC_BAD;
    }
    if (len < sz)
        return CODEC_PARTIAL; /* the rest of this packet is still on its way */
    *size = sz;
    return CODEC_WHOLE;
}

/* A copy of a client's name fit for a log line: ASCII printable only
 * (the console's code page is unknown; the contract wants ASCII out). */
const char *codec_printable(const char *name, char *out, size_t size)
{
    size_t i;
    for (i = 0; i + 1 < size && i < NAME_SIZE && name[i] != '\0'; i++)
        out[i] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
    out[i] = '\0';
    return out;
}

/* ------------------------------------------------------------------------
 * Packets out: each builder fills `out` (room for SC_PACKET_MAX bytes)
 * and returns the packet's size.
 * --------------------------------------------------------------------- */

unsigned codec_login_info(void *out, int id, int x, int y)
{
    SC_LOGIN_INFO_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_LOGIN_INFO;
    p.id = id;
    p.hp = 100; /* no combat yet: fixed stats */
    p.max_hp = 100;
    p.exp = 0;
    p.level = 1;
    p.x = (int16_t)x;
    p.y = (int16_t)y;
    memcpy(out, &p, sizeof p);
    return (unsigned)sizeof p;
}

/* `name`: NAME_SIZE bytes, sent as they are (the world keeps them clean). */
unsigned codec_add_object(void *out, int id, int x, int y, const char *name)
{
    SC_ADD_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_ADD_OBJECT;
    p.id = id;
    p.x = (int16_t)x;
    p.y = (int16_t)y;
    memcpy(p.name, name, NAME_SIZE);
    memcpy(out, &p, sizeof p);
    return (unsigned)sizeof p;
}

unsigned codec_remove_object(void *out, int id)
{
    SC_REMOVE_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_REMOVE_OBJECT;
    p.id = id;
    memcpy(out, &p, sizeof p);
    return (unsigned)sizeof p;
}

unsigned codec_move_object(void *out, int id, int x, int y, uint32_t move_time)
{
    SC_MOVE_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_MOVE_OBJECT;
    p.id = id;
    p.x = (int16_t)x;
    p.y = (int16_t)y;
    p.move_time = move_time;
    memcpy(out, &p, sizeof p);
    return (unsigned)sizeof p;
}

/* `mess`: at most CHAT_SIZE bytes; sent NUL-terminated, zero-padded,
 * whatever the client sent. */
unsigned codec_chat(void *out, int id, const char *mess)
{
    SC_CHAT_PACKET p;
    size_t len = 0;
    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = SC_CHAT;
    p.id = id;
    while (len < CHAT_SIZE - 1 && mess[len] != '\0')
        len++;
    memcpy(p.mess, mess, len);
    memcpy(out, &p, sizeof p);
    return (unsigned)sizeof p;
}

unsigned codec_login_fail(void *out)
{
    SC_LOGIN_FAIL_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_LOGIN_FAIL;
    memcpy(out, &p, sizeof p);
    return (unsigned)sizeof p;
}
