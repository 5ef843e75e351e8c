/*
 * world.c - the map, the sectors and the view lists: who sees whom, and
 * who hears about each login, move, chat and departure.
 *
 * The map is opt.width x opt.height tiles with nothing on them but the
 * players (no obstacles yet). A sees B when |dx| <= range and
 * |dy| <= range; seeing is mutual.
 *
 * Sectors. Asking "who is near this player?" of every player costs
 * O(players) per move, O(players^2) per second: too much at 10,000. So
 * the map is cut into square sectors (cells) of 2*range+1 tiles, and
 * each sector lists the players standing in it. A player's view square
 * (2*range+1 wide) then overlaps at most 2x2 sectors: a move looks at
 * the players in those, not at the whole server.
 *
 * View lists. Each player remembers whom its client has been told about
 * (sent SC_ADD_OBJECT and no SC_REMOVE_OBJECT since): a bitmap of
 * MAX_USERS bits. After a move, the new neighbourhood (from the sectors)
 * is compared with that list: players that came into view are added,
 * those that left are removed, those still there are told of the move.
 *
 * Correctness under concurrency. Several workers move players at the
 * same time, and the question "do A and B see each other?" involves two
 * players, perhaps both moving. Every such question is answered by
 * pair_update(), with both players' locks held (the lower id first, so
 * that two threads asking about the same pair cannot deadlock), from
 * both players' current positions, and it changes both view lists and
 * tells both clients at once. Each player re-asks the question for every
 * pair its own move may have changed, after changing its position. So
 * the last answer for a pair always uses both latest positions, view
 * lists stay mutual (A has B exactly when B has A), and a client never
 * gets SC_MOVE_OBJECT or SC_REMOVE_OBJECT for an object it was not
 * added, nor two SC_ADD_OBJECT in a row for one object.
 */
#include "game.h"

struct sector {
    SRWLOCK lock; /* exclusive to add or remove a player, shared to look */
    int head;     /* first player listed, -1 when none (then sector_next) */
};

static struct sector *sectors;
static int cell; /* a sector is cell x cell tiles */
static int cells_x, cells_y;
static int view_words; /* 64-bit words in a view list */

void world_init(void)
{
    size_t count;
    /* 2*range+1: the view square then overlaps at most 2x2 sectors. At
     * least 8, so that a tiny range does not make millions of sectors. */
    cell = 2 * opt.range + 1;
    if (cell < 8)
        cell = 8;
    cells_x = (opt.width + cell - 1) / cell;
    cells_y = (opt.height + cell - 1) / cell;
    count = (size_t)cells_x * (size_t)cells_y;
    sectors = calloc(count, sizeof *sectors);
    if (sectors == NULL)
        lab_fatal("calloc (sectors)", ERROR_NOT_ENOUGH_MEMORY);
    for (size_t i = 0; i < count; i++) {
        InitializeSRWLock(&sectors[i].lock);
        sectors[i].head = -1;
    }
    view_words = (opt.max_users + 63) / 64;
}

/* A worker's scratch space, allocated once: a move allocates nothing. */
void world_worker_init(struct worker *w)
{
    LARGE_INTEGER t;
    w->nearby = calloc((size_t)opt.max_users, sizeof *w->nearby);
    w->old_view = calloc((size_t)view_words, sizeof *w->old_view);
    w->mark = calloc((size_t)view_words, sizeof *w->mark);
    if (w->nearby == NULL || w->old_view == NULL || w->mark == NULL)
        lab_fatal("calloc (worker)", ERROR_NOT_ENOUGH_MEMORY);
    QueryPerformanceCounter(&t);
    w->rng = ((uint64_t)t.QuadPart ^ ((uint64_t)(w->index + 1) * 0x9E3779B97F4A7C15ULL)) | 1;
}

/* xorshift64*: small, fast, good enough for spawn points; one state per
 * worker, so no lock (rand() would share one). */
static unsigned rnd(struct worker *w, unsigned n)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (unsigned)((x * 2685821657736338717ULL) >> 32) % n;
}

/* ------------------------------------------------------------------------
 * Bitmaps (view lists and the scratch ones)
 * --------------------------------------------------------------------- */

