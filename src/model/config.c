/* config.c: reading, checking and writing Hugging Face config.json files.
 *
 * Defaults follow transformers' LlamaConfig / MistralConfig / Qwen2Config
 * where a field may legitimately be absent (num_key_value_heads, head_dim,
 * rope_theta, rms_norm_eps, tie_word_embeddings); the shape fields that
 * decide the tensor sizes are required, because a silent default of 4096
 * would only surface later as a confusing shape mismatch. */
#include "model/config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"

/* Caps applied before anything is allocated: generous for real models, and
 * they keep every product of two dimensions far from size_t overflow. */
#define MAX_DIM ((size_t)1 << 22)
#define MAX_LAYERS ((size_t)4096)
#define MAX_CONFIG_BYTES ((size_t)16 << 20)

static const struct {
    const char *arch_name, *model_type;
    ta_arch arch;
} ARCHS[] = {
    {"LlamaForCausalLM", "llama", TA_ARCH_LLAMA},
    {"MistralForCausalLM", "mistral", TA_ARCH_MISTRAL},
    {"Qwen2ForCausalLM", "qwen2", TA_ARCH_QWEN2},
};

const char *ta_config_model_type(const ta_config *cfg) {
    for (size_t i = 0; i < sizeof ARCHS / sizeof ARCHS[0]; i++)
        if (ARCHS[i].arch == cfg->arch) return ARCHS[i].model_type;
    return "llama";
}

size_t ta_config_max_context(const ta_config *cfg) {
    size_t n = cfg->max_position_embeddings;
    if (cfg->sliding_window && cfg->sliding_window < n) n = cfg->sliding_window;
    return n;
}

/* A size field: an integer in [lo, MAX_DIM] (or [lo, cap]). */
static int get_size(const json_t *o, const char *key, int required, size_t lo, size_t cap, size_t *out,
                    const char *what, ta_error *err) {
    int64_t v = (int64_t)*out;
    int rc = ta_json_get_int(o, key, required, &v, what, err);
    if (rc) return rc;
    if (!json_object_get(o, key) || json_is_null(json_object_get(o, key))) return TA_OK;
    if (v < (int64_t)lo || (uint64_t)v > cap)
        return ta_error_set(err, TA_ERANGE, "%s: %s (%lld) must be between %zu and %zu", what, key, (long long)v, lo, cap);
    *out = (size_t)v;
    return TA_OK;
}

/* A token id field: absent or null -> -1. */
static int get_token_id(const json_t *o, const char *key, int32_t *out, const char *what, ta_error *err) {
    int64_t v = -1;
    int rc = ta_json_get_int(o, key, 0, &v, what, err);
    if (rc) return rc;
    if (v < -1 || v > INT32_MAX) return ta_error_set(err, TA_ERANGE, "%s: %s (%lld) is not a token id", what, key, (long long)v);
    *out = (int32_t)v;
    return TA_OK;
}

static int parse_eos(const json_t *o, ta_config *cfg, const char *what, ta_error *err) {
    json_t *v = json_object_get(o, "eos_token_id");
    cfg->n_eos = 0;
    if (!v || json_is_null(v)) return TA_OK;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0 || x > INT32_MAX) return ta_error_set(err, TA_ERANGE, "%s: eos_token_id (%lld) is not a token id", what, (long long)x);
        cfg->eos_token_ids[cfg->n_eos++] = (int32_t)x;
        return TA_OK;
    }
    if (!json_is_array(v)) return ta_error_set(err, TA_EFORMAT, "%s: eos_token_id must be an integer or a list of integers", what);
    if (json_array_size(v) > TA_MAX_EOS)
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: eos_token_id has %zu ids, taskalign supports at most %d", what, json_array_size(v), TA_MAX_EOS);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > INT32_MAX)
            return ta_error_set(err, TA_EFORMAT, "%s: eos_token_id[%zu] is not a token id", what, i);
        cfg->eos_token_ids[cfg->n_eos++] = (int32_t)json_integer_value(e);
    }
    return TA_OK;
}

