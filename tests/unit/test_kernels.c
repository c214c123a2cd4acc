/* Kernel tests: every backward against central finite differences of the
 * forward (float kernels, eps 1e-2 on O(1) inputs: truncation error ~1e-4,
 * roundoff ~1e-5, so the tolerance is 2e-3 relative to the largest gradient),
 * plus exact properties (rope is a rotation, attention with a cache offset
 * equals the tail of the full pass, llama3 inv_freq bands), causal-blocked
 * attention against a plain double reference, and the strided / overwrite
 * forms against the contiguous / accumulating ones. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "harness.h"
#include "kernels/attention.h"
#include "kernels/embed.h"
#include "kernels/fastmath.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "kernels/xent.h"

static unsigned long long rng_state = 88172645463325252ULL;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}
static float *rnd(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static float *zeros(size_t n) { return calloc(n, sizeof(float)); }
static double dotf(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}
static double maxabs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i]) > m ? fabs(a[i]) : m;
    return m;
}

/* The scalar loss L(params) = <r, f(params)> for a kernel under test. */
typedef double (*loss_fn)(void *ctx);

/* Checks grad (n) of L w.r.t. x (n) with central differences; returns the
 * worst error relative to max|grad|. */
static double fd_check(loss_fn f, void *ctx, float *x, const float *grad, size_t n) {
    const float eps = 1e-2f;
    double scale = maxabs(grad, n) + 1e-12, worst = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = f(ctx);
        x[i] = keep - eps;
        double lm = f(ctx);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        double e = fabs(num - grad[i]) / scale;
        worst = e > worst ? e : worst;
    }
    return worst;
}
#define FD_TOL 2e-3

/* ---- matmul ---- */
typedef struct { float *x, *w, *b, *y, *r; size_t N, IC, OC; } mm_ctx;
static double mm_loss(void *p) {
    mm_ctx *c = p;
    ta_matmul_forward(c->y, c->x, c->w, c->b, c->N, c->IC, c->OC);
    return dotf(c->y, c->r, c->N * c->OC);
}
TEST(matmul_forward_backward) {
    mm_ctx c = {.N = 5, .IC = 7, .OC = 4};
    c.x = rnd(c.N * c.IC), c.w = rnd(c.OC * c.IC), c.b = rnd(c.OC), c.y = zeros(c.N * c.OC), c.r = rnd(c.N * c.OC);
    mm_loss(&c);
    /* y[1][2] by hand */
    double y12 = c.b[2];
    for (size_t i = 0; i < c.IC; i++) y12 += (double)c.x[1 * c.IC + i] * c.w[2 * c.IC + i];
    CHECK_NEAR(c.y[1 * c.OC + 2], y12, 1e-5);
    float *dx = rnd(c.N * c.IC), *dw = zeros(c.OC * c.IC), *db = zeros(c.OC);
    ta_matmul_backward(dx, dw, db, c.r, c.x, c.w, c.N, c.IC, c.OC, 0, 1); /* dx overwritten */
    CHECK(fd_check(mm_loss, &c, c.x, dx, c.N * c.IC) < FD_TOL);
    CHECK(fd_check(mm_loss, &c, c.w, dw, c.OC * c.IC) < FD_TOL);
    CHECK(fd_check(mm_loss, &c, c.b, db, c.OC) < FD_TOL);
    /* accumulate: a second call doubles everything */
    float *dx2 = malloc(c.N * c.IC * sizeof(float));
    memcpy(dx2, dx, c.N * c.IC * sizeof(float));
    float w00 = dw[0], b0 = db[0];
    ta_matmul_backward(dx2, dw, db, c.r, c.x, c.w, c.N, c.IC, c.OC, 1, 1);
    CHECK_NEAR(dx2[3], 2 * dx[3], 1e-5);
    CHECK_NEAR(dw[0], 2 * w00, 1e-5);
    CHECK_NEAR(db[0], 2 * b0, 1e-5);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(dx), free(dx2), free(dw), free(db);
}

