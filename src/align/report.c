#include "align/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/stats.h"
#include "core/file.h"

/* A const table, not mutable state. */
const ta_metric_desc ta_report_headline[] = {
    {"asr", "harmful compliance (ASR)", 1},
    {"jailbreak_resistance", "jailbreak resistance", 0},
    {"weak_refusal", "weak refusal", 1},
    {"false_refusal", "false refusal", 1},
    {"clarification", "clarification rate", 0},
    {"task_skill", "task skill", 0},
    {"tool_selection", "tool selection", 0},
    {"arg_accuracy", "argument accuracy", 0},
    {"json_valid", "JSON validity", 0},
    {"refusal_quality", "refusal quality", 0},
    {"refusal_full_rubric", "refusals with all 5 parts", 0},
    {"refusal_on_topic", "refusals on topic", 0},
    {"self_harm_crisis_resources", "self-harm refusals with crisis resources", 0},
    {"unscored", "unscored by the judge", 1},
};
const size_t ta_report_n_headline = sizeof ta_report_headline / sizeof ta_report_headline[0];

static const json_t *metric(const json_t *report, const char *name) {
    return json_object_get(json_object_get(report, "metrics"), name);
}

static int est_of(const json_t *m, double *v, double *lo, double *hi, long *n) {
    const json_t *jv = json_object_get(m, "value");
    *n = (long)json_integer_value(json_object_get(m, "n"));
    if (!json_is_number(jv)) return -1;
    *v = json_number_value(jv);
    *lo = json_number_value(json_object_get(m, "lo"));
    *hi = json_number_value(json_object_get(m, "hi"));
    return 0;
}

void ta_report_n_text(char *buf, size_t cap, const json_t *m) {
    long n = (long)json_integer_value(json_object_get(m, "n")), groups = (long)json_integer_value(json_object_get(m, "clusters"));
    if (groups) snprintf(buf, cap, "%ld (%ld groups)", n, groups);
    else snprintf(buf, cap, "%ld", n);
}

void ta_report_estimate_text(char *buf, size_t cap, const json_t *m) {
    double v, lo, hi;
    long n, groups = (long)json_integer_value(json_object_get(m, "clusters"));
    char ntxt[48];
    int has = m && !est_of(m, &v, &lo, &hi, &n);
    n = (long)json_integer_value(json_object_get(m, "n"));
    if (groups) snprintf(ntxt, sizeof ntxt, "n=%ld, %ld groups", n, groups);
    else snprintf(ntxt, sizeof ntxt, "n=%ld", n);
    if (!has) snprintf(buf, cap, "n/a (%s)", ntxt);
    else snprintf(buf, cap, "%.1f%% [%.1f, %.1f] (%s)", 100 * v, 100 * lo, 100 * hi, ntxt);
}

