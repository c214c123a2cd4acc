#include "train/lora.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "model/safetensors.h"

static const struct {
    unsigned bit;
    const char *short_name, *peft_name, *path; /* path: HF module path under the layer */
} MODS[] = {
    {TA_LORA_Q, "q", "q_proj", "self_attn.q_proj"},     {TA_LORA_K, "k", "k_proj", "self_attn.k_proj"},
    {TA_LORA_V, "v", "v_proj", "self_attn.v_proj"},     {TA_LORA_O, "o", "o_proj", "self_attn.o_proj"},
    {TA_LORA_GATE, "gate", "gate_proj", "mlp.gate_proj"}, {TA_LORA_UP, "up", "up_proj", "mlp.up_proj"},
    {TA_LORA_DOWN, "down", "down_proj", "mlp.down_proj"},
};
#define N_KINDS (sizeof MODS / sizeof *MODS)

static int kind_index(unsigned bit) {
    for (size_t k = 0; k < N_KINDS; k++)
        if (MODS[k].bit == bit) return (int)k;
    return -1;
}

int ta_lora_parse_targets(const char *s, unsigned *out, ta_error *err) {
    unsigned bits = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf) return ta_error_set(err, TA_EINVAL, "--lora-targets: value too long");
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') tok++;
        if (!strcmp(tok, "all") || !strcmp(tok, "all-linear")) { bits |= TA_LORA_ALL; continue; }
        size_t k;
        for (k = 0; k < N_KINDS; k++)
            if (!strcmp(tok, MODS[k].short_name) || !strcmp(tok, MODS[k].peft_name)) break;
        if (k == N_KINDS)
            return ta_error_set(err, TA_EINVAL, "--lora-targets: unknown module '%s' (use q,k,v,o,gate,up,down or all)", tok);
        bits |= MODS[k].bit;
    }
    if (!bits) return ta_error_set(err, TA_EINVAL, "--lora-targets: no module given");
    *out = bits;
    return TA_OK;
}

static float *layer_tensor(const ta_weights *w, size_t l, unsigned bit) {
    const ta_layer_weights *lw = &w->layers[l];
    switch (bit) {
    case TA_LORA_Q: return lw->wq;
    case TA_LORA_K: return lw->wk;
    case TA_LORA_V: return lw->wv;
    case TA_LORA_O: return lw->wo;
    case TA_LORA_GATE: return lw->w_gate;
    case TA_LORA_UP: return lw->w_up;
    default: return lw->w_down;
    }
}

static float **slot_of(ta_layer_weights *lw, unsigned bit) {
    switch (bit) {
    case TA_LORA_Q: return &lw->wq;
    case TA_LORA_K: return &lw->wk;
    case TA_LORA_V: return &lw->wv;
    case TA_LORA_O: return &lw->wo;
    case TA_LORA_GATE: return &lw->w_gate;
    case TA_LORA_UP: return &lw->w_up;
    default: return &lw->w_down;
    }
}

static float **layer_tensor_slot(ta_weights *w, size_t l, unsigned bit) { return slot_of(&w->layers[l], bit); }

static void module_shape(const ta_config *c, unsigned bit, size_t *out, size_t *in) {
    size_t C = c->hidden_size, F = c->intermediate_size, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    switch (bit) {
    case TA_LORA_Q: *out = q; *in = C; break;
    case TA_LORA_K: case TA_LORA_V: *out = kv; *in = C; break;
    case TA_LORA_O: *out = C; *in = q; break;
    case TA_LORA_GATE: case TA_LORA_UP: *out = F; *in = C; break;
    default: *out = C; *in = F; break;
    }
}

void ta_lora_release(ta_lora *l) {
    free(l->mods);
    free(l->slab);
    free(l->work);
    ta_weights_release(&l->policy.w);
    memset(l, 0, sizeof *l);
}