/* ---- rmsnorm ---- */
typedef struct { float *x, *w, *y, *r; size_t N, C; } rn_ctx;
static double rn_loss(void *p) {
    rn_ctx *c = p;
    ta_rmsnorm_forward(c->y, NULL, c->x, c->w, c->N, c->C, 1e-5f);
    return dotf(c->y, c->r, c->N * c->C);
}
TEST(rmsnorm_forward_backward) {
    rn_ctx c = {.N = 3, .C = 16};
    c.x = rnd(c.N * c.C), c.w = rnd(c.C), c.y = zeros(c.N * c.C), c.r = rnd(c.N * c.C);
    float *rstd = zeros(c.N);
    ta_rmsnorm_forward(c.y, rstd, c.x, c.w, c.N, c.C, 1e-5f);
    double ss = 0;
    for (size_t i = 0; i < c.C; i++) ss += (double)c.x[c.C + i] * c.x[c.C + i];
    CHECK_NEAR(rstd[1], 1.0 / sqrt(ss / c.C + 1e-5), 1e-5);
    CHECK_NEAR(c.y[c.C + 3], c.x[c.C + 3] * rstd[1] * c.w[3], 1e-6);
    float *dx = zeros(c.N * c.C), *dw = zeros(c.C);
    ta_rmsnorm_backward(dx, dw, c.r, c.x, c.w, rstd, c.N, c.C, 1);
    CHECK(fd_check(rn_loss, &c, c.x, dx, c.N * c.C) < FD_TOL);
    CHECK(fd_check(rn_loss, &c, c.w, dw, c.C) < FD_TOL);
    free(c.x), free(c.w), free(c.y), free(c.r), free(rstd), free(dx), free(dw);
}

/* ---- rope ---- */
TEST(rope_rotation_and_inv_freq) {
    ta_rope_params p = {.head_dim = 8, .theta = 10000.0};
    double inv[4];
    ta_rope_inv_freq(inv, &p);
    for (int i = 0; i < 4; i++) CHECK_NEAR(inv[i], pow(10000.0, -2.0 * i / 8), 1e-15);
    size_t T = 6, NH = 2, HD = 8, half = 4;
    float cs[6 * 4], sn[6 * 4];
    ta_rope_table(cs, sn, inv, HD, T);
    float *x = rnd(T * NH * HD), *x0 = malloc(T * NH * HD * sizeof(float)), *y = rnd(T * NH * HD);
    memcpy(x0, x, T * NH * HD * sizeof(float));
    ta_rope_forward(x, T, NH * HD, NH, HD, NULL, cs, sn);
    /* row 3, head 1, pair i = 1 by the HF formula */
    size_t o = 3 * NH * HD + HD;
    double a = 3 * inv[1];
    CHECK_NEAR(x[o + 1], x0[o + 1] * cos(a) - x0[o + 1 + half] * sin(a), 1e-6);
    CHECK_NEAR(x[o + 1 + half], x0[o + 1 + half] * cos(a) + x0[o + 1] * sin(a), 1e-6);
    /* adjoint: <R x0, y> == <x0, R^T y> */
    double lhs = dotf(x, y, T * NH * HD);
    ta_rope_backward(y, T, NH * HD, NH, HD, NULL, cs, sn);
    CHECK_NEAR(lhs, dotf(x0, y, T * NH * HD), 1e-5);
    /* explicit positions: a single row at position 4 equals row 4 of the pass */
    float one[16];
    memcpy(one, x0 + 4 * NH * HD, sizeof one);
    int32_t pos = 4;
    ta_rope_forward(one, 1, NH * HD, NH, HD, &pos, cs, sn);
    for (int i = 0; i < 16; i++) CHECK_NEAR(one[i], x[4 * NH * HD + i], 1e-7);
    free(x), free(x0), free(y);

    /* llama3: theta 500000, factor 8, low 1, high 4, orig 8192 (Llama 3.1) */
    ta_rope_params p3 = {.head_dim = 64, .theta = 500000.0, .llama3 = 1, .factor = 8, .low_freq_factor = 1,
                         .high_freq_factor = 4, .original_max_pos = 8192};
    double f3[32], f0[32];
    ta_rope_inv_freq(f3, &p3);
    p3.llama3 = 0;
    ta_rope_inv_freq(f0, &p3);
    for (int i = 0; i < 32; i++) {
        double wl = 2 * M_PI / f0[i];
        if (wl < 8192.0 / 4) CHECK_NEAR(f3[i], f0[i], 0);           /* high frequencies kept */
        else if (wl > 8192.0) CHECK_NEAR(f3[i], f0[i] / 8, 1e-20);  /* low ones divided */
        else {
            double s = (8192.0 / wl - 1) / 3;
            CHECK_NEAR(f3[i], (1 - s) * f0[i] / 8 + s * f0[i], 1e-15);
        }
    }
}

