#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ta_sampler_params ta_sampler_params_default(void) {
    ta_sampler_params p = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .repetition_penalty = 1.0f};
    return p;
}

int ta_sampler_init(ta_sampler *s, const ta_sampler_params *p, size_t vocab_size, uint64_t seed, ta_error *err) {
    if (vocab_size == 0 || vocab_size > INT32_MAX)
        return ta_error_set(err, TA_EINVAL, "sampler: vocabulary size %zu out of range", vocab_size);
    if (!isfinite(p->temperature))
        return ta_error_set(err, TA_EINVAL, "sampler: temperature %g is not finite", (double)p->temperature);
    if (!(p->top_p >= 0.0f) || !isfinite(p->top_p))
        return ta_error_set(err, TA_EINVAL, "sampler: top_p %g must be in [0, 1]", (double)p->top_p);
    if (!(p->repetition_penalty >= 0.0f) || !isfinite(p->repetition_penalty))
        return ta_error_set(err, TA_EINVAL, "sampler: repetition_penalty %g must be >= 0",
                            (double)p->repetition_penalty);
    ta_sampler ns = {.p = *p, .vocab_size = vocab_size};
    ns.cand = malloc(vocab_size * sizeof *ns.cand);
    ns.heap = malloc(vocab_size * sizeof *ns.heap);
    ns.seen = calloc(vocab_size, 1);
    if (!ns.cand || !ns.heap || !ns.seen) {
        free(ns.cand);
        free(ns.heap);
        free(ns.seen);
        return ta_error_set(err, TA_ENOMEM, "sampler: out of memory for a vocabulary of %zu", vocab_size);
    }
    ta_rng_seed(&ns.rng, seed);
    *s = ns;
    return TA_OK;
}

void ta_sampler_release(ta_sampler *s) {
    if (!s) return;
    free(s->cand);
    free(s->heap);
    free(s->seen);
    s->cand = NULL;
    s->heap = NULL;
    s->seen = NULL;
}

size_t ta_argmax(const float *x, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* HF RepetitionPenaltyLogitsProcessor: each distinct id seen so far has its
 * logit divided by the penalty if positive, multiplied if negative. */
static void apply_penalty(ta_sampler *s, float *logits, const int32_t *history, size_t n_history) {
    float pen = s->p.repetition_penalty;
    if (pen <= 0.0f || pen == 1.0f || !history) return;
    for (size_t i = 0; i < n_history; i++) {
        int32_t id = history[i];
        if (id < 0 || (size_t)id >= s->vocab_size || s->seen[id]) continue;
        s->seen[id] = 1;
        logits[id] = logits[id] < 0.0f ? logits[id] * pen : logits[id] / pen;
    }
    for (size_t i = 0; i < n_history; i++) {
        int32_t id = history[i];
        if (id >= 0 && (size_t)id < s->vocab_size) s->seen[id] = 0;
    }
}

/* Min-heap sift-down over h[0..n). */
static void heap_down(float *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l] < h[m]) m = l;
        if (r < n && h[r] < h[m]) m = r;
        if (m == i) return;
        float t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The k-th largest of x[0..n) (0 < k < n), by a size-k min-heap: O(n log k). */
static float kth_largest(float *heap, const float *x, size_t n, size_t k) {
    memcpy(heap, x, k * sizeof *heap);
    for (size_t i = k / 2; i-- > 0;) heap_down(heap, k, i);
    for (size_t i = k; i < n; i++)
        if (x[i] > heap[0]) {
            heap[0] = x[i];
            heap_down(heap, k, 0);
        }
    return heap[0];
}

static int cmp_prob_desc(const void *a, const void *b) {
    const ta_sampler_cand *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Runs the pipeline; leaves the surviving tokens in s->cand[0..n) with
 * normalised probabilities and returns n (>= 1). */
static size_t filter(ta_sampler *s, float *logits, const int32_t *history, size_t n_history) {
    size_t V = s->vocab_size;
    ta_sampler_cand *c = s->cand;
    apply_penalty(s, logits, history, n_history);
    if (s->p.temperature <= 0.0f || s->p.top_k == 1) {
        c[0].id = (int32_t)ta_argmax(logits, V);
        c[0].p = 1.0f;
        return 1;
    }
    float inv_t = 1.0f / s->p.temperature;
    for (size_t i = 0; i < V; i++) logits[i] *= inv_t; /* TemperatureLogitsWarper */
    float thr = -INFINITY;
    if (s->p.top_k > 0 && s->p.top_k < V) thr = kth_largest(s->heap, logits, V, s->p.top_k);
    float mx = logits[ta_argmax(logits, V)];
    size_t n = 0;
    double sum = 0.0;
    for (size_t i = 0; i < V; i++) {
        if (!(logits[i] >= thr) || logits[i] == -INFINITY) continue;
        float e = expf(logits[i] - mx);
        c[n].id = (int32_t)i;
        c[n].p = e;
        sum += e;
        n++;
    }
    if (n == 0 || !(sum > 0.0)) { /* all -inf or NaN logits: fall back to the argmax */
        c[0].id = (int32_t)ta_argmax(logits, V);
        c[0].p = 1.0f;
        return 1;
    }
    for (size_t i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
    float top_p = s->p.top_p;
    if (top_p < 1.0f && n > 1) {
        /* A token with p < (1 - top_p) / n can never be in the nucleus: all
         * tokens at or below it sum to less than 1 - top_p. Dropping them
         * first keeps the sort short for large vocabularies. */
        float floor_p = (1.0f - top_p) / (float)n;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (c[i].p >= floor_p) c[m++] = c[i];
        if (m == 0) m = 1; /* unreachable up to rounding; keep the first */
        qsort(c, m, sizeof *c, cmp_prob_desc);
        /* keep token i while the mass strictly above it is < top_p */
        double cum = 0.0;
        size_t keep = 0;
        do cum += c[keep++].p;
        while (keep < m && cum < top_p);
        n = keep;
        for (size_t i = 0; i < n; i++) c[i].p = (float)(c[i].p / cum);
    }
    return n;
}

int32_t ta_sampler_sample(ta_sampler *s, float *logits, const int32_t *history, size_t n_history) {
    size_t n = filter(s, logits, history, n_history);
    if (n == 1) return s->cand[0].id;
    double u = ta_rng_double(&s->rng), cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += s->cand[i].p;
        if (u < cum) return s->cand[i].id;
    }
    return s->cand[n - 1].id; /* u above the rounded total */
}

void ta_sampler_distribution(ta_sampler *s, float *logits, const int32_t *history, size_t n_history, float *probs) {
    size_t n = filter(s, logits, history, n_history);
    memset(probs, 0, s->vocab_size * sizeof *probs);
    for (size_t i = 0; i < n; i++) probs[s->cand[i].id] = s->cand[i].p;
}
