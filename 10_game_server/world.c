/*
 * world.c - the map, the sectors, the view lists and the NPCs: who sees
 * whom, and who hears about each login, move, chat and departure.
 *
 * The map is opt.width x opt.height tiles with nothing on them but the
 * players and the NPCs (no obstacles yet). A sees B when |dx| <= range
 * and |dy| <= range; seeing is mutual between players. NPCs are seen by
 * players and see nobody.
 *
 * Sectors. Asking "who is near this player?" of every object costs
 * O(objects) per move: too much at 10,000 players and 200,000 NPCs. So
 * the map is cut into square sectors of 2*range+1 tiles, and each sector
 * lists the players and, in a second list, the NPCs standing in it. A
 * player's view square (2*range+1 wide) then overlaps at most 2x2
 * sectors: a move looks at the objects in those, not at the whole server.
 * An NPC's move looks only at the players' lists (NPCs do not see NPCs).
 *
 * View lists. Each player remembers whom its client has been told about
 * (sent SC_ADD_OBJECT and no SC_REMOVE_OBJECT since), players and NPCs
 * alike: a small hash set of ids (struct view_set), sized by what the
 * player sees. After a move, the new neighbourhood (from the sectors) is
 * compared with that list: objects that came into view are added, those
 * that left are removed, players still there are told of the move. An
 * NPC keeps only a count of the players that see it (`viewers`).
 *
 * Correctness under concurrency. Several workers move players and NPCs
 * at the same time, and the question "do A and B see each other?"
 * involves two objects, perhaps both moving. Every such question is
 * answered by pair_update() (two players) or pair_npc() (a player and an
 * NPC), with both locks held (the lower id first, so that two threads
 * asking about the same pair cannot deadlock; NPC ids are above every
 * player id), from both current positions, and it changes both sides and
 * tells the clients at once. Each object re-asks the question for every
 * pair its own move may have changed, after changing its position. So the
 * last answer for a pair always uses both latest positions, view lists
 * stay mutual between players (A has B exactly when B has A), an NPC's
 * `viewers` is the number of players whose list holds it, and a client
 * never gets SC_MOVE_OBJECT or SC_REMOVE_OBJECT for an object it was not
 * added, nor two SC_ADD_OBJECT in a row for one object.
 *
 * NPCs sleep. 200,000 NPCs moving every second would be 200,000 timer
 * events a second for nobody to see. An NPC is asleep (no timer event,
 * no work) until a player's view list takes it in: that pair_npc() wakes
 * it with a compare-and-swap on its `awake` flag (0 -> 1: only one waker
 * schedules the first timer event, however many players see it at once).
 * Once a second its timer event moves it one tile (world_timer); when its
 * `viewers` count is 0 it clears `awake` and schedules nothing: asleep
 * again. Both decisions are taken under the NPC's lock, so a player that
 * sees it just as it decides to sleep either comes first (the NPC stays
 * awake) or finds `awake` 0 and wakes it again.
 */
#include "game.h"

struct sector {
    SRWLOCK lock; /* exclusive to add or remove an object, shared to look */
    int head;     /* first player listed, -1 when none (then sector_next) */
    int npc_head; /* first NPC listed (an NPC index), -1 when none */
};

/* An NPC. Its id on the wire is opt.max_users + its index. */
struct npc {
    SRWLOCK lock;        /* x, y, viewers; taken after a session lock, never before one */
    short x, y;
    int viewers;         /* players whose view list holds this NPC */
    volatile LONG awake; /* 1 while a timer event is pending or being handled */
    int sector_next, sector_prev; /* under the lock of the sector it is listed in */
    int sector;          /* owned by its timer event: one at a time */
    struct timer_event move; /* its one timer event, preallocated */
};

/* A thread's scratch space for the world, one per thread that runs world
 * code (indexed by its struct worker's index: the workers, then the timer
 * thread): it grows to the largest neighbourhood seen, then a move
 * allocates nothing. `lazy`: an NPC is acting (only ever on the timer
 * thread), so what it causes may wait for the lazy flush (passed to
 * session_send as an argument). */
struct scratch {
    struct worker *w;    /* the thread using it (its packet counters) */
    int *nearby;         /* ids found in the sectors around a position */
    int nearby_cap;
    int *old_view;       /* copy of a view list's ids */
    int old_cap;
    uint64_t *mark;      /* bitmap over all ids: drops duplicates from `nearby` */
    uint64_t rng;
    int lazy;
};

