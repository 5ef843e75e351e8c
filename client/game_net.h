/*
 * game_net.h - the client side of the game protocol (contract: "Game
 * server", the course's protocol.h): packet builders, readers and the
 * reassembly of a byte stream into packets. Shared by `client.exe game`
 * and `client.exe stress`.
 *
 * Packets are built and read byte by byte in little-endian order (the
 * structs of protocol.h give the sizes), so that reading a field never
 * depends on the alignment of a receive buffer.
 */
#ifndef GAME_NET_H
#define GAME_NET_H

#include <stddef.h>

/* The protocol's types and structs: step 10's protocol.h is the one
 * definition, for the server and for this client. */
#include "../10_game_server/protocol.h"

#define CS_LOGIN_SIZE ((int)sizeof(CS_LOGIN_PACKET))
#define CS_MOVE_SIZE ((int)sizeof(CS_MOVE_PACKET))
#define CS_CHAT_SIZE ((int)sizeof(CS_CHAT_PACKET))

/* The size a server-to-client packet of this type must have, 0 if the
 * type is unknown. */
int game_sc_size(int type);

struct game_rx {
    unsigned char buf[8192];
    size_t len, off; /* bytes held; start of the first unread packet */
};

void game_rx_init(struct game_rx *rx);
/* Appends received bytes (at most 4096 at a time). Returns 0, or -1 if
 * they do not fit (only a push larger than that can cause it). */
int game_rx_push(struct game_rx *rx, const char *data, size_t n);
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

/* Milliseconds on a monotonic clock, as 32 bits: the size of move_time,
 * whose echo times a move (unsigned subtraction is right across the wrap). */
unsigned int game_now_ms32(void);

#endif
