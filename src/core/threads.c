#define _POSIX_C_SOURCE 200809L
#include "core/threads.h"

#include <omp.h>
#include <unistd.h>

void openblas_set_num_threads(int num_threads);

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
