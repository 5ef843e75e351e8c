/*
 * protocol.h - the wire protocol of the game server: the course's own
 * (the 2023 in-class protocol.h), so that the course's client and
 * stress-test programs work against this server unchanged.
 *
 * Every packet is one of the structs below, sent raw: packed (no padding
 * between fields), little-endian (the byte order of every x86 and ARM
 * Windows machine, so no conversion is done on either side), and
 * starting with `size` (the whole packet in bytes, header included) and
 * `type`. TCP delivers a byte stream, not packets: the receiver
 * reassembles them with `size` (see packet.c). The table and the rules
 * the clients rely on are in docs/protocol.md at the repository root.
 *
 * Sizes are checked at compile time below: a struct that does not have
 * the size of the table (a missing pack pragma, a field of the wrong
 * type) stops the build instead of talking nonsense on the wire.
 */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#include <stdint.h>

#define PORT_NUM 4000  /* the course's port: the server's default */
#define NAME_SIZE 20   /* names are NUL-padded */
#define CHAT_SIZE 100  /* chat text, NUL-terminated within */

/* Packet types, client to server. */
#define CS_LOGIN 0
#define CS_MOVE 1
#define CS_CHAT 2
#define CS_ATTACK 3   /* accepted; combat does not exist yet */
#define CS_TELEPORT 4 /* jump to a random spot: stress tests spread out with it */
#define CS_LOGOUT 5

/* Packet types, server to client. */
#define SC_LOGIN_INFO 2
#define SC_ADD_OBJECT 3
#define SC_REMOVE_OBJECT 4
#define SC_MOVE_OBJECT 5
#define SC_CHAT 6
#define SC_LOGIN_OK 7    /* never sent: SC_LOGIN_INFO is the positive answer */
#define SC_LOGIN_FAIL 8  /* the server is full */
#define SC_STAT_CHANGE 9 /* not sent yet (no combat) */

/* CS_MOVE directions. */
#define DIR_UP 0    /* y - 1 */
#define DIR_DOWN 1  /* y + 1 */
#define DIR_LEFT 2  /* x - 1 */
#define DIR_RIGHT 3 /* x + 1 */

#pragma pack(push, 1)

typedef struct CS_LOGIN_PACKET {
    uint8_t size;
    uint8_t type;
    char name[NAME_SIZE];
} CS_LOGIN_PACKET;

typedef struct CS_MOVE_PACKET {
    uint8_t size;
    uint8_t type;
    int8_t direction;   /* DIR_UP .. DIR_RIGHT */
    uint32_t move_time; /* opaque to the server: echoed back in SC_MOVE_OBJECT */
} CS_MOVE_PACKET;

typedef struct CS_CHAT_PACKET {
    uint8_t size;
    uint8_t type;
    char mess[CHAT_SIZE];
} CS_CHAT_PACKET;

typedef struct CS_ATTACK_PACKET {
    uint8_t size;
    uint8_t type;
} CS_ATTACK_PACKET;

typedef struct CS_TELEPORT_PACKET {
    uint8_t size;
    uint8_t type;
} CS_TELEPORT_PACKET;

typedef struct CS_LOGOUT_PACKET {
    uint8_t size;
    uint8_t type;
} CS_LOGOUT_PACKET;

typedef struct SC_LOGIN_INFO_PACKET {
    uint8_t size;
    uint8_t type;
    int32_t id;
    int32_t hp;
    int32_t max_hp;
    int32_t exp;
    int32_t level;
    int16_t x, y;
} SC_LOGIN_INFO_PACKET;

typedef struct SC_ADD_OBJECT_PACKET {
    uint8_t size;
    uint8_t type;
    int32_t id;
    int16_t x, y;
    char name[NAME_SIZE];
} SC_ADD_OBJECT_PACKET;

typedef struct SC_REMOVE_OBJECT_PACKET {
    uint8_t size;
    uint8_t type;
    int32_t id;
} SC_REMOVE_OBJECT_PACKET;

typedef struct SC_MOVE_OBJECT_PACKET {
    uint8_t size;
    uint8_t type;
    int32_t id;
    int16_t x, y;
    uint32_t move_time;
} SC_MOVE_OBJECT_PACKET;

typedef struct SC_CHAT_PACKET {
    uint8_t size;
    uint8_t type;
    int32_t id;
    char mess[CHAT_SIZE];
} SC_CHAT_PACKET;

typedef struct SC_LOGIN_OK_PACKET {
    uint8_t size;
    uint8_t type;
} SC_LOGIN_OK_PACKET;

typedef struct SC_LOGIN_FAIL_PACKET {
    uint8_t size;
    uint8_t type;
} SC_LOGIN_FAIL_PACKET;

typedef struct SC_STAT_CHANGE_PACKET {
    uint8_t size;
    uint8_t type;
    int32_t hp;
    int32_t max_hp;
    int32_t exp;
    int32_t level;
} SC_STAT_CHANGE_PACKET;

#pragma pack(pop)

/* Compile-time size checks. An array of size -1 does not compile, so a
 * wrong size fails the build with the struct's name in the message.
 * (C11's _Static_assert would say it more plainly, but cl accepts it only
 * with /std:c11, and the lab's builds do not ask for that.) */
#define PROTOCOL_SIZE_CHECK(type, bytes) \
    typedef char type##_has_wrong_size[(sizeof(type) == (bytes)) ? 1 : -1]
PROTOCOL_SIZE_CHECK(CS_LOGIN_PACKET, 22);
PROTOCOL_SIZE_CHECK(CS_MOVE_PACKET, 7);
PROTOCOL_SIZE_CHECK(CS_CHAT_PACKET, 102);
PROTOCOL_SIZE_CHECK(CS_ATTACK_PACKET, 2);
PROTOCOL_SIZE_CHECK(CS_TELEPORT_PACKET, 2);
PROTOCOL_SIZE_CHECK(CS_LOGOUT_PACKET, 2);
PROTOCOL_SIZE_CHECK(SC_LOGIN_INFO_PACKET, 26);
PROTOCOL_SIZE_CHECK(SC_ADD_OBJECT_PACKET, 30);
PROTOCOL_SIZE_CHECK(SC_REMOVE_OBJECT_PACKET, 6);
PROTOCOL_SIZE_CHECK(SC_MOVE_OBJECT_PACKET, 14);
PROTOCOL_SIZE_CHECK(SC_CHAT_PACKET, 106);
PROTOCOL_SIZE_CHECK(SC_LOGIN_OK_PACKET, 2);
PROTOCOL_SIZE_CHECK(SC_LOGIN_FAIL_PACKET, 2);
PROTOCOL_SIZE_CHECK(SC_STAT_CHANGE_PACKET, 18);

/* The largest packet a client may send (CS_CHAT): the receive buffer
 * must hold at least one whole packet plus the start of the next. */
#define CS_PACKET_MAX 102

#endif /* PROTOCOL_H */
