/* attention.h: causal scaled-dot-product attention with grouped-query heads,
 * for one sequence per call (all heads), forward and backward.
 *
 * Matches torch.nn.functional.scaled_dot_product_attention(is_causal) with
 * scale 1/sqrt(HD) and GQA as in Hugging Face repeat_kv: query head h uses
 * kv head h / (NH/NKV). Each head is two sgemm calls (Q K^T, P V) around a
 * masked row softmax (OpenMP) per block of 64 queries, each block only
 * against the keys it can see (the masked corner is never computed), so
 * these functions call BLAS and must run in sequential code.
 *
 * Layout: q row i (i < Tq) at q + i*q_stride holds NH heads of HD floats;
 * k, v row j (j < Tk) at k + j*kv_stride hold NKV heads; out like q with
 * out_stride. Query i sits at absolute position q_pos0 + i and attends to keys
 * 0 .. q_pos0 + i (Tk >= q_pos0 + Tq): training uses q_pos0 = 0, Tq = Tk = the
 * sequence length; a KV-cache step uses q_pos0 = cached length. */
#ifndef TA_KERNELS_ATTENTION_H
#define TA_KERNELS_ATTENTION_H

#include <stddef.h>

typedef struct ta_attn_shape {
    size_t Tq, Tk, q_pos0;
    size_t NH, NKV, HD;
    size_t q_stride, kv_stride, out_stride;
} ta_attn_shape;

/* out: overwritten (Tq rows). att (NH, Tq, Tk): receives the softmax
 * probabilities (0 on masked entries), needed by the backward pass. */
void ta_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                          const ta_attn_shape *s);

/* (query, key) score entries one head's forward computes for a shape (each
 * of its GEMMs, and each of the backward's, does 2*HD FLOPs per entry): the
 * causal blocks' sum of rows x visible keys, under Tq*Tk. For FLOP counts. */
size_t ta_attention_entries(const ta_attn_shape *s);

/* Given dout (rows like out), writes dq (rows like q, q_stride) and dk, dv
 * (rows like k, kv_stride); all three are overwritten for the Tq / Tk rows.
 * datt: scratch of Tq*Tk floats. att, q, k, v are the forward's. */
void ta_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout, const float *att,
                           const float *q, const float *k, const float *v, const ta_attn_shape *s);

#endif
