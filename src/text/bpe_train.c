#include "text/bpe_train.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/progress.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

/* Qwen2's pre-tokenizer regex (tokenizer.json of Qwen2/2.5/3): contractions,
 * letters with one leading non-letter, single digits, punctuation runs,
 * newlines, spaces. */
static const char QWEN2_REGEX[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                                  "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

void ta_bpe_train_opts_init(ta_bpe_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->vocab_size = 8192;
    o->min_frequency = 2;
}

/* ---- byte-level alphabet (GPT-2's bytes_to_unicode) ---- */

static void byte_chars(uint32_t cp[256]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        cp[b] = keep ? (uint32_t)b : (uint32_t)(256 + n++);
    }
}

static size_t put_utf8(char *o, uint32_t c) {
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xc0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3f)); return 2; }
    o[0] = (char)(0xe0 | (c >> 12));
    o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    o[2] = (char)(0x80 | (c & 0x3f));
    return 3;
}

/* Appends n bytes to a growable pool (*p, *len, *cap); offsets into it stay
 * below 4 GiB. */
static int pool_append(uint8_t **p, size_t *len, size_t *cap, const void *b, size_t n) {
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap * 2 : (1 << 16);
        while (nc < *len + n) nc *= 2;
        if (nc > UINT32_MAX) return TA_ERANGE;
        uint8_t *np = realloc(*p, nc);
        if (!np) return TA_ENOMEM;
        *p = np;
        *cap = nc;
    }
    memcpy(*p + *len, b, n);
    *len += n;
    return 0;
}

/* ---- counting pre-tokens: a hash map of distinct words ---- */

typedef struct wordmap {
    uint32_t *slots; /* word index + 1, 0 empty */
    size_t mask;
    uint8_t *keys; /* all word bytes */
    size_t keys_len, keys_cap;
    uint32_t *koff, *klen;
    uint64_t *count;
    uint64_t *hash;
    size_t n, cap;
    uint64_t total;
    int oom;
} wordmap;