static const char *s_of(const json_t *o, const char *k, const char *dflt) {
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* HTML-escapes s into fp. */
static void esc(FILE *fp, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* Markdown table cells must not contain '|' or newlines; long ones are cut at max. */
static void md_cell(FILE *fp, const char *s, size_t max) {
    size_t i = 0;
    for (; s && *s && i < max; s++, i++) {
        if (*s == '|') fputs("\\|", fp);
        else if (*s == '\n' || *s == '\r') fputc(' ', fp);
        else fputc(*s, fp);
    }
    if (s && *s) fputs("...", fp);
}

/* One table for both reports: the same rows, rendered as Markdown or HTML.
 * Cells are plain text (escaped here); in HTML all but the first column get
 * the tabular-figures class. */
typedef struct table {
    FILE *fp;
    int html;
    size_t n;
} table;

static void table_cell(table *t, const char *text, int num, int head) {
    if (t->html) {
        fputs(head ? "<th>" : num ? "<td class=\"num\">" : "<td>", t->fp);
        esc(t->fp, text);
        fputs(head ? "</th>" : "</td>", t->fp);
    } else {
        fputc(' ', t->fp);
        md_cell(t->fp, text, 4096);
        fputs(" |", t->fp);
    }
}

static void table_open(table *t, FILE *fp, int html, const char *const *head, size_t n) {
    *t = (table){fp, html, n};
    fputs(html ? "<table><tr>" : "\n|", fp);
    for (size_t i = 0; i < n; i++) table_cell(t, head[i], 0, 1);
    fputs(html ? "</tr>\n" : "\n|", fp);
    if (!html) {
        for (size_t i = 0; i < n; i++) fputs("---|", fp);
        fputc('\n', fp);
    }
}

/* cells[0..n) */
static void table_row(table *t, const char *const *cells) {
    fputs(t->html ? "<tr>" : "|", t->fp);
    for (size_t i = 0; i < t->n; i++) table_cell(t, cells[i], i > 0, 0);
    fputs(t->html ? "</tr>\n" : "\n", t->fp);
}

static void table_close(table *t) {
    if (t->html) fputs("</table>\n", t->fp);
}

/* The two judges' agreement (report "judge_agreement", present when an external judge ran). */
static void judge_agreement_section(FILE *fp, const json_t *r, int html) {
    const json_t *ja = json_object_get(r, "judge_agreement");
    if (!json_is_object(ja)) return;
    const json_t *ext = json_object_get(json_object_get(r, "judge"), "external");
    static const char *const names[] = {"comply", "refuse", "partial", "clarify", "unscored"};
    char agree[96], scored[96], kappa[32] = "n/a", unsc[32];
    ta_report_estimate_text(agree, sizeof agree, json_object_get(ja, "agree"));
    ta_report_estimate_text(scored, sizeof scored, json_object_get(ja, "agree_scored"));
    const json_t *k = json_object_get(ja, "kappa");
    if (json_is_number(k)) snprintf(kappa, sizeof kappa, "%.3f", json_number_value(k));
    snprintf(unsc, sizeof unsc, "%lld", (long long)json_integer_value(json_object_get(ja, "external_unscored")));
    const json_t *conf = json_object_get(ja, "confusion");
    if (html) {
        fprintf(fp, "<h2>Judges</h2><p>Labels from the external judge <code>");
        esc(fp, s_of(ext, "model", "?"));
        fprintf(fp, "</code> at <code>");
        esc(fp, s_of(ext, "url", "?"));
        fprintf(fp, "</code> (");
        esc(fp, s_of(ext, "version", "?"));
        fprintf(fp, "); the heuristic judge ran too.</p>\n");
    } else {
        fprintf(fp, "\n## Judges\n\nLabels from the external judge `");
        md_cell(fp, s_of(ext, "model", "?"), 200);
        fprintf(fp, "` at `");
        md_cell(fp, s_of(ext, "url", "?"), 400);
        fprintf(fp, "` (%s); the heuristic judge ran too.\n", s_of(ext, "version", "?"));
    }
    table t;
    table_open(&t, fp, html, (const char *const[]){"agreement", "value"}, 2);
    table_row(&t, (const char *const[]){"same label (all turns)", agree});
    table_row(&t, (const char *const[]){"same label (turns the external judge labelled)", scored});
    table_row(&t, (const char *const[]){"Cohen's kappa", kappa});
    table_row(&t, (const char *const[]){"turns unscored by the external judge", unsc});
    table_close(&t);
    const char *head[6] = {"heuristic \\ external"};
    for (int e = 0; e < 5; e++) head[1 + e] = names[e];
    table_open(&t, fp, html, head, 6);
    for (int h = 0; h < 5; h++) {
        char num[5][24];
        const char *row[6] = {names[h]};
        for (int e = 0; e < 5; e++) {
            snprintf(num[e], sizeof num[e], "%lld", (long long)json_integer_value(json_object_get(json_object_get(conf, names[h]), names[e])));
            row[1 + e] = num[e];
        }
        table_row(&t, row);
    }
    table_close(&t);
}

/* The guards' own activity (report "guard_stats"): one row per figure. */
static void guard_table(FILE *fp, const json_t *gs, int html) {
    static const char *const rates[][2] = {{"false_refusal", "guards' false refusals (legitimate items a guard answered)"},
                                           {"false_refusal_input", "  of which by the input guard"},
                                           {"false_refusal_output", "  of which by the output guard"},
                                           {"clarify_blocked", "ambiguous items a guard answered"},
                                           {"harmful_stopped", "harmful items a guard answered"}};
    static const char *const counts[][2] = {{"input_turns", "turns answered by the input guard"},
                                            {"output_blocked_calls", "tool calls blocked by the output guard"},
                                            {"output_turns", "turns stopped by the output guard"}};
    char line[160], label[200];
    table t;
    table_open(&t, fp, html, (const char *const[]){"guard activity", "value"}, 2);
    for (size_t k = 0; k < 3; k++) {
        snprintf(line, sizeof line, "%lld", (long long)json_integer_value(json_object_get(gs, counts[k][0])));
        table_row(&t, (const char *const[]){counts[k][1], line});
    }
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        ta_report_estimate_text(line, sizeof line, json_object_get(gs, rates[k][0]));
        table_row(&t, (const char *const[]){rates[k][1], line});
    }
    const char *rule;
    const json_t *n;
    json_object_foreach((json_t *)json_object_get(gs, "by_rule"), rule, n) {
        snprintf(label, sizeof label, "rule %s (turns)", rule);
        snprintf(line, sizeof line, "%lld", (long long)json_integer_value(n));
        table_row(&t, (const char *const[]){label, line});
    }
    table_close(&t);
}

/* The headline metrics: value, 95% CI and n (and the value before, when comparing). */
static void headline_table(FILE *fp, const json_t *r, const json_t *before, int html) {
    table t;
    if (before) table_open(&t, fp, html, (const char *const[]){"metric", "before", "value", "95% CI", "n"}, 5);
    else table_open(&t, fp, html, (const char *const[]){"metric", "value", "95% CI", "n"}, 4);
    for (size_t k = 0; k < ta_report_n_headline; k++) {
        const json_t *m = metric(r, ta_report_headline[k].name);
        char b[32] = "n/a", v[32] = "n/a", ci[64] = "", n[48];
        double x, lo, hi;
        long nn = 0;
        if (before) {
            const json_t *mb = metric(before, ta_report_headline[k].name);
            if (mb && !est_of(mb, &x, &lo, &hi, &nn)) snprintf(b, sizeof b, "%.1f%%", 100 * x);
        }
        nn = 0;
        if (m && !est_of(m, &x, &lo, &hi, &nn)) {
            snprintf(v, sizeof v, "%.1f%%", 100 * x);
            snprintf(ci, sizeof ci, "[%.1f, %.1f]", 100 * lo, 100 * hi);
        }
        ta_report_n_text(n, sizeof n, m);
        if (before) table_row(&t, (const char *const[]){ta_report_headline[k].title, b, v, ci, n});
        else table_row(&t, (const char *const[]){ta_report_headline[k].title, v, ci, n});
    }
    table_close(&t);
}

/* Model only vs model + guards (report "guarded_metrics"), then what the guards did. */
static void guarded_section(FILE *fp, const json_t *r, int html) {
    const json_t *g = json_object_get(r, "guarded_metrics");
    if (!json_is_object(g)) return;
    fputs(html ? "<h2>Model only vs model + guards</h2>\n" : "\n## Model + guards\n", fp);
    table t;
    table_open(&t, fp, html, (const char *const[]){"metric", "model only", "model + guards"}, 3);
    for (size_t k = 0; k < ta_report_n_headline; k++) {
        char a[96], b[96];
        ta_report_estimate_text(a, sizeof a, metric(r, ta_report_headline[k].name));
        ta_report_estimate_text(b, sizeof b, json_object_get(g, ta_report_headline[k].name));
        table_row(&t, (const char *const[]){ta_report_headline[k].title, a, b});
    }
    table_close(&t);
    const json_t *gs = json_object_get(r, "guard_stats");
    if (!json_is_object(gs)) return;
    fputs(html ? "<h3>What the guards did</h3>\n"
               : "\nWhat the guards did (model + guards run; model-only numbers above are the model with no guard):\n",
          fp);
    guard_table(fp, gs, html);
}

/* The judge's precision and recall on the hand-labelled set (report "judge_accuracy"). */
static void judge_accuracy_section(FILE *fp, const json_t *r, int html) {
    const json_t *ja = json_object_get(r, "judge_accuracy");
    if (!json_is_object(ja)) return;
    long long n = (long long)json_integer_value(json_object_get(ja, "n"));
    if (html) fprintf(fp, "<h2>Judge accuracy</h2><p>On %lld hand-labelled answers:</p>\n", n);
    else fprintf(fp, "\n## Judge accuracy (on %lld hand-labelled answers)\n", n);
    table t;
    table_open(&t, fp, html, (const char *const[]){"label", "precision", "recall"}, 3);
    static const char *const lbl[] = {"refuse", "comply"};
    for (int k = 0; k < 2; k++) {
        const json_t *o = json_object_get(ja, lbl[k]);
        char p[32], rc[32];
        snprintf(p, sizeof p, "%.3f", json_number_value(json_object_get(o, "precision")));
        snprintf(rc, sizeof rc, "%.3f", json_number_value(json_object_get(o, "recall")));
        table_row(&t, (const char *const[]){lbl[k], p, rc});
    }
    table_close(&t);
}

char *ta_report_markdown(const json_t *r, const json_t *before) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return NULL;
    fprintf(fp, "# taskalign evaluation: %s\n\n", s_of(r, "model", "?"));
    fprintf(fp, "Judge `%s`; decoding ", s_of(r, "judge_version", "?"));
    char *dec = json_dumps(json_object_get(r, "decoding"), JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(fp, "`%s`; today %s.\n\n", dec ? dec : "{}", s_of(r, "today", "?"));
    free(dec);
    fprintf(fp, "Suites:\n\n");
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(r, "suites"), i, s)
        fprintf(fp, "- `%s` (%lld items, sha256 `%.16s…`)\n", s_of(s, "path", "?"), (long long)json_integer_value(json_object_get(s, "items")), s_of(s, "sha256", ""));
    headline_table(fp, r, before, 0);
    guarded_section(fp, r, 0);
    const char *groups[][4] = {{"asr_by_attack", "Harmful compliance by attack family", "attack family", "ASR 95% CI"},
                               {"asr_by_category", "Harmful compliance by harm category", "harm category", "ASR 95% CI"},
                               {"refusal_on_topic_by_category", "Refusals on topic by harm category", "harm category",
                                "on topic 95% CI"}};
    for (int gi = 0; gi < 3; gi++) {
        const json_t *by = metric(r, groups[gi][0]);
        if (!json_object_size(by)) continue;
        fprintf(fp, "\n## %s\n", groups[gi][1]);
        table t;
        table_open(&t, fp, 0, (const char *const[]){groups[gi][2], groups[gi][3]}, 2);
        const char *key;
        const json_t *m;
        json_object_foreach((json_t *)by, key, m) {
            char a[96];
            ta_report_estimate_text(a, sizeof a, m);
            table_row(&t, (const char *const[]){key, a});
        }
        table_close(&t);
    }
    judge_agreement_section(fp, r, 0);
    judge_accuracy_section(fp, r, 0);
    const json_t *worst = json_object_get(r, "worst");
    if (json_array_size(worst)) {
        fprintf(fp, "\n## Worst transcripts\n\n| id | category / attack | expected | got | last answer |\n|---|---|---|---|---|\n");
        const json_t *w;
        json_array_foreach(worst, i, w) {
            const json_t *turns = json_object_get(w, "turns");
            const json_t *last = json_array_get(turns, json_array_size(turns) ? json_array_size(turns) - 1 : 0);
            fprintf(fp, "| %s | %s / %s | %s | %s | ", s_of(w, "id", "?"), s_of(w, "category", "?"), s_of(w, "attack", "?"), s_of(w, "expect", "?"), s_of(w, "label", "?"));
            md_cell(fp, s_of(last, "assistant", ""), 160);
            fprintf(fp, " |\n");
        }
    }
    fclose(fp);
    return buf;
}

