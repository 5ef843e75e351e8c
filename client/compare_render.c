/*
 * compare_render.c - the results of `client.exe compare`: the console
 * table, the same as Markdown, the CSV, and the SVG chart.
 *
 * The chart is small multiples: one panel per measure, each with the
 * connection count on a log x-axis and one line per target in the same
 * colour in every panel, so that a model's story reads across the panels
 * (02: threads and memory climb with the connections; 03: idle CPU at the
 * top; 01 and 04: flat walls at 1 and 63 in "connections served").
 */
#include "compare.h"
#include <math.h>

/* ------------------------------------------------------------------------
 * Tables
 * --------------------------------------------------------------------- */

/* The spread of the runs of a point, as +- percent of the median. */
static double spread_pct(const struct cell *cl, int m)
{
    if (cl->runs < 2 || cl->med[m] <= 0)
        return 0;
    return (cl->hi[m] - cl->lo[m]) / 2.0 / cl->med[m] * 100.0;
}

void render_table(FILE *f, const struct results *res, int markdown)
{
    static const char *hdr[] = {"step",       "conns",      "served", "msgs/s",  "+-%",   "p99 ms",
                                "CPU s/100k", "idle CPU %", "fair",   "threads", "mem MB"};
    if (markdown) {
        fprintf(f, "|");
        for (int k = 0; k < 11; k++)
            fprintf(f, " %s |", hdr[k]);
        fprintf(
            f, "\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    } else {
        fprintf(f, "%-24s %6s %10s %8s %4s %9s %10s %10s %5s %7s %7s\n", hdr[0], hdr[1], hdr[2],
                hdr[3], hdr[4], hdr[5], hdr[6], hdr[7], hdr[8], hdr[9], hdr[10]);
    }
    for (int i = 0; i < res->ntargets; i++) {
        for (int j = 0; j < res->ncounts; j++) {
            const struct cell *cl = &res->cells[i][j];
            const double *m = cl->med;
            char served[32], cpu[32];
            int count = res->counts[j];
            if (cl->runs == 0) {
                if (markdown)
                    fprintf(f, "| %s | %d | - | - | - | - | - | - | - | - | - |\n", res->names[i],
                            count);
                else
                    fprintf(f, "%-24s %6d %10s  %s\n", res->names[i], count, "-", cl->note);
                continue;
            }
            snprintf(served, sizeof served, "%.0f/%d", m[M_SERVED], count);
            if (m[M_MESSAGES] > 0)
                snprintf(cpu, sizeof cpu, "%.2f", m[M_CPU100K]);
            else
                snprintf(cpu, sizeof cpu, "-");
            if (markdown)
                fprintf(f,
                        "| %s | %d | %s | %.0f | %.0f | %.2f | %s | %.1f | %.2f | %.0f | %.1f |\n",
                        res->names[i], count, served, m[M_MSGS], spread_pct(cl, M_MSGS), m[M_P99],
                        cpu, m[M_IDLE], m[M_SHARE], m[M_THREADS], m[M_MEM]);
            else
                fprintf(f, "%-24s %6d %10s %8.0f %4.0f %9.2f %10s %10.1f %5.2f %7.0f %7.1f\n",
                        res->names[i], count, served, m[M_MSGS], spread_pct(cl, M_MSGS), m[M_P99],
                        cpu, m[M_IDLE], m[M_SHARE], m[M_THREADS], m[M_MEM]);
        }
    }
}

void render_csv(FILE *f, const struct results *res)
{
    fprintf(f,
            "step,connections,established,served,refused,messages,seconds,msgs_per_sec,mb_per_sec,"
            "p50_ms,p90_ms,p99_ms,max_ms,server_cpu_s,cpu_s_per_100k,idle_cpu_pct,slowest_share,"
            "threads,mem_mb,err_mismatch,err_reset,err_closed,err_timeout,err_other,"
            "runs,msgs_per_sec_min,msgs_per_sec_max,native,note\n");
    for (int i = 0; i < res->ntargets; i++)
        for (int j = 0; j < res->ncounts; j++) {
            const struct cell *cl = &res->cells[i][j];
            const double *m = cl->med;
            fprintf(
                f,
                "%s,%d,%.0f,%.0f,%.0f,%.0f,%.3f,%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.1f,%.3f,"
                "%.0f,%.2f,%.0f,%.0f,%.0f,%.0f,%.0f,%d,%.1f,%.1f,%d,%s\n",
                res->names[i], res->counts[j], m[M_ESTABLISHED], m[M_SERVED], m[M_REFUSED],
                m[M_MESSAGES], m[M_SECONDS], m[M_MSGS], m[M_MBPS], m[M_P50], m[M_P90], m[M_P99],
                m[M_MAX], m[M_CPU_S], m[M_CPU100K], m[M_IDLE], m[M_SHARE], m[M_THREADS], m[M_MEM],
                m[M_ERR_MISMATCH], m[M_ERR_RESET], m[M_ERR_CLOSED], m[M_ERR_TIMEOUT],
                m[M_ERR_OTHER], cl->runs, cl->lo[M_MSGS], cl->hi[M_MSGS], res->native[i],
                cl->runs ? "" : "not run");
        }
}

/* ------------------------------------------------------------------------
 * The chart
 * --------------------------------------------------------------------- */

struct panel {
    int measure;
    const char *title;
    int logy;        /* log y-axis: the measure spans decades */
    double fixed_hi; /* > 0: the y-axis ends there (a share, a percentage) */
};

static const struct panel panels[] = {
    {M_MSGS, "messages per second (more is better)", 1, 0},
    {M_SERVED, "connections served (dashed: all of them)", 1, 0},
    {M_P99, "p99 round trip, ms (less is better)", 1, 0},
    {M_CPU100K, "server CPU s per 100k messages", 0, 0},
    {M_IDLE, "server CPU while clients are silent, %", 0, 0},
    {M_THREADS, "server threads", 1, 0},
    {M_MEM, "server memory (peak working set), MB", 1, 0},
    {M_SHARE, "fairness: slowest connection / mean", 0, 1.0},
};
#define NPANELS ((int)(sizeof panels / sizeof panels[0]))

static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
#define NCOLORS ((int)(sizeof colors / sizeof colors[0]))

/* Panel geometry: a 3 x 3 grid, the ninth cell is the legend. */
#define PW 310.0 /* cell width */
#define PH 250.0 /* cell height */
#define PL 52.0  /* plot inset: left (y labels) */
#define PR 14.0  /* right */
#define PT 30.0  /* top (title) */
#define PB 34.0  /* bottom (x labels) */
#define TOP 46.0 /* above the grid: the chart's title */

struct axis {
    double x0, y0, w, h; /* the plot area */
    double xmin, xmax, ylo, yhi;
    double step; /* grid step of a linear axis */
    int logy;
};

static double ax_x(const struct axis *a, double v)
{
    return a->x0 + (log10(v) - log10(a->xmin)) / (log10(a->xmax) - log10(a->xmin)) * a->w;
}

static double ax_y(const struct axis *a, double v)
{
    double t;
    if (a->logy) {
        if (v < a->ylo)
            v = a->ylo;
        t = (log10(v) - log10(a->ylo)) / (log10(a->yhi) - log10(a->ylo));
    } else {
        t = (v - a->ylo) / (a->yhi - a->ylo);
    }
    return a->y0 + a->h - t * a->h;
}

static int has_value(const struct cell *cl, const struct panel *p)
{
    if (cl->runs == 0)
        return 0;
    if (p->measure == M_CPU100K || p->measure == M_MSGS || p->measure == M_P99 ||
        p->measure == M_SHARE)
        return cl->med[M_MESSAGES] > 0; /* nothing measured without messages */
    return 1;
}

/* 1, 2, 2.5 or 5 times a power of ten, at least v: grid lines at round
 * numbers. */
static double nice_step(double v)
{
    static const double m[] = {1, 2, 2.5, 5, 10};
    double p = pow(10, floor(log10(v > 0 ? v : 1)));
    for (int k = 0; k < 5; k++)
        if (m[k] * p >= v)
            return m[k] * p;
    return 10 * p;
}

/* A y-range that shows every value: powers of ten on a log axis; 0 to a
 * round number on a linear one. */
static void y_range(const struct results *res, const struct panel *p, struct axis *a)
{
    double lo = 1e300, hi = 0;
    for (int i = 0; i < res->ntargets; i++)
        for (int j = 0; j < res->ncounts; j++) {
            const struct cell *cl = &res->cells[i][j];
            if (!has_value(cl, p))
                continue;
            double v = cl->runs > 1 ? cl->hi[p->measure] : cl->med[p->measure];
            if (v > hi)
                hi = v;
            if (cl->med[p->measure] > 0 && cl->med[p->measure] < lo)
                lo = cl->med[p->measure];
        }
    if (p->measure == M_SERVED)
        hi = res->counts[res->ncounts - 1] > hi ? res->counts[res->ncounts - 1] : hi;
    a->logy = p->logy;
    if (p->logy) {
        if (hi <= 0) {
            lo = 1;
            hi = 10;
        }
        if (lo > hi)
            lo = hi;
        a->ylo = pow(10, floor(log10(lo)));
        a->yhi = pow(10, ceil(log10(hi)));
        if (a->yhi <= a->ylo)
            a->yhi = a->ylo * 10;
    } else {
        a->ylo = 0;
        a->step = nice_step((p->fixed_hi > 0 ? p->fixed_hi : hi) / 4.0);
        a->yhi = p->fixed_hi > 0 ? p->fixed_hi : ceil(hi / a->step - 1e-9) * a->step;
        if (p->measure == M_IDLE && a->yhi < 10) { /* a few ticks of noise must look small */
            a->yhi = 10;
            a->step = 2.5;
        }
        if (a->yhi <= 0)
            a->yhi = a->step;
    }
}

static void fmt_tick(char *buf, size_t size, double v)
{
    if (v >= 1000000)
        snprintf(buf, size, "%.0fM", v / 1000000);
    else if (v >= 1000)
        snprintf(buf, size, "%.0fk", v / 1000);
    else if (v >= 1 || v == 0)
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%g", v);
}

/* Lines that end on the same value hide each other (five models run one
 * thread): name them all, by step number, where they end. */
static void label_line_ends(FILE *f, const struct results *res, const struct axis *a,
                            const struct panel *p)
{
    int last = res->ncounts - 1, done[CMP_MAX_TARGETS] = {0};
    for (int i = 0; i < res->ntargets; i++) {
        char text[128];
        size_t len = 0;
        double v = res->cells[i][last].med[p->measure];
        if (done[i] || !has_value(&res->cells[i][last], p))
            continue;
        text[0] = '\0';
        for (int k = i; k < res->ntargets; k++) {
            if (done[k] || !has_value(&res->cells[k][last], p) ||
                res->cells[k][last].med[p->measure] != v)
                continue;
            done[k] = 1;
            snprintf(text + len, sizeof text - len, "%s%.*s", len ? " " : "",
                     res->native[k] ? 5 : 2, res->native[k] ? "epoll" : res->names[k]);
            len = strlen(text);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%s</text>\n",
                a->x0 + a->w - 4, ax_y(a, v) - 5, text);
    }
}

static void draw_panel(FILE *f, const struct results *res, const struct panel *p, double cx,
                       double cy)
{
    struct axis a;
    char tick[32];
    a.x0 = cx + PL;
    a.y0 = cy + PT;
    a.w = PW - PL - PR;
    a.h = PH - PT - PB;
    a.xmin = res->counts[0];
    a.xmax = res->counts[res->ncounts - 1];
    if (a.xmax <= a.xmin) { /* one count: give it some room */
        a.xmin /= 2;
        a.xmax *= 2;
    }
    y_range(res, p, &a);

    fprintf(f, "<g class=\"panel\" id=\"panel-%d\">\n", p->measure);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
            cx + 8, cy + 18, p->title);
    /* horizontal grid: decades on a log axis, quarters on a linear one */
    if (a.logy) {
        for (double y = a.ylo; y <= a.yhi * 1.001; y *= 10) {
            fmt_tick(tick, sizeof tick, y);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                    a.x0, ax_y(&a, y), a.x0 + a.w, ax_y(&a, y));
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", a.x0 - 5,
                    ax_y(&a, y) + 4, tick);
        }
    } else {
        for (double y = a.ylo; y <= a.yhi + a.step / 2; y += a.step) {
            snprintf(tick, sizeof tick, "%g", y);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                    a.x0, ax_y(&a, y), a.x0 + a.w, ax_y(&a, y));
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", a.x0 - 5,
                    ax_y(&a, y) + 4, tick);
        }
    }
    for (int j = 0; j < res->ncounts; j++) {
        double x = ax_x(&a, res->counts[j]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                x, a.y0, x, a.y0 + a.h);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", x,
                a.y0 + a.h + 15, res->counts[j]);
    }
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\">connections</text>\n",
            a.x0 + a.w / 2, a.y0 + a.h + 29);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#888\"/>\n",
            a.x0, a.y0, a.w, a.h);
    if (p->measure ==
        M_SERVED) /* every connection served: the line a model stays on until its wall */
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
                "stroke-dasharray=\"4 3\"/>\n",
                ax_x(&a, a.xmin), ax_y(&a, a.xmin), ax_x(&a, a.xmax), ax_y(&a, a.xmax));

    for (int i = 0; i < res->ntargets; i++) {
        const char *col = res->native[i] ? "#000000" : colors[i % NCOLORS];
        const char *dash = res->native[i] ? " stroke-dasharray=\"6 3\"" : "";
        int started = 0;
        fprintf(
            f,
            "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-opacity=\"0.85\"%s "
            "points=\"",
            col, dash);
        for (int j = 0; j < res->ncounts; j++) {
            const struct cell *cl = &res->cells[i][j];
            if (!has_value(cl, p))
                continue;
            fprintf(f, "%s%.1f,%.1f", started ? " " : "", ax_x(&a, res->counts[j]),
                    ax_y(&a, cl->med[p->measure]));
            started = 1;
        }
        fprintf(f, "\"/>\n");
        for (int j = 0; j < res->ncounts; j++) {
            const struct cell *cl = &res->cells[i][j];
            if (!has_value(cl, p))
                continue;
            double x = ax_x(&a, res->counts[j]);
            if (cl->runs > 1 &&
                cl->hi[p->measure] > cl->lo[p->measure]) /* the spread of the runs */
                fprintf(f,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                        x, ax_y(&a, cl->lo[p->measure]), x, ax_y(&a, cl->hi[p->measure]), col);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", x,
                    ax_y(&a, cl->med[p->measure]), col);
        }
        /* a wall: the same number served at the two largest counts, below
         * them: say the number where the line ends, under the line when
         * there is room (the diagonal runs above it), else over it */
        if (p->measure == M_SERVED && res->ncounts >= 2) {
            const struct cell *c1 = &res->cells[i][res->ncounts - 2],
                              *c2 = &res->cells[i][res->ncounts - 1];
            double v = c2->med[M_SERVED];
            if (c1->runs && c2->runs && c1->med[M_SERVED] == v && v < res->counts[res->ncounts - 2])
                fprintf(f,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"%s\" "
                        "font-weight=\"bold\">%.2s stops at %.0f</text>\n",
                        a.x0 + a.w - 4, ax_y(&a, v) + (v >= a.ylo * 4 ? 15 : -5), col,
                        res->names[i], v);
        }
    }
    if (p->measure == M_THREADS)
        label_line_ends(f, res, &a, p);
    fprintf(f, "</g>\n");
}