static int bit_test(const uint64_t *b, int i)
{
    return (int)((b[i >> 6] >> (i & 63)) & 1);
}

static void bit_set(uint64_t *b, int i)
{
    b[i >> 6] |= (uint64_t)1 << (i & 63);
}

static void bit_clear(uint64_t *b, int i)
{
    b[i >> 6] &= ~((uint64_t)1 << (i & 63));
}

static int lowest_bit(uint64_t v) /* v != 0 */
{
    int n = 0;
    while ((v & 0xffff) == 0) {
        v >>= 16;
        n += 16;
    }
    while ((v & 1) == 0) {
        v >>= 1;
        n++;
    }
    return n;
}

/* Takes the lowest id out of bitmap `b`; -1 when it is empty. `*word`
 * remembers where to go on from (start at 0). */
static int pop_id(uint64_t *b, int *word)
{
    for (; *word < view_words; (*word)++) {
        uint64_t v = b[*word];
        if (v != 0) {
            b[*word] = v & (v - 1);
            return *word * 64 + lowest_bit(v);
        }
    }
    return -1;
}

static int view_has(const struct session *s, int id)
{
    return s->view != NULL && bit_test(s->view, id);
}

/* ------------------------------------------------------------------------
 * Sectors
 * --------------------------------------------------------------------- */

static int cell_of(int x, int y)
{
    return (y / cell) * cells_x + x / cell;
}

/* Only the session's receive side moves it between sectors; its links
 * change under the lock of the sector it is in. */
static void sector_insert(struct session *s, int c)
{
    struct sector *sec = &sectors[c];
    AcquireSRWLockExclusive(&sec->lock);
    s->sector_prev = -1;
    s->sector_next = sec->head;
    if (sec->head >= 0)
        sessions[sec->head].sector_prev = s->id;
    sec->head = s->id;
    ReleaseSRWLockExclusive(&sec->lock);
    s->sector = c;
}

static void sector_remove(struct session *s)
{
    struct sector *sec = &sectors[s->sector];
    AcquireSRWLockExclusive(&sec->lock);
    if (s->sector_prev >= 0)
        sessions[s->sector_prev].sector_next = s->sector_next;
    else
        sec->head = s->sector_next;
    if (s->sector_next >= 0)
        sessions[s->sector_next].sector_prev = s->sector_prev;
    s->sector_next = s->sector_prev = -1;
    ReleaseSRWLockExclusive(&sec->lock);
    s->sector = -1;
}

/* The ids listed in the sectors that (x, y)'s view square overlaps,
 * `self` excepted, into w->nearby; returns how many. Candidates only: they
 * may stand outside the view square, and may move before anyone looks at
 * them; pair_update() decides. One sector lock at a time: a player that
 * changes sectors meanwhile may be seen twice (dropped here with
 * w->mark) or not at all (then its own move finds us: it re-checks its
 * neighbourhood after it has joined its new sector). */
static int scan_near(struct worker *w, int x, int y, int self)
{
    int x0 = (x - opt.range < 0 ? 0 : x - opt.range) / cell;
    int x1 = (x + opt.range > opt.width - 1 ? opt.width - 1 : x + opt.range) / cell;
    int y0 = (y - opt.range < 0 ? 0 : y - opt.range) / cell;
    int y1 = (y + opt.range > opt.height - 1 ? opt.height - 1 : y + opt.range) / cell;
    int n = 0;

    for (int cy = y0; cy <= y1; cy++) {
        for (int cx = x0; cx <= x1; cx++) {
            struct sector *sec = &sectors[cy * cells_x + cx];
            AcquireSRWLockShared(&sec->lock);
            for (int id = sec->head; id >= 0; id = sessions[id].sector_next) {
                if (id != self && !bit_test(w->mark, id)) {
                    bit_set(w->mark, id);
                    w->nearby[n++] = id;
                }
            }
            ReleaseSRWLockShared(&sec->lock);
        }
    }
    for (int i = 0; i < n; i++)
        bit_clear(w->mark, w->nearby[i]);
    return n;
}

/* ------------------------------------------------------------------------
 * The pair rule
 * --------------------------------------------------------------------- */

