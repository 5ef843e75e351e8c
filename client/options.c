/*
 * options.c - the table-driven option parser (options.h says why).
 */
#include "options.h"
#include "netutil.h"
#include <stdlib.h>
#include <string.h>

/* Stores `val` into o->dst. 1 on success, 0 when it is out of range. */
static int store(const struct opt *o, const char *val)
{
    long v;
    size_t len;
    switch (o->kind) {
    case OPT_FLAG:
        *(int *)o->dst = 1;
        return 1;
    case OPT_STR:
        len = strlen(val);
        if (o->hi > 0 && (len < (size_t)o->lo || len > (size_t)o->hi))
            return 0;
        *(const char **)o->dst = val;
        return 1;
    case OPT_INT:
        if (!net_parse_num(val, o->lo, o->hi, &v))
            return 0;
        *(int *)o->dst = (int)v;
        return 1;
    case OPT_LONG:
        return net_parse_num(val, o->lo, o->hi, (long *)o->dst);
    case OPT_PORT:
        if (!net_parse_num(val, 1, 65535, &v))
            return 0;
        *(unsigned short *)o->dst = (unsigned short)v;
        return 1;
    }
    return 0;
}

void opt_usage(const struct opt_spec *spec, FILE *f)
{
    char left[40];
    fputs(spec->head, f);
    for (const struct opt *o = spec->opts; o->name != NULL; o++) {
        snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-14s %s\n", left, o->help);
    }
    fprintf(f, "  %-14s %s\n", "-h", "this help");
    if (spec->tail != NULL)
        fputs(spec->tail, f);
    fflush(f);
}

int opt_fail(const struct opt_spec *spec, const char *what)
{
    fprintf(stderr, "%s: %s\n", spec->who, what);
    opt_usage(spec, stderr);
    return 2;
}

int opt_parse(const struct opt_spec *spec, int argc, char **argv)
{
    char what[160];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct opt *o = spec->opts;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            opt_usage(spec, stdout);
            return 0;
        }
        while (o->name != NULL && strcmp(a, o->name) != 0)
            o++;
        if (o->name == NULL) {
            snprintf(what, sizeof what, "unknown argument: %s", a);
            return opt_fail(spec, what);
        }
        if (o->kind != OPT_FLAG && i + 1 >= argc) {
            snprintf(what, sizeof what, "%s needs a value (%s)", a, o->arg ? o->arg : "");
            return opt_fail(spec, what);
        }
        if (!store(o, o->kind == OPT_FLAG ? NULL : argv[i + 1])) {
            snprintf(what, sizeof what, "bad value for %s: %s", a, argv[i + 1]);
            return opt_fail(spec, what);
        }
        if (o->kind != OPT_FLAG)
            i++;
    }
    return -1;
}
