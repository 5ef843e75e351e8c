/*
 * packet.c - packets in and out: reassembly, validation and dispatch of
 * what clients send; building what the server sends.
 *
 * TCP delivers bytes, not packets. One receive may hold half a packet,
 * or twenty packets and the first byte of the next; the client's 22-byte
 * CS_LOGIN may arrive one byte at a time. So each session keeps a
 * receive buffer (rbuf, rlen bytes in it): every completed WSARecv
 * appends to it, packet_process() takes out each whole packet in turn,
 * and what is left (the start of the next packet, at most 101 bytes)
 * moves to the front for the next WSARecv to complete.
 *
 * Nothing from the network is trusted: a packet is used only after its
 * size byte, its type and the session's state have been checked. The
 * first bad packet closes that client (with a log line saying what was
 * wrong) and nothing else: the other players see it leave, as if it had
 * disconnected.
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

/* A copy of a client's name fit for a log line: ASCII printable only
 * (the console's code page is unknown; the contract wants ASCII out). */
const char *printable_name(const char *name, char *out, size_t size)
{
    size_t i;
    for (i = 0; i + 1 < size && i < NAME_SIZE && name[i] != '\0'; i++)
        out[i] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
    out[i] = '\0';
    return out;
}

/* Bad behaviour that is logged once per session, not once per packet: a
 * client in a loop would otherwise fill the log (and the console, which
 * every worker's log line then waits for). Bits of s->warned. */
enum warning { WARN_RELOGIN = 1, WARN_RATE_MOVE = 2, WARN_RATE_CHAT = 4, WARN_RATE_TELEPORT = 8 };

/* Receive side only (one worker at a time per session): no lock. */
static int first_warning(struct session *s, int bit)
{
    if (s->warned & bit)
        return 0;
    s->warned |= bit;
    return 1;
}

/* A token bucket: `per_s` tokens a second, at most RATE_BURST_S seconds'
 * worth saved up. Takes one token; 0 when there is none: the packet is
 * dropped and counted. Tokens are kept in thousandths so that a slow
 * rate (a teleport every few seconds) still fills in steps of a
 * millisecond. Receive side only: no lock. */
static int rate_take(struct rate_bucket *b, int per_s)
{
    ULONGLONG now = GetTickCount64();
    long long cap = (long long)per_s * RATE_BURST_S * 1000;
    long long t;
    if (b->at == 0) { /* a new session starts with a full bucket */
        b->at = now;
        b->tokens = cap;
    }
    t = b->tokens + (long long)(now - b->at) * per_s;
    b->at = now;
    if (t > cap)
        t = cap;
    if (t < 1000) {
        b->tokens = t;
        b->dropped++;
        return 0;
    }
    b->tokens = t - 1000;
    return 1;
}

/* 1 when the packet may pass; otherwise it is dropped (never passed on
 * to anyone), counted, and the first one of its kind logged. */
static int rate_ok(struct session *s, struct rate_bucket *b, int per_s, int bit, const char *what)
{
    if (opt.rate == 0 || rate_take(b, per_s > 0 ? per_s : 1))
        return 1;
    if (first_warning(s, bit))
        lab_log("session %d: over the rate limit for %s (%d a second): dropped and counted until "
                "it leaves", s->id, what, per_s > 0 ? per_s : 1);
    return 0;
}

/* A whole, valid packet: act on it. `p` points into the receive buffer,
 * which has no particular alignment: fields are read through a copy. */
static void dispatch(struct worker *w, struct session *s, const char *p)
{
    switch ((unsigned char)p[1]) {
    case CS_LOGIN: {
        CS_LOGIN_PACKET in;
        memcpy(&in, p, sizeof in);
        if (s->in_world) { /* not in the contract's list of bad packets */
            if (first_warning(s, WARN_RELOGIN) && !opt.quiet)
                lab_log("session %d: a second CS_LOGIN, ignored (and every other one)", s->id);
            break;
        }
        world_login(w, s, in.name);
        break;
    }
    case CS_MOVE: {
        CS_MOVE_PACKET in;
        if (!rate_ok(s, &s->rate_move, opt.rate, WARN_RATE_MOVE, "moves"))
            break;
        memcpy(&in, p, sizeof in);
        world_move(w, s, in.direction, in.move_time);
        break;
    }
    case CS_CHAT: {
        CS_CHAT_PACKET in;
        if (!rate_ok(s, &s->rate_chat, opt.rate / 5, WARN_RATE_CHAT, "chat"))
            break;
        memcpy(&in, p, sizeof in);
        world_chat(w, s, in.mess);
        break;
    }
    case CS_ATTACK:
        break; /* no combat yet: accepted, and nothing happens */
    case CS_TELEPORT:
        if (rate_ok(s, &s->rate_teleport, opt.rate / 5, WARN_RATE_TELEPORT, "teleports"))
            world_teleport(w, s);
        break;
    case CS_LOGOUT:
        /* The other players are told when the receive side leaves, just
         * after this buffer: the same path as a disconnect. */
        session_close(s, 0, "logged out");
        break;
    }
}