static int in_view(const struct session *a, const struct session *b)
{
    return abs(a->x - b->x) <= opt.range && abs(a->y - b->y) <= opt.range;
}

/* Do a and b see each other now? Brings both view lists and both clients
 * up to date. `a_moved`: a's move, for b if b saw a already (NULL when
 * nothing moved). Both locks, lower id first: the only place two session
 * locks are held together, and always in that order, so no deadlock.
 * Only players in the game see each other: a closing player is removed
 * from every view it is in, as the pairs come up. */
static void pair_update(struct worker *w, struct session *a, struct session *b,
                        const SC_MOVE_OBJECT_PACKET *a_moved)
{
    struct session *first = a->id < b->id ? a : b;
    struct session *second = a->id < b->id ? b : a;
    int visible, a_sees_b, b_sees_a;

    EnterCriticalSection(&first->lock);
    EnterCriticalSection(&second->lock);
    visible = a->state == SESSION_IN_GAME && b->state == SESSION_IN_GAME && in_view(a, b);
    a_sees_b = view_has(a, b->id);
    b_sees_a = view_has(b, a->id);
    if (visible) {
        if (!a_sees_b) {
            bit_set(a->view, b->id);
            send_add_object(w, a, b);
        }
        if (!b_sees_a) {
            bit_set(b->view, a->id);
            send_add_object(w, b, a);
        } else if (a_moved != NULL) {
            net_send(w, b, a_moved, (unsigned)sizeof *a_moved);
        }
    } else {
        if (a_sees_b) {
            bit_clear(a->view, b->id);
            send_remove_object(w, a, b->id);
        }
        if (b_sees_a) {
            bit_clear(b->view, a->id);
            send_remove_object(w, b, a->id);
        }
    }
    LeaveCriticalSection(&second->lock);
    LeaveCriticalSection(&first->lock);
}

/* ------------------------------------------------------------------------
 * Login, move, teleport, chat, leave
 * --------------------------------------------------------------------- */

void world_login(struct worker *w, struct session *s, const char *name)
{
    char shown[NAME_SIZE + 8];
    int x, y, n;
    size_t len = 0;

    EnterCriticalSection(&s->lock);
    if (s->state != SESSION_ACCEPTED) { /* closed meanwhile */
        LeaveCriticalSection(&s->lock);
        return;
    }
    /* NUL-terminated within its 20 bytes, zero-padded: what others get
     * in SC_ADD_OBJECT is clean whatever the client sent */
    while (len < NAME_SIZE - 1 && name[len] != '\0')
        len++;
    memset(s->name, 0, sizeof s->name);
    memcpy(s->name, name, len);
    s->x = (short)rnd(w, (unsigned)opt.width);
    s->y = (short)rnd(w, (unsigned)opt.height);
    s->state = SESSION_IN_GAME;
    send_login_info(w, s); /* before anyone can find it: first in its stream */
    x = s->x;
    y = s->y;
    printable_name(s->name, shown, sizeof shown);
    LeaveCriticalSection(&s->lock);

    sector_insert(s, cell_of(x, y));
    s->in_world = 1;
    InterlockedIncrement(&players_online);
    if (!opt.quiet)
        lab_log("session %d: logged in as \"%s\" at (%d, %d)", s->id, shown, x, y);
    n = scan_near(w, x, y, s->id);
    for (int i = 0; i < n; i++)
        pair_update(w, s, &sessions[w->nearby[i]], NULL);
}

/* A move or a teleport: the new position, the mover's own answer, then
 * every pair the move may have changed: the players around the new
 * position, and those the mover saw before. */
