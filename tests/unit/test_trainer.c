/* The trainers on a tiny random model with the byte stand-in encoder:
 * first DPO loss = ln 2, gradient accumulation == big batch, bit-exact resume
 * (full and LoRA), --keep, an end-to-end DPO run that learns its pairs.
 *
 * With `--dump SPEC.json OUT.safetensors` it is the C side of
 * tests/oracle/test_train.py: one step's batch, loss and trainable gradient. */
#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "byte_encoder.h"
#include "core/file.h"
#include "core/json.h"
#include "harness.h"
#include "model/safetensors.h"
#include "train/adamw.h"
#include "train/trainer.h"

static char TMP[512];

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", TMP, name); }

static int make_model(const char *name, uint64_t seed, char *dir, size_t cap) {
    ta_error e = {0};
    ta_config c;
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%s/tests/data/configs/tiny-llama-gqa.json", getenv("TA_ROOT") ? getenv("TA_ROOT") : ".");
    if (ta_config_load(&c, cfg, &e)) { fprintf(stderr, "%s\n", e.msg); return -1; }
    ta_model m;
    if (ta_model_create(&m, &c, &e)) return -1;
    ta_model_init_random(&m, seed, 0.02f);
    path_in(dir, cap, name);
    int rc = ta_model_save(&m, dir, TA_DTYPE_F32, NULL, &e);
    ta_model_release(&m);
    return rc;
}

static const char *PREFS =
    "{\"prompt\":\"add milk to my list\",\"chosen\":\"ok, added milk\",\"rejected\":\"no\"}\n"
    "{\"prompt\":\"what is due today?\",\"chosen\":\"two tasks: rent, gym\",\"rejected\":\"whatever\"}\n"
    "{\"prompt\":[{\"role\":\"user\",\"content\":\"track my ex\"}],\"chosen\":[{\"role\":\"assistant\",\"content\":\"I can't help track someone.\"}],"
    "\"rejected\":[{\"role\":\"assistant\",\"content\":\"sure, creating a task\"}]}\n"
    "{\"prompt\":\"remind me at 5\",\"chosen\":\"reminder set for 5pm\",\"rejected\":\"set\"}\n";

static const char *SFT =
    "{\"messages\":[{\"role\":\"user\",\"content\":\"add eggs\"},{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":"
    "[{\"type\":\"function\",\"function\":{\"name\":\"create_task\",\"arguments\":{\"title\":\"eggs\"}}}]},"
    "{\"role\":\"tool\",\"content\":\"{\\\"id\\\":1}\"},{\"role\":\"assistant\",\"content\":\"added eggs\"}]}\n"
    "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello!\"}]}\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"list tasks\"},{\"role\":\"assistant\",\"content\":\"you have none\"}]}\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"delete all\"},{\"role\":\"assistant\",\"content\":\"which ones?\"}]}\n";

static char MODEL[1024], MODEL2[1024], PREF_PATH[1024], SFT_PATH[1024];

static void base_opts(ta_train_opts *o, ta_data_kind kind, const char *out) {
    static char outp[4][1024];
    static int k;
    ta_train_opts_default(o, kind);
    o->model_dir = MODEL;
    o->data = kind == TA_DATA_PREF ? PREF_PATH : SFT_PATH;
    path_in(outp[k & 3], sizeof outp[0], out);
    o->out_dir = outp[k++ & 3];
    o->threads = 1;
    o->lr = 1e-3;
}

/* Clipping fused into AdamW (what the trainer runs) equals clip_grad_norm_
 * then the step, bit for bit, with clipping active and inactive. */
