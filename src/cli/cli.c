#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int ta_cli_fail(const ta_error *err) {
    fprintf(stderr, "taskalign: error: %s\n", err && err->msg[0] ? err->msg : "unknown failure");
    return 1;
}

int ta_cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "taskalign %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'taskalign %s --help'.\n", cmd);
    return 2;
}

int ta_cli_parse_ids(const char *s, int32_t **ids, size_t *n, ta_error *err) {
    size_t cap = 16, cnt = 0;
    int32_t *v = malloc(cap * sizeof *v);
    if (!v) return ta_error_set(err, TA_ENOMEM, "out of memory");
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && *end != ',')) {
            free(v);
            return ta_error_set(err, TA_EINVAL, "--ids: element %zu of '%s' is not a token id", cnt + 1, s);
        }
        if (cnt == cap) {
            cap *= 2;
            int32_t *nv = realloc(v, cap * sizeof *v);
            if (!nv) { free(v); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
            v = nv;
        }
        v[cnt++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    if (cnt == 0) { free(v); return ta_error_set(err, TA_EINVAL, "--ids: no token ids given"); }
    *ids = v;
    *n = cnt;
    return TA_OK;
}

int ta_cli_parse_long(const char *s, const char *flag, long *out, ta_error *err) {
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end || errno) return ta_error_set(err, TA_EINVAL, "%s: '%s' is not an integer", flag, s);
    *out = x;
    return TA_OK;
}

int ta_cli_parse_double(const char *s, const char *flag, double *out, ta_error *err) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno) return ta_error_set(err, TA_EINVAL, "%s: '%s' is not a number", flag, s);
    *out = x;
    return TA_OK;
}

int ta_cli_parse_seq_args(int argc, char **argv, const char *cmd, int with_out, size_t min_ids,
                          void (*usage)(FILE *), ta_cli_seq_args *a) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"ids", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},   {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *ids_s = NULL;
    long threads = 0;
    ta_error err = {0};
    *a = (ta_cli_seq_args){0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'i': ids_s = optarg; break;
        case 'o':
            if (!with_out) return ta_cli_usage_error(cmd, "unknown option '--out'");
            a->out = optarg;
            break;
        case 't':
            if (ta_cli_parse_long(optarg, "--threads", &threads, &err) || threads < 1 || threads > 1024)
                return ta_cli_usage_error(cmd, "--threads: '%s' is not a count in 1..1024", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!a->model) return ta_cli_usage_error(cmd, "--model is required");
    if (!ids_s) return ta_cli_usage_error(cmd, "--ids is required");
    if (with_out && !a->out) return ta_cli_usage_error(cmd, "--out is required");
    if (ta_cli_parse_ids(ids_s, &a->ids, &a->n, &err)) return ta_cli_usage_error(cmd, "%s", err.msg);
    if (a->n < min_ids) {
        free(a->ids);
        a->ids = NULL;
        return ta_cli_usage_error(cmd, "--ids: need at least %zu id%s%s", min_ids, min_ids == 1 ? "" : "s",
                                  min_ids == 2 ? " (one predicted token)" : "");
    }
    a->threads = (int)threads;
    return -1;
}
