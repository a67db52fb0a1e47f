/* A progress bar on standard error (contract in progress.h). */
#include "cli/progress.h"

#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { BAR_WIDTH = 30 };
static const int64_t SHOW_AFTER_NS = 500000000, REDRAW_NS = 100000000;

void cli_progress_init(cli_progress *p, const char *label, const char *unit)
{
    /* FSTORE_PROGRESS=1 draws on any stderr, at once and on every update
     * (for logs of long runs, and for tests); =0 never draws. */
    const char *force = getenv("FSTORE_PROGRESS");
    *p = (cli_progress){.label = label, .unit = unit, .enabled = isatty(STDERR_FILENO)};
    if (force && *force) {
        p->enabled = strcmp(force, "0") != 0;
        p->forced = p->enabled;
    }
    p->start_ns = p->last_draw_ns = fs_now_ns();
}

/* 1234567 -> "1.2M": counts stay readable at a glance. */
static void human(double v, char *buf, size_t sz)
{
    const char *suffix = "";
    if (v >= 1e9) {
        v /= 1e9;
        suffix = "G";
    } else if (v >= 1e6) {
        v /= 1e6;
        suffix = "M";
    } else if (v >= 1e3) {
        v /= 1e3;
        suffix = "k";
    }
    snprintf(buf, sz, *suffix ? "%.1f%s" : "%.0f%s", v, suffix);
}

void cli_progress_update(cli_progress *p, uint64_t done, uint64_t total, uint64_t items)
{
    if (!p->enabled)
        return;
    int64_t now = fs_now_ns();
    if (!p->forced && (now - p->start_ns < SHOW_AFTER_NS || now - p->last_draw_ns < REDRAW_NS))
        return;
    p->last_draw_ns = now;
    double secs = (double)(now - p->start_ns) / 1e9;
    char count[32], rate[32];
    human((double)items, count, sizeof count);
    human(secs > 0 ? (double)items / secs : 0, rate, sizeof rate);
    if (total) {
        double frac = done >= total ? 1.0 : (double)done / (double)total;
        int fill = (int)(frac * BAR_WIDTH);
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[BAR_WIDTH] = 0;
        double eta = frac > 0 ? secs / frac - secs : 0;
        fprintf(stderr, "\r%s [%s] %3.0f%%  %s %s  %s/s  eta %.0fs ", p->label, bar, frac * 100,
                count, p->unit, rate, eta);
    } else {
        fprintf(stderr, "\r%s: %s %s  %s/s ", p->label, count, p->unit, rate);
    }
    p->drawn = 1;
}

void cli_progress_end(cli_progress *p)
{
    if (p->drawn)
        fprintf(stderr, p->forced && !isatty(STDERR_FILENO) ? "\n" : "\r\033[K");
    p->drawn = 0;
}