void render_svg(FILE *f, const struct results *res)
{
    const int cols = 3;
    const int cells = NPANELS + 1; /* the last one is the legend */
    const int rows = (cells + cols - 1) / cols;
    const double W = cols * PW + 10, H = TOP + rows * PH + 10;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n",
            W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"16\" text-anchor=\"middle\">%s</text>\n",
            W / 2, res->title);
    fprintf(f,
            "<text x=\"%.0f\" y=\"39\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">%s; "
            "connections on a log scale%s</text>\n",
            W / 2, res->setup, res->repeats > 1 ? "; dots: medians, bars: spread of the runs" : "");
    for (int k = 0; k < NPANELS; k++)
        draw_panel(f, res, &panels[k], 5 + (k % cols) * PW, TOP + (k / cols) * PH);

    /* the legend, in the last cell */
    double lx = 5 + (NPANELS % cols) * PW + 30, ly = TOP + (NPANELS / cols) * PH + PT;
    fprintf(f, "<g class=\"legend\">\n");
    for (int i = 0; i < res->ntargets; i++) {
        const char *col = res->native[i] ? "#000000" : colors[i % NCOLORS];
        double y = ly + i * 17;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"3\"%s/>\n",
                lx, y, lx + 26, y, col, res->native[i] ? " stroke-dasharray=\"6 3\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">%s%s</text>\n", lx + 32, y + 4,
                res->names[i], res->native[i] ? " (native Linux, no Wine)" : "");
    }
    fprintf(f, "</g>\n</svg>\n");
}

void render_markdown(FILE *f, const struct results *res)
{
    fprintf(f, "# Comparison of the echo steps\n\n%s\n\n%s.\n\n", res->title, res->setup);
    render_table(f, res, 1);
    fprintf(f, "\n![one panel per measure, connections on the x-axis](comparison.svg)\n");
}