volatile LONG npcs_awake;     /* status line */
volatile LONG players_online; /* in the world (status line) */

static struct scratch *scratches;

static struct sector *sectors;
static struct npc *npcs;
static int cell; /* a sector is cell x cell tiles */
static int cells_x, cells_y;
static int total_ids; /* players and NPCs: the id space */

/* xorshift64*: small, fast, good enough for spawn points and NPC steps;
 * one state per worker, so no lock (rand() would share one). */
static unsigned rnd_next(uint64_t *state, unsigned n)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (unsigned)((x * 2685821657736338717ULL) >> 32) % n;
}

static unsigned rnd(struct scratch *w, unsigned n)
{
    return rnd_next(&w->rng, n);
}

static int cell_of(int x, int y)
{
    return (y / cell) * cells_x + x / cell;
}

static int is_npc(int id)
{
    return id >= opt.max_users;
}

static void npc_sector_insert(struct npc *n, int c);

void world_init(void)
{
    size_t count;
    uint64_t seed;
    LARGE_INTEGER t;

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
        sectors[i].npc_head = -1;
    }
    total_ids = opt.max_users + opt.npcs;

    /* The NPCs, at random places, asleep. An SRWLOCK needs no cleanup
     * and is 8 bytes: 200,000 of them cost 1.6 MB and nothing else. */
    if (opt.npcs > 0) {
        npcs = calloc((size_t)opt.npcs, sizeof *npcs);
        if (npcs == NULL)
            lab_fatal("calloc (NPCs)", ERROR_NOT_ENOUGH_MEMORY);
    }
    QueryPerformanceCounter(&t);
    seed = (uint64_t)t.QuadPart | 1;
    for (int i = 0; i < opt.npcs; i++) {
        struct npc *n = &npcs[i];
        InitializeSRWLock(&n->lock);
        n->x = (short)rnd_next(&seed, (unsigned)opt.width);
        n->y = (short)rnd_next(&seed, (unsigned)opt.height);
        n->move.kind = TIMER_NPC_MOVE;
        n->move.target = i;
        npc_sector_insert(n, cell_of(n->x, n->y));
    }

    /* One scratch per thread that runs world code: the workers
     * (opt.threads, set before this) and, one past them, the timer
     * thread, which makes the NPCs' moves (main.c, on_timer_due). */
    scratches = calloc((size_t)opt.threads + 1, sizeof *scratches);
    if (scratches == NULL)
        lab_fatal("calloc (scratch)", ERROR_NOT_ENOUGH_MEMORY);
    for (int i = 0; i <= opt.threads; i++) {
        struct scratch *x = &scratches[i];
        x->mark = calloc((size_t)(total_ids + 63) / 64, sizeof *x->mark);
        if (x->mark == NULL)
            lab_fatal("calloc (scratch)", ERROR_NOT_ENOUGH_MEMORY);
        QueryPerformanceCounter(&t);
        x->rng = ((uint64_t)t.QuadPart ^ ((uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL)) | 1;
    }
}

/* The scratch of worker `w`, which is using it from now on. */
static struct scratch *scratch_of(struct worker *w)
{
    struct scratch *x = &scratches[w->index];
    x->w = w;
    return x;
}

/* Makes room for `need` ints in a scratch array. Rare (the arrays only
 * grow, to the largest neighbourhood this worker met): an allocation
 * that fails here means the machine is out of memory. */
static void reserve(int **arr, int *cap, int need)
{
    int n;
    int *p;
    if (need <= *cap)
        return;
    n = *cap < 256 ? 256 : *cap;
    while (n < need)
        n *= 2;
    p = realloc(*arr, (size_t)n * sizeof *p);
    if (p == NULL)
        lab_fatal("realloc (worker scratch)", ERROR_NOT_ENOUGH_MEMORY);
    *arr = p;
    *cap = n;
}

/* ------------------------------------------------------------------------
 * View lists: a hash set of ids per player
 * --------------------------------------------------------------------- */

/* Why not a bitmap of the id space, as before the NPCs? 210,000 ids are
 * 26 KB per player, 260 MB at 10,000 players, and copying one for a move
 * (to compare the old view with the new) costs 26 KB of memory traffic
 * to learn about a dozen ids. A set costs about 8 bytes per id it holds
 * (at most half full), and everything it does is O(ids it holds). */