/* Takes every whole packet out of s->rbuf. Runs on the receive side
 * only (one worker at a time per session), so rbuf needs no lock. */
void packet_process(struct worker *w, struct session *s)
{
    /* SOLUTION BEGIN: Take every whole packet out of s->rbuf[0..rlen): check each header as soon as its bytes are there (size >= 2, a type cs_size() knows, size equal to it, nothing but CS_LOGIN before s->in_world) and session_close(s, 1, ...) at the first bad one; wait for the rest of an incomplete packet; count each whole one in w->packets_in and dispatch() it, stopping once the session is closed; then move the incomplete tail to the front of rbuf (rlen 0 once closed). */
    unsigned off = 0;

    while (off < s->rlen) {
        const char *p = s->rbuf + off;
        unsigned have = s->rlen - off;
        unsigned size = (unsigned char)p[0];
        unsigned type, need;

        /* Checked as soon as the bytes are there, before the rest of the
         * packet arrives: a bad header is bad whatever follows. */
        if (size < 2) {
            session_close(s, 1, "bad packet: size %u is smaller than 2, disconnected", size);
            break;
        }
        if (have < 2)
            break; /* the type byte is still on its way */
        type = (unsigned char)p[1];
        need = cs_size(type);
        if (need == 0) {
            session_close(s, 1, "bad packet: unknown type %u, disconnected", type);
            break;
        }
        if (size != need) {
            session_close(s, 1, "bad packet: size %u for %s, which is %u bytes, disconnected", size,
                          cs_name(type), need);
            break;
        }
        if (!s->in_world && type != CS_LOGIN) {
            session_close(s, 1, "bad packet: %s before CS_LOGIN, disconnected", cs_name(type));
            break;
        }
        if (have < size)
            break; /* the rest of this packet is still on its way */

        InterlockedIncrement64(&w->packets_in);
        dispatch(w, s, p);
        off += size;
        /* Logged out, or closed by another worker (its send queue
         * overflowed): the rest of the buffer is not for us any more. */
        if (!session_is_open(s))
            break;
    }
    if (!session_is_open(s)) {
        s->rlen = 0;
        return;
    }
    /* Keep the incomplete tail (fewer bytes than one packet). */
    memmove(s->rbuf, s->rbuf + off, s->rlen - off);
    s->rlen -= off;
    /* SOLUTION END: (void)w; (void)&dispatch; (void)&cs_size; (void)&cs_name; session_close(s, 1, "packet_process is a TODO, disconnected"); s->rlen = 0; */
}

/* ------------------------------------------------------------------------
 * Packets out. The caller holds `to`'s lock (and `obj`'s, when given):
 * what is read from the sessions is consistent, and packets about one
 * object reach a client in the order its view list changed.
 * --------------------------------------------------------------------- */

void send_login_info(struct worker *w, struct session *to)
{
    SC_LOGIN_INFO_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_LOGIN_INFO;
    p.id = to->id;
    p.hp = 100; /* no combat yet: fixed stats */
    p.max_hp = 100;
    p.exp = 0;
    p.level = 1;
    p.x = to->x;
    p.y = to->y;
    net_send(w, to, &p, (unsigned)sizeof p);
}

void send_add_object(struct worker *w, struct session *to, const struct session *obj)
{
    SC_ADD_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_ADD_OBJECT;
    p.id = obj->id;
    p.x = obj->x;
    p.y = obj->y;
    memcpy(p.name, obj->name, NAME_SIZE);
    net_send(w, to, &p, (unsigned)sizeof p);
}

/* An NPC: the same packet, with a name made from its number. */
void send_add_npc(struct worker *w, struct session *to, int id, int x, int y)
{
    SC_ADD_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_ADD_OBJECT;
    p.id = id;
    p.x = (int16_t)x;
    p.y = (int16_t)y;
    memset(p.name, 0, sizeof p.name);
    snprintf(p.name, sizeof p.name, "npc%d", id - opt.max_users);
    net_send(w, to, &p, (unsigned)sizeof p);
}

void send_remove_object(struct worker *w, struct session *to, int id)
{
    SC_REMOVE_OBJECT_PACKET p;
    p.size = (uint8_t)sizeof p;
    p.type = SC_REMOVE_OBJECT;
    p.id = id;
    net_send(w, to, &p, (unsigned)sizeof p);
}

void send_chat(struct worker *w, struct session *to, const SC_CHAT_PACKET *p)
{
    net_send(w, to, p, (unsigned)sizeof *p);
}
