/* cmd_grad.c: `taskalign grad`: every parameter's gradient of a sequence's NLL. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/threads.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "model/transformer.h"

TA_COMMAND("grad", ta_cmd_grad, "gradient of a sequence's next-token NLL w.r.t. every parameter");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign grad --model DIR --ids 1,5,9,3 --out grads.safetensors [-t N]\n"
            "\n"
            "Writes the gradient of the summed next-token NLL of the sequence\n"
            "(-sum_t log p(ids[t] | ids[<t]), t >= 1) with respect to every parameter, as F32\n"
            "safetensors under the parameters' Hugging Face names (a tied lm_head is\n"
            "model.embed_tokens.weight, holding both contributions). Prints the NLL to stderr.\n"
            "\n"
            "options:\n"
            "  --model DIR     Hugging Face model folder (config.json + safetensors)\n"
            "  --ids LIST      comma-separated token ids, at least two\n"
            "  --out FILE      safetensors file to write (atomically)\n"
            "  -t, --threads N threads for BLAS and OpenMP (default: all CPUs)\n"
            "  -h, --help      this text\n");
}

int ta_cmd_grad(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"ids", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},   {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *model = NULL, *ids_s = NULL, *out = NULL;
    long threads = 0;
    ta_error err = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'i': ids_s = optarg; break;
        case 'o': out = optarg; break;
        case 't':
            if (ta_cli_parse_long(optarg, "--threads", &threads, &err) || threads < 1 || threads > 1024)
                return ta_cli_usage_error("grad", "--threads: '%s' is not a count in 1..1024", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("grad", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("grad", "unexpected argument '%s'", argv[optind]);
    if (!model) return ta_cli_usage_error("grad", "--model is required");
    if (!ids_s) return ta_cli_usage_error("grad", "--ids is required");
    if (!out) return ta_cli_usage_error("grad", "--out is required");
    int32_t *ids = NULL;
    size_t n = 0;
    if (ta_cli_parse_ids(ids_s, &ids, &n, &err)) return ta_cli_usage_error("grad", "%s", err.msg);
    if (n < 2) {
        free(ids);
        return ta_cli_usage_error("grad", "--ids: need at least two ids (one predicted token)");
    }
    ta_threads_set((int)threads);
    ta_model m;
    if (ta_model_load(&m, model, &err)) {
        free(ids);
        return ta_cli_fail(&err);
    }
    float *slab = calloc(m.w.n_params ? m.w.n_params : 1, sizeof *slab);
    ta_st_entry *e = calloc(m.w.n_tensors, sizeof *e);
    ta_weights g = {0};
    double sum = 0.0;
    int rc = !slab || !e ? ta_error_set(&err, TA_ENOMEM, "out of memory for %zu gradients", m.w.n_params)
                         : ta_weights_bind(&g, &m.cfg, slab, &err);
    if (rc == TA_OK) rc = ta_sequence_logprobs(&m, ids, n, NULL, &sum, &g, &err);
    if (rc == TA_OK) {
        for (size_t i = 0; i < m.w.n_tensors; i++) {
            const ta_param_info *p = &m.w.params[i];
            e[i] = (ta_st_entry){.name = p->name, .data = slab + p->offset, .ndim = p->ndim,
                                 .shape = {p->shape[0], p->shape[1]}};
        }
        rc = ta_safetensors_write(out, e, m.w.n_tensors, TA_DTYPE_F32, &err);
    }
    if (rc == TA_OK) fprintf(stderr, "grad: nll %.9g over %zu tokens, %zu tensors written to %s\n", -sum, n - 1, m.w.n_tensors, out);
    ta_weights_release(&g);
    free(e), free(slab), free(ids);
    ta_model_release(&m);
    return rc ? ta_cli_fail(&err) : 0;
}
