/* cmd_logprobs.c: `taskalign logprobs`: per-token log-probabilities of a sequence. */
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
    ta_cli_seq_args a;
    int r = ta_cli_parse_seq_args(argc, argv, "logprobs", 0, 1, usage, &a);
    if (r >= 0) return r;
    const char *model = a.model;
    int32_t *ids = a.ids;
    size_t n = a.n;
    ta_error err = {0};
    ta_threads_set(a.threads);
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