static uint64_t fnv1a(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int wm_grow(wordmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 4096;
    uint32_t *ko = realloc(m->koff, ncap * sizeof *ko);
    if (ko) m->koff = ko;
    uint32_t *kl = realloc(m->klen, ncap * sizeof *kl);
    if (kl) m->klen = kl;
    uint64_t *c = realloc(m->count, ncap * sizeof *c);
    if (c) m->count = c;
    uint64_t *h = realloc(m->hash, ncap * sizeof *h);
    if (h) m->hash = h;
    if (!ko || !kl || !c || !h) return -1;
    m->cap = ncap;
    /* rehash at load 1/2 */
    size_t nslots = (m->mask + 1) ? (m->mask + 1) : 8192;
    while (nslots < 2 * ncap) nslots *= 2;
    if (nslots != m->mask + 1 || !m->slots) {
        uint32_t *ns = calloc(nslots, sizeof *ns);
        if (!ns) return -1;
        for (size_t i = 0; i < m->n; i++) {
            size_t j = m->hash[i] & (nslots - 1);
            while (ns[j]) j = (j + 1) & (nslots - 1);
            ns[j] = (uint32_t)(i + 1);
        }
        free(m->slots);
        m->slots = ns;
        m->mask = nslots - 1;
    }
    return 0;
}

static int wm_add(void *ctx, const char *w, size_t n) {
    wordmap *m = ctx;
    if (n == 0) return 0;
    if (n > 0xffff) n = 0xffff; /* a pathological piece: its tail is not worth merging over */
    m->total++;
    uint64_t h = fnv1a(w, n);
    if (m->slots) {
        size_t j = h & m->mask;
        while (m->slots[j]) {
            size_t i = m->slots[j] - 1;
            if (m->hash[i] == h && m->klen[i] == n && !memcmp(m->keys + m->koff[i], w, n)) {
                m->count[i]++;
                return 0;
            }
            j = (j + 1) & m->mask;
        }
    }
    if (m->n == m->cap && wm_grow(m)) { m->oom = 1; return TA_ENOMEM; }
    size_t at = m->keys_len;
    int rc = pool_append(&m->keys, &m->keys_len, &m->keys_cap, w, n);
    if (rc) { m->oom = 1; return rc; }
    size_t i = m->n++;
    m->koff[i] = (uint32_t)at;
    m->klen[i] = (uint32_t)n;
    m->count[i] = 1;
    m->hash[i] = h;
    size_t j = h & m->mask;
    while (m->slots[j]) j = (j + 1) & m->mask;
    m->slots[j] = (uint32_t)(i + 1);
    return 0;
}

static void wm_release(wordmap *m) {
    free(m->slots);
    free(m->keys);
    free(m->koff);
    free(m->klen);
    free(m->count);
    free(m->hash);
    memset(m, 0, sizeof *m);
}

/* ---- tokenizer.json ---- */

/* The token's byte-level spelling. */
static json_t *token_string(const uint8_t *b, size_t n, const uint32_t cp[256]) {
    char *s = malloc(3 * n + 1);
    if (!s) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += put_utf8(s + k, cp[b[i]]);
    json_t *j = json_stringn(s, k);
    free(s);
    return j;
}

typedef struct vocab {
    uint8_t *bytes; /* token bytes pool */
    size_t len, cap;
    uint32_t *off, *tlen; /* per token id */
    size_t n, n_cap;
    /* byte-string -> id */
    int32_t *slots;
    size_t mask;
} vocab;

static int32_t vocab_find(const vocab *v, const uint8_t *b, size_t n) {
    size_t j = fnv1a(b, n) & v->mask;
    while (v->slots[j] >= 0) {
        int32_t id = v->slots[j];
        if (v->tlen[id] == n && !memcmp(v->bytes + v->off[id], b, n)) return id;
        j = (j + 1) & v->mask;
    }
    return -1;
}

static int vocab_add(vocab *v, const uint8_t *b, size_t n) {
    if (v->n == v->n_cap) return -1; /* sized up front */
    size_t at = v->len;
    if (pool_append(&v->bytes, &v->len, &v->cap, b, n)) return -1;
    v->off[v->n] = (uint32_t)at;
    v->tlen[v->n] = (uint32_t)n;
    size_t j = fnv1a(b, n) & v->mask;
    while (v->slots[j] >= 0) j = (j + 1) & v->mask;
    v->slots[j] = (int32_t)v->n;
    v->n++;
    return 0;
}

static void vocab_release(vocab *v) {
    free(v->bytes);
    free(v->off);
    free(v->tlen);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static json_t *bytelevel(void) {
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 0,
                     "use_regex", 0);
}

/* tokenizer.json: specials (ids 0..S-1), then vocab ids S.. from v (bytes,
 * then merge results), merges as [left, right] pairs of token strings. */
static json_t *build_tokenizer_json(const ta_bpe_train_opts *o, const vocab *v, const int32_t *merges, size_t n_merges,
                                    const uint32_t cp[256]) {
    json_t *root = json_object(), *added = json_array(), *vj = json_object(), *mj = json_array();
    if (!root || !added || !vj || !mj) goto oom;
    for (size_t i = 0; i < o->n_specials; i++) {
        json_t *a = json_pack("{s:I, s:s, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)i, "content", o->specials[i],
                              "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1);
        if (!a || json_array_append_new(added, a)) goto oom;
        if (json_object_set_new(vj, o->specials[i], json_integer((json_int_t)i))) goto oom;
    }
    json_t **strs = calloc(v->n ? v->n : 1, sizeof *strs);
    if (!strs) goto oom;
    int bad = 0;
    for (size_t id = o->n_specials; id < v->n && !bad; id++) {
        strs[id] = token_string(v->bytes + v->off[id], v->tlen[id], cp);
        /* a merge cannot spell a special token: the pre-tokenizer never keeps
         * letters and punctuation in one piece */
        if (!strs[id] || json_object_set_new(vj, json_string_value(strs[id]), json_integer((json_int_t)id))) bad = 1;
    }
    for (size_t k = 0; k < n_merges && !bad; k++) {
        json_t *pair = json_array();
        if (!pair || json_array_append(pair, strs[merges[2 * k]]) || json_array_append(pair, strs[merges[2 * k + 1]]) ||
            json_array_append_new(mj, pair))
            bad = 1;
    }
    for (size_t id = 0; id < v->n; id++) json_decref(strs[id]);
    free(strs);
    if (bad) goto oom;
    json_t *model = json_pack("{s:s, s:n, s:n, s:s, s:s, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
                              "continuing_subword_prefix", "", "end_of_word_suffix", "", "fuse_unk", 0, "byte_fallback",
                              0, "ignore_merges", 0, "vocab", vj, "merges", mj);
    vj = mj = NULL;
    json_t *split = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", QWEN2_REGEX, "behavior",
                              "Isolated", "invert", 0);
    json_t *pre = json_pack("{s:s, s:[o, o]}", "type", "Sequence", "pretokenizers", split, bytelevel());
    if (!model || !pre) { json_decref(model); json_decref(pre); goto oom; }
    if (json_object_set_new(root, "version", json_string("1.0")) || json_object_set_new(root, "truncation", json_null()) ||
        json_object_set_new(root, "padding", json_null()) || json_object_set_new(root, "added_tokens", added) ||
        json_object_set_new(root, "normalizer", json_pack("{s:s}", "type", "NFC")) ||
        json_object_set_new(root, "pre_tokenizer", pre) || json_object_set_new(root, "post_processor", bytelevel()) ||
        json_object_set_new(root, "decoder", bytelevel()) || json_object_set_new(root, "model", model)) {
        json_decref(root);
        return NULL;
    }
    return root;
oom:
    json_decref(root);
    json_decref(added);
    json_decref(vj);
    json_decref(mj);
    return NULL;
}

static int has_special(const ta_bpe_train_opts *o, const char *s) {
    for (size_t i = 0; i < o->n_specials; i++)
        if (!strcmp(o->specials[i], s)) return 1;
    return 0;
}

static json_t *build_config(const ta_bpe_train_opts *o, int *wrote_template) {
    const char *eos = o->eos_token ? o->eos_token : has_special(o, "<|im_end|>") ? "<|im_end|>" : NULL;
    const char *pad = o->pad_token ? o->pad_token : has_special(o, "<|endoftext|>") ? "<|endoftext|>" : eos;
    json_t *dec = json_object();
    for (size_t i = 0; i < o->n_specials; i++) {
        char key[32];
        snprintf(key, sizeof key, "%zu", i);
        json_object_set_new(dec, key, json_pack("{s:s, s:b, s:b, s:b, s:b, s:b}", "content", o->specials[i], "lstrip", 0,
                                                "normalized", 0, "rstrip", 0, "single_word", 0, "special", 1));
    }
    json_t *c = json_object();
    json_object_set_new(c, "add_bos_token", json_false());
    json_object_set_new(c, "add_eos_token", json_false());
    json_object_set_new(c, "added_tokens_decoder", dec);
    json_object_set_new(c, "bos_token", o->bos_token ? json_string(o->bos_token) : json_null());
    json_object_set_new(c, "eos_token", eos ? json_string(eos) : json_null());
    json_object_set_new(c, "pad_token", pad ? json_string(pad) : json_null());
    json_object_set_new(c, "unk_token", json_null());
    json_object_set_new(c, "clean_up_tokenization_spaces", json_false());
    json_object_set_new(c, "model_max_length", json_integer(32768));
    json_object_set_new(c, "split_special_tokens", json_false());
    json_object_set_new(c, "tokenizer_class", json_string("PreTrainedTokenizerFast"));
    *wrote_template = has_special(o, "<|im_start|>") && has_special(o, "<|im_end|>");
    if (*wrote_template) json_object_set_new(c, "chat_template", json_string(ta_chat_template_qwen25()));
    return c;
}

static int write_json(const char *dir, const char *name, const json_t *j, ta_error *err) {
    char path[4096];
    int rc = ta_path_join(path, sizeof path, dir, name, err);
    if (rc) return rc;
    char *txt = json_dumps(j, JSON_INDENT(2));
    if (!txt) return ta_error_set(err, TA_ENOMEM, "'%s': out of memory serialising", path);
    size_t n = strlen(txt);
    txt[n] = '\n'; /* json_dumps leaves room for its NUL: reuse it for a final newline */
    rc = ta_file_write_atomic(path, txt, n + 1, err);
    free(txt);
    return rc;
}

/* ---- the merge loop ---- */

typedef struct pair {
    int32_t a, b;
    int64_t count;
    uint32_t *where; /* words holding the pair (may repeat or be stale) */
    uint32_t n_where, cap_where;
} pair;

typedef struct pairtab {
    pair *v;
    size_t n, cap;
    uint32_t *slots; /* index + 1 */
    size_t mask;
} pairtab;

static uint64_t pair_hash(int32_t a, int32_t b) {
    uint64_t x = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int pt_rehash(pairtab *t, size_t nslots) {
    uint32_t *ns = calloc(nslots, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = pair_hash(t->v[i].a, t->v[i].b) & (nslots - 1);
        while (ns[j]) j = (j + 1) & (nslots - 1);
        ns[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = ns;
    t->mask = nslots - 1;
    return 0;
}

/* Index of pair (a, b), created with count 0 when absent; -1 out of memory. */
static int64_t pt_get(pairtab *t, int32_t a, int32_t b) {
    size_t j = pair_hash(a, b) & t->mask;
    while (t->slots[j]) {
        pair *p = &t->v[t->slots[j] - 1];
        if (p->a == a && p->b == b) return t->slots[j] - 1;
        j = (j + 1) & t->mask;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 65536;
        pair *nv = realloc(t->v, nc * sizeof *nv);
        if (!nv) return -1;
        t->v = nv;
        t->cap = nc;
    }
    if (2 * (t->n + 1) > t->mask + 1) {
        if (pt_rehash(t, 2 * (t->mask + 1))) return -1;
        j = pair_hash(a, b) & t->mask;
        while (t->slots[j]) j = (j + 1) & t->mask;
    }
    size_t i = t->n++;
    t->v[i] = (pair){a, b, 0, NULL, 0, 0};
    t->slots[j] = (uint32_t)(i + 1);
    return (int64_t)i;
}

static int pair_note_word(pair *p, uint32_t w) {
    if (p->n_where && p->where[p->n_where - 1] == w) return 0;
    if (p->n_where == p->cap_where) {
        uint32_t nc = p->cap_where ? p->cap_where * 2 : 4;
        uint32_t *nw = realloc(p->where, nc * sizeof *nw);
        if (!nw) return -1;
        p->where = nw;
        p->cap_where = nc;
    }
    p->where[p->n_where++] = w;
    return 0;
}

/* Max-heap of (count, a, b), ties to the smaller (a, b); entries go stale
 * when counts change and are checked when popped. */
typedef struct hent {
    int64_t count;
    int32_t a, b;
} hent;

typedef struct heap {
    hent *v;
    size_t n, cap;
} heap;

static int hent_before(const hent *x, const hent *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int heap_push(heap *h, hent e) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 65536;
        hent *nv = realloc(h->v, nc * sizeof *nv);
        if (!nv) return -1;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hent_before(&e, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
    return 0;
}

static hent heap_pop(heap *h) {
    hent top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const hent *best = &last;
        if (l < h->n && hent_before(&h->v[l], best)) { m = l; best = &h->v[l]; }
        if (r < h->n && hent_before(&h->v[r], best)) m = r;
        if (m == i) break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n) h->v[i] = last;
    return top;
}

typedef struct trainer {
    const ta_bpe_train_opts *o;
    wordmap words;
    int32_t *syms;    /* all words' symbols */
    uint32_t *soff;   /* per word: start in syms */
    uint32_t *slen;   /* per word: current length */
    pairtab pairs;
    heap hp;
    vocab voc;
    int32_t *merges; /* 2 per merge */
    size_t n_merges;
    uint32_t cp[256];
    int32_t byte_id[256];
} trainer;

static int count_pair(trainer *T, int32_t a, int32_t b, int64_t delta, uint32_t w, int64_t **touched, size_t *nt,
                      size_t *ct) {
    int64_t i = pt_get(&T->pairs, a, b);
    if (i < 0) return -1;
    pair *p = &T->pairs.v[i];
    p->count += delta;
    if (delta > 0) {
        if (pair_note_word(p, w)) return -1;
        if (touched) {
            if (*nt == *ct) {
                size_t nc = *ct ? *ct * 2 : 256;
                int64_t *nv = realloc(*touched, nc * sizeof *nv);
                if (!nv) return -1;
                *touched = nv;
                *ct = nc;
            }
            (*touched)[(*nt)++] = i;
        }
    }
    return 0;
}

static int train_merges(trainer *T, ta_error *err) {
    const ta_bpe_train_opts *o = T->o;
    wordmap *W = &T->words;
    size_t total_syms = W->keys_len;
    T->syms = malloc((total_syms ? total_syms : 1) * sizeof *T->syms);
    T->soff = malloc((W->n ? W->n : 1) * sizeof *T->soff);
    T->slen = malloc((W->n ? W->n : 1) * sizeof *T->slen);
    if (!T->syms || !T->soff || !T->slen) return ta_error_set(err, TA_ENOMEM, "out of memory (%zu symbols)", total_syms);
    if (pt_rehash(&T->pairs, 1 << 16)) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t w = 0; w < W->n; w++) {
        T->soff[w] = W->koff[w];
        T->slen[w] = W->klen[w];
        const uint8_t *k = W->keys + W->koff[w];
        int32_t *s = T->syms + T->soff[w];
        for (size_t i = 0; i < W->klen[w]; i++) s[i] = T->byte_id[k[i]];
        for (size_t i = 0; i + 1 < W->klen[w]; i++)
            if (count_pair(T, s[i], s[i + 1], (int64_t)W->count[w], (uint32_t)w, NULL, NULL, NULL))
                return ta_error_set(err, TA_ENOMEM, "out of memory counting pairs");
    }
    for (size_t i = 0; i < T->pairs.n; i++)
        if (T->pairs.v[i].count > 0 && heap_push(&T->hp, (hent){T->pairs.v[i].count, T->pairs.v[i].a, T->pairs.v[i].b}))
            return ta_error_set(err, TA_ENOMEM, "out of memory");
    size_t max_merges = o->vocab_size > T->voc.n ? 4 * (o->vocab_size - T->voc.n) + 16 : 0;
    T->merges = malloc((max_merges ? max_merges : 1) * 2 * sizeof *T->merges);
    if (!T->merges) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int64_t *touched = NULL;
    size_t nt = 0, ct = 0;
    uint8_t *tmp = NULL;
    size_t tmp_cap = 0;
    int rc = TA_OK;
    ta_progress pr;
    ta_progress_start(&pr, o->progress ? stderr : NULL, "tokenizer train: merges", "tok", o->vocab_size - T->voc.n);
    size_t start_n = T->voc.n;
    while (T->voc.n < o->vocab_size && T->hp.n && T->n_merges < max_merges) {
        hent top = heap_pop(&T->hp);
        int64_t pi = pt_get(&T->pairs, top.a, top.b);
        if (pi < 0) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); break; }
        int64_t cur = T->pairs.v[pi].count;
        if (cur != top.count) {
            if (cur > 0 && cur < top.count && heap_push(&T->hp, (hent){cur, top.a, top.b})) {
                rc = ta_error_set(err, TA_ENOMEM, "out of memory");
                break;
            }
            continue;
        }
        if (cur < (int64_t)(o->min_frequency ? o->min_frequency : 1)) break;
        int32_t a = top.a, b = top.b;
        /* the merged token; an existing spelling keeps its id (as HF's trainer does) */
        size_t la = T->voc.tlen[a], lb = T->voc.tlen[b];
        if (la + lb > tmp_cap) {
            tmp_cap = 2 * (la + lb) + 64;
            uint8_t *nt2 = realloc(tmp, tmp_cap);
            if (!nt2) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); break; }
            tmp = nt2;
        }
        memcpy(tmp, T->voc.bytes + T->voc.off[a], la);
        memcpy(tmp + la, T->voc.bytes + T->voc.off[b], lb);
        int32_t nid = vocab_find(&T->voc, tmp, la + lb);
        if (nid < 0) {
            nid = (int32_t)T->voc.n;
            if (vocab_add(&T->voc, tmp, la + lb)) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); break; }
        }
        T->merges[2 * T->n_merges] = a;
        T->merges[2 * T->n_merges + 1] = b;
        T->n_merges++;
        /* rewrite every word holding (a, b); the list is read by index since
         * new pairs' lists grow meanwhile (never this one's: nid is new here or
         * merges into a different pair) */
        nt = 0;
        uint32_t nw = T->pairs.v[pi].n_where;
        for (uint32_t wi = 0; wi < nw && !rc; wi++) {
            uint32_t w = T->pairs.v[pi].where[wi];
            int32_t *s = T->syms + T->soff[w];
            uint32_t n = T->slen[w], j = 0;
            int64_t cnt = (int64_t)W->count[w];
            for (uint32_t i = 0; i < n;) {
                if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                    int ok = count_pair(T, a, b, -cnt, w, NULL, NULL, NULL) == 0;
                    if (ok && j > 0)
                        ok = count_pair(T, s[j - 1], a, -cnt, w, NULL, NULL, NULL) == 0 &&
                             count_pair(T, s[j - 1], nid, cnt, w, &touched, &nt, &ct) == 0;
                    if (ok && i + 2 < n)
                        ok = count_pair(T, b, s[i + 2], -cnt, w, NULL, NULL, NULL) == 0 &&
                             count_pair(T, nid, s[i + 2], cnt, w, &touched, &nt, &ct) == 0;
                    if (!ok) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); break; }
                    s[j++] = nid;
                    i += 2;
                } else {
                    s[j++] = s[i++];
                }
            }
            T->slen[w] = j;
        }
        if (rc) break;
        pair *p = &T->pairs.v[pi];
        free(p->where);
        p->where = NULL;
        p->n_where = p->cap_where = 0;
        for (size_t k = 0; k < nt; k++) {
            pair *q = &T->pairs.v[touched[k]];
            if (q->count > 0 && heap_push(&T->hp, (hent){q->count, q->a, q->b})) {
                rc = ta_error_set(err, TA_ENOMEM, "out of memory");
                break;
            }
        }
        if ((T->n_merges & 63) == 0) ta_progress_update(&pr, T->voc.n - start_n, NULL);
    }
    ta_progress_update(&pr, T->voc.n - start_n, NULL);
    ta_progress_finish(&pr);
    free(touched);
    free(tmp);
    return rc;
}

