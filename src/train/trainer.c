/* trainer.c: the loop SFT and DPO share (see trainer.h for the step). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/json.h"
#include "core/progress.h"
#include "core/threads.h"
#include "model/safetensors.h"
#include "train/trainer_impl.h"

void ta_train_opts_default(ta_train_opts *o, ta_data_kind kind) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->epochs = 3;
    o->batch_size = 8;
    o->grad_accum = 1;
    o->lr = kind == TA_DATA_SFT ? 2e-5 : 1e-6;
    o->schedule = TA_SCHED_LINEAR;
    o->max_grad_norm = 1.0;
    o->max_length = 1024;
    o->max_prompt_length = 512;
    o->seed = 42;
    o->log_every = 1;
    ta_dpo_params_default(&o->dpo);
    o->lora.alpha = 16;
    o->lora.targets = TA_LORA_Q | TA_LORA_K | TA_LORA_V | TA_LORA_O;
}

void ta_trainer_pad_rows(ta_batch *b) {
    for (size_t r = b->B; r < b->cap_rows; r++) b->lengths[r] = 0;
}

static int is_dpo(const ta_trainer *t) { return t->o.kind == TA_DATA_PREF; }

/* ---- opening --------------------------------------------------------------- */

static void copy_path(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

static size_t *count_sft_targets(const ta_dataset *ds) {
    size_t *c = calloc(ds->n ? ds->n : 1, sizeof *c);
    if (!c) return NULL;
    for (size_t i = 0; i < ds->n; i++) {
        const ta_example *e = &ds->ex[i];
        for (size_t k = 1; k < e->len_a; k++) c[i] += ds->mask[e->off + k] != 0;
    }
    return c;
}

static void report_data(const ta_trainer *t, const ta_dataset *ds, const char *what) {
    FILE *f = t->o.log;
    if (!f) return;
    const ta_dataset_stats *s = &ds->stats;
    fprintf(f, "%s: %zu %s from %s (%zu lines", what, ds->n, ds->kind == TA_DATA_PREF ? "pairs" : "conversations",
            ds->path, s->lines);
    if (s->bad) fprintf(f, ", %zu bad skipped", s->bad);
    if (s->truncated) fprintf(f, ", %zu truncated losing %zu tokens", s->truncated, s->tokens_lost);
    if (s->skipped_truncated) fprintf(f, ", %zu dropped: nothing left to train on after truncation", s->skipped_truncated);
    fprintf(f, ")\n");
    for (size_t i = 0; i < s->n_reports; i++) fprintf(f, "  %s\n", s->reports[i]);
    if (s->bad + s->skipped_truncated > s->n_reports) fprintf(f, "  ... (%zu more)\n", s->bad + s->skipped_truncated - s->n_reports);
}

static int load_data(ta_trainer *t, const char *path, ta_dataset *ds, ta_error *err) {
    ta_dataset_opts dopt = {t->o.kind, t->o.max_length, is_dpo(t) ? t->o.max_prompt_length : 0, t->o.strict, 0};
    int rc = ta_dataset_load(ds, path, &dopt, &t->enc, err);
    if (rc) return rc;
    size_t V = t->model.cfg.vocab_size;
    for (size_t i = 0; i < ds->n_tokens; i++)
        if (ds->tokens[i] < 0 || (size_t)ds->tokens[i] >= V)
            return ta_error_set(err, TA_ERANGE, "'%s': token id %d is outside the model's vocabulary (%zu)", path,
                                (int)ds->tokens[i], V);
    if (ds->max_row > t->model.cfg.max_position_embeddings)
        return ta_error_set(err, TA_ERANGE, "'%s': a sequence of %zu tokens exceeds max_position_embeddings %zu (lower --max-length)",
                            path, ds->max_row, t->model.cfg.max_position_embeddings);
    return TA_OK;
}

static int setup_lora_tensors(ta_trainer *t, ta_error *err) {
    ta_lora *l = &t->lora;
    t->n_tensors = 2 * l->n_mods;
    t->tensors = calloc(t->n_tensors, sizeof *t->tensors);
    ta_adamw_range *r = calloc(t->n_tensors, sizeof *r);
    if (!t->tensors || !r) { free(r); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
    t->own_tensors = 1;
    static const char *const paths[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                        "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"};
    for (size_t i = 0; i < l->n_mods; i++) {
        const ta_lora_module *m = &l->mods[i];
        int k = 0;
        while ((1u << k) != m->which) k++;
        for (int s = 0; s < 2; s++) {
            ta_param_info *p = &t->tensors[2 * i + (size_t)s];
            snprintf(p->name, sizeof p->name, "base_model.model.model.layers.%zu.%s.lora_%c.weight", m->layer, paths[k],
                     s ? 'B' : 'A');
            p->ndim = 2;
            p->shape[0] = s ? m->out : l->cfg.r;
            p->shape[1] = s ? l->cfg.r : m->in;
            p->offset = s ? m->b_off : m->a_off;
            p->numel = p->shape[0] * p->shape[1];
            r[2 * i + (size_t)s] = (ta_adamw_range){p->offset, p->numel, 1};
        }
    }
    ta_adamw_hparams hp = ta_adamw_defaults();
    hp.weight_decay = (float)t->o.weight_decay;
    int rc = ta_adamw_init_ranges(&t->opt, l->n_params, r, t->n_tensors, &hp, err);
    free(r);
    return rc;
}

/* Rewrites metrics.jsonl keeping the lines of steps <= step (a resumed run
 * re-logs the steps after its checkpoint). */
static int trim_metrics(const char *path, int64_t step, ta_error *err) {
    char *buf;
    size_t len;
    if (!ta_file_exists(path)) return TA_OK;
    int rc = ta_file_read_all(path, (size_t)1 << 30, &buf, &len, err);
    if (rc) return rc;
    size_t keep = 0;
    for (char *p = buf; *p;) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        json_t *j = json_loadb(p, n, 0, NULL);
        json_t *s = j ? json_object_get(j, "step") : NULL;
        int ok = s && json_is_integer(s) && json_integer_value(s) <= step;
        json_decref(j);
        if (!ok) break;
        keep += n;
        p += n;
    }
    rc = ta_file_write_atomic(path, buf, keep, err);
    free(buf);
    return rc;
}

static int resume(ta_trainer *t, ta_error *err) {
    char dir[4200];
    int rc;
    if (!t->o.resume[0]) {
        if ((rc = ta_checkpoint_latest(t->out_dir, dir, sizeof dir, err))) return rc;
    } else {
        copy_path(dir, sizeof dir, t->o.resume);
    }
    ta_train_state saved;
    if ((rc = ta_checkpoint_read_state(dir, &saved, t->tensors, t->n_tensors, t->opt.m, t->opt.v, err)))
        return ta_error_prefix(err, "cannot resume from '%s'", dir);
    if ((rc = ta_checkpoint_check_compatible(&saved, &t->st, err))) return rc;
    if (t->use_lora) {
        ta_lora l;
        if ((rc = ta_lora_load(&l, &t->model, dir, err))) return rc;
        if (l.n_params != t->lora.n_params || l.cfg.targets != t->lora.cfg.targets) {
            ta_lora_release(&l);
            return ta_error_set(err, TA_EINVAL, "'%s': the adapter's rank or targets differ from the options", dir);
        }
        memcpy(t->lora.slab, l.slab, l.n_params * sizeof(float));
        ta_lora_release(&l);
        ta_lora_merge(&t->lora);
    } else {
        ta_model m;
        if ((rc = ta_model_load(&m, dir, err))) return rc;
        if (m.w.n_params != t->model.w.n_params) {
            ta_model_release(&m);
            return ta_error_set(err, TA_EINVAL, "'%s': the checkpoint's model differs from --model", dir);
        }
        memcpy(t->model.slab, m.slab, m.w.n_params * sizeof(float));
        ta_model_release(&m);
    }
    t->opt.step = saved.adam_step;
    t->st = saved;
    ta_order_seek(&t->order, saved.epoch, saved.pos);
    char mp[4200];
    if ((rc = ta_path_join(mp, sizeof mp, t->out_dir, "metrics.jsonl", err)) || (rc = trim_metrics(mp, saved.step, err)))
        return rc;
    if (t->o.log) fprintf(t->o.log, "resumed from %s at step %lld (epoch %zu, example %zu)\n", dir, (long long)saved.step,
                          saved.epoch, saved.pos);
    return TA_OK;
}

static int load_ref_cache(ta_trainer *t, const char *name, const ta_dataset *ds, float **out, ta_error *err) {
    char path[4200];
    int rc = ta_path_join(path, sizeof path, t->out_dir, name, err);
    if (rc) return rc;
    float *c = malloc(2 * ds->n * sizeof *c);
    if (!c) return ta_error_set(err, TA_ENOMEM, "out of memory");
    /* A resumed run reuses the cache its first run wrote (the same floats, so
     * the continuation is exact); a fresh run always recomputes it. */
    ta_safetensors st;
    if (t->o.resume && ta_file_exists(path) && ta_safetensors_open(&st, path, NULL) == TA_OK) {
        const ta_st_tensor *x = ta_safetensors_find(&st, "ref_logps");
        int ok = x && x->numel == 2 * ds->n && ta_safetensors_read_f32(&st, x, c, NULL) == TA_OK;
        ta_safetensors_release(&st);
        if (ok) { *out = c; return TA_OK; }
    }
    double t0 = ta_now();
    if ((rc = ta_dpo_precompute_ref(t, ds, c, err))) { free(c); return rc; }
    ta_st_entry e = {"ref_logps", c, 2, {ds->n, 2}};
    if ((rc = ta_safetensors_write(path, &e, 1, TA_DTYPE_F32, err))) { free(c); return rc; }
    if (t->o.log) fprintf(t->o.log, "reference log-probs of %zu pairs precomputed in %.1fs -> %s\n", ds->n, ta_now() - t0, path);
    *out = c;
    return TA_OK;
}

int ta_trainer_open(ta_trainer **out, const ta_train_opts *o, const ta_encoder *enc, ta_error *err) {
    ta_trainer *t = calloc(1, sizeof *t);
    if (!t) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int rc = TA_OK;
    t->o = *o;
    t->enc = *enc;
    copy_path(t->out_dir, sizeof t->out_dir, o->out_dir);
    copy_path(t->model_dir, sizeof t->model_dir, o->model_dir);
    copy_path(t->tok_dir, sizeof t->tok_dir, o->tokenizer_dir ? o->tokenizer_dir : o->model_dir);
    copy_path(t->ref_dir, sizeof t->ref_dir, o->ref_model ? o->ref_model : o->model_dir);
    t->o.out_dir = t->out_dir;
    t->o.model_dir = t->model_dir;
    if (!o->out_dir || !o->out_dir[0]) { rc = ta_error_set(err, TA_EINVAL, "--out is required"); goto fail; }
    if (o->batch_size == 0 || o->grad_accum == 0) { rc = ta_error_set(err, TA_EINVAL, "--batch-size and --grad-accum must be > 0"); goto fail; }
    if (!(o->lr >= 0) || !(o->warmup_ratio >= 0 && o->warmup_ratio <= 1) || !(o->weight_decay >= 0)) {
        rc = ta_error_set(err, TA_EINVAL, "--lr, --weight-decay must be >= 0 and --warmup-ratio in [0, 1]");
        goto fail;
    }
    if (is_dpo(t) && (rc = ta_dpo_params_validate(&o->dpo, err))) goto fail;
    if ((rc = ta_mkdir_p(t->out_dir, err))) goto fail;

    /* the model */
    if (o->init_config) {
        ta_config cfg;
        if ((rc = ta_config_load(&cfg, o->init_config, err)) || (rc = ta_model_create(&t->model, &cfg, err))) goto fail;
        ta_model_init_random(&t->model, o->seed, 0.02f);
    } else if (!o->model_dir) {
        rc = ta_error_set(err, TA_EINVAL, "--model (or, for SFT, --init with --tokenizer) is required");
        goto fail;
    } else if ((rc = ta_model_load(&t->model, o->model_dir, err))) {
        goto fail;
    }
    t->use_lora = o->lora.r > 0;
    if (t->use_lora) {
        if ((rc = ta_lora_create(&t->lora, &t->model, &o->lora, o->seed, err))) goto fail;
        t->policy = &t->lora.policy;
        t->params = t->lora.slab;
        t->n_train = t->lora.n_params;
        if ((rc = setup_lora_tensors(t, err))) goto fail;
    } else {
        t->policy = &t->model;
        t->params = t->model.slab;
        t->n_train = t->model.w.n_params;
        t->tensors = t->model.w.params;
        t->n_tensors = t->model.w.n_tensors;
        ta_adamw_hparams hp = ta_adamw_defaults();
        hp.weight_decay = (float)o->weight_decay;
        if ((rc = ta_adamw_init(&t->opt, &t->model.w, &hp, err))) goto fail;
    }
    if ((rc = ta_model_create(&t->grad, &t->model.cfg, err))) goto fail;
    if (t->use_lora) {
        ta_lora_bind_grad(&t->lora, &t->grad.w);
        if (!(t->lora_grad = calloc(t->n_train, sizeof(float)))) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
        t->grads = t->lora_grad;
    } else {
        t->grads = t->grad.slab;
    }

    /* data */
    if ((rc = load_data(t, o->data, &t->train, err))) goto fail;
    report_data(t, &t->train, "train");
    if (o->eval) {
        if ((rc = load_data(t, o->eval, &t->eval, err))) goto fail;
        t->have_eval = 1;
        report_data(t, &t->eval, "eval");
    }
    if (!is_dpo(t)) {
        if (!(t->n_target = count_sft_targets(&t->train)) ||
            (t->have_eval && !(t->eval_n_target = count_sft_targets(&t->eval)))) {
            rc = ta_error_set(err, TA_ENOMEM, "out of memory");
            goto fail;
        }
    }

    /* Threads: with a micro-batch of at least as many examples as threads,
     * each thread runs its share of every micro-batch (data parallel, one
     * BLAS thread each, no barriers inside a step); otherwise the threads
     * split each matrix product. The result depends only on the worker count. */
    int nthreads = ta_threads_set(o->threads);
    t->n_workers = (size_t)nthreads <= o->batch_size ? (size_t)nthreads : 1;
    if (t->n_workers > 64) t->n_workers = 64;
    if (t->n_workers > 1) ta_threads_set(1);
    t->per = (o->batch_size + t->n_workers - 1) / t->n_workers;

    /* memory for one worker's share of a micro-batch, planned once */
    t->rows = is_dpo(t) ? 2 * t->per : t->per;
    t->T = t->train.max_row;
    if (t->have_eval && t->eval.max_row > t->T) t->T = t->eval.max_row;
    if ((rc = ta_batch_init(&t->batch, is_dpo(t) ? 2 * o->batch_size : o->batch_size, t->T, err))) goto fail;
    if (!(t->wk = calloc(t->n_workers, sizeof *t->wk))) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
    for (size_t j = 0; j < t->n_workers; j++) {
        ta_worker *w = &t->wk[j];
        if ((rc = ta_acts_plan(&w->acts, &t->model.cfg, t->rows, t->T, err)) ||
            (rc = ta_batch_init(&w->batch, t->rows, t->T, err)))
            goto fail;
        ta_acts_set_targets_only(w->acts, 1); /* the losses read log-probs at targets only */
        w->lp = malloc(t->rows * t->T * sizeof(float));
        w->dlp = malloc(t->rows * t->T * sizeof(float));
        w->mlogit = malloc(t->rows * t->T * sizeof(float));
        if (!w->lp || !w->dlp || !w->mlogit) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
        if (j == 0) {
            w->gw = &t->grad.w;
        } else {
            if ((rc = ta_model_create(&w->grad, &t->model.cfg, err))) goto fail;
            w->gw = &w->grad.w;
        }
        if (t->use_lora) { /* only the adapted tensors' dW feed the adapters' gradient */
            if ((rc = ta_weights_bind(&w->frozen, &t->model.cfg, w->gw->slab, err))) goto fail;
            ta_lora_freeze_grad(&t->lora, &w->frozen);
            w->gw = &w->frozen;
        }
    }

    /* the reference */
    if (is_dpo(t) && ta_dpo_needs_reference(o->dpo.type)) {
        if (t->use_lora && !o->ref_model) {
            t->ref_model = &t->model; /* the base with adapters off: no second copy */
        } else {
            if ((rc = ta_model_load(&t->ref, t->ref_dir, err))) goto fail;
            t->have_ref = 1;
            if (t->ref.w.n_params != t->model.w.n_params || t->ref.cfg.vocab_size != t->model.cfg.vocab_size) {
                rc = ta_error_set(err, TA_EINVAL, "--ref-model '%s' has a different architecture from --model", t->ref_dir);
                goto fail;
            }
            t->ref_model = &t->ref;
        }
        if (o->precompute_ref) {
            if ((rc = load_ref_cache(t, "ref_logps.safetensors", &t->train, &t->ref_cache, err))) goto fail;
            if (t->have_eval && (rc = load_ref_cache(t, "ref_logps_eval.safetensors", &t->eval, &t->eval_ref_cache, err)))
                goto fail;
            if (t->have_ref) { /* cached: the frozen copy is no longer needed */
                ta_model_release(&t->ref);
                t->have_ref = 0;
            }
            t->ref_model = NULL;
        }
    }

    /* schedule and order */
    size_t micro = (t->train.n + o->batch_size - 1) / o->batch_size;
    t->steps_per_epoch = (micro + o->grad_accum - 1) / o->grad_accum;
    t->total_steps = o->max_steps > 0 ? o->max_steps : (int64_t)(o->epochs * t->steps_per_epoch);
    if (t->total_steps <= 0) { rc = ta_error_set(err, TA_EINVAL, "nothing to do: --epochs 0 and no --max-steps"); goto fail; }
    t->sched.kind = o->schedule;
    t->sched.base_lr = o->lr;
    t->sched.warmup_steps = (int64_t)ceil((double)t->total_steps * o->warmup_ratio);
    t->sched.total_steps = t->total_steps;
    if ((rc = ta_order_init(&t->order, t->train.n, o->seed, 1, err))) goto fail;
    if (!(t->idx = malloc(o->batch_size * o->grad_accum * sizeof *t->idx))) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
    snprintf(t->st.kind, sizeof t->st.kind, "%s", is_dpo(t) ? "dpo" : "sft");
    t->st.seed = o->seed;
    t->st.batch_size = o->batch_size;
    t->st.grad_accum = o->grad_accum;
    t->st.n_examples = t->train.n;
    t->st.total_steps = t->total_steps;
    ta_rng_seed(&t->st.rng, o->seed);
    t->last = json_object();
    if (o->resume && (rc = resume(t, err))) goto fail;
    *out = t;
    return TA_OK;
fail:
    ta_trainer_close(t);
    return rc;
}

void ta_trainer_close(ta_trainer *t) {
    if (!t) return;
    if (t->metrics) fclose(t->metrics);
    json_decref(t->last);
    free(t->ref_cache);
    free(t->eval_ref_cache);
    ta_order_release(&t->order);
    free(t->idx);
    free(t->n_target);
    free(t->eval_n_target);
    ta_dataset_release(&t->train);
    ta_dataset_release(&t->eval);
    for (size_t j = 0; t->wk && j < t->n_workers; j++) {
        ta_worker *w = &t->wk[j];
        free(w->lp);
        free(w->dlp);
        free(w->mlogit);
        ta_batch_release(&w->batch);
        ta_acts_free(w->acts);
        ta_weights_release(&w->frozen);
        if (j) ta_model_release(&w->grad);
    }
    free(t->wk);
    ta_batch_release(&t->batch);
    ta_adamw_release(&t->opt);
    if (t->own_tensors) free(t->tensors);
    free(t->lora_grad);
    ta_model_release(&t->grad);
    if (t->use_lora) ta_lora_release(&t->lora);
    if (t->have_ref) ta_model_release(&t->ref);
    ta_model_release(&t->model);
    free(t);
}

/* ---- one step --------------------------------------------------------------- */

/* The step's normalisers over all of its examples. */
static void step_norm(const ta_trainer *t, const ta_dataset *ds, const size_t *nt, const size_t *idx, size_t n, double norm[2]) {
    norm[0] = norm[1] = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_dpo(t)) {
            norm[0] += 1;
            norm[1] += (double)ds->ex[idx[i]].len_a;
        } else {
            norm[0] += (double)nt[idx[i]];
        }
    }
}