TEST(test_fused_clip_equals_clip_then_step) {
    enum { N = 1000 };
    ta_adamw_range r = {0, N, 1};
    ta_adamw_hparams hp = ta_adamw_defaults();
    for (int active = 0; active < 2; active++) {
        ta_adamw a, b;
        ta_error e = {0};
        CHECK_OK(ta_adamw_init_ranges(&a, N, &r, 1, &hp, &e), e);
        CHECK_OK(ta_adamw_init_ranges(&b, N, &r, 1, &hp, &e), e);
        float pa[N], pb[N], g[N], g2[N];
        for (int i = 0; i < N; i++) pa[i] = pb[i] = 0.01f * sinf((float)i);
        double max_norm = active ? 0.5 : 1e9;
        int clipped = 0;
        for (int step = 0; step < 3; step++) {
            for (int i = 0; i < N; i++) g[i] = g2[i] = 0.1f * cosf((float)(i * (step + 2)));
            double na = ta_clip_grad_norm(g, N, max_norm);
            ta_adamw_step(&a, pa, g, 1e-2f);
            double nb = ta_grad_norm(g2, N);
            float c = ta_clip_coef(nb, max_norm);
            clipped |= c < 1.0f;
            ta_adamw_step_scaled(&b, pb, g2, 1e-2f, c);
            CHECK(na == nb);
        }
        CHECK(clipped == active);
        CHECK_MSG(!memcmp(pa, pb, sizeof pa), "fused clip differs (clipping %s)", active ? "on" : "off");
        ta_adamw_release(&a), ta_adamw_release(&b);
    }
}

TEST(test_first_dpo_loss_is_ln2) {
    ta_train_opts o;
    base_opts(&o, TA_DATA_PREF, "ln2");
    o.batch_size = 4;
    ta_trainer *t;
    ta_error e = {0};
    CHECK_OK(ta_trainer_open(&t, &o, &ENC, &e), e);
    if (!t) return;
    size_t idx[4] = {0, 1, 2, 3};
    double loss;
    CHECK_OK(ta_trainer_step_grad(t, idx, 4, &loss, &e), e);
    CHECK_NEAR(loss, log(2.0), 1e-6);
    ta_trainer_close(t);
}

/* batch 4 with no accumulation on one thread vs batch bs x accum on threads
 * (threads > 1 with bs >= threads: data-parallel workers, each its share). */
static void accum_case(ta_data_kind kind, int lora, size_t bs, size_t accum, int threads) {
    ta_train_opts a, b;
    base_opts(&a, kind, "acc_a");
    base_opts(&b, kind, "acc_b");
    a.batch_size = 4;
    b.batch_size = bs;
    b.grad_accum = accum;
    b.threads = threads;
    a.dpo.rpo_alpha = b.dpo.rpo_alpha = 0.5; /* the token-normalised NLL term too */
    if (kind == TA_DATA_PREF) a.ref_model = b.ref_model = MODEL2;
    if (lora) a.lora.r = b.lora.r = 4;
    ta_trainer *ta, *tb;
    ta_error e = {0};
    CHECK_OK(ta_trainer_open(&ta, &a, &ENC, &e), e);
    CHECK_OK(ta_trainer_open(&tb, &b, &ENC, &e), e);
    if (lora) { /* B != 0 so dA is not trivially 0 */
        size_t n;
        float *pa = ta_trainer_params(ta, &n), *pb = ta_trainer_params(tb, &n);
        for (size_t i = 0; i < n; i++) pa[i] = pb[i] = 0.05f * sinf((float)i);
        ta_lora_merge(ta_trainer_lora(ta));
        ta_lora_merge(ta_trainer_lora(tb));
    }
    size_t idx[4] = {3, 0, 2, 1};
    double la, lb;
    CHECK_OK(ta_trainer_step_grad(ta, idx, 4, &la, &e), e);
    CHECK_OK(ta_trainer_step_grad(tb, idx, 4, &lb, &e), e);
    CHECK_NEAR(la, lb, 1e-6 * fabs(la));
    size_t n;
    const float *ga = ta_trainer_grad(ta, &n), *gb = ta_trainer_grad(tb, &n);
    double maxg = 0, maxd = 0;
    for (size_t i = 0; i < n; i++) {
        maxg = fmax(maxg, fabs(ga[i]));
        maxd = fmax(maxd, fabs(ga[i] - gb[i]));
    }
    CHECK_MSG(maxg > 0 && maxd <= 1e-5 * maxg, "kind %d lora %d bs %zu x %zu threads %d: max |diff| %g, max |g| %g", kind,
              lora, bs, accum, threads, maxd, maxg);
    ta_trainer_close(ta);
    ta_trainer_close(tb);
}

