/* threads.h: one place that sets the thread count for both OpenBLAS and
 * OpenMP. BLAS is only called from sequential code, OpenMP regions never call
 * BLAS, so the two pools never stack. */
#ifndef TA_CORE_THREADS_H
#define TA_CORE_THREADS_H

/* n <= 0: use the number of online CPUs. Returns the count set. Also turns
 * on ta_fp_flush_subnormals in the calling thread and every OpenMP thread. */
int ta_threads_set(int n);

/* Flush-to-zero and denormals-are-zero for the calling thread's float math
 * (x86 MXCSR FTZ|DAZ, AArch64 FPCR.FZ; elsewhere nothing). A confident model
 * puts most of the vocabulary at the floor of the softmax, and those
 * probabilities times a small gradient are subnormal: every operation on one
 * takes a microcode assist, and SFT on a trained 4.2M model ran at 23% of the
 * speed of a fresh one (docs/training.md; bench/subnormal.sh). Values below FLT_MIN (1.2e-38)
 * become 0, which no loss or gradient here can tell apart. Threads inherit the
 * mode from the thread that creates them; OpenBLAS's own pool starts before
 * main(), so the kernels also flush what they hand to a GEMM (fastmath.h).
 * Only the compute paths turn it on (through ta_threads_set): with DAZ a
 * subnormal weight reads as 0, right for arithmetic but not for `inspect`,
 * which must print a file's values exactly. TA_KEEP_SUBNORMALS=1 in the
 * environment leaves the mode alone. */
void ta_fp_flush_subnormals(void);
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
