/* progress.h: progress reporting for long work.
 *
 * On a terminal: one redrawn line "label [#####.....] 42/100 3.1 it/s ETA 0:19 | extra".
 * Not a terminal: a plain line at most every `plain_interval_s` seconds and at
 * the end. Output goes to the FILE* given (stderr by the CLI); the library
 * never writes to stdout. */
#ifndef TA_CORE_PROGRESS_H
#define TA_CORE_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

typedef struct ta_progress {
    FILE *out;         /* NULL: silent */
    const char *label;
    const char *unit;  /* "it", "tok", "items", ... */
    size_t total;      /* 0: unknown */
    size_t done;
    double t_start, t_last_draw;
    double plain_interval_s;
    int is_tty;
    char extra[160];
} ta_progress;

void ta_progress_start(ta_progress *p, FILE *out, const char *label, const char *unit, size_t total);
/* Sets done (absolute) and an optional extra text (NULL keeps the previous). */
void ta_progress_update(ta_progress *p, size_t done, const char *extra);
void ta_progress_finish(ta_progress *p);

/* Monotonic seconds. */
double ta_now(void);

#endif
