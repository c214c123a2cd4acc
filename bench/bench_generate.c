/* bench_generate: times greedy generation with the KV cache
 * (ta_generate_batch) on a model folder. Prints one JSON object on stdout.
 *
 *   bench_generate --model DIR [--batch B] [--prompt P] [--new N] [--reps R] [--threads N]
 *
 * The batch holds B prompts of P tokens each (ids (7*i + 13*b + 1) mod V),
 * every one generating exactly N tokens (EOS ignored). Each repetition runs
 * the whole generation; the best of R is reported:
 *   total_s   prefill + all decode steps
 *   decode_s  from the first generated token to the last
 *   tok_s     B*N / total_s;  decode_tok_s  B*(N-1) / decode_s
 * bench/generate.sh runs this and bench/torch_generate.py on the same model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "core/threads.h"
#include "model/generate.h"
#include "model/model.h"

typedef struct {
    double t_first;
} timing;

static int on_token(void *user, size_t seq, int32_t tok) {
    timing *t = user;
    if (t->t_first == 0) t->t_first = ta_now();
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_generate --model DIR [--batch B] [--prompt P] [--new N] [--reps R] [--threads N]\n");
}

int main(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},  {"batch", required_argument, 0, 'b'},
                                         {"prompt", required_argument, 0, 'p'}, {"new", required_argument, 0, 'n'},
                                         {"reps", required_argument, 0, 'r'},   {"threads", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL;
    long B = 1, P = 16, N = 128, reps = 3, threads = 0;
    int c;
    while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': dir = optarg; break;
        case 'b': B = atol(optarg); break;
        case 'p': P = atol(optarg); break;
        case 'n': N = atol(optarg); break;
        case 'r': reps = atol(optarg); break;
        case 't': threads = atol(optarg); break;
        default: usage(); return 2;
        }
    }
    if (!dir || B < 1 || P < 1 || N < 2 || reps < 1) {
        usage();
        return 2;
    }
    int nthr = ta_threads_set((int)threads);
    ta_model m;
    ta_error err = {0};
    if (ta_model_load(&m, dir, &err)) {
        fprintf(stderr, "bench_generate: %s\n", err.msg);
        return 1;
    }
    size_t V = m.cfg.vocab_size;
    int32_t *ids = malloc((size_t)(B * P) * sizeof *ids);
    const int32_t **prompts = malloc((size_t)B * sizeof *prompts);
    size_t *lens = malloc((size_t)B * sizeof *lens);
    ta_gen_output *outs = calloc((size_t)B, sizeof *outs);
    for (long b = 0; b < B; b++) {
        for (long i = 0; i < P; i++) ids[b * P + i] = (int32_t)((7 * i + 13 * b + 1) % (long)V);
        prompts[b] = ids + b * P;
        lens[b] = (size_t)P;
    }
    timing tm;
    ta_gen_params p = ta_gen_params_default(&m.cfg);
    p.max_tokens = (size_t)N;
    p.n_eos = 0;
    p.on_token = on_token;
    p.user = &tm;
    double best_total = 1e30, best_decode = 1e30;
    int rc = 0;
    for (long r = 0; r < reps; r++) {
        tm.t_first = 0;
        double t0 = ta_now();
        if (ta_generate_batch(&m, prompts, lens, (size_t)B, &p, outs, &err)) {
            fprintf(stderr, "bench_generate: %s\n", err.msg);
            rc = 1;
            break;
        }
        double t1 = ta_now();
        if (t1 - t0 < best_total) best_total = t1 - t0;
        if (t1 - tm.t_first < best_decode) best_decode = t1 - tm.t_first;
        if (r + 1 < reps)
            for (long b = 0; b < B; b++) ta_gen_output_release(&outs[b]);
    }
    if (!rc) {
        printf("{\"impl\": \"taskalign\", \"batch\": %ld, \"prompt\": %ld, \"new\": %ld, \"threads\": %d, "
               "\"total_s\": %.6f, \"decode_s\": %.6f, \"tok_s\": %.2f, \"decode_tok_s\": %.2f, \"tokens\": [",
               B, P, N, nthr, best_total, best_decode, (double)(B * N) / best_total,
               (double)(B * (N - 1)) / best_decode);
        for (long b = 0; b < B; b++) {
            printf(b ? ", [" : "[");
            for (size_t i = 0; i < outs[b].n_tokens; i++) printf(i ? ",%d" : "%d", (int)outs[b].tokens[i]);
            printf("]");
        }
        printf("]}\n");
        for (long b = 0; b < B; b++) ta_gen_output_release(&outs[b]);
    }
    free(outs);
    free(lens);
    free(prompts);
    free(ids);
    ta_model_release(&m);
    return rc;
}