static void acc_add(ta_step_acc *d, const ta_step_acc *s) {
    d->loss += s->loss;
    d->tokens += s->tokens;
    d->target_tokens += s->target_tokens;
    ta_dpo_stats_add(&d->dpo, &s->dpo);
    for (int k = 0; k < 2; k++) d->logit_sum[k] += s->logit_sum[k], d->logit_n[k] += s->logit_n[k];
}

/* Worker j's share of the round starting at example r0 of idx[0..n): into
 * its batch, then fn. */
static int run_share(ta_trainer *t, size_t j, const ta_dataset *ds, const size_t *idx, size_t n, size_t r0,
                     ta_share_fn fn, void *user) {
    ta_worker *w = &t->wk[j];
    memset(&w->acc, 0, sizeof w->acc);
    size_t s = r0 + j * t->per, e = s + t->per < n ? s + t->per : n;
    if (s >= e) return TA_OK;
    int rc = ta_batch_fill(&w->batch, ds, idx + s, e - s, 0, &w->err);
    if (rc) return rc;
    ta_trainer_pad_rows(&w->batch);
    return fn(t, w, idx + s, e - s, user);
}

int ta_trainer_for_shares(ta_trainer *t, const ta_dataset *ds, const size_t *idx, size_t n, ta_share_fn fn, void *user,
                          ta_step_acc *acc, ta_error *err) {
    size_t W = t->n_workers;
    for (size_t r0 = 0; r0 < n; r0 += W * t->per) {
        int rcs[64];
#pragma omp parallel for num_threads(W) schedule(static, 1) if (W > 1)
        for (size_t j = 0; j < W; j++) rcs[j] = run_share(t, j, ds, idx, n, r0, fn, user);
        for (size_t j = 0; j < W; j++) {
            if (rcs[j]) {
                *err = t->wk[j].err;
                return rcs[j];
            }
            if (acc) acc_add(acc, &t->wk[j].acc);
        }
    }
    return TA_OK;
}