static int parse_rope_scaling(const json_t *o, ta_config *cfg, const char *what, ta_error *err) {
    json_t *rs = json_object_get(o, "rope_scaling");
    cfg->rope_kind = TA_ROPE_DEFAULT;
    if (!rs || json_is_null(rs)) return TA_OK;
    if (!json_is_object(rs)) return ta_error_set(err, TA_EFORMAT, "%s: rope_scaling must be null or an object", what);
    char sub[128];
    snprintf(sub, sizeof sub, "%s: rope_scaling", what);
    const char *type = NULL;
    int rc = ta_json_get_str(rs, "rope_type", 0, &type, sub, err);
    if (rc) return rc;
    if (!type && (rc = ta_json_get_str(rs, "type", 0, &type, sub, err))) return rc;
    if (!type) return ta_error_set(err, TA_EFORMAT, "%s: rope_scaling has neither \"rope_type\" nor \"type\"", what);
    if (!strcmp(type, "default")) return TA_OK;
    if (strcmp(type, "llama3") != 0)
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: rope_scaling.rope_type \"%s\" is not supported (taskalign supports \"llama3\")", what, type);
    cfg->rope_kind = TA_ROPE_LLAMA3;
    if ((rc = ta_json_get_num(rs, "factor", 1, &cfg->rope_factor, sub, err))) return rc;
    if ((rc = ta_json_get_num(rs, "low_freq_factor", 1, &cfg->rope_low_freq_factor, sub, err))) return rc;
    if ((rc = ta_json_get_num(rs, "high_freq_factor", 1, &cfg->rope_high_freq_factor, sub, err))) return rc;
    return get_size(rs, "original_max_position_embeddings", 1, 1, SIZE_MAX >> 8, &cfg->rope_original_max_pos, sub, err);
}

/* Mistral and Qwen2 may limit attention to a sliding window. Choice: a window
 * is recorded (cfg->sliding_window) and accepted, since attention within
 * min(window, sequence) positions is exactly full causal attention as long as
 * sequences stay inside the window; ta_config_max_context() returns that limit
 * and the engine refuses longer sequences. Qwen2 ignores sliding_window unless
 * use_sliding_window is true, and then applies it only to some layers
 * (max_window_layers), which taskalign does not implement: error. */
static int parse_sliding_window(const json_t *o, ta_config *cfg, const char *what, ta_error *err) {
    cfg->sliding_window = 0;
    int use = cfg->arch == TA_ARCH_MISTRAL; /* Mistral: a non-null window applies */
    int rc;
    if (cfg->arch == TA_ARCH_QWEN2) {
        use = 0;
        if ((rc = ta_json_get_bool(o, "use_sliding_window", 0, &use, what, err))) return rc;
        if (use) return ta_error_set(err, TA_EUNSUPPORTED, "%s: use_sliding_window (true) is not supported for Qwen2 (per-layer windows)", what);
        return TA_OK;
    }
    if (cfg->arch == TA_ARCH_LLAMA) return TA_OK;
    if (!use) return TA_OK;
    return get_size(o, "sliding_window", 0, 1, SIZE_MAX >> 8, &cfg->sliding_window, what, err);
}

static int check_false(const json_t *o, const char *key, const char *why, const char *what, ta_error *err) {
    int v = 0;
    int rc = ta_json_get_bool(o, key, 0, &v, what, err);
    if (rc) return rc;
    if (v) return ta_error_set(err, TA_EUNSUPPORTED, "%s: %s (true) is not supported%s", what, key, why);
    return TA_OK;
}

