/*
 * bench.h - the load generator, shared by `client.exe bench` and
 * `client.exe compare` (which runs it against each step in turn).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>

struct bench_config {
    const char *host;
    unsigned short port;
    int connections;
    int bytes;       /* message size */
    int seconds;     /* timed run (when messages == 0) */
    long messages;   /* per connection; 0 = timed run */
    int pipeline;    /* messages in flight per connection */
    int threads;     /* generator worker threads */
    int timeout_ms;  /* an echo later than this is an error; 0 = default */
    /* Called once at the end of the measured interval, while every
     * connection is still open (compare samples the server there). */
    void (*at_end)(void *arg);
    void *at_end_arg;
};

struct bench_result {
    int established, refused, served;
    unsigned long long messages, bytes;
    double seconds, msgs_per_sec, mb_per_sec;
    double lat_p50_ms, lat_p90_ms, lat_p99_ms, lat_max_ms;
    long err_mismatch, err_reset, err_closed, err_timeout, err_other;
    /* Fairness. conn_msgs[i]: the messages connection i completed inside
     * the measured interval (nconn_msgs entries, one per connection asked
     * for; 0 for one never established or never served). slowest_share:
     * the smallest of those counts among the served connections divided by
     * their mean; 1.0 is perfectly fair, near 0 a connection was starved
     * (one never served at all shows in `served`); 0 when none was served.
     * bench_run allocates conn_msgs: bench_result_free releases it. */
    long long *conn_msgs;
    int nconn_msgs;
    double slowest_share;
};

/* Parses bench options into *c. Returns -1 to go on, else an exit status
 * (0 after -h, 2 after bad arguments). */
int bench_parse(int argc, char **argv, struct bench_config *c, void (*usage)(FILE *));
/* Fills *r (all of it: a previous result in *r must be freed first).
 * Returns 0, or 1 after printing why the run could not be made. */
int bench_run(const struct bench_config *c, struct bench_result *r);
/* Frees what bench_run allocated in *r; safe on a zeroed result. */
void bench_result_free(struct bench_result *r);
void bench_print(const struct bench_config *c, const struct bench_result *r);

#endif
