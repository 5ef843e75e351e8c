/*
 * options.h - the one command-line parser of client.exe's modes.
 *
 * A mode describes its options in a table (name, kind, where the value
 * goes, its range, a line of help); opt_parse walks argv against it and
 * opt_usage prints the help from the same table, so that an option and
 * its description cannot drift apart.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdio.h>

enum opt_kind {
    OPT_FLAG, /* no value: *(int *)dst = 1 */
    OPT_STR,  /* *(const char **)dst = the value; length lo..hi when hi > 0 */
    OPT_INT,  /* *(int *)dst, a number lo..hi */
    OPT_LONG, /* *(long *)dst, a number lo..hi */
    OPT_PORT, /* *(unsigned short *)dst, 1..65535 */
};

struct opt {
    const char *name; /* "-c" or "--fixed"; NULL ends the table */
    enum opt_kind kind;
    void *dst;
    long lo, hi;
    const char *arg; /* the value's name in the help: "N", "HOST" */
    const char *help;
};

/* The row that ends a table. */
#define OPT_END {NULL, OPT_FLAG, NULL, 0, 0, NULL, NULL}

struct opt_spec {
    const char *who;  /* "bench": starts every error line */
    const char *head; /* the usage lines before the options */
    const struct opt *opts;
    const char *tail; /* lines after the options, or NULL */
};

/* Parses argv[1..argc-1] (argv[0] is the mode's name) into the table's
 * destinations. Returns -1 to go on, 0 after -h or --help (help printed
 * on stdout), 2 after a bad argument (said on stderr, with the help). */
int opt_parse(const struct opt_spec *spec, int argc, char **argv);
void opt_usage(const struct opt_spec *spec, FILE *f);
/* A usage error found after parsing (a missing required option): says
 * "WHO: WHAT" and the help on stderr. Returns 2, the exit status. */
int opt_fail(const struct opt_spec *spec, const char *what);

#endif