/* Helpers for the strided / overwrite checks below. */
static float *nans(size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}
static double maxdiff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i])); /* NaN -> fmax keeps m: checked apart */
    return m;
}
static int all_finite(const float *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}
/* ---- attention ---- */
typedef struct { float *q, *k, *v, *out, *att, *r; ta_attn_shape s; } at_ctx;
static double at_loss(void *p) {
    at_ctx *c = p;
    ta_attention_forward(c->out, c->att, c->q, c->k, c->v, &c->s);
    return dotf(c->out, c->r, c->s.Tq * c->s.out_stride);
}
TEST(attention_gqa_forward_backward) {
    size_t T = 5, NH = 4, NKV = 2, HD = 3;
    at_ctx c = {.s = {.Tq = T, .Tk = T, .q_pos0 = 0, .NH = NH, .NKV = NKV, .HD = HD, .q_stride = NH * HD,
                      .kv_stride = NKV * HD, .out_stride = NH * HD}};
    c.q = rnd(T * NH * HD), c.k = rnd(T * NKV * HD), c.v = rnd(T * NKV * HD);
    c.out = zeros(T * NH * HD), c.att = zeros(NH * T * T), c.r = rnd(T * NH * HD);
    at_loss(&c);
    /* row 0 attends only to key 0: out = v[0] of its group */
    for (size_t h = 0; h < NH; h++)
        for (size_t d = 0; d < HD; d++) CHECK_NEAR(c.out[h * HD + d], c.v[(h / 2) * HD + d], 1e-6);
    /* row 2, head 3 (kv group 1) by hand */
    {
        double sc[3], m = -1e30, sum = 0, o0 = 0;
        for (size_t j = 0; j < 3; j++) {
            sc[j] = dotf(c.q + 2 * NH * HD + 3 * HD, c.k + j * NKV * HD + HD, HD) / sqrt((double)HD);
            m = sc[j] > m ? sc[j] : m;
        }
        for (size_t j = 0; j < 3; j++) sum += exp(sc[j] - m);
        for (size_t j = 0; j < 3; j++) o0 += exp(sc[j] - m) / sum * c.v[j * NKV * HD + HD];
        CHECK_NEAR(c.out[2 * NH * HD + 3 * HD], o0, 1e-6);
    }
    float *dq = zeros(T * NH * HD), *dk = zeros(T * NKV * HD), *dv = zeros(T * NKV * HD), *datt = zeros(T * T);
    ta_attention_forward(c.out, c.att, c.q, c.k, c.v, &c.s);
    ta_attention_backward(dq, dk, dv, datt, c.r, c.att, c.q, c.k, c.v, &c.s);
    CHECK(fd_check(at_loss, &c, c.q, dq, T * NH * HD) < FD_TOL);
    CHECK(fd_check(at_loss, &c, c.k, dk, T * NKV * HD) < FD_TOL);
    CHECK(fd_check(at_loss, &c, c.v, dv, T * NKV * HD) < FD_TOL);

    /* KV-cache shape: the last 2 queries at q_pos0 = 3 against all 5 keys
     * reproduce rows 3..4 of the full pass */
    at_loss(&c);
    ta_attn_shape s2 = c.s;
    s2.Tq = 2, s2.q_pos0 = 3;
    float out2[2 * 12], att2[4 * 2 * 5];
    ta_attention_forward(out2, att2, c.q + 3 * NH * HD, c.k, c.v, &s2);
    for (size_t i = 0; i < 2 * NH * HD; i++) CHECK_NEAR(out2[i], c.out[3 * NH * HD + i], 1e-6);
    free(c.q), free(c.k), free(c.v), free(c.out), free(c.att), free(c.r), free(dq), free(dk), free(dv), free(datt);
}