TEST(test_grad_accumulation_equals_big_batch) {
    accum_case(TA_DATA_SFT, 0, 1, 4, 1);
    accum_case(TA_DATA_PREF, 0, 1, 4, 1);
    accum_case(TA_DATA_PREF, 1, 1, 4, 1);
}

/* Data-parallel workers (2 and 3 threads: even and uneven shares of 4) give
 * the one-thread gradient. */
TEST(test_data_parallel_equals_one_thread) {
    for (int th = 2; th <= 3; th++) {
        accum_case(TA_DATA_SFT, 0, 4, 1, th);
        accum_case(TA_DATA_PREF, 0, 4, 1, th);
        accum_case(TA_DATA_PREF, 1, 4, 1, th);
        accum_case(TA_DATA_SFT, 0, 2, 2, th); /* accumulation and workers together */
    }
}

static int same_file(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    ta_error e;
    if (ta_file_read_all(a, 1 << 28, &x, &nx, &e)) return 0;
    if (ta_file_read_all(b, 1 << 28, &y, &ny, &e)) { free(x); return 0; }
    int same = nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return same;
}

/* 6 steps straight == 3 steps, stop, resume for 3 more: identical bytes. */
static void resume_case(ta_data_kind kind, int lora, const char *tag, size_t bs, int threads) {
    ta_train_opts a, b;
    char na[64], nb[64];
    snprintf(na, sizeof na, "res_a_%s", tag);
    snprintf(nb, sizeof nb, "res_b_%s", tag);
    base_opts(&a, kind, na);
    base_opts(&b, kind, nb);
    a.batch_size = b.batch_size = bs;
    a.threads = b.threads = threads;
    a.grad_accum = b.grad_accum = 1;
    a.max_steps = b.max_steps = 6; /* 4 examples: crosses an epoch boundary */
    a.warmup_ratio = b.warmup_ratio = 0.2;
    a.schedule = b.schedule = TA_SCHED_COSINE;
    a.weight_decay = b.weight_decay = 0.01;
    a.save_every = 3;
    a.keep = 1;
    if (lora) a.lora.r = b.lora.r = 2;
    ta_trainer *t;
    ta_error e = {0};
    CHECK_OK(ta_trainer_open(&t, &a, &ENC, &e), e);
    CHECK_OK(ta_trainer_run(t, &e), e);
    ta_trainer_close(t);
    char ck[1100], ck6[1100];
    snprintf(ck, sizeof ck, "%s/checkpoint-3", a.out_dir);
    snprintf(ck6, sizeof ck6, "%s/checkpoint-6", a.out_dir);
    CHECK(!ta_dir_exists(ck) && ta_dir_exists(ck6)); /* --keep 1 pruned step 3 */
    /* run a again only to step 3 by resuming nothing: re-create checkpoint-3 with save_every 3, max 6, keep 0 */
    a.keep = 0;
    CHECK_OK(ta_trainer_open(&t, &a, &ENC, &e), e);
    CHECK_OK(ta_trainer_run(t, &e), e);
    ta_trainer_close(t);
    CHECK(ta_dir_exists(ck));
    b.resume = ck;
    CHECK_OK(ta_trainer_open(&t, &b, &ENC, &e), e);
    CHECK_OK(ta_trainer_run(t, &e), e);
    ta_trainer_close(t);
    char fa[1100], fb[1100];
    const char *file = lora ? "adapter_model.safetensors" : "model.safetensors";
    snprintf(fa, sizeof fa, "%s/%s", a.out_dir, file);
    snprintf(fb, sizeof fb, "%s/%s", b.out_dir, file);
    CHECK_MSG(same_file(fa, fb), "%s: resumed weights differ", tag);
    /* a different seed must give different weights (the check has teeth) */
    b.resume = NULL;
    b.seed = 7;
    CHECK_OK(ta_trainer_open(&t, &b, &ENC, &e), e);
    CHECK_OK(ta_trainer_run(t, &e), e);
    ta_trainer_close(t);
    CHECK(!same_file(fa, fb));
    /* resuming with another batch size is refused, naming the option */
    b.resume = ck;
    b.seed = 42;
    b.batch_size = bs + 1;
    CHECK(ta_trainer_open(&t, &b, &ENC, &e) == TA_EINVAL);
    CHECK_MSG(strstr(e.msg, "--batch-size") != NULL, "%s", e.msg);
}