static int parse_obj(ta_config *cfg, const json_t *o, const char *what, ta_error *err) {
    int rc;
    if (!json_is_object(o)) return ta_error_set(err, TA_EFORMAT, "%s: top level must be a JSON object", what);
    ta_config c;
    memset(&c, 0, sizeof c);

    json_t *archs = json_object_get(o, "architectures");
    if (!archs || !json_is_array(archs) || json_array_size(archs) == 0 || !json_is_string(json_array_get(archs, 0)))
        return ta_error_set(err, TA_EFORMAT, "%s: architectures must be a non-empty list of strings (e.g. [\"LlamaForCausalLM\"])", what);
    const char *an = json_string_value(json_array_get(archs, 0));
    size_t ai = 0, na = sizeof ARCHS / sizeof ARCHS[0];
    while (ai < na && strcmp(ARCHS[ai].arch_name, an) != 0) ai++;
    if (ai == na)
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: architectures[0] \"%.64s\" is not supported (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)", what, an);
    c.arch = ARCHS[ai].arch;
    snprintf(c.arch_name, sizeof c.arch_name, "%s", ARCHS[ai].arch_name);

    if ((rc = get_size(o, "vocab_size", 1, 1, MAX_DIM, &c.vocab_size, what, err))) return rc;
    if ((rc = get_size(o, "hidden_size", 1, 1, MAX_DIM, &c.hidden_size, what, err))) return rc;
    if ((rc = get_size(o, "intermediate_size", 1, 1, MAX_DIM, &c.intermediate_size, what, err))) return rc;
    if ((rc = get_size(o, "num_hidden_layers", 1, 1, MAX_LAYERS, &c.n_layers, what, err))) return rc;
    if ((rc = get_size(o, "num_attention_heads", 1, 1, MAX_DIM, &c.n_heads, what, err))) return rc;
    c.n_kv_heads = c.n_heads;
    if ((rc = get_size(o, "num_key_value_heads", 0, 1, MAX_DIM, &c.n_kv_heads, what, err))) return rc;
    c.head_dim = 0;
    if ((rc = get_size(o, "head_dim", 0, 1, MAX_DIM, &c.head_dim, what, err))) return rc;
    if (c.head_dim == 0) {
        if (c.hidden_size % c.n_heads)
            return ta_error_set(err, TA_EINVAL, "%s: hidden_size (%zu) must be divisible by num_attention_heads (%zu) when head_dim is absent", what, c.hidden_size, c.n_heads);
        c.head_dim = c.hidden_size / c.n_heads;
    }
    c.max_position_embeddings = 2048;
    if ((rc = get_size(o, "max_position_embeddings", 0, 1, SIZE_MAX >> 8, &c.max_position_embeddings, what, err))) return rc;

    double eps = 1e-6, theta = 10000.0;
    if ((rc = ta_json_get_num(o, "rms_norm_eps", 0, &eps, what, err))) return rc;
    if ((rc = ta_json_get_num(o, "rope_theta", 0, &theta, what, err))) return rc;
    c.rms_norm_eps = (float)eps;
    c.rope_theta = theta;
    if ((rc = parse_rope_scaling(o, &c, what, err))) return rc;

    const char *act = "silu";
    if ((rc = ta_json_get_str(o, "hidden_act", 0, &act, what, err))) return rc;
    if (strcmp(act, "silu") != 0) return ta_error_set(err, TA_EUNSUPPORTED, "%s: hidden_act \"%.32s\" is not supported (only \"silu\")", what, act);

    c.tie_word_embeddings = 0;
    if ((rc = ta_json_get_bool(o, "tie_word_embeddings", 0, &c.tie_word_embeddings, what, err))) return rc;

    if (c.arch == TA_ARCH_QWEN2) {
        c.attn_bias = 1; /* Qwen2 always has q/k/v biases and no o_proj bias */
    } else {
        if ((rc = check_false(o, "attention_bias", " (q/k/v/o biases in Llama/Mistral)", what, err))) return rc;
    }
    if ((rc = check_false(o, "mlp_bias", " (MLP biases)", what, err))) return rc;
    if ((rc = parse_sliding_window(o, &c, what, err))) return rc;
    if (json_object_get(o, "quantization_config"))
        return ta_error_set(err, TA_EUNSUPPORTED, "%s: quantization_config is not supported (taskalign reads F32/BF16/F16 weights)", what);

    c.bos_token_id = -1;
    c.pad_token_id = -1;
    if ((rc = get_token_id(o, "bos_token_id", &c.bos_token_id, what, err))) return rc;
    if ((rc = get_token_id(o, "pad_token_id", &c.pad_token_id, what, err))) return rc;
    if ((rc = parse_eos(o, &c, what, err))) return rc;

    const char *dt = NULL;
    if ((rc = ta_json_get_str(o, "torch_dtype", 0, &dt, what, err))) return rc;
    if (!dt && (rc = ta_json_get_str(o, "dtype", 0, &dt, what, err))) return rc; /* newer transformers */
    if (dt) snprintf(c.torch_dtype, sizeof c.torch_dtype, "%s", dt);

    if ((rc = ta_config_validate(&c, what, err))) return rc;
    *cfg = c;
    return TA_OK;
}