/* Rows longer than the kernel's causal query block (64), in the fused q|k|v
 * layout (rows of (NH + 2 NKV) HD), against attention written plainly in
 * double; and a cache-offset pass over more than one block against the tail
 * of the full pass. Tolerance 1e-5 of the largest value (float vs double). */
TEST(attention_causal_blocks_against_reference) {
    size_t T = 150, NH = 4, NKV = 2, HD = 8, rep = 2, QKV = (NH + 2 * NKV) * HD, QD = NH * HD;
    float *qkv = rnd(T * QKV), *out = zeros(T * QD), *att = zeros(NH * T * T), *dout = rnd(T * QD);
    float *dqkv = nans(T * QKV), *datt = zeros(T * T);
    const float *q = qkv, *k = qkv + QD, *v = qkv + QD + NKV * HD;
    ta_attn_shape s = {.Tq = T, .Tk = T, .q_pos0 = 0, .NH = NH, .NKV = NKV, .HD = HD, .q_stride = QKV,
                       .kv_stride = QKV, .out_stride = QD};
    ta_attention_forward(out, att, q, k, v, &s);
    ta_attention_backward(dqkv, dqkv + QD, dqkv + QD + NKV * HD, datt, dout, att, q, k, v, &s);
    double *ro = calloc(T * QD, 8), *rd = calloc(T * QKV, 8), *P = calloc(T, 8), *dP = calloc(T, 8);
    double scale = 1.0 / sqrt((double)HD);
    for (size_t h = 0; h < NH; h++) {
        size_t g = h / rep;
        for (size_t i = 0; i < T; i++) {
            const float *qi = q + i * QKV + h * HD, *doi = dout + i * QD + h * HD;
            double m = -1e300, sum = 0, dot = 0;
            for (size_t j = 0; j <= i; j++) {
                P[j] = dotf(qi, k + j * QKV + g * HD, HD) * scale;
                m = P[j] > m ? P[j] : m;
            }
            for (size_t j = 0; j <= i; j++) sum += (P[j] = exp(P[j] - m));
            for (size_t j = 0; j <= i; j++) {
                P[j] /= sum;
                dP[j] = dotf(doi, v + j * QKV + g * HD, HD);
                dot += P[j] * dP[j];
                for (size_t d = 0; d < HD; d++) {
                    ro[i * QD + h * HD + d] += P[j] * v[j * QKV + g * HD + d];
                    rd[j * QKV + QD + NKV * HD + g * HD + d] += P[j] * doi[d]; /* dv */
                }
            }
            for (size_t j = 0; j <= i; j++) {
                double dS = P[j] * (dP[j] - dot) * scale;
                for (size_t d = 0; d < HD; d++) {
                    rd[i * QKV + h * HD + d] += dS * k[j * QKV + g * HD + d];       /* dq */
                    rd[j * QKV + QD + g * HD + d] += dS * qi[d];                    /* dk */
                }
            }
        }
    }
    double mo = 0, eo = 0, md = 0, ed = 0;
    for (size_t i = 0; i < T * QD; i++) mo = fmax(mo, fabs(ro[i])), eo = fmax(eo, fabs(out[i] - ro[i]));
    for (size_t i = 0; i < T * QKV; i++) md = fmax(md, fabs(rd[i])), ed = fmax(ed, fabs(dqkv[i] - rd[i]));
    CHECK(all_finite(dqkv, T * QKV));
    CHECK_MSG(eo <= 1e-5 * mo, "forward error %.3g of %.3g", eo, mo);
    CHECK_MSG(ed <= 1e-5 * md, "backward error %.3g of %.3g", ed, md);
    /* 90 queries at cache offset 60 (two blocks, the second partial) = rows 60.. of the full pass */
    ta_attn_shape s2 = s;
    s2.Tq = 90, s2.q_pos0 = 60;
    float *out2 = zeros(90 * QD), *att2 = zeros(NH * 90 * T);
    ta_attention_forward(out2, att2, q + 60 * QKV, k, v, &s2);
    CHECK(maxdiff(out2, out + 60 * QD, 90 * QD) < 1e-6);
    /* entries computed: blocks of 64 rows times the keys they see */
    CHECK(ta_attention_entries(&s) == 64 * (64 + 128) + 22 * 150);
    CHECK(ta_attention_entries(&s2) == 64 * 124 + 26 * 150);
    ta_attn_shape s256 = {.Tq = 256, .Tk = 256};
    CHECK(ta_attention_entries(&s256) == 40960); /* 0.625 * 256^2 */
    free(qkv), free(out), free(att), free(dout), free(dqkv), free(datt), free(ro), free(rd), free(P), free(dP);
    free(out2), free(att2);
}