static double unit(double x) { return x > 1 ? 1 : x > 0 ? x : 0; }

/* Horizontal bar chart with CI whiskers; one or two series (before, after). */
static void svg_bars(FILE *fp, const char *title, const json_t *after, const json_t *before) {
    size_t n = json_object_size(after);
    if (!n) return;
    int row = before ? 34 : 22, left = 170, width = 420, top = 28;
    int h = top + (int)n * row + 24;
    fprintf(fp, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", left + width + 80, h);
    esc(fp, title);
    fprintf(fp, "\"><text x=\"0\" y=\"16\" class=\"t\">");
    esc(fp, title);
    fprintf(fp, "</text>");
    for (int pct = 0; pct <= 100; pct += 25) {
        int x = left + width * pct / 100;
        fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"g\"/><text x=\"%d\" y=\"%d\" class=\"a\">%d%%</text>", x, top - 4, x, h - 20, x - 8, h - 6, pct);
    }
    const char *key;
    const json_t *m;
    int idx = 0;
    json_object_foreach((json_t *)after, key, m) {
        int y = top + idx * row;
        fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"l\" text-anchor=\"end\">", left - 6, y + 14);
        esc(fp, key);
        fprintf(fp, "</text>");
        const json_t *series[2] = {before ? json_object_get(before, key) : NULL, m};
        for (int sidx = before ? 0 : 1, k = 0; sidx < 2; sidx++, k++) {
            double v, lo, hi;
            long nn;
            int yy = y + 2 + k * 14;
            if (!series[sidx] || est_of(series[sidx], &v, &lo, &hi, &nn)) continue;
            /* positions from values clamped to [0, 1]: a hand-edited report
             * with lo = 5e6 overflowed `left + x` (fuzz find) */
            int w = (int)lround(width * unit(v));
            fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"12\" class=\"%s\"><title>%s %.1f%% [%.1f, %.1f] n=%ld</title></rect>",
                    left, yy, w < 1 ? 1 : w, sidx == 0 ? "b0" : "b1", sidx == 0 ? "before" : "after", 100 * v, 100 * lo, 100 * hi, nn);
            int x0 = left + (int)lround(width * unit(lo)), x1 = left + (int)lround(width * unit(hi));
            fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ci\"/>", x0, yy + 6, x1, yy + 6);
            fprintf(fp, "<text x=\"%d\" y=\"%d\" class=\"a\">%.0f%% (n=%ld)</text>", left + width + 6, yy + 10, 100 * v, nn);
        }
        idx++;
    }
    fprintf(fp, "</svg></figure>\n");
}

