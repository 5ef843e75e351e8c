/*
 * compare.h - what the three parts of `client.exe compare` share.
 *
 *   compare.c         the command line and the run: every target at every
 *                     connection count, repeated, medians
 *   compare_run.c     the servers: start one, read what it reports, stop it
 *   compare_render.c  the results: console table, Markdown, CSV, SVG
 *
 * Calls go one way: compare.c calls the other two; they call neither
 * compare.c nor each other.
 */
#ifndef COMPARE_H
#define COMPARE_H

#include "client.h"

#define CMP_MAX_TARGETS 16
#define CMP_MAX_COUNTS 16
#define CMP_MAX_REPEATS 9

/* ------------------------------------------------------------------------
 * compare_run.c: the servers under test
 * --------------------------------------------------------------------- */

/* One "stats:" line a server prints with -S (see tools/lab.h). */
struct srv_stats {
    double t_ms;   /* the server's own clock */
    double cpu_ms; /* its CPU time, user + kernel */
    int threads;   /* without its stats thread */
    double ws_kb, ws_peak_kb;
    /* In the separate mode under Wine: the CPU time of the server's own
     * wineserver (its system calls, in effect) and that line's clock;
     * wineserver_t_ms is 0 when there is none. */
    double wineserver_t_ms, wineserver_cpu_ms;
};

struct server; /* opaque: compare_run.c */

/* How servers are run: in this process's Wine prefix or on Windows
 * (directly, a pipe for their output), or, under Wine when
 * tools/compare-serve.sh is found and `separate` is set, through that
 * script in a Wine prefix of their own. Returns a line that says which. */
const char *run_init(const char *bin, int separate);
/* Native Linux programs can be run only in the separate mode. */
int run_can_native(void);
/* Ends the servers' prefix (separate mode). */
void run_end(void);

/* Starts PROGRAM (a path; ARGS appended). A server (is_server) gets -S
 * and is waited for: its ready line and first stats line. Otherwise it is
 * a generator (tools/native_bench), not waited for. NULL on failure, with
 * the reason in `note`. */
struct server *server_start(const char *program, const char *args, int is_server, char *note,
                            size_t note_size);
/* Waits for a generator's "result:" line and copies it. 0, or -1 when it
 * ended without one or the time ran out. */
int server_result(struct server *sv, char *buf, size_t size, DWORD timeout_ms);
/* Waits for a stats line newer than any seen so far (up to 2 s); the
 * wineserver's figures are the latest the script reported. */
int server_stats(struct server *sv, struct srv_stats *st);
void server_stop(struct server *sv);

/* ------------------------------------------------------------------------
 * compare_render.c: the results
 * --------------------------------------------------------------------- */

/* Every measure of one run of one point (a target at a count). */
enum measure {
    M_ESTABLISHED,
    M_SERVED,
    M_REFUSED,
    M_MESSAGES,
    M_SECONDS,
    M_MSGS,
    M_MBPS,
    M_P50,
    M_P90,
    M_P99,
    M_MAX,
    M_CPU_S,
    M_CPU100K,
    M_IDLE,
    M_SHARE,
    M_THREADS,
    M_MEM,
    M_ERR_MISMATCH,
    M_ERR_RESET,
    M_ERR_CLOSED,
    M_ERR_TIMEOUT,
    M_ERR_OTHER,
    M_COUNT
};

struct cell {
    int runs;                           /* runs that produced a result */
    double v[CMP_MAX_REPEATS][M_COUNT]; /* per run */
    double med[M_COUNT];                /* the median of the runs */
    double lo[M_COUNT], hi[M_COUNT];    /* their spread */
    char note[96];                      /* why a run did not happen */
};

struct results {
    int ntargets, ncounts, repeats;
    const char *names[CMP_MAX_TARGETS];
    int native[CMP_MAX_TARGETS]; /* a native Linux row, not a Windows step */
    int counts[CMP_MAX_COUNTS];
    struct cell cells[CMP_MAX_TARGETS][CMP_MAX_COUNTS];
    char title[256];
    char setup[256]; /* how the servers were run */
};

void render_table(FILE *f, const struct results *res, int markdown);
void render_csv(FILE *f, const struct results *res);
void render_svg(FILE *f, const struct results *res);
void render_markdown(FILE *f, const struct results *res);

#endif
