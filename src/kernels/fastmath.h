/* fastmath.h: a vectorisable expf for the kernels' inner loops.
 *
 * glibc's expf is a scalar call (GCC only vectorises it under -ffast-math);
 * the softmax over the vocabulary and the SiLU call it N*V and N*F times per
 * step. This is the Cephes expf: Cody-Waite reduction x = n ln2 + r,
 * |r| <= ln2/2, a degree-6 polynomial, scaling by 2^n through the exponent
 * bits. Max relative error about 2e-7 (tested against exp in double in
 * tests/unit/test_kernels.c). Inputs are clamped to [-87.3, 88.0]: below, the
 * result is ~1e-38 instead of 0 (harmless in sums of exponentials); NaN is
 * not propagated (callers never pass one). */
#ifndef TA_KERNELS_FASTMATH_H
#define TA_KERNELS_FASTMATH_H

#include <math.h>
#include <stdint.h>

/* Named, outside the function: clang 14 rejects an anonymous union declared
 * inside a `declare simd` function (scripts/fuzz.sh builds with clang). */
typedef union {
    int32_t i;
    float f;
} ta_f32_bits;

#pragma omp declare simd notinbranch
static inline float ta_expf(float x) {
    x = x < -87.3f ? -87.3f : x;
    x = x > 88.0f ? 88.0f : x; /* keeps n <= 127 */
    float n = rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    ta_f32_bits s = {.i = ((int32_t)n + 127) << 23};
    return p * s.f;
}

/* x, or 0 when |x| is below FLT_MIN (a subnormal). Kernels whose outputs feed
 * a GEMM flush them: probabilities at ta_expf's floor (~1e-38) times a small
 * gradient are subnormal, and subnormal operands take a microcode assist on
 * x86 (tens of times slower per operation). As a model grows confident more of
 * the vocabulary sits at the floor: training slowed 3x over 1,200 steps before
 * this (docs/training.md, bench/subnormal.sh). */
#pragma omp declare simd notinbranch
static inline float ta_flush_tiny(float x) { return fabsf(x) < 1.17549435e-38f ? 0.0f : x; }

#endif