char *ta_report_html(const json_t *r, const json_t *before) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return NULL;
    fprintf(fp, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>taskalign report: ");
    esc(fp, s_of(r, "model", "?"));
    fprintf(fp, "</title><style>"
                "body{font:15px/1.45 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#1d2330}"
                "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #dde}"
                "table{border-collapse:collapse;margin:.5em 0}td,th{padding:.3em .7em;border-bottom:1px solid #e6e8ef;text-align:left}"
                "th{background:#f4f5f9}.num{font-variant-numeric:tabular-nums}.good{color:#167a3e}.bad{color:#b3261e}"
                "svg .t{font-weight:600;font-size:14px}svg .l,svg .a{font-size:12px;fill:#333}svg .g{stroke:#eee}"
                "svg .b1{fill:#3b6fd8}svg .b0{fill:#b9c3d8}svg .ci{stroke:#111;stroke-width:1.5}"
                "details{margin:.4em 0;padding:.4em .7em;background:#f8f9fc;border-radius:6px}"
                ".turn{margin:.3em 0}.u{color:#555}.as{white-space:pre-wrap;background:#fff;border-left:3px solid #3b6fd8;padding:.2em .6em}"
                "code{background:#f1f2f6;padding:0 .3em}.legend span{display:inline-block;width:12px;height:12px;margin:0 .3em 0 1em}"
                "</style></head><body>\n<h1>taskalign evaluation: ");
    esc(fp, s_of(r, "model", "?"));
    fprintf(fp, "</h1>\n<p>Judge <code>");
    esc(fp, s_of(r, "judge_version", "?"));
    char *dec = json_dumps(json_object_get(r, "decoding"), JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(fp, "</code>, decoding <code>");
    esc(fp, dec ? dec : "{}");
    free(dec);
    fprintf(fp, "</code>, today <code>");
    esc(fp, s_of(r, "today", "?"));
    fprintf(fp, "</code>. Every number has its sample size and a 95%% bootstrap confidence interval; where the suite "
                "groups items (one request under several attack families) the bootstrap resamples groups, not items, "
                "and n says how many.</p>\n");
    if (before) fprintf(fp, "<p class=\"legend\"><span style=\"background:#b9c3d8\"></span>before<span style=\"background:#3b6fd8\"></span>after</p>\n");
    fprintf(fp, "<h2>Headline</h2>\n");
    headline_table(fp, r, before, 1);
    guarded_section(fp, r, 1);
    fprintf(fp, "<h2>Harmful compliance by attack family and harm category</h2>\n");
    svg_bars(fp, "ASR by attack family", metric(r, "asr_by_attack"), before ? metric(before, "asr_by_attack") : NULL);
    svg_bars(fp, "ASR by harm category", metric(r, "asr_by_category"), before ? metric(before, "asr_by_category") : NULL);
    if (json_object_size(metric(r, "refusal_on_topic_by_category"))) {
        fprintf(fp, "<h2>Refusals on topic by harm category</h2>\n<p>Share of refused harmful turns whose refusal names "
                    "the request's harm (the judge's topic check); the rest give another harm's reason.</p>\n");
        svg_bars(fp, "refusals on topic by harm category", metric(r, "refusal_on_topic_by_category"),
                 before ? metric(before, "refusal_on_topic_by_category") : NULL);
    }
    judge_agreement_section(fp, r, 1);
    judge_accuracy_section(fp, r, 1);
    const json_t *worst = json_object_get(r, "worst");
    if (json_array_size(worst)) {
        fprintf(fp, "<h2>Worst transcripts</h2>\n");
        size_t i;
        const json_t *w;
        json_array_foreach(worst, i, w) {
            fprintf(fp, "<details><summary><b>");
            esc(fp, s_of(w, "id", "?"));
            fprintf(fp, "</b> &middot; ");
            esc(fp, s_of(w, "category", "?"));
            fprintf(fp, " / ");
            esc(fp, s_of(w, "attack", "?"));
            fprintf(fp, " &middot; expected <b>");
            esc(fp, s_of(w, "expect", "?"));
            fprintf(fp, "</b>, got <b class=\"bad\">");
            esc(fp, s_of(w, "label", "?"));
            fprintf(fp, "</b></summary>");
            size_t ti;
            const json_t *t;
            json_array_foreach(json_object_get(w, "turns"), ti, t) {
                fprintf(fp, "<div class=\"turn\"><div class=\"u\">user: ");
                esc(fp, s_of(t, "user", ""));
                fprintf(fp, "</div><div class=\"as\">");
                esc(fp, s_of(t, "assistant", ""));
                const json_t *calls = json_object_get(t, "tool_calls");
                size_t ci;
                const json_t *c;
                json_array_foreach(calls, ci, c) {
                    fprintf(fp, "\n[tool call] ");
                    esc(fp, s_of(c, "name", "?"));
                    char *a = json_dumps(json_object_get(c, "arguments"), JSON_COMPACT);
                    fprintf(fp, " ");
                    esc(fp, a ? a : "");
                    free(a);
                }
                fprintf(fp, "</div><small>judge: ");
                esc(fp, s_of(t, "label", "?"));
                fprintf(fp, " (");
                esc(fp, s_of(t, "reason", ""));
                fprintf(fp, ")</small></div>");
            }
            fprintf(fp, "</details>\n");
        }
    }
    fprintf(fp, "<h2>Suites</h2><ul>");
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(r, "suites"), i, s) {
        fprintf(fp, "<li><code>");
        esc(fp, s_of(s, "path", "?"));
        fprintf(fp, "</code>: %lld items, sha256 <code>", (long long)json_integer_value(json_object_get(s, "items")));
        esc(fp, s_of(s, "sha256", ""));
        fprintf(fp, "</code></li>");
    }
    fprintf(fp, "</ul></body></html>\n");
    fclose(fp);
    return buf;
}

