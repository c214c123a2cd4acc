#include "kernels/attention.h"
#include "kernels/parallel.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels/fastmath.h"

/* Row i of a (Tq, Tk) score block: softmax over keys 0..q_pos0+i, zeros after. */
static void masked_softmax_rows(float *att, size_t Tq, size_t Tk, size_t q_pos0) {
#pragma omp parallel for schedule(static) if (Tq * Tk > TA_PAR_MIN)
    for (size_t i = 0; i < Tq; i++) {
        float *row = att + i * Tk;
        size_t nvalid = q_pos0 + i + 1 < Tk ? q_pos0 + i + 1 : Tk;
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
        for (size_t j = 0; j < nvalid; j++) row[j] *= inv;
        for (size_t j = nvalid; j < Tk; j++) row[j] = 0.0f;
    }
}

void ta_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          const ta_attn_shape *s) {
    size_t rep = s->NH / s->NKV;
    float scale = 1.0f / sqrtf((float)s->HD);
    if (s->Tq == 0) return;
    for (size_t h = 0; h < s->NH; h++) {
        size_t g = h / rep;
        float *a = att + h * s->Tq * s->Tk;
        /* a (Tq, Tk) = scale * Q_h (Tq, HD) @ K_g^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->Tq, (int)s->Tk, (int)s->HD, scale,
                    q + h * s->HD, (int)s->q_stride, k + g * s->HD, (int)s->kv_stride, 0.0f, a, (int)s->Tk);
        masked_softmax_rows(a, s->Tq, s->Tk, s->q_pos0);
        /* O_h (Tq, HD) = a @ V_g (Tk, HD) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->Tq, (int)s->HD, (int)s->Tk, 1.0f, a,
                    (int)s->Tk, v + g * s->HD, (int)s->kv_stride, 0.0f, out + h * s->HD, (int)s->out_stride);
    }
}

/* dS = P * (dP - rowsum(dP * P)) * scale, in place over datt (= dP). */
static void softmax_backward_rows(float *datt, const float *att, size_t Tq, size_t Tk, float scale) {
#pragma omp parallel for schedule(static) if (Tq * Tk > TA_PAR_MIN)
    for (size_t i = 0; i < Tq; i++) {
        float *d = datt + i * Tk;
        const float *p = att + i * Tk;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (size_t j = 0; j < Tk; j++) dot += d[j] * p[j];
        for (size_t j = 0; j < Tk; j++) d[j] = p[j] * (d[j] - dot) * scale;
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
    int Tq = (int)s->Tq, Tk = (int)s->Tk, hd = (int)HD;
    int qs = (int)s->q_stride, kvs = (int)s->kv_stride, os = (int)s->out_stride;
    for (size_t h = 0; h < s->NH; h++) {
        size_t g = h / rep;
        const float *p = att + h * s->Tq * s->Tk;
        const float *doh = dout + h * HD;
        /* dV_g (Tk, HD) += P^T (Tk, Tq) @ dO_h (Tq, HD) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, hd, Tq, 1.0f, p, Tk, doh, os, 1.0f,
                    dv + g * HD, kvs);
        /* dP (Tq, Tk) = dO_h @ V_g^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, Tk, hd, 1.0f, doh, os, v + g * HD, kvs, 0.0f,
                    datt, Tk);
        softmax_backward_rows(datt, p, s->Tq, s->Tk, scale);
        /* dQ_h (Tq, HD) = dS @ K_g (Tk, HD) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, hd, Tk, 1.0f, datt, Tk, k + g * HD, kvs, 0.0f,
                    dq + h * HD, qs);
        /* dK_g (Tk, HD) += dS^T @ Q_h */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, hd, Tq, 1.0f, datt, Tk, q + h * HD, qs, 1.0f,
                    dk + g * HD, kvs);
    }
}
