/* threads.h: one place that sets the thread count for both OpenBLAS and
 * OpenMP. BLAS is only called from sequential code, OpenMP regions never call
 * BLAS, so the two pools never stack. */
#ifndef TA_CORE_THREADS_H
#define TA_CORE_THREADS_H

/* n <= 0: use the number of online CPUs. Returns the count set. */
int ta_threads_set(int n);
int ta_threads_get(void);

/* OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons (this
 * machine's family 6 model 207) and falls back to its Prescott (SSE3)
 * kernels, about 5x slower than its AVX-512 ones. The core is chosen when the
 * library loads, from OPENBLAS_CORETYPE. So: if that variable is unset, the
 * loaded OpenBLAS reports "Prescott" and the CPU has AVX-512F (AVX2), this sets
 * OPENBLAS_CORETYPE=SkylakeX (Haswell) and re-executes /proc/self/exe with
 * argv. Returns when nothing needed doing or the exec failed (the program then
 * runs on, slower). Call first thing in main(), before any thread starts.
 * TA_BLAS_NO_FIX=1 disables it. */
void ta_blas_fix_core(char **argv);
/* The OpenBLAS core in use ("SkylakeX", "Prescott", ...). */
const char *ta_blas_core(void);

#endif
