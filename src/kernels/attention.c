#include "kernels/attention.h"
#include "kernels/parallel.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/fastmath.h"

/* Causal blocking: queries go in blocks of QBLOCK rows, and block [i0, i1)
 * only needs keys 0 .. q_pos0 + i1 - 1, so the GEMMs skip the masked corner
 * above the diagonal (37% of a 256-token row's attention FLOPs at 64). The
 * skipped scores are exact zeros after the softmax, so only the order of
 * the additions (dV, dK: one GEMM per block) changes, not the result beyond
 * rounding. */
#define QBLOCK 64

/* Keys query rows [i0, i1) see: 0 .. kend-1. */
static size_t keys_end(const ta_attn_shape *s, size_t i1) {
    size_t k = s->q_pos0 + i1;
    return k < s->Tk ? k : s->Tk;
}

size_t ta_attention_entries(const ta_attn_shape *s) {
    size_t e = 0;
    for (size_t i0 = 0; i0 < s->Tq; i0 += QBLOCK) {
        size_t i1 = i0 + QBLOCK < s->Tq ? i0 + QBLOCK : s->Tq;
        e += (i1 - i0) * keys_end(s, i1);
    }
    return e;
}

/* Row i (global query index i0 + i) of a block of n rows of att (row stride
 * Tk): softmax over keys 0..q_pos0+i0+i, zeros after, up to Tk. Entries from
 * the block's kend to Tk were not computed and are only written. */
static void masked_softmax_rows(float *att, size_t n, size_t Tk, size_t first_valid) {
#pragma omp parallel for schedule(static) if (n * Tk > TA_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float *row = att + i * Tk;
        size_t nvalid = first_valid + i < Tk ? first_valid + i : Tk;
        float m = row[0];
#pragma omp simd reduction(max : m)
        for (size_t j = 1; j < nvalid; j++) m = row[j] > m ? row[j] : m;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (size_t j = 0; j < nvalid; j++) {
            float e = ta_expf(row[j] - m);
            row[j] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < nvalid; j++) row[j] = ta_flush_tiny(row[j] * inv);
        for (size_t j = nvalid; j < Tk; j++) row[j] = 0.0f;
    }
}

void ta_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          const ta_attn_shape *s) {
    size_t rep = s->NH / s->NKV;
    float scale = 1.0f / sqrtf((float)s->HD);
    if (s->Tq == 0) return;
    int hd = (int)s->HD, qs = (int)s->q_stride, kvs = (int)s->kv_stride, os = (int)s->out_stride, Tk = (int)s->Tk;
    for (size_t h = 0; h < s->NH; h++) {
        size_t g = h / rep;
        for (size_t i0 = 0; i0 < s->Tq; i0 += QBLOCK) {
            size_t i1 = i0 + QBLOCK < s->Tq ? i0 + QBLOCK : s->Tq, kend = keys_end(s, i1);
            int n = (int)(i1 - i0);
            float *a = att + h * s->Tq * s->Tk + i0 * s->Tk;
            /* a (n, kend) = scale * Q_h[i0:i1] (n, HD) @ K_g[0:kend]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)kend, hd, scale, q + i0 * s->q_stride + h * s->HD,
                        qs, k + g * s->HD, kvs, 0.0f, a, Tk);
            masked_softmax_rows(a, (size_t)n, s->Tk, s->q_pos0 + i0 + 1);
            /* O_h[i0:i1] (n, HD) = a (n, kend) @ V_g[0:kend] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, (int)kend, 1.0f, a, Tk, v + g * s->HD, kvs,
                        0.0f, out + i0 * s->out_stride + h * s->HD, os);
        }
    }
}

/* dS = P * (dP - rowsum(dP * P)) * scale over the n rows' first kend
 * columns (row stride Tk): P is 0 from each row's last key on, so those
 * entries become 0. */
static void softmax_backward_rows(float *datt, const float *att, size_t n, size_t kend, size_t Tk, float scale) {
#pragma omp parallel for schedule(static) if (n * kend > TA_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float *d = datt + i * Tk;
        const float *p = att + i * Tk;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (size_t j = 0; j < kend; j++) dot += d[j] * p[j];
        for (size_t j = 0; j < kend; j++) d[j] = ta_flush_tiny(p[j] * (d[j] - dot) * scale);
    }
}

void ta_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout, const float *att,
                           const float *q, const float *k, const float *v, const ta_attn_shape *s) {
    size_t rep = s->NH / s->NKV, HD = s->HD;
    float scale = 1.0f / sqrtf((float)HD);
    for (size_t j = 0; j < s->Tk; j++) {
        memset(dk + j * s->kv_stride, 0, s->NKV * HD * sizeof(float));
        memset(dv + j * s->kv_stride, 0, s->NKV * HD * sizeof(float));
    }
    if (s->Tq == 0) return;
    int Tk = (int)s->Tk, hd = (int)HD;
    int qs = (int)s->q_stride, kvs = (int)s->kv_stride, os = (int)s->out_stride;
    for (size_t h = 0; h < s->NH; h++) {
        size_t g = h / rep;
        for (size_t i0 = 0; i0 < s->Tq; i0 += QBLOCK) {
            size_t i1 = i0 + QBLOCK < s->Tq ? i0 + QBLOCK : s->Tq, kend = keys_end(s, i1);
            int n = (int)(i1 - i0), ke = (int)kend;
            const float *p = att + h * s->Tq * s->Tk + i0 * s->Tk;
            const float *doh = dout + i0 * s->out_stride + h * HD;
            const float *qh = q + i0 * s->q_stride + h * HD;
            /* dV_g[0:kend] (kend, HD) += P^T (kend, n) @ dO_h[i0:i1] (n, HD) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ke, hd, n, 1.0f, p, Tk, doh, os, 1.0f, dv + g * HD, kvs);
            /* dP (n, kend) = dO_h[i0:i1] @ V_g[0:kend]^T, into datt's first n rows */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, ke, hd, 1.0f, doh, os, v + g * HD, kvs, 0.0f, datt, Tk);
            softmax_backward_rows(datt, p, (size_t)n, kend, s->Tk, scale);
            /* dQ_h[i0:i1] (n, HD) = dS (n, kend) @ K_g[0:kend] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, ke, 1.0f, datt, Tk, k + g * HD, kvs, 0.0f,
                        dq + i0 * s->q_stride + h * HD, qs);
            /* dK_g[0:kend] (kend, HD) += dS^T (kend, n) @ Q_h[i0:i1] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ke, hd, n, 1.0f, datt, Tk, qh, qs, 1.0f, dk + g * HD, kvs);
        }
    }
}