TEST(test_resume_is_bit_exact) {
    resume_case(TA_DATA_PREF, 0, "dpo", 1, 1);
    resume_case(TA_DATA_PREF, 1, "dpo_lora", 1, 1);
    resume_case(TA_DATA_SFT, 0, "sft", 1, 1);
    resume_case(TA_DATA_SFT, 0, "sft_dp", 2, 2); /* two data-parallel workers */
    resume_case(TA_DATA_PREF, 0, "dpo_dp", 3, 2); /* uneven shares */
}

TEST(test_dpo_learns_the_pairs) {
    ta_train_opts o;
    base_opts(&o, TA_DATA_PREF, "e2e");
    o.batch_size = 4;
    o.max_steps = 30;
    o.lr = 5e-3;
    o.schedule = TA_SCHED_CONSTANT;
    o.eval = PREF_PATH;
    ta_trainer *t;
    ta_error e = {0};
    CHECK_OK(ta_trainer_open(&t, &o, &ENC, &e), e);
    if (!t) return;
    CHECK_OK(ta_trainer_run(t, &e), e);
    const json_t *m = ta_trainer_last_metrics(t);
    double acc = json_real_value(json_object_get(m, "eval_rewards/accuracies"));
    double margin = json_real_value(json_object_get(m, "eval_rewards/margins"));
    double loss = json_real_value(json_object_get(m, "eval_loss"));
    CHECK_MSG(acc == 1.0 && margin > 0 && loss < log(2.0), "accuracy %g margin %g loss %g", acc, margin, loss);
    ta_trainer_close(t);
    char p[1100];
    snprintf(p, sizeof p, "%s/metrics.jsonl", o.out_dir);
    char *txt;
    size_t n;
    CHECK_OK(ta_file_read_all(p, 1 << 20, &txt, &n, &e), e);
    CHECK(strstr(txt, "\"rewards/chosen\"") && strstr(txt, "\"logits/rejected\"") && strstr(txt, "\"learning_rate\""));
    free(txt);
    snprintf(p, sizeof p, "%s/config.json", o.out_dir);
    CHECK(ta_file_exists(p));
}

/* ---- oracle dump ------------------------------------------------------------- */