static void trainer_release(trainer *T) {
    wm_release(&T->words);
    free(T->syms);
    free(T->soff);
    free(T->slen);
    for (size_t i = 0; i < T->pairs.n; i++) free(T->pairs.v[i].where);
    free(T->pairs.v);
    free(T->pairs.slots);
    free(T->hp.v);
    vocab_release(&T->voc);
    free(T->merges);
}

/* The merge-less tokenizer of the output's shape, for pre-tokenization. */
static int pretok_tokenizer(trainer *T, ta_tokenizer **out, ta_error *err) {
    json_t *j = build_tokenizer_json(T->o, &T->voc, NULL, 0, T->cp);
    if (!j) return ta_error_set(err, TA_ENOMEM, "out of memory");
    char *txt = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!txt) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int rc = ta_tokenizer_load_buf(out, txt, strlen(txt), "the trainer's pre-tokenizer", err);
    free(txt);
    return rc;
}

static int trainer_init(trainer *T, const ta_bpe_train_opts *o, ta_error *err) {
    memset(T, 0, sizeof *T);
    T->o = o;
    if (o->vocab_size < o->n_specials + 256)
        return ta_error_set(err, TA_EINVAL, "--vocab-size %zu is below the %zu special tokens + 256 byte symbols",
                            o->vocab_size, o->n_specials);
    if (o->vocab_size > (1u << 24)) return ta_error_set(err, TA_EINVAL, "--vocab-size %zu is too large", o->vocab_size);
    for (size_t i = 0; i < o->n_specials; i++) {
        if (!o->specials[i][0]) return ta_error_set(err, TA_EINVAL, "special token %zu is empty", i);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(o->specials[i], o->specials[k]))
                return ta_error_set(err, TA_EINVAL, "special token '%s' is given twice", o->specials[i]);
    }
    byte_chars(T->cp);
    vocab *v = &T->voc;
    v->n_cap = o->vocab_size;
    v->off = malloc(v->n_cap * sizeof *v->off);
    v->tlen = malloc(v->n_cap * sizeof *v->tlen);
    size_t nslots = 1024;
    while (nslots < 2 * v->n_cap) nslots *= 2;
    v->slots = malloc(nslots * sizeof *v->slots);
    if (!v->off || !v->tlen || !v->slots) return ta_error_set(err, TA_ENOMEM, "out of memory");
    memset(v->slots, 0xff, nslots * sizeof *v->slots);
    v->mask = nslots - 1;
    /* specials occupy ids 0..S-1 with their text, but are never looked up as
     * byte strings (a merge spelling "<|im_end|>" is a different token) */
    for (size_t i = 0; i < o->n_specials; i++) {
        size_t n = strlen(o->specials[i]), at = v->len;
        if (pool_append(&v->bytes, &v->len, &v->cap, o->specials[i], n)) return ta_error_set(err, TA_ENOMEM, "out of memory");
        v->off[v->n] = (uint32_t)at;
        v->tlen[v->n] = (uint32_t)n;
        v->n++;
    }
    /* bytes in the order of their byte-level characters */
    int order[256];
    for (int b = 0; b < 256; b++) order[b] = b;
    for (int i = 1; i < 256; i++)
        for (int k = i; k > 0 && T->cp[order[k]] < T->cp[order[k - 1]]; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    for (int i = 0; i < 256; i++) {
        uint8_t b = (uint8_t)order[i];
        T->byte_id[b] = (int32_t)v->n;
        if (vocab_add(v, &b, 1)) return ta_error_set(err, TA_ENOMEM, "out of memory");
    }
    return TA_OK;
}