typedef struct micro_args {
    const float *ref_cache;
    double norm[2];
    int backward;
} micro_args;

static int micro(ta_trainer *t, ta_worker *w, const size_t *idx, size_t n, void *user) {
    const micro_args *m = user;
    return is_dpo(t) ? ta_dpo_micro(t, w, idx, n, m->ref_cache, m->norm, m->backward, &w->err)
                     : ta_sft_micro(t, w, m->norm, m->backward, &w->err);
}

/* Forward (and backward) of examples idx[0..n) of ds: rounds of n_workers
 * shares of `per` examples (one micro-batch of batch_size per round when
 * batch_size divides evenly; the loss is normalised over the whole step, so
 * how examples are grouped does not change the result beyond rounding). */
static int run_examples(ta_trainer *t, const ta_dataset *ds, const size_t *nt, const float *ref_cache, const size_t *idx,
                        size_t n, int backward, ta_step_acc *acc, ta_error *err) {
    micro_args m = {ref_cache, {0, 0}, backward};
    step_norm(t, ds, nt, idx, n, m.norm);
    return ta_trainer_for_shares(t, ds, idx, n, micro, &m, acc, err);
}

/* Where a data-parallel run all-reduces (sums) t->grads over ranks: every
 * gradient, of full or LoRA training, passes here once per step, after
 * accumulation and before clipping. One process today: nothing to do. */
