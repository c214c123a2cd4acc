/* threads.h: one place that sets the thread count for both OpenBLAS and
 * OpenMP. BLAS is only called from sequential code, OpenMP regions never call
 * BLAS, so the two pools never stack. */
#ifndef TA_CORE_THREADS_H
#define TA_CORE_THREADS_H

/* n <= 0: use the number of online CPUs. Returns the count set. */
int ta_threads_set(int n);
int ta_threads_get(void);

#endif
