/* embed.h: token embedding lookup and its backward (scatter-add). */
#ifndef TA_KERNELS_EMBED_H
#define TA_KERNELS_EMBED_H

#include <stddef.h>
#include <stdint.h>

/* out (N, C) = table[tokens[n]] (table (V, C)); ids must be in [0, V). */
void ta_embed_forward(float *out, const float *table, const int32_t *tokens, size_t N, size_t C);

/* dtable[tokens[n]] += dout[n] for every row. Parallel over column blocks, so
 * repeated tokens never race. */
void ta_embed_backward(float *dtable, const float *dout, const int32_t *tokens, size_t N, size_t C);

#endif
