#include "kernels/rope.h"
#include "kernels/parallel.h"

#include <math.h>

void ta_rope_inv_freq(double *inv_freq, const ta_rope_params *p) {
    size_t half = p->head_dim / 2;
    for (size_t i = 0; i < half; i++) {
        double f = 1.0 / pow(p->theta, (double)(2 * i) / (double)p->head_dim);
        if (p->llama3) {
            double low_wavelen = p->original_max_pos / p->low_freq_factor;
            double high_wavelen = p->original_max_pos / p->high_freq_factor;
            double wavelen = 2.0 * M_PI / f;
            if (wavelen > low_wavelen) {
                f = f / p->factor;
            } else if (wavelen >= high_wavelen) { /* medium band: smooth interpolation */
                double s = (p->original_max_pos / wavelen - p->low_freq_factor) /
                           (p->high_freq_factor - p->low_freq_factor);
                f = (1.0 - s) * f / p->factor + s * f;
            }
        }
        inv_freq[i] = f;
    }
}

void ta_rope_table(float *cos_t, float *sin_t, const double *inv_freq, size_t head_dim, size_t n_pos) {
    size_t half = head_dim / 2;
    for (size_t t = 0; t < n_pos; t++)
        for (size_t i = 0; i < half; i++) {
            double a = (double)t * inv_freq[i];
            cos_t[t * half + i] = (float)cos(a);
            sin_t[t * half + i] = (float)sin(a);
        }
}

/* sign = +1: forward rotation; -1: its transpose. */
static void rotate(float *x, size_t n_rows, size_t row_stride, size_t n_heads, size_t head_dim,
                   const int32_t *pos, const float *cos_t, const float *sin_t, float sign) {
    size_t half = head_dim / 2;
#pragma omp parallel for schedule(static) if (n_rows * n_heads * head_dim > TA_PAR_MIN)
    for (size_t r = 0; r < n_rows; r++) {
        size_t p = pos ? (size_t)pos[r] : r;
        const float *c = cos_t + p * half, *s = sin_t + p * half;
        for (size_t h = 0; h < n_heads; h++) {
            float *v = x + r * row_stride + h * head_dim;
            for (size_t i = 0; i < half; i++) {
                float a = v[i], b = v[i + half], si = sign * s[i];
                v[i] = a * c[i] - b * si;
                v[i + half] = b * c[i] + a * si;
            }
        }
    }
}

void ta_rope_forward(float *x, size_t n_rows, size_t row_stride, size_t n_heads, size_t head_dim,
                     const int32_t *pos, const float *cos_t, const float *sin_t) {
    rotate(x, n_rows, row_stride, n_heads, head_dim, pos, cos_t, sin_t, 1.0f);
}

void ta_rope_backward(float *dx, size_t n_rows, size_t row_stride, size_t n_heads, size_t head_dim,
                      const int32_t *pos, const float *cos_t, const float *sin_t) {
    rotate(dx, n_rows, row_stride, n_heads, head_dim, pos, cos_t, sin_t, -1.0f);
}