static void reduce_gradients(ta_trainer *t) { (void)t; }

int ta_worker_backward(const ta_trainer *t, ta_worker *w, ta_error *err) {
    int rc = ta_backward(t->policy, w->acts, w->dlp, w->gw, !w->grad_fresh, err);
    if (!rc) w->grad_fresh = 0;
    return rc;
}

static int compute_grad(ta_trainer *t, const size_t *idx, size_t n, ta_step_acc *acc, ta_error *err) {
    size_t P = t->grad.w.n_params, W = t->n_workers;
    for (size_t j = 0; j < W; j++) t->wk[j].grad_fresh = 1; /* the first backward overwrites: no memset */
    if (t->use_lora) memset(t->lora_grad, 0, t->n_train * sizeof(float));
    int rc = run_examples(t, &t->train, t->n_target, t->ref_cache, idx, n, 1, acc, err);
    if (rc) return rc;
    for (size_t j = 0; j < W; j++) /* a worker left without examples still holds an old gradient */
        if (t->wk[j].grad_fresh) memset(j ? t->wk[j].grad.slab : t->grad.slab, 0, P * sizeof(float));
    if (W > 1) { /* sum the workers' slabs into the trainer's, in worker order */
        float *g = t->grad.slab;
#pragma omp parallel for num_threads(W) schedule(static)
        for (size_t i = 0; i < P; i++)
            for (size_t j = 1; j < W; j++) g[i] += t->wk[j].grad.slab[i];
    }
    if (t->use_lora) ta_lora_grad_from_full(&t->lora, t->lora_grad);
    reduce_gradients(t);
    return TA_OK;
}

