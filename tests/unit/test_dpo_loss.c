/* Unit tests of the preference losses. With `--eval FILE.json` this program
 * is also the C side of tests/oracle/test_dpo_loss.py: it reads
 * {"params": {...}, "chosen": [...], ...}, prints {"loss":..,"d_chosen":[..],..}. */
#include <jansson.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/rng.h"
#include "harness.h"
#include "train/dpo_loss.h"

static const ta_dpo_loss_type all_types[] = {TA_DPO_SIGMOID, TA_DPO_IPO,   TA_DPO_HINGE,
                                             TA_DPO_ROBUST,  TA_DPO_SIMPO, TA_DPO_ORPO};

TEST(test_first_step_is_ln2) {
    double pc[3] = {-12.5, -3.0, -40.25}, pr[3] = {-11.0, -7.5, -39.0};
    size_t lc[3] = {5, 2, 17}, lr[3] = {4, 6, 15};
    ta_dpo_batch b = {3, pc, pr, pc, pr, lc, lr};
    ta_dpo_params p;
    ta_dpo_params_default(&p);
    double loss, dc[3], dr[3];
    ta_dpo_stats st = {0};
    ta_error e = {0};
    CHECK_OK(ta_dpo_loss(&p, &b, 3, 24, &loss, dc, dr, &st, &e), e);
    CHECK_NEAR(loss, log(2.0), 1e-12);
    CHECK_NEAR(dc[0], -p.beta * 0.5 / 3, 1e-15);
    CHECK_NEAR(dr[0], p.beta * 0.5 / 3, 1e-15);
    CHECK_NEAR(st.reward_chosen, 0, 0);
    CHECK_NEAR(st.accuracy, 0, 0); /* strict: ties do not count, as TRL's > */
}

/* Central finite differences of the loss against the analytic derivative. */
TEST(test_gradients_match_finite_differences) {
    ta_rng r;
    ta_rng_seed(&r, 7);
    enum { N = 4 };
    double pc[N], pr[N], rc[N], rr[N];
    size_t lc[N], lr[N];
    for (int i = 0; i < N; i++) {
        lc[i] = 1 + ta_rng_below(&r, 20);
        lr[i] = 1 + ta_rng_below(&r, 20);
        pc[i] = -(double)lc[i] * (0.5 + 2 * ta_rng_double(&r));
        pr[i] = -(double)lr[i] * (0.5 + 2 * ta_rng_double(&r));
        rc[i] = pc[i] + ta_rng_normal(&r);
        rr[i] = pr[i] + ta_rng_normal(&r);
    }
    for (size_t t = 0; t < sizeof all_types / sizeof *all_types; t++) {
        ta_dpo_params p;
        ta_dpo_params_default(&p);
        p.type = all_types[t];
        p.rpo_alpha = t % 2 ? 0.5 : 0;
        if (p.type == TA_DPO_SIGMOID || p.type == TA_DPO_ROBUST) p.label_smoothing = 0.1;
        if (p.type == TA_DPO_SIMPO) p.beta = 2.0;
        ta_dpo_batch b = {N, pc, pr, rc, rr, lc, lr};
        double loss, dc[N], dr[N];
        ta_error e = {0};
        CHECK_OK(ta_dpo_loss(&p, &b, 8, 50, &loss, dc, dr, NULL, &e), e);
        for (int i = 0; i < N; i++) {
            for (int side = 0; side < 2; side++) {
                double *x = side ? pr : pc, h = 1e-5, lp, lm, tmp[N], tmp2[N];
                double keep = x[i];
                x[i] = keep + h;
                ta_dpo_loss(&p, &b, 8, 50, &lp, tmp, tmp2, NULL, &e);
                x[i] = keep - h;
                ta_dpo_loss(&p, &b, 8, 50, &lm, tmp, tmp2, NULL, &e);
                x[i] = keep;
                double fd = (lp - lm) / (2 * h), an = side ? dr[i] : dc[i];
                CHECK_MSG(fabs(fd - an) <= 1e-7 + 1e-5 * fabs(an), "%s pair %d side %d: fd %.9g analytic %.9g",
                          ta_dpo_loss_name(p.type), i, side, fd, an);
            }
        }
    }
}

/* Two micro-batches with the step's normalisers add up to the whole batch. */
TEST(test_split_adds_up) {
    double pc[4] = {-3, -4, -5, -6}, pr[4] = {-3.5, -3, -8, -2}, rc[4] = {-3.1, -4, -5.5, -6}, rr[4] = {-3, -3, -8, -2.5};
    size_t lc[4] = {2, 3, 4, 5}, lr[4] = {3, 2, 6, 1};
    for (size_t t = 0; t < sizeof all_types / sizeof *all_types; t++) {
        ta_dpo_params p;
        ta_dpo_params_default(&p);
        p.type = all_types[t];
        p.rpo_alpha = 1.0;
        ta_error e = {0};
        double whole, dcw[4], drw[4], a, b2, dc[4], dr[4];
        ta_dpo_batch bw = {4, pc, pr, rc, rr, lc, lr};
        ta_dpo_batch b1 = {2, pc, pr, rc, rr, lc, lr}, bb = {2, pc + 2, pr + 2, rc + 2, rr + 2, lc + 2, lr + 2};
        CHECK_OK(ta_dpo_loss(&p, &bw, 4, 14, &whole, dcw, drw, NULL, &e), e);
        CHECK_OK(ta_dpo_loss(&p, &b1, 4, 14, &a, dc, dr, NULL, &e), e);
        CHECK_OK(ta_dpo_loss(&p, &bb, 4, 14, &b2, dc + 2, dr + 2, NULL, &e), e);
        CHECK_NEAR(a + b2, whole, 1e-12);
        for (int i = 0; i < 4; i++) CHECK_NEAR(dc[i], dcw[i], 1e-15);
    }
}

