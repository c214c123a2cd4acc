#include "model/gguf.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"

enum { GT_UINT32 = 4, GT_INT32 = 5, GT_FLOAT32 = 6, GT_BOOL = 7, GT_STRING = 8, GT_ARRAY = 9, GT_UINT64 = 10 };
#define GGUF_ALIGN 32

/* A growable byte buffer with little-endian writers. */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 1 << 16;
        while (nc < b->n + n) nc *= 2;
        uint8_t *np = realloc(b->p, nc);
        if (!np) { b->oom = 1; return; }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void u32(buf *b, uint32_t v) { uint8_t x[4] = {v, v >> 8, v >> 16, v >> 24}; put(b, x, 4); }
static void u64(buf *b, uint64_t v) { for (int i = 0; i < 8; i++) { uint8_t x = (uint8_t)(v >> (8 * i)); put(b, &x, 1); } }
static void f32(buf *b, float v) { uint32_t u; memcpy(&u, &v, 4); u32(b, u); }
static void str(buf *b, const char *s) { size_t n = strlen(s); u64(b, n); put(b, s, n); }

/* Metadata key/value writers; kv counts the pairs. */
typedef struct { buf b; uint64_t kv; } meta;
static void kv_u32(meta *m, const char *k, uint32_t v) { str(&m->b, k); u32(&m->b, GT_UINT32); u32(&m->b, v); m->kv++; }
static void kv_f32(meta *m, const char *k, float v) { str(&m->b, k); u32(&m->b, GT_FLOAT32); f32(&m->b, v); m->kv++; }
static void kv_bool(meta *m, const char *k, int v) { uint8_t x = (uint8_t)!!v; str(&m->b, k); u32(&m->b, GT_BOOL); put(&m->b, &x, 1); m->kv++; }
static void kv_str(meta *m, const char *k, const char *v) { str(&m->b, k); u32(&m->b, GT_STRING); str(&m->b, v); m->kv++; }

static uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* round to nearest even; may carry into the exponent */
    return (uint16_t)half;
}

typedef struct {
    char name[96];
    uint32_t n_dims;
    uint64_t ne[2];
    ta_gguf_type type;
    const float *src; /* (ne[1], ne[0]) row-major */
    float *owned;     /* permuted or computed copy */
    uint64_t offset, size;
} gtensor;

static uint64_t tensor_bytes(ta_gguf_type t, uint64_t numel) {
    return t == TA_GGUF_F32 ? numel * 4 : t == TA_GGUF_F16 ? numel * 2 : numel / 32 * 34;
}

/* llama.cpp's LlamaModel.permute: per head, interleave the two rotate_half halves. */
static float *permute_qk(const float *w, size_t n_head, size_t head_dim, size_t cols) {
    float *o = malloc(n_head * head_dim * cols * sizeof *o);
    if (!o) return NULL;
    size_t half = head_dim / 2;
    for (size_t h = 0; h < n_head; h++)
        for (size_t i = 0; i < half; i++)
            for (size_t j = 0; j < 2; j++)
                memcpy(o + (h * head_dim + 2 * i + j) * cols, w + (h * head_dim + j * half + i) * cols, cols * sizeof *o);
    return o;
}

static void write_tensor_data(buf *b, const gtensor *t) {
    uint64_t numel = t->ne[0] * (t->n_dims > 1 ? t->ne[1] : 1);
    if (t->type == TA_GGUF_F32) {
        for (uint64_t i = 0; i < numel; i++) f32(b, t->src[i]);
    } else if (t->type == TA_GGUF_F16) {
        for (uint64_t i = 0; i < numel; i++) {
            uint16_t h = f32_to_f16(t->src[i]);
            uint8_t x[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
            put(b, x, 2);
        }
    } else { /* Q8_0 as ggml's quantize_row_q8_0_reference */
        for (uint64_t blk = 0; blk < numel / 32; blk++) {
            const float *x = t->src + blk * 32;
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[i]));
            float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
            uint16_t h = f32_to_f16(d);
            uint8_t hb[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
            put(b, hb, 2);
            int8_t q[32];
            for (int i = 0; i < 32; i++) q[i] = (int8_t)roundf(x[i] * id);
            put(b, q, 32);
        }
    }
}

static const char *pre_tokenizer_name(const json_t *tok) {
    char *pt = json_dumps(json_object_get(tok, "pre_tokenizer"), JSON_COMPACT);
    const char *name = "gpt2";
    if (pt) {
        if (strstr(pt, "\\\\p{N}{1,3}")) name = "llama-bpe";
        else if (strstr(pt, "[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}")) name = "qwen2";
        free(pt);
    }
    return name;
}