int ta_trainer_step_grad(ta_trainer *t, const size_t *idx, size_t n, double *loss, ta_error *err) {
    ta_step_acc acc;
    memset(&acc, 0, sizeof acc);
    int rc = compute_grad(t, idx, n, &acc, err);
    if (!rc) {
        *loss = acc.loss;
        json_object_clear(t->last);
        json_object_set_new(t->last, "loss", json_real(acc.loss));
        if (is_dpo(t)) ta_dpo_metrics(t, &acc, t->last, "");
    }
    return rc;
}

const float *ta_trainer_grad(const ta_trainer *t, size_t *n) {
    *n = t->n_train;
    return t->grads;
}
const ta_param_info *ta_trainer_tensors(const ta_trainer *t, size_t *n) {
    *n = t->n_tensors;
    return t->tensors;
}
float *ta_trainer_params(ta_trainer *t, size_t *n) {
    *n = t->n_train;
    return t->params;
}
const ta_dataset *ta_trainer_dataset(const ta_trainer *t) { return &t->train; }
ta_lora *ta_trainer_lora(ta_trainer *t) { return t->use_lora ? &t->lora : NULL; }
const json_t *ta_trainer_last_metrics(const ta_trainer *t) { return t->last; }
size_t ta_trainer_workers(const ta_trainer *t) { return t->n_workers; }
const ta_batch *ta_trainer_fill_batch(ta_trainer *t, const size_t *idx, size_t n, ta_error *err) {
    if (ta_batch_fill(&t->batch, &t->train, idx, n, 0, err)) return NULL;
    ta_trainer_pad_rows(&t->batch);
    return &t->batch;
}