/* ---- swiglu ---- */
typedef struct { float *g, *u, *y, *r; size_t n; } sw_ctx;
static double sw_loss(void *p) {
    sw_ctx *c = p;
    ta_swiglu_forward(c->y, c->g, c->u, 1, c->n, c->n);
    return dotf(c->y, c->r, c->n);
}
TEST(swiglu_forward_backward) {
    sw_ctx c = {.n = 40};
    c.g = rnd(c.n), c.u = rnd(c.n), c.y = zeros(c.n), c.r = rnd(c.n);
    for (size_t i = 0; i < c.n; i++) c.g[i] *= 4; /* cover the sigmoid's tails */
    sw_loss(&c);
    CHECK_NEAR(c.y[7], c.g[7] / (1 + exp(-c.g[7])) * c.u[7], 1e-6);
    float *dg = zeros(c.n), *du = zeros(c.n);
    ta_swiglu_backward(dg, du, c.r, c.g, c.u, 1, c.n, c.n);
    CHECK(fd_check(sw_loss, &c, c.g, dg, c.n) < FD_TOL);
    CHECK(fd_check(sw_loss, &c, c.u, du, c.n) < FD_TOL);
    free(c.g), free(c.u), free(c.y), free(c.r), free(dg), free(du);
}

/* The strided forms (rows ld apart: one part of a fused q|k|v or gate|up
 * buffer) against the contiguous ones, and overwrite (accumulate 0) against
 * adding into zeros, on a slab that starts as NaN (an overwrite must not read
 * it). Same BLAS calls on the same values: equal up to BLAS's own rounding. */
TEST(matmul_strided_and_overwrite) {
    size_t N = 6, IC = 5, OC = 7, ld = 11, o0 = 3; /* the part's columns [3, 10) of 11 */
    float *x = rnd(N * IC), *w = rnd(OC * IC), *b = rnd(OC), *y = zeros(N * OC), *ys = rnd(N * ld);
    float *keep = malloc(N * ld * sizeof(float));
    memcpy(keep, ys, N * ld * sizeof(float));
    ta_matmul_forward(y, x, w, b, N, IC, OC);
    ta_matmul_forward_ld(ys + o0, ld, x, w, b, N, IC, OC);
    int others_kept = 1;
    double d = 0;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < ld; j++) {
            if (j >= o0 && j < o0 + OC) d = fmax(d, fabs(ys[n * ld + j] - y[n * OC + j - o0]));
            else others_kept &= ys[n * ld + j] == keep[n * ld + j];
        }
    CHECK(others_kept);
    CHECK(d < 1e-6);
    /* backward from a strided dout equals the contiguous copy's */
    float *dout = malloc(N * OC * sizeof(float));
    for (size_t n = 0; n < N; n++) memcpy(dout + n * OC, ys + n * ld + o0, OC * sizeof(float));
    float *dx1 = nans(N * IC), *dx2 = nans(N * IC), *dw1 = zeros(OC * IC), *db1 = zeros(OC);
    float *dw2 = nans(OC * IC), *db2 = nans(OC);
    ta_matmul_backward(dx1, dw1, db1, dout, x, w, N, IC, OC, 0, 1); /* into zeros */
    ta_matmul_backward_input(dx2, ys + o0, ld, w, N, IC, OC, 0);
    ta_matmul_backward_weight(dw2, db2, ys + o0, ld, x, N, IC, OC, 0); /* overwrites the NaNs */
    CHECK(all_finite(dx2, N * IC) && all_finite(dw2, OC * IC) && all_finite(db2, OC));
    CHECK(maxdiff(dx1, dx2, N * IC) < 1e-6);
    CHECK(maxdiff(dw1, dw2, OC * IC) < 1e-6);
    CHECK(maxdiff(db1, db2, OC) < 1e-6);
    /* accumulate adds on top of what the overwrite left */
    ta_matmul_backward_weight(dw2, db2, ys + o0, ld, x, N, IC, OC, 1);
    CHECK_NEAR(dw2[4], 2 * dw1[4], 1e-6);
    CHECK_NEAR(db2[6], 2 * db1[6], 1e-6);
    /* no rows: an overwrite leaves zeros, an accumulation leaves the values */
    ta_matmul_backward_weight(dw2, db2, ys, ld, x, 0, IC, OC, 1);
    CHECK_NEAR(dw2[4], 2 * dw1[4], 1e-6);
    ta_matmul_backward_weight(dw2, db2, ys, ld, x, 0, IC, OC, 0);
    CHECK(dw2[4] == 0.0f && db2[6] == 0.0f && maxabs(dw2, OC * IC) == 0.0);
    /* column sums of the strided part */
    float cs[7];
    ta_colsum(cs, ys + o0, ld, N, OC, 0);
    double want = 0;
    for (size_t n = 0; n < N; n++) want += ys[n * ld + o0 + 2];
    CHECK_NEAR(cs[2], want, 1e-5);
    free(x), free(w), free(b), free(y), free(ys), free(keep), free(dout), free(dx1), free(dx2);
    free(dw1), free(db1), free(dw2), free(db2);
}

