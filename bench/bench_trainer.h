/* bench_trainer.h: what the trainer benchmarks (bench_train, bench_dpo) share:
 * a temporary folder holding a random model of a config (N(0, 0.02), seed 1)
 * and the paths for the synthetic data and the run, and trainer options for a
 * fixed number of steps. Header-only: each benchmark is one program. */
#ifndef TA_BENCH_TRAINER_H
#define TA_BENCH_TRAINER_H

#include <stdio.h>
#include <stdlib.h>

#include "core/file.h"
#include "model/model.h"
#include "train/trainer.h"

typedef struct bench_run {
    char root[64];
    char model[512], data[512], out[512];
    ta_config cfg;
    size_t n_params;
} bench_run;

/* Makes /tmp/ta_bench_<tag>.XXXXXX with model/ written from config; data is
 * the file name the benchmark writes its examples to. */
static int bench_run_open(bench_run *r, const char *tag, const char *config, const char *data, ta_error *err) {
    snprintf(r->root, sizeof r->root, "/tmp/ta_bench_%s.XXXXXX", tag);
    if (!mkdtemp(r->root)) return ta_error_set(err, TA_EIO, "mkdtemp failed");
    snprintf(r->model, sizeof r->model, "%s/model", r->root);
    snprintf(r->data, sizeof r->data, "%s/%s", r->root, data);
    snprintf(r->out, sizeof r->out, "%s/out", r->root);
    ta_model m;
    int rc = ta_config_load(&r->cfg, config, err);
    if (!rc) rc = ta_model_create(&m, &r->cfg, err);
    if (rc) return rc;
    ta_model_init_random(&m, 1, 0.02f);
    rc = ta_model_save(&m, r->model, TA_DTYPE_F32, NULL, err);
    r->n_params = m.w.n_params;
    ta_model_release(&m);
    return rc;
}

/* Options for `steps` timed steps after one warm-up, batch examples a step of at most T tokens. */
static void bench_run_opts(const bench_run *r, ta_train_opts *o, ta_data_kind kind, size_t batch, int steps,
                           int threads, size_t T) {
    ta_train_opts_default(o, kind);
    o->model_dir = r->model;
    o->data = r->data;
    o->out_dir = r->out;
    o->batch_size = batch;
    o->max_steps = steps + 1;
    o->threads = threads;
    o->max_length = T;
}

static void bench_run_close(bench_run *r) { ta_remove_tree(r->root, NULL); }

#endif