/* ---- eval, save, log -------------------------------------------------------- */

static int evaluate(ta_trainer *t, json_t *row, ta_error *err) {
    size_t n = t->eval.n;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) idx[i] = i;
    ta_step_acc acc;
    memset(&acc, 0, sizeof acc);
    int rc = run_examples(t, &t->eval, t->eval_n_target, t->eval_ref_cache, idx, n, 0, &acc, err);
    free(idx);
    if (rc) return rc;
    json_object_set_new(row, "eval_loss", json_real(acc.loss));
    if (is_dpo(t)) ta_dpo_metrics(t, &acc, row, "eval_");
    if (t->o.log) fprintf(t->o.log, "eval at step %lld: loss %.6f\n", (long long)t->st.step, acc.loss);
    return TA_OK;
}

static int save_checkpoint(ta_trainer *t, char *final_dir, size_t cap, ta_error *err) {
    char tmp[4200];
    int rc = ta_checkpoint_begin(t->out_dir, t->st.step, tmp, sizeof tmp, err);
    if (rc) return rc;
    t->st.adam_step = t->opt.step;
    t->st.epoch = t->order.epoch;
    t->st.pos = t->order.pos;
    if (t->use_lora) rc = ta_lora_save(&t->lora, tmp, t->model_dir[0] ? t->model_dir : NULL, err);
    else rc = ta_model_save(&t->model, tmp, TA_DTYPE_F32, NULL, err);
    if (!rc) rc = ta_checkpoint_write_state(tmp, &t->st, t->tensors, t->n_tensors, t->opt.m, t->opt.v, err);
    if (!rc) rc = ta_checkpoint_commit(t->out_dir, tmp, t->st.step, t->o.keep, final_dir, cap, err);
    if (rc) ta_remove_tree(tmp, NULL);
    return rc;
}