static unsigned view_hash(int id, unsigned mask)
{
    unsigned h = (unsigned)id * 0x9E3779B1u;
    return (h ^ (h >> 15)) & mask;
}

/* The slot holding `id`, or -1. */
static int view_find(const struct view_set *v, int id)
{
    unsigned mask, i;
    if (v->count == 0)
        return -1;
    mask = v->cap - 1;
    for (i = view_hash(id, mask); v->slot[i] != -1; i = (i + 1) & mask)
        if (v->slot[i] == id)
            return (int)i;
    return -1;
}

static int view_has(const struct session *s, int id)
{
    return view_find(&s->view, id) >= 0;
}

/* Moves the set into `cap` slots (a power of two, more than twice the
 * count). 0 when there is no memory: the set stays as it was. */
static int view_resize(struct view_set *v, unsigned cap)
{
    unsigned i;
    int *slot = malloc((size_t)cap * sizeof *slot);
    if (slot == NULL)
        return 0;
    memset(slot, 0xff, (size_t)cap * sizeof *slot); /* all -1 */
    for (unsigned k = 0; k < v->cap; k++) {
        if (v->slot[k] != -1) {
            for (i = view_hash(v->slot[k], cap - 1); slot[i] != -1; i = (i + 1) & (cap - 1))
                ;
            slot[i] = v->slot[k];
        }
    }
    free(v->slot);
    v->slot = slot;
    v->cap = cap;
    return 1;
}

/* Adds `id` (not in the set). Returns 0 when there is no memory to grow:
 * then the caller does not tell the client about the object either. */
static int view_add(struct view_set *v, int id)
{
    unsigned mask, i;
    if ((v->count + 1) * 2 > v->cap && !view_resize(v, v->cap ? v->cap * 2 : VIEW_MIN_CAP))
        return 0;
    mask = v->cap - 1;
    for (i = view_hash(id, mask); v->slot[i] != -1; i = (i + 1) & mask)
        ;
    v->slot[i] = id;
    v->count++;
    return 1;
}

/* Removes `id` (in the set). Linear probing needs no tombstones: the
 * entries after the hole that belong at or before it move back into it. */
static void view_remove(struct view_set *v, int id)
{
    unsigned mask = v->cap - 1;
    int found = view_find(v, id);
    unsigned hole, j;
    if (found < 0)
        return;
    hole = (unsigned)found;
    for (j = (hole + 1) & mask; v->slot[j] != -1; j = (j + 1) & mask) {
        unsigned home = view_hash(v->slot[j], mask);
        /* the entry at j may fill the hole unless its home lies
         * cyclically in (hole, j] */
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            v->slot[hole] = v->slot[j];
            hole = j;
        }
    }
    v->slot[hole] = -1;
    v->count--;
    /* A player that walked out of a crowd: a set an eighth full or less
     * halves (down to VIEW_KEEP_CAP), so that copying it (view_copy, at
     * every move) costs what it holds, not what it once held. Halving at
     * an eighth, doubling at a half: no back and forth on one id. */
    if (v->cap > VIEW_KEEP_CAP && v->count * 8 <= v->cap)
        view_resize(v, v->cap / 2); /* no memory: it stays big, which is only slower */
}

/* Empties the set for the slot's next player; a big one gives its memory
 * back. Called when the player has left (nobody can add to it then: it is
 * not in the game any more). */
static void view_reset(struct view_set *v)
{
    if (v->cap > VIEW_KEEP_CAP) {
        free(v->slot);
        v->slot = NULL;
        v->cap = 0;
    } else if (v->slot != NULL) {
        memset(v->slot, 0xff, (size_t)v->cap * sizeof *v->slot);
    }
    v->count = 0;
}

/* s->lock held. Copies the ids of s's view list into w->old_view. Stops
 * at the last id: a set that grew for a crowd and emptied since is not
 * walked to its end. */
static int view_copy(struct scratch *w, const struct session *s)
{
    int n = 0;
    reserve(&w->old_view, &w->old_cap, (int)s->view.count);
    for (unsigned i = 0; i < s->view.cap && n < (int)s->view.count; i++)
        if (s->view.slot[i] != -1)
            w->old_view[n++] = s->view.slot[i];
    return n;
}