/* Pre-tokenizes text in pieces cut after a newline that is followed by a
 * non-space byte: no Qwen2 pre-token crosses such a point, and no special
 * token contains a newline, so the pieces split exactly as the whole would. */
static int count_text(trainer *T, const ta_tokenizer *tok, const char *text, size_t len, const char *what,
                      ta_error *err) {
    const size_t piece = 1 << 20;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos + piece < len ? pos + piece : len;
        if (end < len) {
            size_t e = end;
            while (e < len && !(text[e - 1] == '\n' && text[e] != '\n' && text[e] != '\r' && text[e] != ' ' &&
                                text[e] != '\t' && text[e] != '\f' && text[e] != '\v' && (unsigned char)text[e] < 0x80))
                e++;
            end = e;
        }
        int rc = ta_tokenizer_pretokenize(tok, text + pos, end - pos, wm_add, &T->words, err);
        if (rc) {
            if (T->words.oom) return ta_error_set(err, TA_ENOMEM, "%s: out of memory counting pre-tokens", what);
            return ta_error_prefix(err, "%s", what);
        }
        pos = end;
    }
    return TA_OK;
}

static int finish(trainer *T, const char *out_dir, ta_bpe_train_stats *st, double t0, double t1, ta_error *err) {
    int rc = train_merges(T, err);
    if (rc) return rc;
    double t2 = ta_now();
    json_t *tj = build_tokenizer_json(T->o, &T->voc, T->merges, T->n_merges, T->cp);
    int wrote = 0;
    json_t *cj = build_config(T->o, &wrote);
    if (!tj || !cj) rc = ta_error_set(err, TA_ENOMEM, "out of memory building tokenizer.json");
    if (!rc) rc = ta_mkdir_p(out_dir, err);
    if (!rc) rc = write_json(out_dir, "tokenizer.json", tj, err);
    if (!rc) rc = write_json(out_dir, "tokenizer_config.json", cj, err);
    json_decref(tj);
    json_decref(cj);
    if (!rc && st) {
        st->n_words = T->words.n;
        st->n_pretokens = T->words.total;
        st->n_merges = T->n_merges;
        st->t_pretok_s = t1 - t0;
        st->t_merge_s = t2 - t1;
        st->t_total_s = ta_now() - t0;
        st->wrote_chat_template = wrote;
    }
    return rc;
}

