#define _POSIX_C_SOURCE 200809L
#include "core/threads.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

const char *ta_blas_core(void) { return openblas_get_corename(); }

void ta_blas_fix_core(char **argv) {
    if (getenv("OPENBLAS_CORETYPE") || getenv("TA_BLAS_NO_FIX")) return;
    const char *core = openblas_get_corename();
    if (!core || strcmp(core, "Prescott")) return;
    __builtin_cpu_init();
    const char *want = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2") ? "Haswell" : NULL;
    if (!want || setenv("OPENBLAS_CORETYPE", want, 1)) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with what is loaded */
}

void ta_fp_flush_subnormals(void) {
    const char *keep = getenv("TA_KEEP_SUBNORMALS");
    if (keep && *keep && strcmp(keep, "0")) return;
#if defined(__SSE__) || defined(__x86_64__)
    _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ull << 24))); /* FZ */
#endif
}

int ta_threads_set(int n) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = c > 0 ? (int)c : 1;
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    /* every thread of the OpenMP pool (data-parallel trainer workers run BLAS
     * there), up to the CPU count even when n is smaller */
    ta_fp_flush_subnormals();
    int pool = c > n ? (int)c : n;
#pragma omp parallel num_threads(pool)
    ta_fp_flush_subnormals();
    return n;
}

int ta_threads_get(void) { return omp_get_max_threads(); }
