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
};

/* Parses bench options into *c. Returns -1 to go on, else an exit status
 * (0 after -h, 2 after bad arguments). */
int bench_parse(int argc, char **argv, struct bench_config *c, void (*usage)(FILE *));
int bench_run(const struct bench_config *c, struct bench_result *r);
void bench_print(const struct bench_config *c, const struct bench_result *r);

#endif