/* ------------------------------------------------------------------------
 * The scratch bitmap: marks the ids a scan found
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

/* Clears the marks of the last scan's `n` ids. */
static void unmark(struct scratch *w, int n)
{
    for (int i = 0; i < n; i++)
        bit_clear(w->mark, w->nearby[i]);
}

/* ------------------------------------------------------------------------
 * Sectors
 * --------------------------------------------------------------------- */

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

/* The same for an NPC; only its own timer event moves it. */
static void npc_sector_insert(struct npc *n, int c)
{
    struct sector *sec = &sectors[c];
    int k = (int)(n - npcs);
    AcquireSRWLockExclusive(&sec->lock);
    n->sector_prev = -1;
    n->sector_next = sec->npc_head;
    if (sec->npc_head >= 0)
        npcs[sec->npc_head].sector_prev = k;
    sec->npc_head = k;
    ReleaseSRWLockExclusive(&sec->lock);
    n->sector = c;
}

static void npc_sector_remove(struct npc *n)
{
    struct sector *sec = &sectors[n->sector];
    AcquireSRWLockExclusive(&sec->lock);
    if (n->sector_prev >= 0)
        npcs[n->sector_prev].sector_next = n->sector_next;
    else
        sec->npc_head = n->sector_next;
    if (n->sector_next >= 0)
        npcs[n->sector_next].sector_prev = n->sector_prev;
    n->sector_next = n->sector_prev = -1;
    ReleaseSRWLockExclusive(&sec->lock);
    n->sector = -1;
}

/* The ids listed in the sectors that the tile rectangle x0..x1, y0..y1
 * overlaps (clipped to the map), `self` excepted, into w->nearby; returns
 * how many, and leaves them marked in w->mark (the caller unmarks them).
 * Players only, or players and NPCs (`npcs_too`). Candidates only: they
 * may stand outside the view square, and may move before anyone looks at
 * them; pair_update() and pair_npc() decide. One sector lock at a time:
 * an object that changes sectors meanwhile may be seen twice (dropped
 * here with w->mark) or not at all (then its own move finds us: it
 * re-checks its neighbourhood after it has joined its new sector). */
static int scan_rect(struct scratch *w, int x0, int y0, int x1, int y1, int self, int npcs_too)
{
    int n = 0;
    x0 = (x0 < 0 ? 0 : x0) / cell;
    y0 = (y0 < 0 ? 0 : y0) / cell;
    x1 = (x1 > opt.width - 1 ? opt.width - 1 : x1) / cell;
    y1 = (y1 > opt.height - 1 ? opt.height - 1 : y1) / cell;

    for (int cy = y0; cy <= y1; cy++) {
        for (int cx = x0; cx <= x1; cx++) {
            struct sector *sec = &sectors[cy * cells_x + cx];
            AcquireSRWLockShared(&sec->lock);
            for (int id = sec->head; id >= 0; id = sessions[id].sector_next) {
                if (id != self && !bit_test(w->mark, id)) {
                    reserve(&w->nearby, &w->nearby_cap, n + 1);
                    bit_set(w->mark, id);
                    w->nearby[n++] = id;
                }
            }
            if (npcs_too) {
                for (int k = sec->npc_head; k >= 0; k = npcs[k].sector_next) {
                    int id = opt.max_users + k;
                    if (!bit_test(w->mark, id)) {
                        reserve(&w->nearby, &w->nearby_cap, n + 1);
                        bit_set(w->mark, id);
                        w->nearby[n++] = id;
                    }
                }
            }
            ReleaseSRWLockShared(&sec->lock);
        }
    }
    return n;
}

/* Everything within view of (x, y): players and NPCs. */
static int scan_near(struct scratch *w, int x, int y, int self)
{
    return scan_rect(w, x - opt.range, y - opt.range, x + opt.range, y + opt.range, self, 1);
}

/* ------------------------------------------------------------------------
 * Packets out: built by the codec, queued by the session. The caller holds
 * `to`'s lock (and `obj`'s, when given): what is read from the sessions is
 * consistent, and packets about one object reach a client in the order its
 * view list changed.
 * --------------------------------------------------------------------- */

static void send_to(struct scratch *w, struct session *to, const void *pkt, unsigned n)
{
    session_send(w->w, to, pkt, n, w->lazy);
}