int ta_config_parse(ta_config *cfg, const char *json_text, size_t len, const char *what, ta_error *err) {
    json_t *root = NULL;
    int rc = ta_json_load_buf(json_text, len, what, &root, err);
    if (rc) return rc;
    rc = parse_obj(cfg, root, what, err);
    json_decref(root);
    return rc;
}

int ta_config_load(ta_config *cfg, const char *path, ta_error *err) {
    char *buf = NULL;
    size_t len = 0;
    int rc = ta_file_read_all(path, MAX_CONFIG_BYTES, &buf, &len, err);
    if (rc) return rc;
    rc = ta_config_parse(cfg, buf, len, path, err);
    free(buf);
    return rc;
}

int ta_config_validate(const ta_config *c, const char *what, ta_error *err) {
#define POS(field, key, cap)                                                                                   \
    if (c->field < 1 || c->field > (cap))                                                                       \
        return ta_error_set(err, TA_ERANGE, "%s: " key " (%zu) must be between 1 and %zu", what, c->field, (size_t)(cap));
    POS(vocab_size, "vocab_size", MAX_DIM)
    POS(hidden_size, "hidden_size", MAX_DIM)
    POS(intermediate_size, "intermediate_size", MAX_DIM)
    POS(n_layers, "num_hidden_layers", MAX_LAYERS)
    POS(n_heads, "num_attention_heads", MAX_DIM)
    POS(n_kv_heads, "num_key_value_heads", MAX_DIM)
    POS(head_dim, "head_dim", MAX_DIM)
    POS(max_position_embeddings, "max_position_embeddings", SIZE_MAX >> 8)
#undef POS
    if (c->n_heads % c->n_kv_heads)
        return ta_error_set(err, TA_EINVAL, "%s: num_attention_heads (%zu) must be divisible by num_key_value_heads (%zu)", what, c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2) return ta_error_set(err, TA_EINVAL, "%s: head_dim (%zu) must be even (rotary embeddings rotate pairs)", what, c->head_dim);
    if (c->n_heads * c->head_dim > MAX_DIM)
        return ta_error_set(err, TA_ERANGE, "%s: num_attention_heads * head_dim (%zu) is too large", what, c->n_heads * c->head_dim);
    if (!(c->rms_norm_eps > 0.0f) || !isfinite(c->rms_norm_eps))
        return ta_error_set(err, TA_ERANGE, "%s: rms_norm_eps (%g) must be a positive number", what, (double)c->rms_norm_eps);
    if (!(c->rope_theta > 0.0) || !isfinite(c->rope_theta))
        return ta_error_set(err, TA_ERANGE, "%s: rope_theta (%g) must be a positive number", what, c->rope_theta);
    if (c->rope_kind == TA_ROPE_LLAMA3) {
        if (!(c->rope_factor >= 1.0) || !isfinite(c->rope_factor))
            return ta_error_set(err, TA_ERANGE, "%s: rope_scaling.factor (%g) must be >= 1", what, c->rope_factor);
        if (!(c->rope_low_freq_factor > 0.0) || !(c->rope_high_freq_factor > c->rope_low_freq_factor) || !isfinite(c->rope_high_freq_factor))
            return ta_error_set(err, TA_ERANGE, "%s: rope_scaling needs 0 < low_freq_factor (%g) < high_freq_factor (%g)", what,
                                c->rope_low_freq_factor, c->rope_high_freq_factor);
        if (c->rope_original_max_pos < 1)
            return ta_error_set(err, TA_ERANGE, "%s: rope_scaling.original_max_position_embeddings must be positive", what);
    }
    if (c->bos_token_id >= 0 && (size_t)c->bos_token_id >= c->vocab_size)
        return ta_error_set(err, TA_ERANGE, "%s: bos_token_id (%d) must be below vocab_size (%zu)", what, (int)c->bos_token_id, c->vocab_size);
    if (c->n_eos > TA_MAX_EOS) return ta_error_set(err, TA_ERANGE, "%s: too many eos_token_id values", what);
    for (size_t i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] < 0 || (size_t)c->eos_token_ids[i] >= c->vocab_size)
            return ta_error_set(err, TA_ERANGE, "%s: eos_token_id (%d) must be below vocab_size (%zu)", what, (int)c->eos_token_ids[i], c->vocab_size);
    return TA_OK;
}

/* The shortest decimal that reads back as the same float, as a double, so
 * 1e-5f is written "1e-05" rather than "9.99999974737875e-06". */