int ta_bpe_train_texts(const char *const *texts, const size_t *lens, size_t n, const ta_bpe_train_opts *o,
                       const char *out_dir, ta_bpe_train_stats *stats, ta_error *err) {
    double t0 = ta_now();
    trainer T;
    ta_tokenizer *tok = NULL;
    int rc = trainer_init(&T, o, err);
    if (!rc) rc = pretok_tokenizer(&T, &tok, err);
    size_t bytes = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char what[64];
        snprintf(what, sizeof what, "text %zu", i);
        rc = count_text(&T, tok, texts[i], lens[i], what, err);
        bytes += lens[i];
    }
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->corpus_bytes = bytes;
    }
    if (!rc) rc = finish(&T, out_dir, stats, t0, ta_now(), err);
    ta_tokenizer_free(tok);
    trainer_release(&T);
    return rc;
}

int ta_bpe_train(const char *const *files, size_t n_files, const ta_bpe_train_opts *o, const char *out_dir,
                 ta_bpe_train_stats *stats, ta_error *err) {
    double t0 = ta_now();
    trainer T;
    ta_tokenizer *tok = NULL;
    int rc = trainer_init(&T, o, err);
    if (!rc) rc = pretok_tokenizer(&T, &tok, err);
    size_t bytes = 0;
    for (size_t i = 0; i < n_files && !rc; i++) {
        ta_mapped m;
        if ((rc = ta_mapped_open(&m, files[i], err))) break;
        char what[4200];
        snprintf(what, sizeof what, "'%s'", files[i]);
        if (o->progress) fprintf(stderr, "tokenizer train: counting pre-tokens of %s (%zu bytes)\n", what, m.size);
        rc = count_text(&T, tok, (const char *)m.data, m.size, what, err);
        bytes += m.size;
        ta_mapped_release(&m);
    }
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->corpus_bytes = bytes;
    }
    if (!rc) rc = finish(&T, out_dir, stats, t0, ta_now(), err);
    ta_tokenizer_free(tok);
    trainer_release(&T);
    return rc;
}
