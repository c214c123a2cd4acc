/* model.c: model folders: create, random init, load (single or sharded
 * safetensors), save. */
#include "model/model.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/safetensors.h"

#define MAX_INDEX_BYTES ((size_t)64 << 20)
#define MAX_SHARDS 4096

int ta_model_create(ta_model *m, const ta_config *cfg, ta_error *err) {
    int rc = ta_config_validate(cfg, "config", err);
    if (rc) return rc;
    memset(m, 0, sizeof *m);
    size_t n = ta_weights_numel(cfg);
    if (n > SIZE_MAX / sizeof(float) - 64) return ta_error_set(err, TA_ENOMEM, "model too large (%zu parameters)", n);
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *slab = aligned_alloc(64, bytes ? bytes : 64);
    if (!slab) return ta_error_set(err, TA_ENOMEM, "out of memory allocating %zu parameters (%.1f MB)", n, (double)bytes / 1e6);
    memset(slab, 0, bytes);
    ta_weights w;
    if ((rc = ta_weights_bind(&w, cfg, slab, err))) {
        free(slab);
        return rc;
    }
    m->cfg = *cfg;
    m->w = w;
    m->slab = slab;
    return TA_OK;
}

void ta_model_release(ta_model *m) {
    if (!m) return;
    ta_weights_release(&m->w);
    free(m->slab);
    memset(m, 0, sizeof *m);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* One normal stream over the layout order, so the result depends only on the
 * seed and the config. */
void ta_model_init_random(ta_model *m, uint64_t seed, float std) {
    ta_rng rng;
    ta_rng_seed(&rng, seed);
    for (size_t i = 0; i < m->w.n_tensors; i++) {
        const ta_param_info *p = &m->w.params[i];
        float *x = m->slab + p->offset;
        if (ends_with(p->name, "norm.weight")) {
            for (size_t j = 0; j < p->numel; j++) x[j] = 1.0f;
        } else if (ends_with(p->name, ".bias")) {
            memset(x, 0, p->numel * sizeof *x);
        } else {
            for (size_t j = 0; j < p->numel; j++) x[j] = (float)(ta_rng_normal(&rng) * std);
        }
    }
}

/* ---- loading ------------------------------------------------------------ */

typedef struct {
    ta_safetensors *files; /* (n_files) */
    char **names;          /* file names relative to the folder, (n_files) */
    size_t n_files;
    json_t *weight_map;    /* sharded: name -> file name; NULL for one file */
    json_t *index;
} weight_source;

static void source_release(weight_source *s) {
    for (size_t i = 0; i < s->n_files; i++) {
        ta_safetensors_release(&s->files[i]);
        free(s->names[i]);
    }
    free(s->files);
    free(s->names);
    json_decref(s->index);
    memset(s, 0, sizeof *s);
}

static int source_add(weight_source *s, const char *dir, const char *name, ta_error *err) {
    char path[4096];
    int rc = ta_path_join(path, sizeof path, dir, name, err);
    if (rc) return rc;
    ta_safetensors *nf = realloc(s->files, (s->n_files + 1) * sizeof *nf);
    if (!nf) return ta_error_set(err, TA_ENOMEM, "out of memory");
    s->files = nf;
    char **nn = realloc(s->names, (s->n_files + 1) * sizeof *nn);
    if (!nn) return ta_error_set(err, TA_ENOMEM, "out of memory");
    s->names = nn;
    char *dup = strdup(name);
    if (!dup) return ta_error_set(err, TA_ENOMEM, "out of memory");
    if ((rc = ta_safetensors_open(&s->files[s->n_files], path, err))) {
        free(dup);
        return rc;
    }
    s->names[s->n_files++] = dup;
    return TA_OK;
}

/* A shard name from the index must be a plain file name inside the folder. */
static int check_shard_name(const char *name, const char *what, ta_error *err) {
    if (!name[0] || strchr(name, '/') || name[0] == '.' || strlen(name) > 255)
        return ta_error_set(err, TA_EFORMAT, "%s: weight_map names shard '%.200s', which is not a plain file name in the model folder", what, name);
    return TA_OK;
}

static int source_open(weight_source *s, const char *dir, ta_error *err) {
    memset(s, 0, sizeof *s);
    char path[4096];
    int rc = ta_path_join(path, sizeof path, dir, "model.safetensors", err);
    if (rc) return rc;
    if (ta_file_exists(path)) return source_add(s, dir, "model.safetensors", err);
    if ((rc = ta_path_join(path, sizeof path, dir, "model.safetensors.index.json", err))) return rc;
    if (!ta_file_exists(path))
        return ta_error_set(err, TA_ENOTFOUND, "'%s': no model.safetensors or model.safetensors.index.json", dir);
    char *buf = NULL;
    size_t len = 0;
    if ((rc = ta_file_read_all(path, MAX_INDEX_BYTES, &buf, &len, err))) return rc;
    rc = ta_json_load_buf(buf, len, path, &s->index, err);
    free(buf);
    if (rc) return rc;
    s->weight_map = json_object_get(s->index, "weight_map");
    if (!json_is_object(s->weight_map)) {
        rc = ta_error_set(err, TA_EFORMAT, "%s: \"weight_map\" must be an object of tensor name -> shard file", path);
        goto fail;
    }
    const char *key;
    json_t *val;
    json_object_foreach(s->weight_map, key, val) {
        if (!json_is_string(val)) {
            rc = ta_error_set(err, TA_EFORMAT, "%s: weight_map entry '%.200s' must be a file name string", path, key);
            goto fail;
        }
        const char *fname = json_string_value(val);
        if ((rc = check_shard_name(fname, path, err))) goto fail;
        size_t i = 0;
        while (i < s->n_files && strcmp(s->names[i], fname) != 0) i++;
        if (i < s->n_files) continue;
        if (s->n_files >= MAX_SHARDS) {
            rc = ta_error_set(err, TA_ERANGE, "%s: more than %d shard files", path, MAX_SHARDS);
            goto fail;
        }
        if ((rc = source_add(s, dir, fname, err))) goto fail;
    }
    return TA_OK;
fail:
    source_release(s);
    return rc;
}

/* Finds tensor `name`; *file gets the file it lives in. NULL if absent. */
static const ta_st_tensor *source_find(const weight_source *s, const char *name, const ta_safetensors **file) {
    if (!s->weight_map) {
        *file = &s->files[0];
        return ta_safetensors_find(&s->files[0], name);
    }
    json_t *v = json_object_get(s->weight_map, name);
    if (!v) return NULL;
    for (size_t i = 0; i < s->n_files; i++)
        if (!strcmp(s->names[i], json_string_value(v))) {
            *file = &s->files[i];
            return ta_safetensors_find(&s->files[i], name);
        }
    return NULL;
}

static void format_shape(char *out, size_t cap, const size_t *shape, size_t ndim) {
    size_t k = 0;
    k += (size_t)snprintf(out + k, cap - k, "[");
    for (size_t i = 0; i < ndim && k < cap; i++) k += (size_t)snprintf(out + k, cap - k, "%s%zu", i ? "," : "", shape[i]);
    if (k < cap) snprintf(out + k, cap - k, "]");
}

/* Tensors a checkpoint may carry that taskalign recomputes or does not need. */
static int harmless_extra(const char *name) { return ends_with(name, "rotary_emb.inv_freq"); }

static int load_tensor(const ta_safetensors *f, const ta_st_tensor *t, const ta_param_info *p, float *dst, ta_error *err) {
    int same = t->ndim == p->ndim && t->shape[0] == p->shape[0] && (p->ndim < 2 || t->shape[1] == p->shape[1]);
    if (!same) {
        char have[128], want[64];
        format_shape(have, sizeof have, t->shape, t->ndim);
        format_shape(want, sizeof want, p->shape, p->ndim);
        return ta_error_set(err, TA_EFORMAT, "%s: tensor '%s' has shape %s, config wants %s", f->what, t->name, have, want);
    }
    return ta_safetensors_read_f32(f, t, dst, err);
}

/* Tied models whose file also stores lm_head.weight (some exports do): the
 * copy must equal the embedding after conversion, else the file disagrees
 * with tie_word_embeddings and we refuse rather than guess. */
static int check_tied_head(const ta_model *m, const ta_safetensors *f, const ta_st_tensor *t, ta_error *err) {
    const ta_param_info *emb = ta_weights_find(&m->w, "model.embed_tokens.weight");
    float *tmp = malloc(emb->numel * sizeof *tmp);
    if (!tmp) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int rc = load_tensor(f, t, emb, tmp, err);
    if (!rc && memcmp(tmp, m->slab + emb->offset, emb->numel * sizeof *tmp) != 0)
        rc = ta_error_set(err, TA_EFORMAT, "%s: tensor 'lm_head.weight' differs from 'model.embed_tokens.weight' but config.json has tie_word_embeddings true",
                          f->what);
    free(tmp);
    return rc;
}

int ta_model_load(ta_model *out, const char *dir, ta_error *err) {
    char path[4096];
    ta_config cfg;
    int rc = ta_path_join(path, sizeof path, dir, "config.json", err);
    if (rc) return rc;
    if ((rc = ta_config_load(&cfg, path, err))) return rc;
    weight_source src;
    if ((rc = source_open(&src, dir, err))) return rc;
    ta_model m;
    if ((rc = ta_model_create(&m, &cfg, err))) {
        source_release(&src);
        return rc;
    }
    for (size_t i = 0; i < m.w.n_tensors && !rc; i++) {
        const ta_param_info *p = &m.w.params[i];
        const ta_safetensors *f = NULL;
        const ta_st_tensor *t = source_find(&src, p->name, &f);
        if (!t) {
            json_t *where = src.weight_map ? json_object_get(src.weight_map, p->name) : NULL;
            if (!src.weight_map)
                rc = ta_error_set(err, TA_ENOTFOUND, "%s: tensor '%s' is missing", src.files[0].what, p->name);
            else if (!where)
                rc = ta_error_set(err, TA_ENOTFOUND, "%s/model.safetensors.index.json: tensor '%s' is missing from weight_map", dir, p->name);
            else
                rc = ta_error_set(err, TA_ENOTFOUND, "%s/%s: tensor '%s' is missing (model.safetensors.index.json places it there)", dir,
                                  json_string_value(where), p->name);
            break;
        }
        rc = load_tensor(f, t, p, m.slab + p->offset, err);
    }
    /* Everything in the files must be something we used. */
    for (size_t k = 0; k < src.n_files && !rc; k++) {
        const ta_safetensors *f = &src.files[k];
        for (size_t j = 0; j < f->n_tensors && !rc; j++) {
            const ta_st_tensor *t = &f->tensors[j];
            if (ta_weights_find(&m.w, t->name) || harmless_extra(t->name)) continue;
            if (cfg.tie_word_embeddings && !strcmp(t->name, "lm_head.weight")) {
                rc = check_tied_head(&m, f, t, err);
                continue;
            }
            rc = ta_error_set(err, TA_EUNSUPPORTED, "%s: unexpected tensor '%.200s' (not part of a %s with this config)", f->what, t->name,
                              cfg.arch_name);
        }
    }
    source_release(&src);
    if (rc) {
        ta_model_release(&m);
        return rc;
    }
    snprintf(m.dir, sizeof m.dir, "%s", dir);
    *out = m;
    return TA_OK;
}

/* ---- saving ------------------------------------------------------------- */

static const char *TOKENIZER_FILES[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                                        "tokenizer.model"};

static int copy_file(const char *from_dir, const char *to_dir, const char *name, ta_error *err) {
    char src[4096], dst[4096];
    int rc = ta_path_join(src, sizeof src, from_dir, name, err);
    if (!rc) rc = ta_path_join(dst, sizeof dst, to_dir, name, err);
    if (rc) return rc;
    if (!ta_file_exists(src)) return TA_OK;
    char *buf = NULL;
    size_t len = 0;
    if ((rc = ta_file_read_all(src, (size_t)1 << 30, &buf, &len, err))) return rc;
    rc = ta_file_write_atomic(dst, buf, len, err);
    free(buf);
    return rc;
}

int ta_model_save(const ta_model *m, const char *dir, ta_dtype dtype, const char *copy_tokenizer_from, ta_error *err) {
    if (dtype != TA_DTYPE_F32 && dtype != TA_DTYPE_BF16) return ta_error_set(err, TA_EUNSUPPORTED, "%s: models are saved as F32 or BF16", dir);
    int rc = ta_mkdir_p(dir, err);
    if (rc) return rc;
    ta_st_entry *e = calloc(m->w.n_tensors ? m->w.n_tensors : 1, sizeof *e);
    if (!e) return ta_error_set(err, TA_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->w.n_tensors; i++) {
        const ta_param_info *p = &m->w.params[i];
        e[i].name = p->name;
        e[i].data = m->slab + p->offset;
        e[i].ndim = p->ndim;
        e[i].shape[0] = p->shape[0];
        e[i].shape[1] = p->shape[1];
    }
    char path[4096];
    rc = ta_path_join(path, sizeof path, dir, "model.safetensors", err);
    if (!rc) rc = ta_safetensors_write(path, e, m->w.n_tensors, dtype, err);
    free(e);
    if (rc) return rc;
    ta_config cfg = m->cfg;
    snprintf(cfg.torch_dtype, sizeof cfg.torch_dtype, "%s", dtype == TA_DTYPE_BF16 ? "bfloat16" : "float32");
    if ((rc = ta_path_join(path, sizeof path, dir, "config.json", err))) return rc;
    if ((rc = ta_config_save(&cfg, path, err))) return rc;
    if (copy_tokenizer_from && copy_tokenizer_from[0] && strcmp(copy_tokenizer_from, dir) != 0)
        for (size_t i = 0; i < sizeof TOKENIZER_FILES / sizeof TOKENIZER_FILES[0] && !rc; i++)
            rc = copy_file(copy_tokenizer_from, dir, TOKENIZER_FILES[i], err);
    return rc;
}