int ta_report_write(const char *dir, const json_t *report, const json_t *before, ta_error *err) {
    char path[4096];
    char *md = ta_report_markdown(report, before), *html = ta_report_html(report, before);
    int rc = TA_OK;
    if (!md || !html) { rc = ta_error_set(err, TA_ENOMEM, "out of memory rendering the report"); goto done; }
    if ((rc = ta_path_join(path, sizeof path, dir, "report.md", err))) goto done;
    if ((rc = ta_file_write_atomic(path, md, strlen(md), err))) goto done;
    if ((rc = ta_path_join(path, sizeof path, dir, "report.html", err))) goto done;
    rc = ta_file_write_atomic(path, html, strlen(html), err);
done:
    free(md);
    free(html);
    return rc;
}

/* 1 when h is the sha256 of one of the suites[] entries. */
static int suite_listed(const json_t *suites, const char *h) {
    size_t i;
    const json_t *e;
    json_array_foreach(suites, i, e) {
        const char *g = json_string_value(json_object_get(e, "sha256"));
        if (g && !strcmp(g, h)) return 1;
    }
    return 0;
}

int ta_report_same_suites(const json_t *a, const json_t *b) {
    const json_t *sa = json_object_get(a, "suites"), *sb = json_object_get(b, "suites");
    if (!json_is_array(sa) || !json_is_array(sb) || json_array_size(sa) != json_array_size(sb)) return 0;
    for (int pass = 0; pass < 2; pass++) { /* both ways: a suite file given twice must match too */
        const json_t *x = pass ? sb : sa, *y = pass ? sa : sb;
        size_t i;
        const json_t *e;
        json_array_foreach(x, i, e) {
            const char *h = json_string_value(json_object_get(e, "sha256"));
            if (!h || !suite_listed(y, h)) return 0;
        }
    }
    return 1;
}

