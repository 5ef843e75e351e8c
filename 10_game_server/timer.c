/*
 * timer.c - the timer: events that must happen later (an NPC's next move,
 * a session's lazy flush), kept in a priority queue by due time, and
 * handed to the function main gave it when they are due.
 *
 * The queue is a binary heap in an array: the earliest event is at the
 * root, insertion and removal cost O(log n), and nothing is allocated per
 * event (the events live in their owners, the heap array is sized once
 * for the most events that can be pending: one per NPC and one per
 * session).
 *
 * One thread, timer_main, waits for the earliest due time: a wait on an
 * auto-reset event with that time as the timeout, not a loop that wakes
 * every millisecond to look. When an event is due it is handed to the
 * `post` function main gave timer_start, on this thread: main's
 * on_timer_due, which makes the NPCs' moves right there and posts the
 * rest to the completion port (README.md, "Profile and scale", says why
 * NPC moves do not go through the port). The timer itself knows nothing
 * of the port, the sessions or the NPCs: an event is a due time, a kind
 * and a target. Events that fall due together are handed over in small
 * batches, linked through the event itself: one post (under Wine, one
 * trip to the wineserver) per batch instead of one per event.
 *
 * Workers insert from any thread: under timer_lock, a leaf (nothing else
 * is taken while it is held). An insertion only wakes the timer thread
 * (SetEvent) when the new event is earlier than the one it is waiting for.
 */
#include "game.h"
#include <process.h>

/* Events handed over together. Small enough that the flushes among them
 * are posted soon (each post is taken by whichever worker waits), big
 * enough that a thousand events due in the same millisecond are not a
 * thousand posts. */
#define TIMER_BATCH 16

struct heap_entry {
    ULONGLONG due; /* a copy: comparisons stay in the array, no pointer chasing */
    struct timer_event *e;
};

static CRITICAL_SECTION timer_lock;
static struct heap_entry *heap; /* heap[0] is the earliest */
static int heap_len, heap_cap;
static HANDLE wake;             /* auto-reset: an earlier event, or stop */
static HANDLE thread;
static void (*post_batch)(void *batch, DWORD count); /* main's on_timer_due */
static int stopping;            /* under timer_lock */
volatile LONG timer_dropped;    /* events dropped because the heap was full: never, we hope */

/* timer_lock held. */
static void heap_push(ULONGLONG due, struct timer_event *e)
{
    int i = heap_len++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (heap[parent].due <= due)
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i].due = due;
    heap[i].e = e;
}

/* timer_lock held, heap_len > 0. */
static struct timer_event *heap_pop(void)
{
    struct timer_event *top = heap[0].e;
    struct heap_entry last = heap[--heap_len];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= heap_len)
            break;
        if (child + 1 < heap_len && heap[child + 1].due < heap[child].due)
            child++;
        if (last.due <= heap[child].due)
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (heap_len > 0)
        heap[i] = last;
    return top;
}

/* Schedules `e` (not pending already) for GetTickCount64() time `due`. */
void timer_add(struct timer_event *e, ULONGLONG due)
{
    int earliest;
    e->due = due;
    EnterCriticalSection(&timer_lock);
    if (heap_len == heap_cap) {
        /* Cannot happen: one event per owner at most, and the heap
         * holds one per owner. Counted, and said by main() (the caller
         * may hold a session lock: no logging here). */
        LeaveCriticalSection(&timer_lock);
        InterlockedIncrement(&timer_dropped);
        return;
    }
    heap_push(due, e);
    earliest = heap[0].e == e;
    LeaveCriticalSection(&timer_lock);
    /* Only an event earlier than every other one changes how long the
     * timer thread must sleep; the rest wait their turn without a wake-up
     * (and without a system call). */
    if (earliest)
        SetEvent(wake);
}

static unsigned __stdcall timer_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct timer_event *batch = NULL, **tail = &batch;
        DWORD n = 0, wait = INFINITE;
        ULONGLONG now = GetTickCount64();

        EnterCriticalSection(&timer_lock);
        if (stopping) {
            LeaveCriticalSection(&timer_lock);
            break;
        }
        while (heap_len > 0 && heap[0].due <= now && n < TIMER_BATCH) {
            struct timer_event *e = heap_pop();
            e->next = NULL;
            *tail = e;
            tail = &e->next;
            n++;
        }
        if (n == 0 && heap_len > 0) {
            ULONGLONG left = heap[0].due - now;
            wait = left > 0x7fffffffu ? 0x7fffffffu : (DWORD)left;
        }
        LeaveCriticalSection(&timer_lock);

        if (n > 0) {
            post_batch(batch, n); /* then look again at once: more may be due */
            continue;
        }
        /* Until the earliest event is due, or timer_add brings an earlier
         * one (or timer_stop). INFINITE when nothing is scheduled. On
         * Windows the timeout is rounded to the clock tick (15.6 ms by
         * default): an NPC moves up to a tick late, which nobody sees. */
        WaitForSingleObject(wake, wait);
    }
    return 0;
}

void timer_start(int capacity, void (*post)(void *batch, DWORD count))
{
    InitializeCriticalSection(&timer_lock);
    heap_cap = capacity;
    post_batch = post;
    heap = calloc((size_t)heap_cap, sizeof *heap);
    wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (heap == NULL)
        lab_fatal("calloc (timer heap)", ERROR_NOT_ENOUGH_MEMORY);
    if (wake == NULL)
        lab_fatal("CreateEvent", (int)GetLastError());
    thread = (HANDLE)_beginthreadex(NULL, 0, timer_main, NULL, 0, NULL);
    if (thread == NULL)
        lab_fatal("_beginthreadex (timer)", (int)GetLastError());
}

/* Stops the timer thread; events still in the heap are dropped (the
 * server is stopping). After this nothing more is posted, so the
 * workers' shutdown packets come after every timer batch. */
void timer_stop(void)
{
    EnterCriticalSection(&timer_lock);
    stopping = 1;
    LeaveCriticalSection(&timer_lock);
    SetEvent(wake);
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
}
