#include "model/generate.h"

#include <stdlib.h>
#include <string.h>

#include "model/kvcache.h"

ta_gen_params ta_gen_params_default(const ta_config *cfg) {
    ta_gen_params p = {0};
    p.max_tokens = 16;
    p.sampler = ta_sampler_params_default();
    p.sampler.temperature = 0.0f;
    p.eos_ids = cfg->eos_token_ids;
    p.n_eos = cfg->n_eos;
    return p;
}

const char *ta_finish_name(ta_finish_reason r) {
    switch (r) {
    case TA_FINISH_EOS: return "eos";
    case TA_FINISH_STOP: return "stop";
    default: return "length";
    }
}

void ta_gen_output_release(ta_gen_output *o) {
    if (!o) return;
    free(o->tokens);
    o->tokens = NULL;
    o->n_tokens = 0;
}

/* One sequence's run state. */
typedef struct {
    ta_kvcache cache;
    ta_sampler sampler;
    int32_t *hist;      /* (prompt_len + max_tokens) prompt then generated ids */
    size_t prompt_len;
    size_t n_hist;
    size_t prefilled;   /* prompt tokens already in the cache */
    size_t max_new;     /* max_tokens, capped by the context window */
    int done;
    ta_finish_reason finish;
} gen_seq;

static int is_eos(const ta_gen_params *p, int32_t t) {
    for (size_t i = 0; i < p->n_eos; i++)
        if (p->eos_ids[i] == t) return 1;
    return 0;
}

static int ends_with(const int32_t *a, size_t n, const ta_token_seq *s) {
    return s->n > 0 && s->n <= n && !memcmp(a + n - s->n, s->ids, s->n * sizeof *a);
}

/* Samples the next token of sequence i from its logits row and applies every
 * stop rule. Returns TA_OK or TA_EINTERRUPTED (a callback aborted). */
static int advance(gen_seq *g, size_t i, float *logits, size_t V, const ta_gen_params *p, ta_error *err) {
    size_t step = g->n_hist - g->prompt_len;
    if (p->on_logits) {
        int r = p->on_logits(p->user, i, step, logits, V);
        if (r < 0) return ta_error_set(err, TA_EINTERRUPTED, "generation aborted by the logits callback");
        if (r > 0) {
            g->done = 1;
            g->finish = TA_FINISH_STOP;
            return TA_OK;
        }
    }
    int32_t t = ta_sampler_sample(&g->sampler, logits, g->hist, g->n_hist);
    if (is_eos(p, t)) {
        g->done = 1;
        g->finish = TA_FINISH_EOS;
        return TA_OK;
    }
    g->hist[g->n_hist++] = t;
    const int32_t *gen = g->hist + g->prompt_len;
    size_t n_gen = g->n_hist - g->prompt_len;
    int r = p->on_token ? p->on_token(p->user, i, t) : 0;
    if (r == 0 && p->stop) r = p->stop(p->user, i, gen, n_gen);
    if (r < 0) return ta_error_set(err, TA_EINTERRUPTED, "generation aborted by a callback");
    if (r > 0) {
        g->done = 1;
        g->finish = TA_FINISH_STOP;
        return TA_OK;
    }
    for (size_t k = 0; k < p->n_stop_seqs; k++)
        if (ends_with(gen, n_gen, &p->stop_seqs[k])) {
            g->done = 1;
            g->finish = TA_FINISH_STOP;
            return TA_OK;
        }
    if (n_gen >= g->max_new) {
        g->done = 1;
        g->finish = TA_FINISH_LENGTH;
    }
    return TA_OK;
}