static void send_add_object(struct scratch *w, struct session *to, const struct session *obj)
{
    char p[SC_PACKET_MAX];
    send_to(w, to, p, codec_add_object(p, obj->id, obj->x, obj->y, obj->name));
}

/* An NPC: the same packet, with a name made from its number. */
static void send_add_npc(struct scratch *w, struct session *to, int id, int x, int y)
{
    char p[SC_PACKET_MAX], name[NAME_SIZE];
    memset(name, 0, sizeof name);
    snprintf(name, sizeof name, "npc%d", id - opt.max_users);
    send_to(w, to, p, codec_add_object(p, id, x, y, name));
}

static void send_remove_object(struct scratch *w, struct session *to, int id)
{
    char p[SC_PACKET_MAX];
    send_to(w, to, p, codec_remove_object(p, id));
}

/* ------------------------------------------------------------------------
 * The pair rule
 * --------------------------------------------------------------------- */

/* s->lock held. May s's client be told of one more object now? Not while
 * more than VIEW_ADD_BACKLOG waits in its send queue: a login into a
 * crowd of thousands would otherwise queue hundreds of kilobytes at once.
 * The object is then left out of the view (on both sides, for two
 * players: view lists stay mutual), and the session is asked to tell us
 * when the client has taken the backlog: its drain event then runs
 * world_catch_up, which adds what is missing, the next piece. */
static int may_add(struct session *s)
{
    if (session_backlog(s) <= VIEW_ADD_BACKLOG)
        return 1;
    session_notify_drained(s);
    return 0;
}

static int near_enough(int ax, int ay, int bx, int by)
{
    return abs(ax - bx) <= opt.range && abs(ay - by) <= opt.range;
}

/* Do a and b (two players) see each other now? Brings both view lists and
 * both clients up to date. `a_moved`: a's move, for b if b saw a already
 * (NULL when nothing moved). Both locks, lower id first, so no deadlock.
 * Only players in the game see each other: a closing player is removed
 * from every view it is in, as the pairs come up. */
static void pair_update(struct scratch *w, struct session *a, struct session *b,
                        const void *a_moved)
{
    struct session *first = a->id < b->id ? a : b;
    struct session *second = a->id < b->id ? b : a;
    int visible, a_sees_b, b_sees_a;

    PROF_ADD(pairs, 1);
    EnterCriticalSection(&first->lock);
    EnterCriticalSection(&second->lock);
    visible = a->state == SESSION_IN_GAME && b->state == SESSION_IN_GAME &&
              near_enough(a->x, a->y, b->x, b->y);
    a_sees_b = view_has(a, b->id);
    b_sees_a = view_has(b, a->id);
    if (visible && !a_sees_b && !b_sees_a) {
        /* both checked, so that both are marked when both are behind */
        int a_ok = may_add(a), b_ok = may_add(b);
        if (!a_ok || !b_ok)
            visible = 0; /* not yet: the catch-up of the one behind adds the pair */
        if (!visible) {
            LeaveCriticalSection(&second->lock);
            LeaveCriticalSection(&first->lock);
            return;
        }
    }
    if (visible) {
        if (!a_sees_b && view_add(&a->view, b->id))
            send_add_object(w, a, b);
        if (!b_sees_a) {
            if (view_add(&b->view, a->id))
                send_add_object(w, b, a);
        } else if (a_moved != NULL) {
            send_to(w, b, a_moved, (unsigned)sizeof(SC_MOVE_OBJECT_PACKET));
        }
    } else {
        if (a_sees_b) {
            view_remove(&a->view, b->id);
            send_remove_object(w, a, b->id);
        }
        if (b_sees_a) {
            view_remove(&b->view, a->id);
            send_remove_object(w, b, a->id);
        }
    }
    LeaveCriticalSection(&second->lock);
    LeaveCriticalSection(&first->lock);
}

/* Does player s see NPC k now? Brings s's view list, its client and the
 * NPC's `viewers` count up to date, and wakes the NPC when s is its
 * first viewer. `npc_moved`: the NPC's move, for s if s saw it already
 * (NULL when the player moved). Locks: the session's, then the NPC's
 * (an NPC's id is above every player's: the same order as pair_update). */
