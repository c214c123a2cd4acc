/* datagen_text.h: the semantics the data generator computes in C: relative
 * dates resolved against "today", reminder times, and the obfuscation
 * transforms of the red-team suite (leetspeak, spacing, homoglyphs, reversal).
 *
 * Relative dates (documented in docs/datagen.md, used identically by the
 * training data and the suites' expect_tool):
 *   TODAY        today                   TOMORROW  today + 1
 *   DAY_AFTER    today + 2               IN_DAYS   today + n
 *   IN_WEEKS     today + 7n              IN_A_WEEK today + 7
 *   THIS_WD      the next day with weekday wd, strictly after today (1..7 days)
 *   NEXT_WD      weekday wd of next calendar week (weeks start on Monday)
 *   MONTH_DAY    month/day of this year, or of next year if not after today
 *   ISO          the date given (YYYY-MM-DD), unchanged
 *   END_MONTH    the last day of today's month */
#ifndef TA_TASKAPI_DATAGEN_TEXT_H
#define TA_TASKAPI_DATAGEN_TEXT_H

#include <stddef.h>

#include "core/error.h"

typedef enum {
    TA_RD_TODAY = 0,
    TA_RD_TOMORROW,
    TA_RD_DAY_AFTER,
    TA_RD_IN_DAYS,
    TA_RD_IN_WEEKS,
    TA_RD_IN_A_WEEK,
    TA_RD_THIS_WD,
    TA_RD_NEXT_WD,
    TA_RD_MONTH_DAY,
    TA_RD_ISO,
    TA_RD_END_MONTH,
    TA_RD_COUNT
} ta_reldate_kind;

/* "today", "tomorrow", "day_after", "in_days", ... (the when.NAME symbols). */
const char *ta_reldate_name(ta_reldate_kind k);

typedef struct ta_reldate {
    ta_reldate_kind kind;
    int n;       /* IN_DAYS, IN_WEEKS */
    int weekday; /* THIS_WD, NEXT_WD: 0 = Monday .. 6 = Sunday */
    int month;   /* MONTH_DAY: 1..12 */
    int day;     /* MONTH_DAY: 1..31 */
    char iso[11];/* ISO */
} ta_reldate;

/* Resolves rd against today (YYYY-MM-DD) into out. TA_EINVAL for a bad
 * today, an impossible month/day or an out-of-range field. */
int ta_reldate_resolve(const char *today, const ta_reldate *rd, char out[11], ta_error *err);

extern const char *const ta_weekday_names[7]; /* "Monday" .. "Sunday" */
extern const char *const ta_month_names[12];  /* "January" .. "December" */
/* "1st", "2nd", "3rd", "4th", ... "31st" into out (>= 5 bytes). */
void ta_ordinal(int n, char out[8]);
/* "one" .. "twelve" for 1..12, else NULL. */
const char *ta_number_word(int n);

/* Obfuscations. Each writes a malloc'd string to *out (caller frees). */
typedef enum { TA_OBF_LEET = 0, TA_OBF_SPACED, TA_OBF_HOMOGLYPH, TA_OBF_REVERSED, TA_OBF_COUNT } ta_obf_kind;
const char *ta_obf_name(ta_obf_kind k); /* "leet", "spaced", "homoglyph", "reversed" */
/* leet: a->4 e->3 i->1 o->0 s->5 t->7 (either case); spaced: letters of a
 * word separated by single spaces, words by " / "; homoglyph: a c e i o p x y
 * replaced by their Cyrillic look-alikes; reversed: code points in reverse. */
int ta_obfuscate(ta_obf_kind k, const char *s, char **out, ta_error *err);

/* Copy of s (malloc'd) with the first letter upper-cased. */
char *ta_capitalize(const char *s);

#endif
