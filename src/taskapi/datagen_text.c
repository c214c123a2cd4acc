#include "taskapi/datagen_text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskapi/dispatch.h"

const char *const ta_weekday_names[7] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
const char *const ta_month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};

const char *ta_reldate_name(ta_reldate_kind k) {
    static const char *names[TA_RD_COUNT] = {"today",   "tomorrow", "day_after", "in_days",   "in_weeks", "in_a_week",
                                             "this_wd", "next_wd",  "month_day", "iso",       "end_month"};
    return (unsigned)k < TA_RD_COUNT ? names[k] : "?";
}

void ta_ordinal(int n, char out[8]) {
    const char *sfx = "th";
    if (n % 100 < 11 || n % 100 > 13) {
        if (n % 10 == 1) sfx = "st";
        else if (n % 10 == 2) sfx = "nd";
        else if (n % 10 == 3) sfx = "rd";
    }
    snprintf(out, 8, "%d%s", n % 1000, sfx);
}

const char *ta_number_word(int n) {
    static const char *w[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"};
    return n >= 1 && n <= 12 ? w[n - 1] : NULL;
}

static int add(const char *today, int days, char out[11], ta_error *err) { return ta_date_add_days(today, days, out, err); }

int ta_reldate_resolve(const char *today, const ta_reldate *rd, char out[11], ta_error *err) {
    int twd = ta_date_weekday(today);
    if (twd < 0) return ta_error_set(err, TA_EINVAL, "today '%s' is not a date YYYY-MM-DD", today ? today : "");
    switch (rd->kind) {
    case TA_RD_TODAY: return add(today, 0, out, err);
    case TA_RD_TOMORROW: return add(today, 1, out, err);
    case TA_RD_DAY_AFTER: return add(today, 2, out, err);
    case TA_RD_IN_DAYS:
        if (rd->n < 0 || rd->n > 3660) return ta_error_set(err, TA_ERANGE, "in_days n=%d out of range", rd->n);
        return add(today, rd->n, out, err);
    case TA_RD_IN_WEEKS:
        if (rd->n < 0 || rd->n > 520) return ta_error_set(err, TA_ERANGE, "in_weeks n=%d out of range", rd->n);
        return add(today, 7 * rd->n, out, err);
    case TA_RD_IN_A_WEEK: return add(today, 7, out, err);
    case TA_RD_THIS_WD: {
        if (rd->weekday < 0 || rd->weekday > 6) return ta_error_set(err, TA_ERANGE, "weekday %d out of range", rd->weekday);
        int d = (rd->weekday - twd + 7) % 7;
        return add(today, d ? d : 7, out, err);
    }
    case TA_RD_NEXT_WD:
        if (rd->weekday < 0 || rd->weekday > 6) return ta_error_set(err, TA_ERANGE, "weekday %d out of range", rd->weekday);
        return add(today, (7 - twd) + rd->weekday, out, err);
    case TA_RD_MONTH_DAY: {
        /* this year's date if after today, else the next year that has it (Feb 29) */
        int y = atoi(today);
        for (int k = 0; k <= 8; k++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%04d-%02d-%02d", (y + k) % 10000, rd->month, rd->day);
            if (ta_date_valid(buf) && strcmp(buf, today) > 0) {
                memcpy(out, buf, 11);
                return TA_OK;
            }
        }
        return ta_error_set(err, TA_EINVAL, "month %d day %d is not a date", rd->month, rd->day);
    }
    case TA_RD_ISO:
        if (!ta_date_valid(rd->iso)) return ta_error_set(err, TA_EINVAL, "'%s' is not a date YYYY-MM-DD", rd->iso);
        memcpy(out, rd->iso, 11);
        return TA_OK;
    case TA_RD_END_MONTH: {
        char buf[11];
        memcpy(buf, today, 11);
        for (int d = 31; d >= 28; d--) {
            buf[8] = (char)('0' + d / 10);
            buf[9] = (char)('0' + d % 10);
            if (ta_date_valid(buf)) {
                memcpy(out, buf, 11);
                return TA_OK;
            }
        }
        return ta_error_set(err, TA_EINTERNAL, "no month end for '%s'", today);
    }
    default: break;
    }
    return ta_error_set(err, TA_EINVAL, "unknown relative date kind %d", (int)rd->kind);
}

const char *ta_obf_name(ta_obf_kind k) {
    static const char *n[TA_OBF_COUNT] = {"leet", "spaced", "homoglyph", "reversed"};
    return (unsigned)k < TA_OBF_COUNT ? n[k] : "?";
}

static size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1; }

int ta_obfuscate(ta_obf_kind k, const char *s, char **out, ta_error *err) {
    size_t n = strlen(s);
    char *o = malloc(n * 4 + 8);
    if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
    size_t w = 0;
    switch (k) {
    case TA_OBF_LEET:
        for (size_t i = 0; i < n; i++) {
            char c = (char)tolower((unsigned char)s[i]);
            const char *m = strchr("aeiost", c);
            o[w++] = m && c ? "431057"[m - "aeiost"] : s[i];
        }
        break;
    case TA_OBF_SPACED: {
        int in_word = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') {
                if (in_word) {
                    memcpy(o + w, " / ", 3);
                    w += 3;
                }
                in_word = 0;
                continue;
            }
            if (in_word) o[w++] = ' ';
            o[w++] = s[i];
            in_word = 1;
        }
        break;
    }
    case TA_OBF_HOMOGLYPH: {
        static const char from[] = "aceiopxy";
        static const char *const to[] = {"\xd0\xb0", "\xd1\x81", "\xd0\xb5", "\xd1\x96", "\xd0\xbe", "\xd1\x80", "\xd1\x85", "\xd1\x83"};
        for (size_t i = 0; i < n; i++) {
            const char *m = s[i] ? strchr(from, s[i]) : NULL;
            if (m) {
                memcpy(o + w, to[m - from], 2);
                w += 2;
            } else
                o[w++] = s[i];
        }
        break;
    }
    case TA_OBF_REVERSED: {
        size_t i = 0;
        w = n;
        while (i < n) {
            size_t l = utf8_len((unsigned char)s[i]);
            if (i + l > n) l = n - i;
            w -= l;
            memcpy(o + w, s + i, l);
            i += l;
        }
        w = n;
        break;
    }
    default:
        free(o);
        return ta_error_set(err, TA_EINVAL, "unknown obfuscation %d", (int)k);
    }
    o[w] = 0;
    *out = o;
    return TA_OK;
}

char *ta_capitalize(const char *s) {
    char *c = strdup(s);
    if (c && c[0]) c[0] = (char)toupper((unsigned char)c[0]);
    return c;
}