static void pair_npc(struct scratch *w, struct session *s, int k, const void *npc_moved)
{
    struct npc *n = &npcs[k];
    int id = opt.max_users + k;
    int visible, sees;

    PROF_ADD(pairs, 1);
    EnterCriticalSection(&s->lock);
    AcquireSRWLockExclusive(&n->lock);
    visible = s->state == SESSION_IN_GAME && near_enough(s->x, s->y, n->x, n->y);
    sees = view_has(s, id);
    if (visible) {
        if (!sees && may_add(s) && view_add(&s->view, id)) {
            n->viewers++;
            send_add_npc(w, s, id, n->x, n->y);
            /* Waking: only the thread whose compare-and-swap turns 0 into
             * 1 schedules the first move; an awake NPC keeps its event. */
            if (InterlockedCompareExchange(&n->awake, 1, 0) == 0) {
                InterlockedIncrement(&npcs_awake);
                timer_add(&n->move, GetTickCount64() + NPC_MOVE_MS);
            }
        } else if (sees && npc_moved != NULL) {
            send_to(w, s, npc_moved, (unsigned)sizeof(SC_MOVE_OBJECT_PACKET));
        }
    } else if (sees) {
        view_remove(&s->view, id);
        n->viewers--;
        send_remove_object(w, s, id);
    }
    ReleaseSRWLockExclusive(&n->lock);
    LeaveCriticalSection(&s->lock);
}

/* Player s and any object `id`, after s moved (or logged in, or left). */
static void pair_any(struct scratch *w, struct session *s, int id, const void *s_moved)
{
    if (is_npc(id))
        pair_npc(w, s, id - opt.max_users, NULL);
    else
        pair_update(w, s, &sessions[id], s_moved);
}

/* ------------------------------------------------------------------------
 * Login, move, teleport, chat, leave
 * --------------------------------------------------------------------- */

static void world_login(struct scratch *w, struct session *s, const char *name)
{
    char shown[NAME_SIZE + 8], p[SC_PACKET_MAX];
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
    send_to(w, s, p, codec_login_info(p, s->id, s->x, s->y)); /* first in its stream */
    x = s->x;
    y = s->y;
    codec_printable(s->name, shown, sizeof shown);
    LeaveCriticalSection(&s->lock);

    sector_insert(s, cell_of(x, y));
    s->in_world = 1;
    InterlockedIncrement(&players_online);
    if (!opt.quiet)
        lab_log("session %d: logged in as \"%s\" at (%d, %d)", s->id, shown, x, y);
    n = scan_near(w, x, y, s->id);
    for (int i = 0; i < n; i++)
        pair_any(w, s, w->nearby[i], NULL);
    unmark(w, n);
}

/* A move or a teleport: the new position, the mover's own answer, then
 * every pair the move may have changed: the objects around the new
 * position, and those the mover saw before. */
static void relocate(struct scratch *w, struct session *s, int direction, uint32_t move_time,
                     int teleport)
{
    char mv[SC_PACKET_MAX];
    int c, n, old_n, x, y;

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
    x = s->x;
    y = s->y;
    send_to(w, s, mv, codec_move_object(mv, s->id, x, y, move_time)); /* the mover's answer */
    old_n = view_copy(w, s);
    LeaveCriticalSection(&s->lock);

    c = cell_of(x, y);
    if (c != s->sector) {
        sector_remove(s);
        sector_insert(s, c);
    }
    n = scan_near(w, x, y, s->id);
    for (int i = 0; i < n; i++)
        pair_any(w, s, w->nearby[i], mv);
    /* Seen before, not around the new position (not marked by the scan):
     * out of view now (or changing sectors just as we looked; the pair
     * rule tells which). */
    for (int i = 0; i < old_n; i++)
        if (!bit_test(w->mark, w->old_view[i]))
            pair_any(w, s, w->old_view[i], mv);
    unmark(w, n);
}

static void world_move(struct scratch *w, struct session *s, int direction, uint32_t move_time)
{
    relocate(w, s, direction, move_time, 0);
}

static void world_teleport(struct scratch *w, struct session *s)
{
    relocate(w, s, 0, 0, 1); /* answered with SC_MOVE_OBJECT, move_time 0 */
}

/* To the sender and to every player that sees the sender (NPCs in its
 * list are skipped: they have no client). One lock at a time: the view
 * list is copied, then each viewer is checked under its own lock (it may
 * have moved away meanwhile, or its slot may hold another player by now). */