TEST(rmsnorm_weight_gradient_overwrite) {
    size_t N = 4, C = 70; /* two column blocks */
    float *x = rnd(N * C), *w = rnd(C), *d = rnd(N * C), *y = zeros(N * C), *rstd = zeros(N);
    ta_rmsnorm_forward(y, rstd, x, w, N, C, 1e-5f);
    float *dx1 = zeros(N * C), *dx2 = zeros(N * C), *dw1 = zeros(C), *dw2 = nans(C);
    ta_rmsnorm_backward(dx1, dw1, d, x, w, rstd, N, C, 1);
    ta_rmsnorm_backward(dx2, dw2, d, x, w, rstd, N, C, 0);
    CHECK(!memcmp(dx1, dx2, N * C * sizeof(float))); /* dx always adds */
    CHECK(all_finite(dw2, C) && maxdiff(dw1, dw2, C) == 0.0);
    free(x), free(w), free(d), free(y), free(rstd), free(dx1), free(dx2), free(dw1), free(dw2);
}

/* gate|up as the two halves of (N, 2F) rows equal separate contiguous buffers, bit for bit. */
TEST(swiglu_strided_halves) {
    size_t N = 3, F = 9, ld = 2 * F;
    float *gu = rnd(N * ld), *g = malloc(N * F * sizeof(float)), *u = malloc(N * F * sizeof(float));
    for (size_t i = 0; i < N * ld; i++) gu[i] *= 4;
    for (size_t n = 0; n < N; n++) {
        memcpy(g + n * F, gu + n * ld, F * sizeof(float));
        memcpy(u + n * F, gu + n * ld + F, F * sizeof(float));
    }
    float *h1 = zeros(N * F), *h2 = zeros(N * F), *d = rnd(N * F);
    ta_swiglu_forward(h1, g, u, N, F, F);
    ta_swiglu_forward(h2, gu, gu + F, N, F, ld);
    CHECK(!memcmp(h1, h2, N * F * sizeof(float)));
    float *dg = zeros(N * F), *du = zeros(N * F), *dgu = nans(N * ld);
    ta_swiglu_backward(dg, du, d, g, u, N, F, F);
    ta_swiglu_backward(dgu, dgu + F, d, gu, gu + F, N, F, ld);
    int same = 1;
    for (size_t n = 0; n < N; n++)
        for (size_t i = 0; i < F; i++)
            same &= dgu[n * ld + i] == dg[n * F + i] && dgu[n * ld + F + i] == du[n * F + i];
    CHECK(same);
    free(gu), free(g), free(u), free(h1), free(h2), free(d), free(dg), free(du), free(dgu);
}

