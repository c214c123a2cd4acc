/* parallel.h: when a kernel loop is worth an OpenMP region.
 *
 * A parallel region costs a fork/join barrier; on a shared machine, where a
 * worker thread may be descheduled, that barrier can wait a whole time slice
 * (measured here: the tiny config's step ran 14x slower with 2 threads than
 * with 1 when regions started at 16K elements). Loops over fewer elements
 * than this run on the calling thread. */
#ifndef TA_KERNELS_PARALLEL_H
#define TA_KERNELS_PARALLEL_H

#define TA_PAR_MIN ((size_t)1 << 18) /* elements (floats touched) */

#endif