static void world_chat(struct scratch *w, struct session *s, const char *mess)
{
    char p[SC_PACKET_MAX];
    unsigned len = codec_chat(p, s->id, mess); /* NUL-terminated, zero-padded */
    int n;

    EnterCriticalSection(&s->lock);
    if (s->state != SESSION_IN_GAME) {
        LeaveCriticalSection(&s->lock);
        return;
    }
    send_to(w, s, p, len);
    n = view_copy(w, s);
    LeaveCriticalSection(&s->lock);

    for (int i = 0; i < n; i++) {
        struct session *q;
        if (is_npc(w->old_view[i]))
            continue;
        q = &sessions[w->old_view[i]];
        EnterCriticalSection(&q->lock);
        if (q->state == SESSION_IN_GAME && view_has(q, s->id))
            send_to(w, q, p, len);
        LeaveCriticalSection(&q->lock);
    }
}

/* The player is closing (logout, disconnect, error): out of its sector,
 * out of every view, off every NPC's count. Its state is SESSION_CLOSING
 * already, so each pair removes the pair, and nobody can add it again. */
void world_leave(struct worker *worker, struct session *s)
{
    struct scratch *w = scratch_of(worker);
    int n;
    if (!s->in_world)
        return;
    sector_remove(s);
    EnterCriticalSection(&s->lock);
    n = view_copy(w, s);
    LeaveCriticalSection(&s->lock);
    for (int i = 0; i < n; i++)
        pair_any(w, s, w->old_view[i], NULL);
    EnterCriticalSection(&s->lock);
    view_reset(&s->view);
    LeaveCriticalSection(&s->lock);
    s->in_world = 0;
    InterlockedDecrement(&players_online);
}

/* ------------------------------------------------------------------------
 * Packets in: the rules a client must keep, then dispatch
 * --------------------------------------------------------------------- */

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

/* A whole, valid packet (the codec checked it): act on it. `p` points into the receive buffer,
 * which has no particular alignment: fields are read through a copy. */
static void dispatch(struct scratch *w, struct session *s, const char *p)
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


/* The session layer's on_bytes: s->rbuf[0..rlen) has grown. Takes out
 * every whole packet, in order, with the codec's checks; the first bad
 * one closes the client. Runs on the receive side only (one worker at a
 * time per session), so rbuf needs no lock. What is left (the start of
 * the next packet, at most 101 bytes) moves to the front for the next
 * WSARecv. */
