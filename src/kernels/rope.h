/* rope.h: rotary position embeddings, Hugging Face convention (rotate_half):
 *   out[i]      = x[i] cos_i - x[i+HD/2] sin_i
 *   out[i+HD/2] = x[i+HD/2] cos_i + x[i] sin_i,    angle_i = pos * inv_freq[i], i < HD/2
 * (matches transformers' apply_rotary_pos_emb with cos = cat(freqs, freqs).cos()).
 * Positions are explicit per row, so the same kernels serve a padded training
 * batch (0..T-1 per row) and a KV-cache decode step at any position. */
#ifndef TA_KERNELS_ROPE_H
#define TA_KERNELS_ROPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ta_rope_params {
    size_t head_dim;    /* HD (even) */
    double theta;       /* rope_theta (base) */
    int llama3;         /* rope_scaling rope_type "llama3" */
    double factor, low_freq_factor, high_freq_factor;
    double original_max_pos; /* original_max_position_embeddings */
} ta_rope_params;

/* inv_freq (HD/2) = 1 / theta^(2i/HD), then, for llama3, transformers'
 * _compute_llama3_parameters: wavelengths longer than orig/low_freq_factor are
 * divided by factor, shorter than orig/high_freq_factor kept, and the band in
 * between is interpolated smoothly. Computed in double. */
void ta_rope_inv_freq(double *inv_freq, const ta_rope_params *p);

/* cos, sin (n_pos, HD/2): tables for positions 0..n_pos-1 (angle computed in
 * double, stored as float). */
void ta_rope_table(float *cos_t, float *sin_t, const double *inv_freq, size_t head_dim, size_t n_pos);

/* In place on x: n_rows rows; row r holds n_heads heads of HD floats starting
 * at x + r*row_stride, at position pos[r] (pos == NULL: position r). Tables
 * must cover every position used. */
void ta_rope_forward(float *x, size_t n_rows, size_t row_stride, size_t n_heads, size_t head_dim,
                     const int32_t *pos, const float *cos_t, const float *sin_t);

/* The transpose (inverse) rotation, in place on the gradient dx. */
void ta_rope_backward(float *dx, size_t n_rows, size_t row_stride, size_t n_heads, size_t head_dim,
                      const int32_t *pos, const float *cos_t, const float *sin_t);

#endif
