/*
 * game_net.h - the client side of the game protocol (contract: "Game
 * server", the course's protocol.h): packet builders, readers and the
 * reassembly of a byte stream into packets. Shared by `client.exe game`
 * and `client.exe stress`.
 *
 * Packets are built and read byte by byte in little-endian order rather
 * than through packed structs, so that the client does not depend on the
 * compiler's packing or the machine's byte order.
 */
#ifndef GAME_NET_H
#define GAME_NET_H

#include <stddef.h>

enum {
    CS_LOGIN = 0, CS_MOVE = 1, CS_CHAT = 2, CS_ATTACK = 3, CS_TELEPORT = 4, CS_LOGOUT = 5,
    SC_LOGIN_INFO = 2, SC_ADD_OBJECT = 3, SC_REMOVE_OBJECT = 4, SC_MOVE_OBJECT = 5,
    SC_CHAT = 6, SC_LOGIN_OK = 7, SC_LOGIN_FAIL = 8, SC_STAT_CHANGE = 9
};

#define NAME_SIZE 20
#define CHAT_SIZE 100
#define CS_LOGIN_SIZE 22
#define CS_MOVE_SIZE 7
#define CS_CHAT_SIZE 102

/* The size a server-to-client packet of this type must have, 0 if the
 * type is unknown. */
int game_sc_size(int type);

struct game_rx {
    unsigned char buf[8192];
    size_t len, off; /* bytes held; start of the first unread packet */
};

void game_rx_init(struct game_rx *rx);
/* Appends received bytes (at most 4096 at a time). */
void game_rx_push(struct game_rx *rx, const char *data, size_t n);
/* The next whole packet, or NULL when none is complete yet. A malformed
 * packet (size < 2, unknown type, size that does not match its type)
 * sets *err and returns NULL. */
const unsigned char *game_rx_next(struct game_rx *rx, int *err);

int game_get_i32(const unsigned char *p);
unsigned int game_get_u32(const unsigned char *p);
int game_get_i16(const unsigned char *p);

void game_make_login(unsigned char *out, const char *name);                 /* CS_LOGIN_SIZE */
void game_make_move(unsigned char *out, unsigned char dir, unsigned int t);  /* CS_MOVE_SIZE */
void game_make_chat(unsigned char *out, const char *text);                  /* CS_CHAT_SIZE */
void game_make_simple(unsigned char *out, int type);                        /* 2 bytes */

#endif