static void relocate(struct worker *w, struct session *s, int direction, uint32_t move_time, int teleport)
{
    SC_MOVE_OBJECT_PACKET mv;
    int c, n, word = 0;

    EnterCriticalSection(&s->lock);
    if (s->state != SESSION_IN_GAME) {
        LeaveCriticalSection(&s->lock);
        return;
    }
    if (teleport) {
        s->x = (short)rnd(w, (unsigned)opt.width);
        s->y = (short)rnd(w, (unsigned)opt.height);
    } else {
        switch (direction) { /* a step off the map is blocked: no change */
        case DIR_UP:
            if (s->y > 0)
                s->y--;
            break;
        case DIR_DOWN:
            if (s->y < opt.height - 1)
                s->y++;
            break;
        case DIR_LEFT:
            if (s->x > 0)
                s->x--;
            break;
        case DIR_RIGHT:
            if (s->x < opt.width - 1)
                s->x++;
            break;
        default:
            break; /* no such direction: a move that goes nowhere */
        }
    }
    mv.size = (uint8_t)sizeof mv;
    mv.type = SC_MOVE_OBJECT;
    mv.id = s->id;
    mv.x = s->x;
    mv.y = s->y;
    mv.move_time = move_time;
    net_send(w, s, &mv, (unsigned)sizeof mv); /* the mover's answer, always */
    memcpy(w->old_view, s->view, (size_t)view_words * sizeof *w->old_view);
    LeaveCriticalSection(&s->lock);

    c = cell_of(mv.x, mv.y);
    if (c != s->sector) {
        sector_remove(s);
        sector_insert(s, c);
    }
    n = scan_near(w, mv.x, mv.y, s->id);
    for (int i = 0; i < n; i++) {
        bit_clear(w->old_view, w->nearby[i]); /* handled here, not below */
        pair_update(w, s, &sessions[w->nearby[i]], &mv);
    }
    /* Seen before, not around the new position: out of view now (or
     * changing sectors just as we looked; pair_update tells which). */
    for (int id = pop_id(w->old_view, &word); id >= 0; id = pop_id(w->old_view, &word))
        pair_update(w, s, &sessions[id], &mv);
}

void world_move(struct worker *w, struct session *s, int direction, uint32_t move_time)
{
    relocate(w, s, direction, move_time, 0);
}

void world_teleport(struct worker *w, struct session *s)
{
    relocate(w, s, 0, 0, 1); /* answered with SC_MOVE_OBJECT, move_time 0 */
}

/* To the sender and to every player that sees the sender. One lock at a
 * time: the view list is copied, then each viewer is checked under its
 * own lock (it may have moved away meanwhile, or its slot may hold
 * another player by now). */
void world_chat(struct worker *w, struct session *s, const char *mess)
{
    SC_CHAT_PACKET p;
    size_t len = 0;
    int word = 0;

    memset(&p, 0, sizeof p);
    p.size = (uint8_t)sizeof p;
    p.type = SC_CHAT;
    p.id = s->id;
    while (len < CHAT_SIZE - 1 && mess[len] != '\0')
        len++;
    memcpy(p.mess, mess, len); /* NUL-terminated, zero-padded */

    EnterCriticalSection(&s->lock);
    if (s->state != SESSION_IN_GAME) {
        LeaveCriticalSection(&s->lock);
        return;
    }
    send_chat(w, s, &p);
    memcpy(w->old_view, s->view, (size_t)view_words * sizeof *w->old_view);
    LeaveCriticalSection(&s->lock);

    for (int id = pop_id(w->old_view, &word); id >= 0; id = pop_id(w->old_view, &word)) {
        struct session *q = &sessions[id];
        EnterCriticalSection(&q->lock);
        if (q->state == SESSION_IN_GAME && view_has(q, s->id))
            send_chat(w, q, &p);
        LeaveCriticalSection(&q->lock);
    }
}

/* The player is closing (logout, disconnect, error): out of its sector,
 * out of every view. Its state is SESSION_CLOSING already, so each
 * pair_update removes the pair, and nobody can add it again. */
void world_leave(struct worker *w, struct session *s)
{
    int word = 0;
    if (!s->in_world)
        return;
    sector_remove(s);
    EnterCriticalSection(&s->lock);
    memcpy(w->old_view, s->view, (size_t)view_words * sizeof *w->old_view);
    LeaveCriticalSection(&s->lock);
    for (int id = pop_id(w->old_view, &word); id >= 0; id = pop_id(w->old_view, &word))
        pair_update(w, s, &sessions[id], NULL);
    s->in_world = 0;
    InterlockedDecrement(&players_online);
}