TEST(test_bad_inputs) {
    double pc[1] = {-1}, pr[1] = {NAN};
    size_t lc[1] = {1}, lr[1] = {0};
    ta_dpo_params p;
    ta_dpo_params_default(&p);
    ta_error e = {0};
    double loss = 42, dc[1] = {7}, dr[1] = {7};
    ta_dpo_batch b = {1, pc, pr, pc, pr, lc, lr};
    CHECK(ta_dpo_loss(&p, &b, 1, 1, &loss, dc, dr, NULL, &e) == TA_EINVAL);
    CHECK(loss == 42 && dc[0] == 7);
    ta_dpo_batch b2 = {1, pc, pc, NULL, NULL, lc, lc};
    CHECK(ta_dpo_loss(&p, &b2, 1, 1, &loss, dc, dr, NULL, &e) == TA_EINVAL);
    CHECK(strstr(e.msg, "reference") != NULL);
    p.label_smoothing = 0.5;
    CHECK(ta_dpo_params_validate(&p, &e) == TA_EINVAL);
    CHECK(strstr(e.msg, "--label-smoothing") != NULL);
    ta_dpo_loss_type t;
    CHECK(ta_dpo_loss_parse("orpo", &t) == 0 && t == TA_DPO_ORPO);
    CHECK(ta_dpo_loss_parse("kto", &t) == -1);
}

static double *read_arr(json_t *j, const char *k, size_t n) {
    double *v = calloc(n ? n : 1, sizeof *v);
    json_t *a = json_object_get(j, k);
    for (size_t i = 0; i < n; i++) v[i] = json_number_value(json_array_get(a, i));
    return v;
}

static int eval_mode(const char *path) {
    json_t *j;
    ta_error e = {0};
    if (ta_json_load_file(path, &j, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
    json_t *pj = json_object_get(j, "params");
    ta_dpo_params p;
    ta_dpo_params_default(&p);
    if (ta_dpo_loss_parse(json_string_value(json_object_get(pj, "loss")), &p.type)) return 1;
    p.beta = json_number_value(json_object_get(pj, "beta"));
    p.label_smoothing = json_number_value(json_object_get(pj, "label_smoothing"));
    p.rpo_alpha = json_number_value(json_object_get(pj, "rpo_alpha"));
    p.simpo_gamma = json_number_value(json_object_get(pj, "simpo_gamma"));
    p.orpo_lambda = json_number_value(json_object_get(pj, "orpo_lambda"));
    size_t n = json_array_size(json_object_get(j, "chosen"));
    double *pc = read_arr(j, "chosen", n), *pr = read_arr(j, "rejected", n);
    double *rc = read_arr(j, "ref_chosen", n), *rr = read_arr(j, "ref_rejected", n);
    double *lcd = read_arr(j, "chosen_len", n), *lrd = read_arr(j, "rejected_len", n);
    size_t *lc = calloc(n, sizeof *lc), *lr = calloc(n, sizeof *lr);
    double ntok = 0;
    for (size_t i = 0; i < n; i++) { lc[i] = (size_t)lcd[i]; lr[i] = (size_t)lrd[i]; ntok += lcd[i]; }
    ta_dpo_batch b = {n, pc, pr, rc, rr, lc, lr};
    double loss, *dc = calloc(n, sizeof *dc), *dr = calloc(n, sizeof *dr);
    ta_dpo_stats st = {0};
    int rc_ = ta_dpo_loss(&p, &b, (double)n, ntok, &loss, dc, dr, &st, &e);
    if (rc_) { fprintf(stderr, "%s\n", e.msg); return 1; }
    printf("{\"loss\": %.17g, \"rewards_chosen\": %.17g, \"rewards_rejected\": %.17g, \"accuracies\": %.17g, "
           "\"margins\": %.17g, \"logps_chosen\": %.17g, \"logps_rejected\": %.17g, \"d_chosen\": [",
           loss, st.reward_chosen / n, st.reward_rejected / n, st.accuracy / n, st.margin / n, st.logp_chosen / n,
           st.logp_rejected / n);
    for (size_t i = 0; i < n; i++) printf("%s%.17g", i ? ", " : "", dc[i]);
    printf("], \"d_rejected\": [");
    for (size_t i = 0; i < n; i++) printf("%s%.17g", i ? ", " : "", dr[i]);
    printf("]}\n");
    free(pc); free(pr); free(rc); free(rr); free(lcd); free(lrd); free(lc); free(lr); free(dc); free(dr);
    json_decref(j);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--eval")) return eval_mode(argv[2]);
    RUN(test_first_step_is_ln2);
    RUN(test_gradients_match_finite_differences);
    RUN(test_split_adds_up);
    RUN(test_bad_inputs);
    return TEST_END();
}