/* ---- log-softmax gather ---- */
typedef struct { float *logits, *lp, *lse, *dlp; int32_t *tg; size_t N, V; } xe_ctx;
static double xe_loss(void *p) {
    xe_ctx *c = p;
    ta_logsoftmax_gather_forward(c->lp, c->lse, NULL, c->logits, c->tg, c->N, c->V);
    return dotf(c->lp, c->dlp, c->N);
}
TEST(logsoftmax_gather_forward_backward) {
    xe_ctx c = {.N = 4, .V = 11};
    c.logits = rnd(c.N * c.V), c.lp = zeros(c.N), c.lse = zeros(c.N), c.dlp = rnd(c.N);
    int32_t tg[4] = {3, -1, 10, 0};
    c.tg = tg;
    for (size_t i = 0; i < c.N * c.V; i++) c.logits[i] *= 3;
    float ml[4];
    ta_logsoftmax_gather_forward(c.lp, c.lse, ml, c.logits, tg, c.N, c.V);
    double s = 0, tot = 0;
    for (size_t i = 0; i < c.V; i++) s += exp(c.logits[2 * c.V + i]), tot += c.logits[2 * c.V + i];
    CHECK_NEAR(c.lp[2], c.logits[2 * c.V + 10] - log(s), 1e-5);
    CHECK_NEAR(ml[2], tot / c.V, 1e-6);
    CHECK(c.lp[1] == 0.0f);
    float *d = zeros(c.N * c.V);
    ta_logsoftmax_gather_backward(d, c.logits, c.lse, tg, c.dlp, c.N, c.V);
    CHECK(fd_check(xe_loss, &c, c.logits, d, c.N * c.V) < FD_TOL);
    for (size_t i = 0; i < c.V; i++) CHECK(d[c.V + i] == 0.0f); /* no target: no gradient */
    /* masked NLL */
    float lp[4] = {-1, -2, -3, -4}, mask[4] = {1, 0, 1, 1}, dl[4];
    CHECK_NEAR(ta_masked_nll(lp, mask, 4, dl), 8.0 / 3, 1e-12);
    CHECK_NEAR(dl[0], -1.0 / 3, 1e-7);
    CHECK(dl[1] == 0.0f);
    float z[4] = {0};
    CHECK(ta_masked_nll(lp, z, 4, dl) == 0.0 && dl[2] == 0.0f);
    free(c.logits), free(c.lp), free(c.lse), free(c.dlp), free(d);
}

/* What the kernels hand to a GEMM is never subnormal (a microcode assist per
 * operation on x86; fastmath.h): a confident row puts most of the vocabulary
 * at ta_expf's floor, and the floor times a small upstream gradient, or a
 * floor probability times a row's 1/sum, is below FLT_MIN. The test thread's
 * FTZ/DAZ mode is left off, so this is the kernels' own flush. */
static size_t count_subnormal(const float *x, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += x[i] != 0.0f && fabsf(x[i]) < FLT_MIN;
    return c;
}

