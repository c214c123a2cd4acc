#define _POSIX_C_SOURCE 200809L
#include "core/threads.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int ta_threads_set(int n) {
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    return n;
}

int ta_threads_get(void) { return omp_get_max_threads(); }
