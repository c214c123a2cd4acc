/* cmd_logprobs.c: `taskalign logprobs`: per-token log-probabilities of a sequence. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/threads.h"
#include "model/model.h"
#include "model/transformer.h"

TA_COMMAND("logprobs", ta_cmd_logprobs, "log-probabilities of a token sequence under a model");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign logprobs --model DIR --ids 1,5,9,3 [-t N]\n"
            "\n"
            "Prints JSON {\"token_logprobs\": [null, lp1, lp2, ...], \"sum\": S}: for each\n"
            "position t >= 1 the log-probability of ids[t] given ids[<t] (one forward pass,\n"
            "fp32), and their sum.\n"
            "\n"
            "options:\n"
            "  --model DIR     Hugging Face model folder (config.json + safetensors)\n"
            "  --ids LIST      comma-separated token ids, at least one\n"
            "  -t, --threads N threads for BLAS and OpenMP (default: all CPUs)\n"
            "  -h, --help      this text\n");
}

int ta_cmd_logprobs(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"ids", required_argument, 0, 'i'},
                                         {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *ids_s = NULL;
    long threads = 0;
    ta_error err = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'i': ids_s = optarg; break;
        case 't':
            if (ta_cli_parse_long(optarg, "--threads", &threads, &err) || threads < 1 || threads > 1024)
                return ta_cli_usage_error("logprobs", "--threads: '%s' is not a count in 1..1024", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("logprobs", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("logprobs", "unexpected argument '%s'", argv[optind]);
    if (!model) return ta_cli_usage_error("logprobs", "--model is required");
    if (!ids_s) return ta_cli_usage_error("logprobs", "--ids is required");
    int32_t *ids = NULL;
    size_t n = 0;
    if (ta_cli_parse_ids(ids_s, &ids, &n, &err)) return ta_cli_usage_error("logprobs", "%s", err.msg);
    ta_threads_set((int)threads);
    ta_model m;
    if (ta_model_load(&m, model, &err)) {
        free(ids);
        return ta_cli_fail(&err);
    }
    float *lp = malloc(n * sizeof *lp);
    double sum = 0.0;
    int rc = lp ? ta_sequence_logprobs(&m, ids, n, lp, &sum, NULL, &err)
                : ta_error_set(&err, TA_ENOMEM, "out of memory");
    if (rc == TA_OK) {
        printf("{\"token_logprobs\": [null");
        for (size_t t = 0; t + 1 < n; t++) printf(", %.9g", lp[t]);
        printf("], \"sum\": %.9g}\n", sum);
    }
    free(lp);
    free(ids);
    ta_model_release(&m);
    return rc ? ta_cli_fail(&err) : 0;
}