static int save_final(ta_trainer *t, ta_error *err) {
    const char *tok = t->tok_dir[0] ? t->tok_dir : NULL;
    if (!t->use_lora) return ta_model_save(&t->model, t->out_dir, TA_DTYPE_F32, tok, err);
    /* LoRA: the PEFT adapter, plus the merged model so the folder loads as is. */
    int rc = ta_lora_save(&t->lora, t->out_dir, t->model_dir[0] ? t->model_dir : NULL, err);
    if (rc) return rc;
    ta_model merged;
    if ((rc = ta_model_create(&merged, &t->model.cfg, err))) return rc;
    memcpy(merged.slab, t->model.slab, t->model.w.n_params * sizeof(float));
    ta_lora_merge_into(&t->lora, &merged);
    rc = ta_model_save(&merged, t->out_dir, TA_DTYPE_F32, tok, err);
    ta_model_release(&merged);
    return rc;
}

static int write_metrics(ta_trainer *t, json_t *row, ta_error *err) {
    char *s = json_dumps(row, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!s) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int bad = fprintf(t->metrics, "%s\n", s) < 0 || fflush(t->metrics) != 0;
    free(s);
    return bad ? ta_error_set(err, TA_EIO, "cannot write metrics.jsonl in '%s': %s", t->out_dir, strerror(errno)) : TA_OK;
}

/* ---- the loop --------------------------------------------------------------- */

int ta_trainer_step(ta_trainer *t, ta_error *err) {
    const ta_train_opts *o = &t->o;
    if (t->st.step >= t->total_steps) return ta_error_set(err, TA_ERANGE, "all %lld steps are done", (long long)t->total_steps);
    size_t n = 0;
    for (int pass = 0; n == 0 && pass < 2; pass++) {
        for (size_t a = 0; a < o->grad_accum; a++) n += ta_order_take(&t->order, o->batch_size, t->idx + n);
        if (n == 0) ta_order_next_epoch(&t->order);
    }
    double t0 = ta_now();
    ta_step_acc acc;
    memset(&acc, 0, sizeof acc);
    int rc = compute_grad(t, t->idx, n, &acc, err);
    if (rc) return rc;
    double gnorm = ta_grad_norm(t->grads, t->n_train);
    double lr = ta_schedule_lr(&t->sched, t->st.step);
    /* clipping fused into the update (the gradients stay unscaled) */
    ta_adamw_step_scaled(&t->opt, t->params, t->grads, (float)lr, ta_clip_coef(gnorm, o->max_grad_norm));
    if (t->use_lora) ta_lora_merge(&t->lora);
    t->st.step++;
    double dt = ta_now() - t0;
    t->st.tokens_seen += acc.tokens;
    t->st.elapsed_s += dt;
    double epoch = (double)t->order.epoch + (double)t->order.pos / (double)t->train.n;
    json_t *row = json_object();
    json_object_set_new(row, "step", json_integer(t->st.step));
    json_object_set_new(row, "epoch", json_real(epoch));
    json_object_set_new(row, "loss", json_real(acc.loss));
    json_object_set_new(row, "grad_norm", json_real(gnorm));
    json_object_set_new(row, "learning_rate", json_real(lr));
    json_object_set_new(row, "tokens/s", json_real(dt > 0 ? acc.tokens / dt : 0));
    json_object_set_new(row, "step_s", json_real(dt));
    json_object_set_new(row, "tokens", json_real(acc.tokens));
    if (is_dpo(t)) ta_dpo_metrics(t, &acc, row, "");
    json_decref(t->last);
    t->last = row;
    return TA_OK;
}

