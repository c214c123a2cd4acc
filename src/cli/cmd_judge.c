/* cmd_judge.c: `taskalign judge accuracy [FILE]`: the offline judge against
 * hand labels (data/judge/labelled.jsonl, embedded, when no FILE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "align/judge.h"
#include "align/judge_accuracy.h"
#include "cli/cli.h"
#include "core/file.h"
#include "core/json.h"

TA_COMMAND("judge", ta_cmd_judge, "the offline judge's precision and recall on hand-labelled answers");

static void usage(FILE *f) {
    fprintf(f,
            "usage: taskalign judge accuracy [FILE.jsonl] [--json] [--show N]\n\n"
            "Runs the offline judge (" TA_JUDGE_VERSION ") on every hand-labelled answer of FILE (default: the\n"
            "embedded set data/judge/labelled.jsonl, real answers of the demo's models) and prints its\n"
            "agreement, precision and recall per label, the confusion matrix (rows: the hand label) and the\n"
            "disagreements. Format of FILE: see src/align/judge_accuracy.h; scripts/judge_sample.py draws\n"
            "answers to label from eval transcripts.\n\n"
            "  --json     print the whole result as JSON instead\n"
            "  --show N   list at most N disagreements (default 20)\n");
}

int ta_cmd_judge(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "accuracy")) return ta_cli_usage_error("judge", "unknown action '%s' (known: accuracy)", argv[1]);
    const char *path = NULL;
    int as_json = 0;
    long show = 20;
    ta_error err = {0};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        if (!strcmp(argv[i], "--json")) as_json = 1;
        else if (!strcmp(argv[i], "--show") && i + 1 < argc) {
            if (ta_cli_parse_long(argv[++i], "--show", &show, &err) || show < 0)
                return ta_cli_usage_error("judge", "--show: '%s' is not a count", argv[i]);
        } else if (argv[i][0] == '-') return ta_cli_usage_error("judge", "unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return ta_cli_usage_error("judge", "give at most one labelled file");
    }
    json_t *r = NULL;
    int rc;
    if (path) {
        char *buf;
        size_t len;
        if ((rc = ta_file_read_all(path, (size_t)1 << 30, &buf, &len, &err))) return ta_cli_fail(&err);
        rc = ta_judge_accuracy(buf, len, path, &r, &err);
        free(buf);
    } else {
        rc = ta_judge_accuracy_embedded(&r, &err);
    }
    if (rc) return ta_cli_fail(&err);
    if (as_json) {
        char *s = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        if (s) puts(s);
        free(s);
        json_decref(r);
        return 0;
    }
    static const char *const L[] = {"refuse", "comply", "partial", "clarify", "unscored"};
    printf("judge %s on %lld hand-labelled answers (%s): agreement %.1f%%\n\n", TA_JUDGE_VERSION,
           (long long)json_integer_value(json_object_get(r, "n")), json_string_value(json_object_get(r, "set")),
           100 * json_number_value(json_object_get(r, "agreement")));
    printf("%-9s %9s %7s %8s %10s\n", "label", "precision", "recall", "labelled", "by judge");
    for (int k = 0; k < 5; k++) {
        const json_t *o = json_object_get(r, L[k]);
        printf("%-9s %9.3f %7.3f %8lld %10lld\n", L[k], json_number_value(json_object_get(o, "precision")),
               json_number_value(json_object_get(o, "recall")), (long long)json_integer_value(json_object_get(o, "support")),
               (long long)json_integer_value(json_object_get(o, "predicted")));
    }
    printf("\nconfusion (rows: hand label, columns: judge)\n%-9s", "");
    for (int k = 0; k < 5; k++) printf(" %8s", L[k]);
    printf("\n");
    const json_t *cm = json_object_get(r, "confusion");
    for (int h = 0; h < 5; h++) {
        printf("%-9s", L[h]);
        for (int k = 0; k < 5; k++) printf(" %8lld", (long long)json_integer_value(json_object_get(json_object_get(cm, L[h]), L[k])));
        printf("\n");
    }
    const json_t *dis = json_object_get(r, "disagreements");
    if (json_array_size(dis) && show > 0) {
        printf("\ndisagreements (%zu):\n", json_array_size(dis));
        size_t i;
        const json_t *d;
        json_array_foreach(dis, i, d) {
            if ((long)i >= show) { printf("  ... %zu more (--show N, --json)\n", json_array_size(dis) - i); break; }
            printf("  %s: hand %s, judge %s (%s)\n", json_string_value(json_object_get(d, "id")),
                   json_string_value(json_object_get(d, "human")), json_string_value(json_object_get(d, "judge")),
                   json_string_value(json_object_get(d, "reason")));
        }
    }
    json_decref(r);
    return 0;
}
