#include <stdlib.h>

#include "core/file.h"
#include "harness.h"
#include "train/checkpoint.h"

TEST(test_roundtrip_keep_and_latest) {
    char out[512];
    snprintf(out, sizeof out, "%s/ckpt_test", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp");
    ta_error e = {0};
    ta_remove_tree(out, &e);
    CHECK_OK(ta_mkdir_p(out, &e), e);
    ta_param_info t[2] = {{"a.weight", 2, {2, 3}, 0, 6}, {"b.bias", 1, {4, 0}, 6, 4}};
    float m[10], v[10], m2[10], v2[10];
    for (int i = 0; i < 10; i++) { m[i] = 0.1f * (float)i - 0.3f; v[i] = 1e-9f * (float)(i + 1); }
    ta_train_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.kind, sizeof st.kind, "dpo");
    st.adam_step = 5;
    st.epoch = 1;
    st.pos = 3;
    ta_rng_seed(&st.rng, 99);
    st.seed = 0xfedcba9876543210ull;
    st.batch_size = 2;
    st.grad_accum = 3;
    st.n_examples = 17;
    st.total_steps = 40;
    st.tokens_seen = 12345;
    char tmp[4200], fin[4200];
    for (int64_t step = 2; step <= 8; step += 2) {
        st.step = step;
        CHECK_OK(ta_checkpoint_begin(out, step, tmp, sizeof tmp, &e), e);
        CHECK_OK(ta_checkpoint_write_state(tmp, &st, t, 2, m, v, &e), e);
        CHECK_OK(ta_checkpoint_commit(out, tmp, step, 2, fin, sizeof fin, &e), e);
    }
    CHECK(!ta_dir_exists(tmp));
    char p[4300];
    snprintf(p, sizeof p, "%s/checkpoint-4", out);
    CHECK(!ta_dir_exists(p)); /* --keep 2 */
    snprintf(p, sizeof p, "%s/checkpoint-6", out);
    CHECK(ta_dir_exists(p));
    char latest[4200];
    CHECK_OK(ta_checkpoint_latest(out, latest, sizeof latest, &e), e);
    CHECK(!strcmp(latest, fin) && strstr(latest, "checkpoint-8"));
    ta_train_state r;
    CHECK_OK(ta_checkpoint_read_state(latest, &r, t, 2, m2, v2, &e), e);
    CHECK(!memcmp(m, m2, sizeof m) && !memcmp(v, v2, sizeof v));
    CHECK(r.step == 8 && r.adam_step == 5 && r.epoch == 1 && r.pos == 3 && r.seed == st.seed);
    CHECK(!memcmp(&r.rng, &st.rng, sizeof r.rng));
    CHECK(ta_checkpoint_check_compatible(&r, &st, &e) == TA_OK);
    st.grad_accum = 4;
    CHECK(ta_checkpoint_check_compatible(&r, &st, &e) == TA_EINVAL);
    CHECK_MSG(strstr(e.msg, "--grad-accum was 3") != NULL, "%s", e.msg);
    /* re-saving the same step replaces it */
    st.step = 8;
    CHECK_OK(ta_checkpoint_begin(out, 8, tmp, sizeof tmp, &e), e);
    CHECK_OK(ta_checkpoint_write_state(tmp, &st, t, 2, m, v, &e), e);
    CHECK_OK(ta_checkpoint_commit(out, tmp, 8, 0, NULL, 0, &e), e);
    /* a missing moment tensor is named */
    ta_param_info t3[3] = {t[0], t[1], {"c.weight", 1, {1, 0}, 9, 1}};
    CHECK(ta_checkpoint_read_state(latest, &r, t3, 3, m2, v2, &e) == TA_ENOTFOUND);
    CHECK_MSG(strstr(e.msg, "exp_avg.c.weight") != NULL, "%s", e.msg);
    ta_remove_tree(out, &e);
    CHECK(ta_checkpoint_latest(out, latest, sizeof latest, &e) != TA_OK);
}

int main(void) {
    RUN(test_roundtrip_keep_and_latest);
    return TEST_END();
}
