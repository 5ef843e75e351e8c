/*
 * game_kit.h - what the cases of step 10 share (game_kit.c): packets of
 * 10_game_server/protocol.h built and checked, a player driven over a
 * real socket that tracks what its client has been told (struct gp), the
 * server started and watched, and the fixture most cases run in.
 *
 * The cases, by topic: game_cases.c (the table, the command line, the
 * status line, Ctrl+C), game_play_cases.c (what players see: moves, chat,
 * leaving, the map's edge, views, reassembly, bad packets),
 * game_load_cases.c (a full server, a slow reader, many players, NPCs,
 * and client.exe's game and stress modes). How a player's packets are
 * checked is told at the top of game_kit.c.
 */
#ifndef GAME_KIT_H
#define GAME_KIT_H

#include "tests.h"
#include "../10_game_server/protocol.h"

#define PKT_MAX 128          /* larger than any SC packet (SC_CHAT: 106) */
#define MARK_TAG 0x5A000000u /* move_time of a marker: 0x5A plus 24 bits */
#define MARK_MASK 0xFF000000u
#define DIR_NOWHERE 9   /* a direction that does not exist */
#define CLIENT_MS 30000 /* a run of client.exe game or stress */

#define OFF_ID 2 /* every packet with an id has it first */
#define OFF_LOGIN_X offsetof(SC_LOGIN_INFO_PACKET, x)
#define OFF_LOGIN_Y offsetof(SC_LOGIN_INFO_PACKET, y)
#define OFF_ADD_X offsetof(SC_ADD_OBJECT_PACKET, x)
#define OFF_ADD_Y offsetof(SC_ADD_OBJECT_PACKET, y)
#define OFF_MOVE_X offsetof(SC_MOVE_OBJECT_PACKET, x)
#define OFF_MOVE_Y offsetof(SC_MOVE_OBJECT_PACKET, y)
#define OFF_MOVE_TIME offsetof(SC_MOVE_OBJECT_PACKET, move_time)

/* An object a player's client knows of (struct gp's view). */
struct seen {
    int id, x, y;
    int ax, ay; /* where the player stood (as far as it knew) at the add */
};

/* A player: its socket, what it was told (its view, tracked by gp_track),
 * its reassembly buffer. */
struct gp {
    SOCKET s;
    char label[32];           /* "A", "player 17": for the reasons */
    char name[NAME_SIZE + 1]; /* what it logged in as */
    int w, h, max_users;      /* the server's -m and -u */
    int in;                   /* SC_LOGIN_INFO received */
    int id, x, y;
    unsigned char login[PKT_MAX]; /* its SC_LOGIN_INFO */
    struct seen *view;            /* the objects its client knows */
    int nview, capview;
    int npc_moves;      /* SC_MOVE_OBJECT of NPCs received */
    int last_npc_moved; /* the id of the last one */
    uint32_t walk_time; /* move_time of its next walking move */
    unsigned char rb[8192];
    size_t rlen;
};

#define ANY_MAX 8

/* The size of both output streams so far: log lines after it are new. */
struct log_mark {
    size_t out, err;
};

/* Two players on an 8x8 map with range 7 (everyone sees everyone): A
 * "alice" logs in and gets nothing more; B "bob" logs in and gets A;
 * A gets B. What most cases start from. */
#define SMALL_MAP "-m 8x8 -v 7 -u 100"

/* The fixture most cases run in (game_fixture): the server started with
 * no NPCs and `opts`; players labelled `labels` (NULL-ended), for a map
 * of w x h with `users` slots; with `two_in`, the first two logged in and
 * seeing each other (two_players). The case's body runs; then every
 * player is closed, and the server must still be running (game_finish). */
#define FX_PLAYERS 4
struct game_setup {
    const char *opts;
    int w, h, users;
    const char *labels[FX_PLAYERS + 1];
    int two_in;
};

struct game_fx {
    struct ctx *c;
    struct proc srv;
    struct gp p[FX_PLAYERS]; /* in the order of the labels */
};

/* The small map with A and B logged in and C ready for a newcomer. */
extern const struct game_setup small_two;

/* ------------------------------------------------------------------------
 * Packets: client packets built, server packets expected, read, shown
 * --------------------------------------------------------------------- */

unsigned sc_size(unsigned type);
size_t mk_login(unsigned char *out, const char *name);
size_t mk_move(unsigned char *out, int dir, uint32_t move_time);
size_t mk_chat(unsigned char *out, const char *text, size_t len);
size_t mk_simple(unsigned char *out, int type);
void sc_move(unsigned char *out, int id, int x, int y, uint32_t move_time);
void sc_add(unsigned char *out, int id, int x, int y, const char *name);
void sc_remove(unsigned char *out, int id);
void sc_chat(unsigned char *out, int id, const char *text, size_t len);
char *take_line(char **text);
const char *pkt_text(const unsigned char *p, char *buf, size_t bufsz);
uint32_t pkt_u32(const unsigned char *p, size_t off);
int pkt_i32(const unsigned char *p, size_t off);
int pkt_i16(const unsigned char *p, size_t off);
const char *dir_name(int dir);
void step_from(int dir, int w, int h, int *x, int *y);