static int write_tokenizer(meta *m, const char *dir, const ta_config *cfg, ta_error *err) {
    char path[4096];
    json_t *tok = NULL, *tcfg = NULL;
    int rc;
    if ((rc = ta_path_join(path, sizeof path, dir, "tokenizer.json", err)) || (rc = ta_json_load_file(path, &tok, err))) return rc;
    const json_t *model = json_object_get(tok, "model"), *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
    if (!json_is_object(vocab) || !json_is_array(merges) || strcmp(json_string_value(json_object_get(model, "type")) ? json_string_value(json_object_get(model, "type")) : "", "BPE")) {
        json_decref(tok);
        return ta_error_set(err, TA_EUNSUPPORTED, "'%s': GGUF export needs a byte-level BPE tokenizer (model.type BPE with vocab and merges)", path);
    }
    size_t n = cfg->vocab_size;
    const char **tokens = calloc(n, sizeof *tokens);
    int32_t *types = calloc(n, sizeof *types);
    char **pads = calloc(n, sizeof *pads);
    if (!tokens || !types || !pads) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)vocab, k, v) {
        json_int_t id = json_integer_value(v);
        if (id >= 0 && (size_t)id < n) { tokens[id] = k; types[id] = 1; }
    }
    size_t i;
    json_t *at;
    json_array_foreach(json_object_get(tok, "added_tokens"), i, at) {
        json_int_t id = json_integer_value(json_object_get(at, "id"));
        if (id < 0 || (size_t)id >= n) continue;
        tokens[id] = json_string_value(json_object_get(at, "content"));
        types[id] = json_is_true(json_object_get(at, "special")) ? 3 : 4; /* control : user-defined */
    }
    for (size_t t = 0; t < n; t++)
        if (!tokens[t]) { /* the embedding is larger than the vocabulary: llama.cpp wants a token per row */
            char nm[32];
            snprintf(nm, sizeof nm, "[PAD%zu]", t);
            pads[t] = strdup(nm);
            tokens[t] = pads[t];
            types[t] = 5; /* unused */
        }
    kv_str(m, "tokenizer.ggml.model", "gpt2");
    kv_str(m, "tokenizer.ggml.pre", pre_tokenizer_name(tok));
    str(&m->b, "tokenizer.ggml.tokens");
    u32(&m->b, GT_ARRAY);
    u32(&m->b, GT_STRING);
    u64(&m->b, n);
    for (size_t t = 0; t < n; t++) str(&m->b, tokens[t]);
    m->kv++;
    str(&m->b, "tokenizer.ggml.token_type");
    u32(&m->b, GT_ARRAY);
    u32(&m->b, GT_INT32);
    u64(&m->b, n);
    for (size_t t = 0; t < n; t++) u32(&m->b, (uint32_t)types[t]);
    m->kv++;
    str(&m->b, "tokenizer.ggml.merges");
    u32(&m->b, GT_ARRAY);
    u32(&m->b, GT_STRING);
    u64(&m->b, json_array_size(merges));
    json_t *mg;
    json_array_foreach((json_t *)merges, i, mg) {
        if (json_is_string(mg)) {
            str(&m->b, json_string_value(mg));
        } else if (json_is_array(mg) && json_array_size(mg) == 2) {
            char tmp[1024];
            snprintf(tmp, sizeof tmp, "%s %s", json_string_value(json_array_get(mg, 0)), json_string_value(json_array_get(mg, 1)));
            str(&m->b, tmp);
        } else {
            rc = ta_error_set(err, TA_EFORMAT, "'%s': model.merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", path, i);
            goto done;
        }
    }
    m->kv++;
    if (cfg->bos_token_id >= 0) kv_u32(m, "tokenizer.ggml.bos_token_id", (uint32_t)cfg->bos_token_id);
    if (cfg->n_eos) kv_u32(m, "tokenizer.ggml.eos_token_id", (uint32_t)cfg->eos_token_ids[0]);
    if (cfg->pad_token_id >= 0) kv_u32(m, "tokenizer.ggml.padding_token_id", (uint32_t)cfg->pad_token_id);
    /* BOS is added only when the post-processor adds it (Llama 3 does, Qwen does not) */
    char *pp = json_dumps(json_object_get(tok, "post_processor"), JSON_COMPACT);
    int adds_bos = pp && cfg->bos_token_id >= 0 && strstr(pp, "\"SpecialToken\"") != NULL;
    free(pp);
    kv_bool(m, "tokenizer.ggml.add_bos_token", adds_bos);
    if (ta_path_join(path, sizeof path, dir, "tokenizer_config.json", err) == TA_OK && ta_file_exists(path) && ta_json_load_file(path, &tcfg, err) == TA_OK) {
        const json_t *ct = json_object_get(tcfg, "chat_template");
        if (json_is_string(ct)) kv_str(m, "tokenizer.chat_template", json_string_value(ct));
        const json_t *eos = json_object_get(tcfg, "eos_token");
        const char *eos_s = json_is_string(eos) ? json_string_value(eos) : json_string_value(json_object_get(eos, "content"));
        /* the end-of-turn token lets llama.cpp stop chat replies (<|im_end|>, <|eot_id|>) */
        if (eos_s)
            for (size_t t = 0; t < n; t++)
                if (!strcmp(tokens[t], eos_s) && (!cfg->n_eos || (int32_t)t != cfg->eos_token_ids[0])) {
                    kv_u32(m, "tokenizer.ggml.eot_token_id", (uint32_t)t);
                    break;
                }
    }
    rc = TA_OK;