char *ta_report_compare_text(const json_t *a, const json_t *b) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp) return NULL;
    fprintf(fp, "%-28s %-26s %-26s %s\n", "metric", s_of(a, "model", "A"), s_of(b, "model", "B"), "B - A");
    for (size_t k = 0; k < ta_report_n_headline; k++) {
        const json_t *ma = metric(a, ta_report_headline[k].name), *mb = metric(b, ta_report_headline[k].name);
        char ea[96], eb[96];
        ta_report_estimate_text(ea, sizeof ea, ma);
        ta_report_estimate_text(eb, sizeof eb, mb);
        double va, la, ha, vb, lb, hb;
        long na, nb;
        char d[96] = "n/a";
        if (ma && mb && !est_of(ma, &va, &la, &ha, &na) && !est_of(mb, &vb, &lb, &hb, &nb)) {
            /* CI of the difference from the two intervals (normal approximation of each half-width) */
            double sa = (ha - la) / 3.92, sb = (hb - lb) / 3.92, sd = sqrt(sa * sa + sb * sb);
            double diff = vb - va;
            int better = ta_report_headline[k].lower_is_better ? diff < 0 : diff > 0;
            int sig = fabs(diff) > 1.96 * sd && sd > 0;
            snprintf(d, sizeof d, "%+.1f pts [%+.1f, %+.1f]%s", 100 * diff, 100 * (diff - 1.96 * sd), 100 * (diff + 1.96 * sd),
                     sig ? (better ? " better" : " worse") : "");
        }
        fprintf(fp, "%-28s %-26s %-26s %s\n", ta_report_headline[k].title, ea, eb, d);
    }
    const char *ja = s_of(a, "judge_version", "?"), *jb = s_of(b, "judge_version", "?");
    if (strcmp(ja, jb))
        fprintf(fp, "warning: the reports were labelled by different judges (A: %s; B: %s): differences mix model and judge\n", ja, jb);
    if (!ta_report_same_suites(a, b))
        fprintf(fp, "warning: the reports were evaluated on different suites (by SHA-256): differences mix model and items\n");
    fclose(fp);
    return buf;
}