/* ------------------------------------------------------------------------
 * A player (struct gp): connects, sends, and checks what it is told
 * --------------------------------------------------------------------- */

void gp_init(struct gp *p, const char *label, int w, int h, int max_users);
void gp_done(struct gp *p, int abortive);
int gp_find(const struct gp *p, int id);
int gp_send(struct gp *p, const void *data, size_t len, char *why, size_t whysz);
/* The next whole packet from a reassembly buffer `rb` (`*rlen` bytes in
 * it) filled from `s`: what gp_raw and the players of board_cases.c and
 * game_abuse_cases.c read with. */
enum net_status pkt_read(SOCKET s, const char *label, unsigned char *rb, size_t rbsz,
                         size_t *rlen, unsigned char *pkt, DWORD ms, char *why, size_t whysz);
enum net_status gp_raw(struct gp *p, unsigned char *pkt, DWORD ms, char *why, size_t whysz);
int gp_track(struct gp *p, const unsigned char *pkt, int *echo, char *why, size_t whysz);
enum net_status gp_next(struct gp *p, unsigned char *pkt, DWORD ms, char *why, size_t whysz);
int gp_expect(struct gp *p, const unsigned char *want, const char *when, char *why, size_t whysz);
int gp_expect_any(struct gp *p, unsigned char (*want)[PKT_MAX], int n, const char *when, char *why,
                  size_t whysz);
int gp_send_move(struct gp *p, int dir, uint32_t move_time, char *why, size_t whysz);
int gp_expect_nothing(struct gp *p, const char *when, char *why, size_t whysz);
int gp_await_move(struct gp *p, uint32_t move_time, const char *when, char *why, size_t whysz);
int gp_sync(struct gp *p, const char *when, char *why, size_t whysz);
int gp_step(struct gp *p, int dir, char *why, size_t whysz);
int toward(int from_x, int from_y, int to_x, int to_y);
int gp_walk(struct gp *p, int tx, int ty, char *why, size_t whysz);
int gp_connect(struct gp *p, unsigned short port, char *why, size_t whysz);
int gp_login(struct gp *p, unsigned short port, const char *name, char *why, size_t whysz);
void add_of(unsigned char *out, const struct gp *o);
int gp_meet(struct gp *x, struct gp *y, const char *when_y, const char *when_x, char *why,
            size_t whysz);
int gp_expect_end(struct gp *p, int eof_only, const char *when, char *why, size_t whysz);

/* ------------------------------------------------------------------------
 * The server: started, its log watched, alive at the end; the fixture
 * --------------------------------------------------------------------- */

int game_start(struct proc *srv, const char *exe, int npcs, const char *opts, int quiet, char *why,
               size_t whysz);
enum result game_finish(struct ctx *c, struct proc *srv, enum result out);
void log_mark(struct proc *srv, struct log_mark *m);
int log_wait_new(struct proc *srv, const struct log_mark *m, const char *const *words, DWORD ms,
                 char *line, size_t linesz);
int count_lines(struct proc *p, const char *prefix, char *last, size_t lastsz);
int wait_lines(struct proc *p, const char *prefix, int count, DWORD ms);
int two_players(unsigned short port, struct gp *a, struct gp *b, char *why, size_t whysz);
enum result game_fixture(struct ctx *c, const struct game_setup *set,
                         enum result (*body)(struct game_fx *f));

/* ------------------------------------------------------------------------
 * The cases, for the table in game_cases.c
 * --------------------------------------------------------------------- */

/* game_play_cases.c */
enum result case_login_and_see(struct ctx *c);
enum result case_move_echo_broadcast(struct ctx *c);
enum result case_chat(struct ctx *c);
enum result case_attack_relogin(struct ctx *c);
enum result case_bad_direction(struct ctx *c);
enum result case_teleport(struct ctx *c);
enum result case_logout_removal(struct ctx *c);
enum result case_close_removal(struct ctx *c);
enum result case_reset_removal(struct ctx *c);
enum result case_edge_clamp(struct ctx *c);
enum result case_view_enter_leave(struct ctx *c);
enum result case_split_packets(struct ctx *c);
enum result case_coalesced_packets(struct ctx *c);
enum result case_malformed(struct ctx *c);
/* game_load_cases.c */
enum result case_full_server(struct ctx *c);
enum result case_slow_reader(struct ctx *c);
enum result case_many_players(struct ctx *c);
enum result case_game_client_script(struct ctx *c);
enum result case_stress_fixed(struct ctx *c);
enum result case_npcs(struct ctx *c);

#endif /* GAME_KIT_H */