int ta_generate_batch(const ta_model *m, const int32_t *const *prompts, const size_t *prompt_lens, size_t n,
                      const ta_gen_params *p, ta_gen_output *outputs, ta_error *err) {
    const ta_config *cfg = &m->cfg;
    size_t V = cfg->vocab_size;
    size_t max_pos = cfg->max_position_embeddings ? cfg->max_position_embeddings : SIZE_MAX;
    if (n == 0) return ta_error_set(err, TA_EINVAL, "generate: no prompts");
    if (p->max_tokens == 0) return ta_error_set(err, TA_EINVAL, "generate: max_tokens must be >= 1");
    for (size_t i = 0; i < n; i++) {
        if (prompt_lens[i] == 0) return ta_error_set(err, TA_EINVAL, "generate: prompt %zu is empty", i);
        if (prompt_lens[i] >= max_pos)
            return ta_error_set(err, TA_ERANGE,
                                "generate: prompt %zu has %zu tokens; the context window (max_position_embeddings) is %zu",
                                i, prompt_lens[i], max_pos);
        for (size_t j = 0; j < prompt_lens[i]; j++)
            if (prompts[i][j] < 0 || (size_t)prompts[i][j] >= V)
                return ta_error_set(err, TA_EINVAL, "generate: prompt %zu: token %zu is id %d, vocabulary has %zu", i,
                                    j, (int)prompts[i][j], V);
    }
    size_t chunk = p->prefill_chunk ? p->prefill_chunk : 512;

    int rc = TA_OK;
    ta_kv_scratch scratch;
    ta_kv_scratch_init(&scratch);
    gen_seq *g = calloc(n, sizeof *g);
    ta_kv_seq *batch = calloc(n, sizeof *batch);
    size_t *idx = calloc(n, sizeof *idx); /* batch row -> sequence */
    float *logits = malloc(n * V * sizeof *logits);
    if (!g || !batch || !idx || !logits) {
        rc = ta_error_set(err, TA_ENOMEM, "generate: out of memory for %zu sequences", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        gen_seq *s = &g[i];
        s->prompt_len = prompt_lens[i];
        /* the last generated token is sampled, never run: the cache needs
         * prompt + max_new - 1 positions */
        s->max_new = p->max_tokens < max_pos - s->prompt_len ? p->max_tokens : max_pos - s->prompt_len;
        size_t cap = s->prompt_len + s->max_new;
        if (cap > max_pos) cap = max_pos;
        if ((rc = ta_kvcache_init(&s->cache, cfg, cap, err))) goto done;
        if ((rc = ta_sampler_init(&s->sampler, &p->sampler, V, p->seed + i, err))) goto done;
        if (!(s->hist = malloc((s->prompt_len + s->max_new) * sizeof *s->hist))) {
            rc = ta_error_set(err, TA_ENOMEM, "generate: out of memory");
            goto done;
        }
        memcpy(s->hist, prompts[i], s->prompt_len * sizeof *s->hist);
        s->n_hist = s->prompt_len;
    }

    /* Prefill: pack up to `chunk` prompt tokens per forward, across sequences. */
    for (;;) {
        size_t nb = 0, budget = chunk;
        for (size_t i = 0; i < n && budget > 0; i++) {
            gen_seq *s = &g[i];
            size_t left = s->prompt_len - s->prefilled;
            if (left == 0) continue;
            size_t take = left < budget ? left : budget;
            batch[nb] = (ta_kv_seq){&s->cache, s->hist + s->prefilled, take};
            idx[nb++] = i;
            budget -= take;
        }
        if (nb == 0) break;
        if ((rc = ta_kv_forward(m, batch, nb, TA_KV_LOGITS_LAST, logits, &scratch, err))) goto done;
        for (size_t b = 0; b < nb; b++) {
            gen_seq *s = &g[idx[b]];
            s->prefilled += batch[b].n_tokens;
            if (s->prefilled == s->prompt_len && (rc = advance(s, idx[b], logits + b * V, V, p, err))) goto done;
        }
    }

    /* Decode: every unfinished sequence advances by one token per step. */
    for (;;) {
        size_t nb = 0;
        for (size_t i = 0; i < n; i++) {
            gen_seq *s = &g[i];
            if (s->done) continue;
            batch[nb] = (ta_kv_seq){&s->cache, s->hist + s->n_hist - 1, 1};
            idx[nb++] = i;
        }
        if (nb == 0) break;
        if ((rc = ta_kv_forward(m, batch, nb, TA_KV_LOGITS_LAST, logits, &scratch, err))) goto done;
        for (size_t b = 0; b < nb; b++)
            if ((rc = advance(&g[idx[b]], idx[b], logits + b * V, V, p, err))) goto done;
    }

    /* Success: hand the generated ids over (all allocated before any output
     * is touched). */
    int32_t **toks = calloc(n, sizeof *toks);
    if (!toks) {
        rc = ta_error_set(err, TA_ENOMEM, "generate: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = g[i].n_hist - g[i].prompt_len;
        if (!(toks[i] = malloc((k ? k : 1) * sizeof **toks))) {
            for (size_t j = 0; j < i; j++) free(toks[j]);
            free(toks);
            rc = ta_error_set(err, TA_ENOMEM, "generate: out of memory");
            goto done;
        }
        memcpy(toks[i], g[i].hist + g[i].prompt_len, k * sizeof **toks);
    }
    for (size_t i = 0; i < n; i++) {
        outputs[i].tokens = toks[i];
        outputs[i].n_tokens = g[i].n_hist - g[i].prompt_len;
        outputs[i].finish = g[i].finish;
    }
    free(toks);

done:
    if (g)
        for (size_t i = 0; i < n; i++) {
            ta_kvcache_release(&g[i].cache);
            ta_sampler_release(&g[i].sampler);
            free(g[i].hist);
        }
    free(g);
    free(batch);
    free(idx);
    free(logits);
    ta_kv_scratch_release(&scratch);
    return rc;
}