void world_on_bytes(struct worker *worker, struct session *s)
{
    struct scratch *w = scratch_of(worker);
    /* SOLUTION BEGIN: Take every whole packet out of s->rbuf[0..rlen) with codec_next()
     * (s->in_world says whether CS_LOGIN is done): at CODEC_BAD session_close(s, 1,
     * "bad packet: WHY, disconnected") and stop; at CODEC_PARTIAL wait for the rest; at
     * CODEC_WHOLE count it in worker->packets_in and dispatch() it, stopping once the session
     * is closed (session_is_open); then move the incomplete tail to the front of rbuf (rlen 0
     * once closed). */
    unsigned off = 0;

    while (off < s->rlen) {
        char why[96];
        unsigned size = 0;
        enum codec_verdict v = codec_next(s->rbuf + off, s->rlen - off, s->in_world, &size, why,
                                          sizeof why);
        if (v == CODEC_BAD) {
            session_close(s, 1, "bad packet: %s, disconnected", why);
            break;
        }
        if (v == CODEC_PARTIAL)
            break; /* the rest is still on its way */
        InterlockedIncrement64(&worker->packets_in);
        dispatch(w, s, s->rbuf + off);
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
    /* SOLUTION END: (void)w; (void)&dispatch; (void)&codec_next;
     * session_close(s, 1, "world_on_bytes is a TODO, disconnected"); s->rlen = 0; */
}

/* ------------------------------------------------------------------------
 * NPCs: the timer event
 * --------------------------------------------------------------------- */

/* n->lock held: nobody sees it any more, so no next move. */
static void npc_sleep(struct npc *n)
{
    InterlockedExchange(&n->awake, 0);
    InterlockedDecrement(&npcs_awake);
}

/* An awake NPC's move, once a second: one tile in a random direction (the
 * opposite one when the map's edge is in the way), told to the players
 * around it, then the next move, or sleep when nobody sees it. */
static void npc_move(struct scratch *w, int k)
{
    struct npc *n = &npcs[k];
    char mv[SC_PACKET_MAX];
    int ox, oy, nx, ny, dx = 0, dy = 0, cnt, c;

    AcquireSRWLockExclusive(&n->lock);
    if (n->viewers == 0) { /* the last viewer left since the last move */
        npc_sleep(n);
        ReleaseSRWLockExclusive(&n->lock);
        return;
    }
    ox = n->x;
    oy = n->y;
    switch (rnd(w, 4)) {
    case DIR_UP:
        dy = -1;
        break;
    case DIR_DOWN:
        dy = 1;
        break;
    case DIR_LEFT:
        dx = -1;
        break;
    default:
        dx = 1;
        break;
    }
    nx = ox + dx;
    ny = oy + dy;
    if (nx < 0 || nx >= opt.width || ny < 0 || ny >= opt.height) {
        nx = ox - dx;
        ny = oy - dy;
        if (nx < 0 || nx >= opt.width || ny < 0 || ny >= opt.height) {
            nx = ox; /* a map one tile wide: nowhere to go */
            ny = oy;
        }
    }
    n->x = (short)nx;
    n->y = (short)ny;
    ReleaseSRWLockExclusive(&n->lock);

    if (nx != ox || ny != oy) {
        codec_move_object(mv, opt.max_users + k, nx, ny, 0);
        c = cell_of(nx, ny);
        if (c != n->sector) {
            npc_sector_remove(n);
            npc_sector_insert(n, c);
        }
        /* The players that may see it now, or may have seen it before:
         * within range of the old or of the new position. A viewer that
         * stands further away has moved away itself, and its own move
         * takes care of the pair. */
        cnt = scan_rect(w, (ox < nx ? ox : nx) - opt.range, (oy < ny ? oy : ny) - opt.range,
                        (ox > nx ? ox : nx) + opt.range, (oy > ny ? oy : ny) + opt.range, -1, 0);
        for (int i = 0; i < cnt; i++)
            pair_npc(w, &sessions[w->nearby[i]], k, mv);
        unmark(w, cnt);
    }

    AcquireSRWLockExclusive(&n->lock);
    if (n->viewers == 0)
        npc_sleep(n);
    else
        timer_add(&n->move, GetTickCount64() + NPC_MOVE_MS);
    ReleaseSRWLockExclusive(&n->lock);
}

/* Catching up: s's client has taken its backlog, and objects in view
 * were held back (may_add). Pair s with everything around it again: the
 * pairs it has are unchanged, the missing ones are added, until the
 * backlog is reached again (then the next send completion schedules the
 * next piece). Runs on any worker, at the same time as s's own moves:
 * the pair rule makes that safe, as for two players moving at once. */
static void world_catch_up(struct scratch *w, struct session *s)
{
    int x, y, n;
    EnterCriticalSection(&s->lock);
    session_drain_done(s); /* the next piece may be asked for */
    if (s->state != SESSION_IN_GAME) {
        LeaveCriticalSection(&s->lock);
        return;
    }
    x = s->x;
    y = s->y;
    LeaveCriticalSection(&s->lock);
    n = scan_near(w, x, y, s->id);
    for (int i = 0; i < n; i++)
        pair_any(w, s, w->nearby[i], NULL);
    unmark(w, n);
}

/* A timer event of the world's: an NPC's move (on the timer thread,
 * main.c's on_timer_due), or a session's drain (its client took its
 * backlog: catch up; on a worker). */
void world_timer(struct worker *worker, struct timer_event *e)
{
    struct scratch *w = scratch_of(worker);
#ifdef GAME_PROFILE
    LARGE_INTEGER t0, t1;
    QueryPerformanceCounter(&t0);
#endif
    switch (e->kind) {
    case TIMER_NPC_MOVE:
        w->lazy = 1; /* what an NPC does may wait NPC_FLUSH_MS to be sent */
        npc_move(w, e->target);
        w->lazy = 0;
        break;
    case TIMER_DRAIN:
        world_catch_up(w, &sessions[e->target]);
        break;
    default:
        break; /* not the world's (main.c sends TIMER_FLUSH to the session) */
    }
#ifdef GAME_PROFILE
    QueryPerformanceCounter(&t1);
    PROF_ADD(world_ticks, t1.QuadPart - t0.QuadPart);
#endif
}
