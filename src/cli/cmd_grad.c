/* cmd_grad.c: `taskalign grad`: every parameter's gradient of a sequence's NLL. */
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
    ta_cli_seq_args a;
    int r = ta_cli_parse_seq_args(argc, argv, "grad", 1, 2, usage, &a);
    if (r >= 0) return r;
    const char *model = a.model, *out = a.out;
    int32_t *ids = a.ids;
    size_t n = a.n;
    ta_error err = {0};
    ta_threads_set(a.threads);
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