TEST(kernels_flush_subnormals) {
    CHECK(ta_flush_tiny(1e-39f) == 0.0f && ta_flush_tiny(-1e-39f) == 0.0f);
    CHECK(ta_flush_tiny(FLT_MIN) == FLT_MIN && ta_flush_tiny(-0.5f) == -0.5f && ta_flush_tiny(0.0f) == 0.0f);
    volatile float tiny = 1e-30f, small = 1e-10f;
    CHECK_MSG(tiny * small != 0.0f, "the test thread flushes subnormals itself: the kernels' flush is not what is tested");
    size_t N = 3, V = 64;
    float *logits = zeros(N * V), *lp = zeros(N), *lse = zeros(N), *d = zeros(N * V), dlp[3] = {-1e-4f, -1e-4f, -1e-4f};
    int32_t tg[3] = {0, 1, 2};
    for (size_t i = 0; i < N * V; i++) logits[i] = (i % V) < 3 ? 40.0f : -60.0f; /* exp(-100) is below the floor */
    ta_logsoftmax_gather_forward(lp, lse, NULL, logits, tg, N, V);
    ta_logsoftmax_gather_backward(d, logits, lse, tg, dlp, N, V);
    CHECK_MSG(count_subnormal(d, N * V) == 0, "%zu subnormal logit gradients", count_subnormal(d, N * V));
    CHECK(d[V + 5] == 0.0f && d[0] != 0.0f); /* the floor times 1e-4 is flushed, the target row is not */
    /* attention, 70 rows (past one query block): keys 0..34 score ~99, the rest ~0.7;
     * a row past 35 sums to ~35, so a floor probability times 1/35 is subnormal */
    size_t T = 70, HD = 2;
    ta_attn_shape sh = {.Tq = T, .Tk = T, .NH = 1, .NKV = 1, .HD = HD, .q_stride = HD, .kv_stride = HD, .out_stride = HD};
    float *q = zeros(T * HD), *k = zeros(T * HD), *v = rnd(T * HD), *out = zeros(T * HD), *att = zeros(T * T);
    for (size_t i = 0; i < T; i++) q[i * HD] = 10.0f, k[i * HD] = i < 35 ? 14.0f : 0.1f;
    ta_attention_forward(out, att, q, k, v, &sh);
    CHECK_MSG(count_subnormal(att, T * T) == 0, "%zu subnormal attention probabilities", count_subnormal(att, T * T));
    float *dq = zeros(T * HD), *dk = zeros(T * HD), *dv = zeros(T * HD), *datt = zeros(T * T), *dout = rnd(T * HD);
    /* backward: probabilities just above the floor (2e-38, normal) times dP - dot ~ 0.1 are
     * subnormal unless the score gradient is flushed */
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j <= i; j++) att[i * T + j] = j == 0 ? 1.0f : 2e-38f;
    ta_attention_backward(dq, dk, dv, datt, dout, att, q, k, v, &sh);
    CHECK_MSG(count_subnormal(datt, T * T) == 0, "%zu subnormal score gradients", count_subnormal(datt, T * T));
    free(logits), free(lp), free(lse), free(d), free(q), free(k), free(v), free(out), free(att);
    free(dq), free(dk), free(dv), free(datt), free(dout);
}

/* ---- embedding ---- */
TEST(embed_forward_backward) {
    size_t V = 5, C = 70, N = 4; /* C > 64: more than one column block */
    float *tab = rnd(V * C), *out = zeros(N * C), *g = rnd(N * C), *dt = zeros(V * C);
    int32_t tok[4] = {2, 0, 2, 4};
    ta_embed_forward(out, tab, tok, N, C);
    CHECK(out[2 * C + 69] == tab[2 * C + 69]);
    ta_embed_backward(dt, g, tok, N, C);
    CHECK_NEAR(dt[2 * C + 65], g[65] + g[2 * C + 65], 1e-7);
    CHECK(dt[1 * C + 3] == 0.0f);
    CHECK(dt[4 * C + 1] == g[3 * C + 1]);
    free(tab), free(out), free(g), free(dt);
}

TEST(fast_expf_accuracy) {
    double worst = 0;
    for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
        double want = exp((double)x), got = ta_expf(x);
        worst = fmax(worst, fabs(got - want) / want);
    }
    CHECK_MSG(worst < 3e-7, "max relative error %.3g", worst);
    CHECK(ta_expf(0.0f) == 1.0f);
    CHECK(ta_expf(-200.0f) >= 0.0f && ta_expf(-200.0f) < 1e-37f);
}

int main(void) {
    RUN(fast_expf_accuracy);
    RUN(matmul_forward_backward);
    RUN(rmsnorm_forward_backward);
    RUN(rope_rotation_and_inv_freq);
    RUN(attention_gqa_forward_backward);
    RUN(attention_causal_blocks_against_reference);
    RUN(swiglu_forward_backward);
    RUN(matmul_strided_and_overwrite);
    RUN(rmsnorm_weight_gradient_overwrite);
    RUN(swiglu_strided_halves);
    RUN(logsoftmax_gather_forward_backward);
    RUN(embed_forward_backward);
    RUN(kernels_flush_subnormals);
    return TEST_END();
}