/* Layout only (A/B zeroed); fills modules, the work buffer and the view. */
static int lora_alloc(ta_lora *l, const ta_model *base, const ta_lora_config *cfg, ta_error *err) {
    memset(l, 0, sizeof *l);
    if (cfg->r == 0) return ta_error_set(err, TA_EINVAL, "--lora-r must be > 0");
    if (!(cfg->alpha > 0)) return ta_error_set(err, TA_EINVAL, "--lora-alpha must be > 0");
    if (cfg->dropout != 0)
        return ta_error_set(err, TA_EUNSUPPORTED,
                            "--lora-dropout %g: LoRA dropout is not supported by the merged-weight training path "
                            "(gradients are exact only without dropout); use 0",
                            cfg->dropout);
    if (!(cfg->targets & TA_LORA_ALL)) return ta_error_set(err, TA_EINVAL, "--lora-targets: no module given");
    const ta_config *c = &base->cfg;
    l->cfg = *cfg;
    l->scale = (float)(cfg->alpha / (double)cfg->r);
    size_t per_layer = 0;
    for (size_t k = 0; k < N_KINDS; k++) per_layer += (cfg->targets & MODS[k].bit) != 0;
    l->n_mods = per_layer * c->n_layers;
    l->mods = calloc(l->n_mods, sizeof *l->mods);
    if (!l->mods) goto oom;
    size_t off = 0, work = 0, i = 0;
    for (size_t layer = 0; layer < c->n_layers; layer++)
        for (size_t k = 0; k < N_KINDS; k++) {
            if (!(cfg->targets & MODS[k].bit)) continue;
            ta_lora_module *m = &l->mods[i++];
            m->layer = layer;
            m->which = MODS[k].bit;
            module_shape(c, m->which, &m->out, &m->in);
            m->a_off = off;
            off += cfg->r * m->in;
            m->b_off = off;
            off += m->out * cfg->r;
            m->w = layer_tensor(&base->w, layer, m->which);
            work += m->out * m->in;
        }
    l->n_params = off;
    l->slab = calloc(off, sizeof *l->slab);
    l->work = malloc(work * sizeof *l->work);
    if (!l->slab || !l->work) goto oom;
    /* The policy view: the base's tensors, targeted ones redirected to work. */
    l->policy.cfg = base->cfg;
    l->policy.slab = base->slab;
    snprintf(l->policy.dir, sizeof l->policy.dir, "%s", base->dir);
    int rc = ta_weights_bind(&l->policy.w, c, base->slab, err);
    if (rc) { ta_lora_release(l); return rc; }
    size_t w_off = 0;
    for (i = 0; i < l->n_mods; i++) {
        ta_lora_module *m = &l->mods[i];
        m->w_eff = l->work + w_off;
        w_off += m->out * m->in;
        *layer_tensor_slot(&l->policy.w, m->layer, m->which) = m->w_eff;
    }
    return TA_OK;
oom:
    ta_lora_release(l);
    return ta_error_set(err, TA_ENOMEM, "out of memory allocating LoRA adapters");
}

int ta_lora_create(ta_lora *l, const ta_model *base, const ta_lora_config *cfg, uint64_t seed, ta_error *err) {
    int rc = lora_alloc(l, base, cfg, err);
    if (rc) return rc;
    ta_rng rng;
    ta_rng_seed(&rng, seed);
    for (size_t i = 0; i < l->n_mods; i++) {
        const ta_lora_module *m = &l->mods[i];
        float bound = 1.0f / sqrtf((float)m->in); /* kaiming_uniform_(a=sqrt(5)) on (r, in) */
        float *A = l->slab + m->a_off;
        for (size_t j = 0; j < cfg->r * m->in; j++) A[j] = (2.0f * ta_rng_float(&rng) - 1.0f) * bound;
    }
    ta_lora_merge(l);
    return TA_OK;
}

/* dst (out, in) = W + s * B (out, r) @ A (r, in) */
static void merged(const ta_lora *l, const ta_lora_module *m, float *dst) {
    memcpy(dst, m->w, m->out * m->in * sizeof *dst);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m->out, (int)m->in, (int)l->cfg.r, l->scale,
                l->slab + m->b_off, (int)l->cfg.r, l->slab + m->a_off, (int)m->in, 1.0f, dst, (int)m->in);
}

void ta_lora_merge(ta_lora *l) {
    for (size_t i = 0; i < l->n_mods; i++) merged(l, &l->mods[i], l->mods[i].w_eff);
}