done:
    if (pads) for (size_t t = 0; t < n; t++) free(pads[t]);
    free(pads);
    free(tokens);
    free(types);
    json_decref(tok);
    json_decref(tcfg);
    return rc;
}

int ta_gguf_export(const ta_model *mdl, const char *model_dir, const char *out_path, ta_gguf_type type, ta_error *err) {
    const ta_config *c = &mdl->cfg;
    const ta_weights *w = &mdl->w;
    int qwen = c->arch == TA_ARCH_QWEN2;
    const char *arch = qwen ? "qwen2" : "llama";
    size_t L = c->n_layers, maxt = 12 * L + 4;
    gtensor *ts = calloc(maxt, sizeof *ts);
    meta m = {0};
    buf out = {0};
    int rc = TA_OK;
    size_t nt = 0;
    if (!ts) return ta_error_set(err, TA_ENOMEM, "out of memory");
#define ADD(nm, ptr, rows, cols, is_matrix)                                                                                     \
    do {                                                                                                                        \
        gtensor *t = &ts[nt++];                                                                                                 \
        snprintf(t->name, sizeof t->name, "%s", nm);                                                                            \
        t->src = ptr;                                                                                                           \
        t->n_dims = (is_matrix) ? 2 : 1;                                                                                        \
        t->ne[0] = (is_matrix) ? (cols) : (rows);                                                                               \
        t->ne[1] = (is_matrix) ? (rows) : 1;                                                                                    \
        t->type = !(is_matrix) ? TA_GGUF_F32 : type == TA_GGUF_Q8_0 && (cols) % 32 ? TA_GGUF_F16 : type;                       \
    } while (0)
    size_t C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size, HD = c->head_dim;
    size_t NQ = c->n_heads * HD, NKV = c->n_kv_heads * HD;
    char nm[96];
    ADD("token_embd.weight", w->embed, V, C, 1);
    for (size_t l = 0; l < L; l++) {
        const ta_layer_weights *lw = &w->layers[l];
        const float *wq = lw->wq, *wk = lw->wk;
        if (!qwen) {
            float *pq = permute_qk(lw->wq, c->n_heads, HD, C), *pk = permute_qk(lw->wk, c->n_kv_heads, HD, C);
            if (!pq || !pk) { free(pq); free(pk); rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
            wq = pq;
            wk = pk;
        }
#define LNAME(suffix) (snprintf(nm, sizeof nm, "blk.%zu.%s", l, suffix), nm)
        ADD(LNAME("attn_norm.weight"), lw->attn_norm, C, 0, 0);
        ADD(LNAME("attn_q.weight"), wq, NQ, C, 1);
        if (!qwen) ts[nt - 1].owned = (float *)wq;
        ADD(LNAME("attn_k.weight"), wk, NKV, C, 1);
        if (!qwen) ts[nt - 1].owned = (float *)wk;
        ADD(LNAME("attn_v.weight"), lw->wv, NKV, C, 1);
        if (lw->bq) {
            ADD(LNAME("attn_q.bias"), lw->bq, NQ, 0, 0);
            ADD(LNAME("attn_k.bias"), lw->bk, NKV, 0, 0);
            ADD(LNAME("attn_v.bias"), lw->bv, NKV, 0, 0);
        }
        ADD(LNAME("attn_output.weight"), lw->wo, C, NQ, 1);
        ADD(LNAME("ffn_norm.weight"), lw->mlp_norm, C, 0, 0);
        ADD(LNAME("ffn_gate.weight"), lw->w_gate, F, C, 1);
        ADD(LNAME("ffn_up.weight"), lw->w_up, F, C, 1);
        ADD(LNAME("ffn_down.weight"), lw->w_down, C, F, 1);
#undef LNAME
    }
    ADD("output_norm.weight", w->final_norm, C, 0, 0);
    if (!c->tie_word_embeddings) ADD("output.weight", w->lm_head, V, C, 1);
    if (c->rope_kind == TA_ROPE_LLAMA3) {
        /* llama.cpp divides each pair's frequency by this factor (convert_hf_to_gguf's generate_extra_tensors) */
        size_t np = HD / 2;
        float *f = malloc(np * sizeof *f);
        if (!f) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
        double lo_wl = c->rope_original_max_pos / c->rope_low_freq_factor, hi_wl = c->rope_original_max_pos / c->rope_high_freq_factor;
        for (size_t i = 0; i < np; i++) {
            double freq = 1.0 / pow(c->rope_theta, (double)(2 * i) / (double)HD), wl = 2 * M_PI / freq;
            if (wl < hi_wl) f[i] = 1.0f;
            else if (wl > lo_wl) f[i] = (float)c->rope_factor;
            else {
                double smooth = (c->rope_original_max_pos / wl - c->rope_low_freq_factor) / (c->rope_high_freq_factor - c->rope_low_freq_factor);
                f[i] = (float)(1.0 / ((1 - smooth) / c->rope_factor + smooth));
            }
        }
        ADD("rope_freqs.weight", f, np, 0, 0);
        ts[nt - 1].owned = f;
    }
#undef ADD
    /* metadata */
    kv_str(&m, "general.architecture", arch);
    const char *base = strrchr(model_dir, '/');
    kv_str(&m, "general.name", base && base[1] ? base + 1 : model_dir);
    kv_u32(&m, "general.alignment", GGUF_ALIGN);
    kv_u32(&m, "general.file_type", type == TA_GGUF_F32 ? 0 : type == TA_GGUF_F16 ? 1 : 7);
    char key[128];
#define AK(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    kv_u32(&m, AK("context_length"), (uint32_t)c->max_position_embeddings);
    kv_u32(&m, AK("embedding_length"), (uint32_t)C);
    kv_u32(&m, AK("block_count"), (uint32_t)L);
    kv_u32(&m, AK("feed_forward_length"), (uint32_t)F);
    kv_u32(&m, AK("attention.head_count"), (uint32_t)c->n_heads);
    kv_u32(&m, AK("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    kv_u32(&m, AK("attention.key_length"), (uint32_t)HD);
    kv_u32(&m, AK("attention.value_length"), (uint32_t)HD);
    kv_u32(&m, AK("rope.dimension_count"), (uint32_t)HD);
    kv_f32(&m, AK("rope.freq_base"), (float)c->rope_theta);
    kv_f32(&m, AK("attention.layer_norm_rms_epsilon"), c->rms_norm_eps);
    kv_u32(&m, AK("vocab_size"), (uint32_t)V);
#undef AK
    if ((rc = write_tokenizer(&m, model_dir, c, err))) goto done;
    /* header + metadata + tensor infos, then aligned data */
    u32(&out, 0x46554747u); /* "GGUF" */
    u32(&out, 3);
    u64(&out, nt);
    u64(&out, m.kv);
    put(&out, m.b.p, m.b.n);
    uint64_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        gtensor *t = &ts[i];
        uint64_t numel = t->ne[0] * t->ne[1];
        t->offset = off;
        t->size = tensor_bytes(t->type, numel);
        off += (t->size + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
        str(&out, t->name);
        u32(&out, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) u64(&out, t->ne[d]);
        u32(&out, (uint32_t)t->type);
        u64(&out, t->offset);
    }
    static const uint8_t zeros[GGUF_ALIGN] = {0};
    put(&out, zeros, (GGUF_ALIGN - out.n % GGUF_ALIGN) % GGUF_ALIGN);
    size_t data0 = out.n;
    for (size_t i = 0; i < nt; i++) {
        put(&out, zeros, (size_t)(data0 + ts[i].offset - out.n));
        write_tensor_data(&out, &ts[i]);
    }
    if (out.oom || m.b.oom) { rc = ta_error_set(err, TA_ENOMEM, "out of memory building '%s'", out_path); goto done; }
    rc = ta_file_write_atomic(out_path, out.p, out.n, err);
done:
    for (size_t i = 0; i < nt; i++) free(ts[i].owned);
    free(ts);
    free(m.b.p);
    free(out.p);
    return rc;
}
