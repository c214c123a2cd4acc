#define _POSIX_C_SOURCE 200809L
#include "core/progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double ta_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_hms(char *buf, size_t cap, double s) {
    if (s < 0 || s > 1e7) { snprintf(buf, cap, "?"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

void ta_progress_start(ta_progress *p, FILE *out, const char *label, const char *unit, size_t total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->label = label ? label : "";
    p->unit = unit ? unit : "it";
    p->total = total;
    p->t_start = p->t_last_draw = ta_now();
    p->plain_interval_s = 10.0;
    p->is_tty = out ? isatty(fileno(out)) : 0;
}

static void draw(ta_progress *p, int final) {
    double now = ta_now(), el = now - p->t_start;
    double rate = el > 0 ? (double)p->done / el : 0;
    char eta[32] = "?", elapsed[32];
    fmt_hms(elapsed, sizeof elapsed, el);
    if (p->total && rate > 0) fmt_hms(eta, sizeof eta, (double)(p->total - (p->done < p->total ? p->done : p->total)) / rate);
    if (p->is_tty) {
        char bar[31];
        int w = 30, fill = p->total ? (int)((double)w * (double)p->done / (double)p->total) : 0;
        if (fill > w) fill = w;
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = '\0';
        if (p->total)
            fprintf(p->out, "\r\033[K%s [%s] %zu/%zu %.1f %s/s %s %s%s%s", p->label, bar, p->done, p->total, rate, p->unit,
                    final ? "in" : "ETA", final ? elapsed : eta, p->extra[0] ? " | " : "", p->extra);
        else
            fprintf(p->out, "\r\033[K%s %zu %.1f %s/s %s%s%s", p->label, p->done, rate, p->unit, elapsed, p->extra[0] ? " | " : "", p->extra);
        if (final) fputc('\n', p->out);
    } else {
        if (p->total)
            fprintf(p->out, "%s: %zu/%zu %.1f %s/s elapsed %s%s%s%s%s\n", p->label, p->done, p->total, rate, p->unit, elapsed,
                    final ? "" : " eta ", final ? "" : eta, p->extra[0] ? " | " : "", p->extra);
        else
            fprintf(p->out, "%s: %zu %.1f %s/s elapsed %s%s%s\n", p->label, p->done, rate, p->unit, elapsed, p->extra[0] ? " | " : "", p->extra);
    }
    fflush(p->out);
    p->t_last_draw = now;
}

void ta_progress_update(ta_progress *p, size_t done, const char *extra) {
    p->done = done;
    if (extra) snprintf(p->extra, sizeof p->extra, "%s", extra);
    if (!p->out) return;
    double now = ta_now();
    double interval = p->is_tty ? 0.1 : p->plain_interval_s;
    if (now - p->t_last_draw >= interval) draw(p, 0);
}

void ta_progress_finish(ta_progress *p) {
    if (p->out) draw(p, 1);
}