void ta_lora_merge_into(const ta_lora *l, ta_model *m) {
    for (size_t i = 0; i < l->n_mods; i++) {
        const ta_lora_module *mod = &l->mods[i];
        float *dst = layer_tensor(&m->w, mod->layer, mod->which);
        /* dst may alias mod->w (merging into the base itself): B@A first. */
        float *tmp = malloc(mod->out * mod->in * sizeof *tmp);
        if (!tmp) { /* fall back to the in-place GEMM (beta = 1 reads dst once) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mod->out, (int)mod->in, (int)l->cfg.r, l->scale,
                        l->slab + mod->b_off, (int)l->cfg.r, l->slab + mod->a_off, (int)mod->in, 1.0f, dst, (int)mod->in);
            continue;
        }
        merged(l, mod, tmp);
        memcpy(dst, tmp, mod->out * mod->in * sizeof *tmp);
        free(tmp);
    }
}

void ta_lora_bind_grad(ta_lora *l, const ta_weights *grad) {
    for (size_t i = 0; i < l->n_mods; i++) l->mods[i].dw = layer_tensor(grad, l->mods[i].layer, l->mods[i].which);
}

void ta_lora_freeze_grad(const ta_lora *l, ta_weights *g) {
    size_t L = l->policy.cfg.n_layers;
    for (size_t layer = 0; layer < L; layer++) {
        ta_layer_weights keep = {0}; /* every pointer NULL but the adapted ones */
        for (size_t i = 0; i < l->n_mods; i++)
            if (l->mods[i].layer == layer) *slot_of(&keep, l->mods[i].which) = layer_tensor(g, layer, l->mods[i].which);
        g->layers[layer] = keep;
    }
    g->embed = g->lm_head = g->final_norm = NULL;
}

void ta_lora_grad_from_full(const ta_lora *l, float *lora_grad) {
    int r = (int)l->cfg.r;
    for (size_t i = 0; i < l->n_mods; i++) {
        const ta_lora_module *m = &l->mods[i];
        int out = (int)m->out, in = (int)m->in;
        /* dB (out, r) += s * dW (out, in) @ A^T (in, r) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, out, r, in, l->scale, m->dw, in, l->slab + m->a_off, in,
                    1.0f, lora_grad + m->b_off, r);
        /* dA (r, in) += s * B^T (r, out) @ dW (out, in) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, out, l->scale, l->slab + m->b_off, r, m->dw, in, 1.0f,
                    lora_grad + m->a_off, in);
    }
}

static void tensor_name(char *buf, size_t cap, const ta_lora_module *m, char ab) {
    snprintf(buf, cap, "base_model.model.model.layers.%zu.%s.lora_%c.weight", m->layer, MODS[kind_index(m->which)].path,
             ab);
}

int ta_lora_save(const ta_lora *l, const char *dir, const char *base_model_path, ta_error *err) {
    int rc = ta_mkdir_p(dir, err);
    if (rc) return rc;
    char path[4200];
    json_t *cfg = json_object();
    json_t *targets = json_array();
    for (size_t k = 0; k < N_KINDS; k++)
        if (l->cfg.targets & MODS[k].bit) json_array_append_new(targets, json_string(MODS[k].peft_name));
    json_object_set_new(cfg, "peft_type", json_string("LORA"));
    json_object_set_new(cfg, "task_type", json_string("CAUSAL_LM"));
    json_object_set_new(cfg, "base_model_name_or_path", base_model_path ? json_string(base_model_path) : json_null());
    json_object_set_new(cfg, "r", json_integer((json_int_t)l->cfg.r));
    json_object_set_new(cfg, "lora_alpha", json_real(l->cfg.alpha));
    json_object_set_new(cfg, "lora_dropout", json_real(l->cfg.dropout));
    json_object_set_new(cfg, "target_modules", targets);
    json_object_set_new(cfg, "bias", json_string("none"));
    json_object_set_new(cfg, "fan_in_fan_out", json_false());
    json_object_set_new(cfg, "inference_mode", json_true());
    json_object_set_new(cfg, "init_lora_weights", json_true());
    json_object_set_new(cfg, "use_rslora", json_false());
    json_object_set_new(cfg, "use_dora", json_false());
    json_object_set_new(cfg, "modules_to_save", json_null());
    json_object_set_new(cfg, "layers_to_transform", json_null());
    json_object_set_new(cfg, "layers_pattern", json_null());
    json_object_set_new(cfg, "rank_pattern", json_object());
    json_object_set_new(cfg, "alpha_pattern", json_object());
    json_object_set_new(cfg, "revision", json_null());
    char *txt = json_dumps(cfg, JSON_INDENT(2));
    json_decref(cfg);
    if (!txt) return ta_error_set(err, TA_ENOMEM, "out of memory");
    if ((rc = ta_path_join(path, sizeof path, dir, "adapter_config.json", err)) ||
        (rc = ta_file_write_atomic(path, txt, strlen(txt), err))) {
        free(txt);
        return rc;
    }
    free(txt);
    ta_st_entry *e = calloc(2 * l->n_mods, sizeof *e);
    char (*names)[128] = calloc(2 * l->n_mods, sizeof *names);
    if (!e || !names) { free(e); free(names); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
    for (size_t i = 0; i < l->n_mods; i++) {
        const ta_lora_module *m = &l->mods[i];
        tensor_name(names[2 * i], sizeof names[0], m, 'A');
        tensor_name(names[2 * i + 1], sizeof names[0], m, 'B');
        e[2 * i] = (ta_st_entry){names[2 * i], l->slab + m->a_off, 2, {l->cfg.r, m->in}};
        e[2 * i + 1] = (ta_st_entry){names[2 * i + 1], l->slab + m->b_off, 2, {m->out, l->cfg.r}};
    }
    rc = ta_path_join(path, sizeof path, dir, "adapter_model.safetensors", err);
    if (!rc) rc = ta_safetensors_write(path, e, 2 * l->n_mods, TA_DTYPE_F32, err);
    free(e);
    free(names);
    return rc;
}

int ta_lora_load(ta_lora *l, const ta_model *base, const char *dir, ta_error *err) {
    char path[4200];
    json_t *j = NULL;
    int rc = ta_path_join(path, sizeof path, dir, "adapter_config.json", err);
    if (rc || (rc = ta_json_load_file(path, &j, err))) return rc;
    ta_lora_config cfg = {0, 0, 0, 0};
    int64_t r = 0;
    double alpha = 0;
    const char *ptype = NULL;
    if ((rc = ta_json_get_str(j, "peft_type", 0, &ptype, path, err))) goto fail;
    if (ptype && strcmp(ptype, "LORA")) { rc = ta_error_set(err, TA_EUNSUPPORTED, "'%s': peft_type '%s' is not LORA", path, ptype); goto fail; }
    if ((rc = ta_json_get_int(j, "r", 1, &r, path, err)) || (rc = ta_json_get_num(j, "lora_alpha", 1, &alpha, path, err)))
        goto fail;
    int flag = 0;
    if ((rc = ta_json_get_bool(j, "use_rslora", 0, &flag, path, err))) goto fail;
    if (flag) { rc = ta_error_set(err, TA_EUNSUPPORTED, "'%s': use_rslora is not supported", path); goto fail; }
    if ((rc = ta_json_get_bool(j, "use_dora", 0, &flag, path, err))) goto fail;
    if (flag) { rc = ta_error_set(err, TA_EUNSUPPORTED, "'%s': use_dora is not supported", path); goto fail; }
    json_t *tm = json_object_get(j, "target_modules");
    if (!json_is_array(tm)) { rc = ta_error_set(err, TA_EFORMAT, "'%s': \"target_modules\" must be a list", path); goto fail; }
    for (size_t i = 0; i < json_array_size(tm); i++) {
        const char *s = json_string_value(json_array_get(tm, i));
        unsigned bit;
        if (!s || ta_lora_parse_targets(s, &bit, err)) {
            rc = ta_error_set(err, TA_EUNSUPPORTED, "'%s': target_modules[%zu]: unsupported module '%s'", path, i, s ? s : "?");
            goto fail;
        }
        cfg.targets |= bit;
    }
    if (r <= 0 || r > 1 << 20) { rc = ta_error_set(err, TA_EFORMAT, "'%s': \"r\" must be > 0", path); goto fail; }
    cfg.r = (size_t)r;
    cfg.alpha = alpha;
    if ((rc = lora_alloc(l, base, &cfg, err))) goto fail;
    ta_safetensors st;
    if ((rc = ta_path_join(path, sizeof path, dir, "adapter_model.safetensors", err)) ||
        (rc = ta_safetensors_open(&st, path, err))) {
        ta_lora_release(l);
        goto fail;
    }
    for (size_t i = 0; i < l->n_mods && !rc; i++) {
        const ta_lora_module *m = &l->mods[i];
        for (int s = 0; s < 2 && !rc; s++) {
            char name[128];
            tensor_name(name, sizeof name, m, s ? 'B' : 'A');
            /* PEFT may save with the adapter name in the path ("lora_A.default.weight") in memory,
             * but on disk it strips it; accept only the on-disk form. */
            const ta_st_tensor *t = ta_safetensors_find(&st, name);
            size_t d0 = s ? m->out : cfg.r, d1 = s ? cfg.r : m->in;
            if (!t) rc = ta_error_set(err, TA_ENOTFOUND, "'%s': tensor '%s' is missing", path, name);
            else if (t->ndim != 2 || t->shape[0] != d0 || t->shape[1] != d1)
                rc = ta_error_set(err, TA_EFORMAT, "'%s': tensor '%s' has the wrong shape, want [%zu,%zu]", path, name, d0, d1);
            else rc = ta_safetensors_read_f32(&st, t, l->slab + (s ? m->b_off : m->a_off), err);
        }
    }
    ta_safetensors_release(&st);
    if (rc) { ta_lora_release(l); goto fail; }
    ta_lora_merge(l);
fail:
    json_decref(j);
    return rc;
}