static int dump_mode(const char *spec_path, const char *out) {
    json_t *j;
    ta_error e = {0};
    if (ta_json_load_file(spec_path, &j, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    ta_train_opts o;
    const char *kind = json_string_value(json_object_get(j, "kind"));
    ta_train_opts_default(&o, !strcmp(kind, "dpo") ? TA_DATA_PREF : TA_DATA_SFT);
    o.model_dir = json_string_value(json_object_get(j, "model"));
    o.ref_model = json_string_value(json_object_get(j, "ref_model"));
    o.data = json_string_value(json_object_get(j, "data"));
    o.out_dir = json_string_value(json_object_get(j, "out_dir"));
    o.threads = 1;
    o.batch_size = (size_t)json_integer_value(json_object_get(j, "n"));
    const char *loss = json_string_value(json_object_get(j, "loss"));
    if (loss && ta_dpo_loss_parse(loss, &o.dpo.type)) return 1;
    json_t *v;
    if ((v = json_object_get(j, "beta"))) o.dpo.beta = json_number_value(v);
    if ((v = json_object_get(j, "label_smoothing"))) o.dpo.label_smoothing = json_number_value(v);
    if ((v = json_object_get(j, "rpo_alpha"))) o.dpo.rpo_alpha = json_number_value(v);
    if ((v = json_object_get(j, "simpo_gamma"))) o.dpo.simpo_gamma = json_number_value(v);
    if ((v = json_object_get(j, "orpo_lambda"))) o.dpo.orpo_lambda = json_number_value(v);
    if ((v = json_object_get(j, "lora_r"))) o.lora.r = (size_t)json_integer_value(v);
    if ((v = json_object_get(j, "lora_alpha"))) o.lora.alpha = json_number_value(v);
    if ((v = json_object_get(j, "lora_targets")) && ta_lora_parse_targets(json_string_value(v), &o.lora.targets, &e)) return 1;
    ta_trainer *t;
    if (ta_trainer_open(&t, &o, &ENC, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    size_t np;
    if (o.lora.r) { /* random B so the adapter is not a no-op */
        ta_lora *l = ta_trainer_lora(t);
        ta_rng r;
        ta_rng_seed(&r, 5);
        for (size_t i = 0; i < l->n_mods; i++)
            for (size_t k = 0; k < l->mods[i].out * o.lora.r; k++)
                l->slab[l->mods[i].b_off + k] = (float)(0.05 * ta_rng_normal(&r));
        ta_lora_merge(l);
    }
    size_t n = o.batch_size, idx[64];
    for (size_t i = 0; i < n; i++) idx[i] = i;
    double lossv;
    if (ta_trainer_step_grad(t, idx, n, &lossv, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    /* the batch as the model saw it (ids as floats: exact below 2^24) */
    const ta_batch *b = ta_trainer_fill_batch(t, idx, n, &e);
    size_t rows = b->B, T = b->T;
    float *tok = malloc(rows * T * sizeof *tok), *tgt = malloc(rows * T * sizeof *tgt), *len = malloc(rows * sizeof *len);
    for (size_t i = 0; i < rows * T; i++) { tok[i] = (float)b->tokens[i]; tgt[i] = (float)b->targets[i]; }
    for (size_t r = 0; r < rows; r++) len[r] = (float)b->lengths[r];
    size_t nt;
    const ta_param_info *tens = ta_trainer_tensors(t, &nt);
    const float *g = ta_trainer_grad(t, &np);
    float *params = ta_trainer_params(t, &np);
    float lossf = (float)lossv;
    ta_st_entry *ent = calloc(4 + 2 * nt, sizeof *ent);
    char (*names)[128] = calloc(2 * nt, sizeof *names);
    size_t k = 0;
    ent[k++] = (ta_st_entry){"batch.tokens", tok, 2, {rows, T}};
    ent[k++] = (ta_st_entry){"batch.targets", tgt, 2, {rows, T}};
    ent[k++] = (ta_st_entry){"batch.lengths", len, 1, {rows}};
    ent[k++] = (ta_st_entry){"loss", &lossf, 1, {1}};
    for (size_t i = 0; i < nt; i++) {
        snprintf(names[2 * i], sizeof names[0], "grad.%s", tens[i].name);
        ent[k++] = (ta_st_entry){names[2 * i], g + tens[i].offset, tens[i].ndim, {tens[i].shape[0], tens[i].shape[1]}};
        if (o.lora.r) {
            snprintf(names[2 * i + 1], sizeof names[0], "param.%s", tens[i].name);
            ent[k++] = (ta_st_entry){names[2 * i + 1], params + tens[i].offset, 2, {tens[i].shape[0], tens[i].shape[1]}};
        }
    }
    int rc = ta_safetensors_write(out, ent, k, TA_DTYPE_F32, &e);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    char *mj = ta_json_dumps(ta_trainer_last_metrics(t));
    printf("{\"loss\": %.17g, \"metrics\": %s}\n", lossv, mj);
    free(mj);
    free(tok), free(tgt), free(len), free(ent), free(names);
    ta_trainer_close(t);
    json_decref(j);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--dump")) return dump_mode(argv[2], argv[3]);
    snprintf(TMP, sizeof TMP, "%s/trainer_test", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp");
    ta_error e;
    ta_mkdir_p(TMP, &e);
    if (make_model("model", 1, MODEL, sizeof MODEL) || make_model("model2", 2, MODEL2, sizeof MODEL2)) return 1;
    path_in(PREF_PATH, sizeof PREF_PATH, "prefs.jsonl");
    path_in(SFT_PATH, sizeof SFT_PATH, "sft.jsonl");
    ta_file_write_atomic(PREF_PATH, PREFS, strlen(PREFS), &e);
    ta_file_write_atomic(SFT_PATH, SFT, strlen(SFT), &e);
    RUN(test_fused_clip_equals_clip_then_step);
    RUN(test_first_dpo_loss_is_ln2);
    RUN(test_grad_accumulation_equals_big_batch);
    RUN(test_data_parallel_equals_one_thread);
    RUN(test_resume_is_bit_exact);
    RUN(test_dpo_learns_the_pairs);
    return TEST_END();
}