int ta_trainer_run(ta_trainer *t, ta_error *err) {
    const ta_train_opts *o = &t->o;
    char path[4200];
    int rc = ta_path_join(path, sizeof path, t->out_dir, "metrics.jsonl", err);
    if (rc) return rc;
    if (!(t->metrics = fopen(path, o->resume ? "ab" : "wb")))
        return ta_error_set(err, TA_EIO, "cannot open '%s': %s", path, strerror(errno));
    FILE *log = o->log;
    int tty = log && isatty(fileno(log));
    ta_progress prog;
    char label[32];
    snprintf(label, sizeof label, "train %s", t->st.kind);
    ta_progress_start(&prog, tty ? log : NULL, label, "step", (size_t)t->total_steps);
    if (log)
        fprintf(log, "%s: %lld steps (%zu per epoch), batch %zu x %zu accumulation, lr %g %s warmup %lld, %zu trainable parameters%s\n",
                label, (long long)t->total_steps, t->steps_per_epoch, o->batch_size, o->grad_accum, o->lr,
                ta_schedule_kind_name(o->schedule), (long long)t->sched.warmup_steps, t->n_train,
                t->use_lora ? " (LoRA)" : "");
    double t_run = ta_now(), tokens_start = t->st.tokens_seen, last_loss = NAN;
    int64_t first_step = t->st.step;
    int interrupted = 0;
    while (t->st.step < t->total_steps) {
        if ((rc = ta_trainer_step(t, err))) break;
        json_t *row = t->last;
        json_object_del(row, "step_s");
        json_object_del(row, "tokens");
        last_loss = json_real_value(json_object_get(row, "loss"));
        double epoch = json_real_value(json_object_get(row, "epoch"));
        double lr = json_real_value(json_object_get(row, "learning_rate"));
        int do_eval = t->have_eval && ((o->eval_every && t->st.step % (int64_t)o->eval_every == 0) ||
                                       t->st.step == t->total_steps);
        if (do_eval && (rc = evaluate(t, row, err))) break;
        if (o->log_every && (t->st.step % (int64_t)o->log_every == 0 || t->st.step == t->total_steps || do_eval) &&
            (rc = write_metrics(t, row, err)))
            break;
        double el = ta_now() - t_run;
        char extra[160];
        snprintf(extra, sizeof extra, "epoch %.2f loss %.4f lr %.2e %.0f tok/s", epoch, last_loss, lr,
                 el > 0 ? (t->st.tokens_seen - tokens_start) / el : 0);
        if (tty) ta_progress_update(&prog, (size_t)t->st.step, extra);
        else if (log && o->log_every && t->st.step % (int64_t)o->log_every == 0) {
            double per = el / (double)(t->st.step - first_step);
            fprintf(log, "step %lld/%lld %s ETA %.0fs\n", (long long)t->st.step, (long long)t->total_steps, extra,
                    per * (double)(t->total_steps - t->st.step));
        }
        int stop = o->stop && *o->stop;
        if ((o->save_every && t->st.step % (int64_t)o->save_every == 0) || stop) {
            char dir[4200];
            if ((rc = save_checkpoint(t, dir, sizeof dir, err))) break;
            if (stop) {
                if (tty) ta_progress_finish(&prog), fputc('\n', log);
                if (log) fprintf(log, "interrupted at step %lld: checkpoint saved to %s (continue with --resume)\n",
                                 (long long)t->st.step, dir);
                interrupted = 1;
                break;
            }
        }
    }
    if (tty && !interrupted) {
        ta_progress_finish(&prog);
        fputc('\n', log);
    }
    if (rc) return rc;
    if (interrupted) return ta_error_set(err, TA_EINTERRUPTED, "interrupted; checkpoint saved in '%s'", t->out_dir);
    if ((rc = save_final(t, err))) return rc;
    if (log) {
        double el = ta_now() - t_run;
        double tok = t->st.tokens_seen - tokens_start;
        fprintf(log, "done: %lld steps in %.1fs (%.0f tokens/s), final loss %.6f; model written to %s (metrics.jsonl",
                (long long)t->st.step, el, el > 0 ? tok / el : 0, last_loss, t->out_dir);
        if (t->use_lora) fprintf(log, ", adapter_model.safetensors");
        fprintf(log, ")\n");
        const ta_dataset_stats *s = &t->train.stats;
        fprintf(log, "data: %zu examples used, %zu bad lines skipped, %zu truncated (%zu tokens lost), %zu dropped by truncation\n",
                t->train.n, s->bad, s->truncated, s->tokens_lost, s->skipped_truncated);
    }
    return TA_OK;
}