static double float_as_short_double(float f) {
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

static json_t *token_or_null(int32_t id) { return id >= 0 ? json_integer(id) : json_null(); }

int ta_config_save(const ta_config *c, const char *path, ta_error *err) {
    int rc = ta_config_validate(c, path, err);
    if (rc) return rc;
    json_t *o = json_object();
    if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory writing '%s'", path);
    json_t *archs = json_array();
    json_array_append_new(archs, json_string(c->arch_name[0] ? c->arch_name : ARCHS[c->arch].arch_name));
    json_object_set_new(o, "architectures", archs);
    json_object_set_new(o, "model_type", json_string(ta_config_model_type(c)));
    json_object_set_new(o, "vocab_size", json_integer((json_int_t)c->vocab_size));
    json_object_set_new(o, "hidden_size", json_integer((json_int_t)c->hidden_size));
    json_object_set_new(o, "intermediate_size", json_integer((json_int_t)c->intermediate_size));
    json_object_set_new(o, "num_hidden_layers", json_integer((json_int_t)c->n_layers));
    json_object_set_new(o, "num_attention_heads", json_integer((json_int_t)c->n_heads));
    json_object_set_new(o, "num_key_value_heads", json_integer((json_int_t)c->n_kv_heads));
    json_object_set_new(o, "head_dim", json_integer((json_int_t)c->head_dim));
    json_object_set_new(o, "hidden_act", json_string("silu"));
    json_object_set_new(o, "max_position_embeddings", json_integer((json_int_t)c->max_position_embeddings));
    json_object_set_new(o, "rms_norm_eps", json_real(float_as_short_double(c->rms_norm_eps)));
    json_object_set_new(o, "rope_theta", json_real(c->rope_theta));
    if (c->rope_kind == TA_ROPE_LLAMA3) {
        json_t *rs = json_object();
        json_object_set_new(rs, "rope_type", json_string("llama3"));
        json_object_set_new(rs, "factor", json_real(c->rope_factor));
        json_object_set_new(rs, "low_freq_factor", json_real(c->rope_low_freq_factor));
        json_object_set_new(rs, "high_freq_factor", json_real(c->rope_high_freq_factor));
        json_object_set_new(rs, "original_max_position_embeddings", json_integer((json_int_t)c->rope_original_max_pos));
        json_object_set_new(o, "rope_scaling", rs);
    } else {
        json_object_set_new(o, "rope_scaling", json_null());
    }
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    if (c->arch == TA_ARCH_QWEN2) {
        json_object_set_new(o, "use_sliding_window", json_false());
        json_object_set_new(o, "sliding_window", json_null());
    } else {
        json_object_set_new(o, "attention_bias", json_false());
        json_object_set_new(o, "mlp_bias", json_false());
        if (c->arch == TA_ARCH_MISTRAL)
            json_object_set_new(o, "sliding_window", c->sliding_window ? json_integer((json_int_t)c->sliding_window) : json_null());
    }
    json_object_set_new(o, "attention_dropout", json_real(0.0));
    json_object_set_new(o, "initializer_range", json_real(0.02));
    json_object_set_new(o, "use_cache", json_true());
    json_object_set_new(o, "bos_token_id", token_or_null(c->bos_token_id));
    if (c->n_eos == 1) {
        json_object_set_new(o, "eos_token_id", json_integer(c->eos_token_ids[0]));
    } else if (c->n_eos > 1) {
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_eos; i++) json_array_append_new(a, json_integer(c->eos_token_ids[i]));
        json_object_set_new(o, "eos_token_id", a);
    } else {
        json_object_set_new(o, "eos_token_id", json_null());
    }
    json_object_set_new(o, "pad_token_id", token_or_null(c->pad_token_id));
    json_object_set_new(o, "torch_dtype", json_string(c->torch_dtype[0] ? c->torch_dtype : "float32"));

    /* 15 significant digits: every value that came from a decimal of up to 15
     * digits (all real configs) reads back identically, and 1e-5 stays "1e-05". */
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text) return ta_error_set(err, TA_ENOMEM, "out of memory writing '%s'", path);
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return ta_error_set(err, TA_ENOMEM, "out of memory writing '%s'", path);
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    rc = ta_file_write_atomic(path, withnl, n + 1, err);
    free(withnl);
    return rc;
}
