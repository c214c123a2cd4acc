/* test_model_io.c: config.json parsing/validation, model create/init/save/load,
 * shape and presence checks against config.json. */
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "core/file.h"
#include "model/config.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "corpus.h"
#include "harness.h"

static char tmp_root[256];

static const char *root_dir(void) {
    const char *r = getenv("TA_ROOT");
    return r ? r : ".";
}

static void cfg_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/tests/data/configs/%s", root_dir(), name); }

static void tmp_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmp_root, name);
    ta_error e = {0};
    ta_mkdir_p(out, &e);
}

static int parse_str(ta_config *c, const char *json, ta_error *e) { return ta_config_parse(c, json, strlen(json), "config.json", e); }

#define BASE "\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":256,\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2"

TEST(test_config_load_all) {
    const char *names[] = {"tiny-llama-gqa.json", "tiny-llama-tied.json", "tiny-qwen2.json", "tiny-llama3-rope.json", "tiny-mistral.json",
                           "model-10m.json", "model-100m.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[512];
        cfg_path(p, sizeof p, names[i]);
        ta_config c;
        ta_error e = {0};
        CHECK_OK(ta_config_load(&c, p, &e), e);
    }
    char p[512];
    ta_config c;
    ta_error e = {0};
    cfg_path(p, sizeof p, "tiny-llama-gqa.json");
    CHECK_OK(ta_config_load(&c, p, &e), e);
    CHECK(c.arch == TA_ARCH_LLAMA && c.n_heads == 4 && c.n_kv_heads == 2 && c.head_dim == 16 && !c.tie_word_embeddings);
    CHECK(c.bos_token_id == 1 && c.n_eos == 1 && c.eos_token_ids[0] == 2 && c.pad_token_id == 0 && !c.attn_bias);
    cfg_path(p, sizeof p, "tiny-qwen2.json");
    CHECK_OK(ta_config_load(&c, p, &e), e);
    CHECK(c.arch == TA_ARCH_QWEN2 && c.attn_bias && c.tie_word_embeddings && c.n_eos == 2 && c.eos_token_ids[1] == 3);
    CHECK(c.sliding_window == 0);
    cfg_path(p, sizeof p, "tiny-llama3-rope.json");
    CHECK_OK(ta_config_load(&c, p, &e), e);
    CHECK(c.rope_kind == TA_ROPE_LLAMA3 && c.rope_factor == 8.0 && c.rope_high_freq_factor == 4.0 && c.rope_original_max_pos == 64);
    CHECK(c.rope_theta == 500000.0);
    cfg_path(p, sizeof p, "model-100m.json");
    CHECK_OK(ta_config_load(&c, p, &e), e);
    CHECK(ta_weights_numel(&c) == 134515008); /* SmolLM2-135M */
}

TEST(test_config_defaults) {
    ta_config c;
    ta_error e = {0};
    CHECK_OK(parse_str(&c, "{" BASE ",\"num_attention_heads\":4}", &e), e);
    CHECK(c.n_kv_heads == 4 && c.head_dim == 16 && c.rope_theta == 10000.0 && !c.tie_word_embeddings);
    CHECK(c.bos_token_id == -1 && c.n_eos == 0 && c.pad_token_id == -1 && c.rope_kind == TA_ROPE_DEFAULT);
    CHECK_OK(parse_str(&c, "{" BASE ",\"num_attention_heads\":4,\"rope_scaling\":{\"type\":\"default\"},\"head_dim\":null}", &e), e);
    CHECK(c.rope_kind == TA_ROPE_DEFAULT && c.head_dim == 16);
    CHECK_OK(parse_str(&c, "{\"architectures\":[\"MistralForCausalLM\"],\"vocab_size\":256,\"hidden_size\":64,\"intermediate_size\":128,"
                           "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"sliding_window\":128,\"max_position_embeddings\":512}",
                       &e),
             e);
    CHECK(c.sliding_window == 128 && ta_config_max_context(&c) == 128);
}

static void expect_bad(const char *json, const char *needle) {
    ta_config c;
    memset(&c, 0x5a, sizeof c);
    ta_config before = c;
    ta_error e = {0};
    int rc = parse_str(&c, json, &e);
    CHECK_MSG(rc != 0, "accepted: %s", json);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    CHECK_MSG(strstr(e.msg, "config.json") != NULL, "message '%s' does not name the file", e.msg);
    CHECK(!memcmp(&c, &before, sizeof c)); /* outputs untouched on failure */
}

TEST(test_config_bad_fields) {
    expect_bad("{" BASE ",\"num_attention_heads\":6,\"num_key_value_heads\":4,\"head_dim\":16}",
               "num_attention_heads (6) must be divisible by num_key_value_heads (4)");
    expect_bad("{\"architectures\":[\"GPT2LMHeadModel\"]}", "architectures[0] \"GPT2LMHeadModel\"");
    expect_bad("{\"vocab_size\":3}", "architectures");
    expect_bad("{" BASE "}", "num_attention_heads");
    expect_bad("{" BASE ",\"num_attention_heads\":5}", "hidden_size (64) must be divisible by num_attention_heads (5)");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"hidden_act\":\"gelu\"}", "hidden_act \"gelu\"");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"attention_bias\":true}", "attention_bias");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"mlp_bias\":true}", "mlp_bias");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}", "rope_scaling.rope_type \"yarn\"");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}", "low_freq_factor");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"rope_scaling\":5}", "rope_scaling");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"vocab_size\":-3}", "vocab_size");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"rms_norm_eps\":0}", "rms_norm_eps");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"rms_norm_eps\":\"x\"}", "rms_norm_eps");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"eos_token_id\":[1,\"a\"]}", "eos_token_id[1]");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"eos_token_id\":999}", "eos_token_id (999) must be below vocab_size (256)");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"head_dim\":15}", "head_dim (15) must be even");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"tie_word_embeddings\":1}", "tie_word_embeddings");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"num_hidden_layers\":100000}", "num_hidden_layers");
    expect_bad("{\"architectures\":[\"Qwen2ForCausalLM\"],\"vocab_size\":256,\"hidden_size\":64,\"intermediate_size\":128,"
               "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"use_sliding_window\":true}",
               "use_sliding_window");
    expect_bad("{" BASE ",\"num_attention_heads\":4", "config.json:1:");
    expect_bad("[1,2]", "JSON object");
    /* fuzz find: a huge real where an integer belongs was cast with undefined behaviour */
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"max_position_embeddings\":1e24}", "\"max_position_embeddings\" must be an integer");
    expect_bad("{" BASE ",\"num_attention_heads\":4,\"head_dim\":-1e300}", "\"head_dim\" must be an integer");
}

TEST(test_config_save_round_trip) {
    const char *names[] = {"tiny-llama-gqa.json", "tiny-qwen2.json", "tiny-llama3-rope.json", "tiny-mistral.json", "model-100m.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[512], out[512];
        cfg_path(p, sizeof p, names[i]);
        ta_config a, b;
        ta_error e = {0};
        CHECK_OK(ta_config_load(&a, p, &e), e);
        snprintf(out, sizeof out, "%s/%s", tmp_root, names[i]);
        CHECK_OK(ta_config_save(&a, out, &e), e);
        CHECK_OK(ta_config_load(&b, out, &e), e);
        /* torch_dtype absent in none of these; everything must survive */
        CHECK_MSG(!memcmp(&a, &b, sizeof a), "%s changed on save/load", names[i]);
    }
    char out[512];
    snprintf(out, sizeof out, "%s/tiny-llama-gqa.json", tmp_root);
    char *buf;
    size_t n;
    ta_error e = {0};
    CHECK_OK(ta_file_read_all(out, 1 << 20, &buf, &n, &e), e);
    CHECK(strstr(buf, "\"rms_norm_eps\": 1e-5,") != NULL);
    CHECK(strstr(buf, "\"model_type\": \"llama\"") != NULL);
    free(buf);
}

static int load_cfg(ta_config *c, const char *name) {
    char p[512];
    ta_error e = {0};
    cfg_path(p, sizeof p, name);
    int rc = ta_config_load(c, p, &e);
    CHECK_OK(rc, e);
    return rc;
}

TEST(test_model_init_save_load) {
    const char *names[] = {"tiny-llama-gqa.json", "tiny-llama-tied.json", "tiny-qwen2.json", "tiny-llama3-rope.json", "tiny-mistral.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ta_config c;
        if (load_cfg(&c, names[i])) continue;
        ta_model m, m2;
        ta_error e = {0};
        CHECK_OK(ta_model_create(&m, &c, &e), e);
        CHECK(((uintptr_t)m.slab & 63) == 0);
        ta_model_init_random(&m, 42, 0.02f);
        char dir[512];
        char sub[128];
        snprintf(sub, sizeof sub, "model-%s", names[i]);
        tmp_dir(dir, sizeof dir, sub);
        CHECK_OK(ta_model_save(&m, dir, TA_DTYPE_F32, NULL, &e), e);
        int rc = ta_model_load(&m2, dir, &e);
        CHECK_OK(rc, e);
        if (rc) {
            ta_model_release(&m);
            continue;
        }
        CHECK(m2.w.n_params == m.w.n_params);
        CHECK(!memcmp(m.slab, m2.slab, m.w.n_params * sizeof(float)));
        CHECK(!strcmp(m2.dir, dir));
        /* deterministic for a seed; different seeds differ */
        ta_model m3;
        CHECK_OK(ta_model_create(&m3, &c, &e), e);
        ta_model_init_random(&m3, 42, 0.02f);
        CHECK(!memcmp(m.slab, m3.slab, m.w.n_params * sizeof(float)));
        ta_model_init_random(&m3, 43, 0.02f);
        CHECK(memcmp(m.slab, m3.slab, m.w.n_params * sizeof(float)) != 0);
        ta_model_release(&m3);
        ta_model_release(&m2);
        ta_model_release(&m);
    }
}

TEST(test_model_init_statistics) {
    ta_config c;
    if (load_cfg(&c, "tiny-qwen2.json")) return;
    ta_model m;
    ta_error e = {0};
    CHECK_OK(ta_model_create(&m, &c, &e), e);
    ta_model_init_random(&m, 7, 0.02f);
    const ta_layer_weights *l = &m.w.layers[1];
    for (size_t i = 0; i < c.hidden_size; i++) CHECK(l->attn_norm[i] == 1.0f && m.w.final_norm[i] == 1.0f);
    for (size_t i = 0; i < c.n_kv_heads * c.head_dim; i++) CHECK(l->bk[i] == 0.0f);
    CHECK(m.w.lm_head == m.w.embed);
    double s = 0, s2 = 0;
    size_t n = c.intermediate_size * c.hidden_size;
    for (size_t i = 0; i < n; i++) {
        s += l->w_up[i];
        s2 += (double)l->w_up[i] * l->w_up[i];
    }
    double mean = s / n, sd = sqrt(s2 / n - mean * mean);
    CHECK_NEAR(mean, 0.0, 0.001);
    CHECK_NEAR(sd, 0.02, 0.001);
    ta_model_release(&m);
}


/* Writes `m`'s tensors (optionally all but `skip`, with `extra` appended) as
 * one safetensors file plus config.json into dir. */
static void write_folder(const ta_model *m, const char *dir, const char *skip, const ta_st_entry *extra, size_t n_extra) {
    ta_error e = {0};
    ta_mkdir_p(dir, &e);
    ta_st_entry ent[64];
    size_t n = 0;
    for (size_t i = 0; i < m->w.n_tensors && n < 60; i++) {
        const ta_param_info *p = &m->w.params[i];
        if (skip && !strcmp(p->name, skip)) continue;
        ent[n++] = (ta_st_entry){p->name, m->slab + p->offset, p->ndim, {p->shape[0], p->shape[1]}};
    }
    for (size_t i = 0; i < n_extra; i++) ent[n++] = extra[i];
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK_OK(ta_safetensors_write(path, ent, n, TA_DTYPE_F32, &e), e);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK_OK(ta_config_save(&m->cfg, path, &e), e);
}

static void expect_load_error(const char *dir, const char *needle) {
    ta_model m;
    memset(&m, 0x5a, sizeof m);
    ta_error e = {0};
    int rc = ta_model_load(&m, dir, &e);
    CHECK_MSG(rc != 0, "%s loaded", dir);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    if (!rc) ta_model_release(&m);
}

static int make_model(ta_model *m, const char *cfg_name, uint64_t seed) {
    ta_config c;
    if (load_cfg(&c, cfg_name)) return 1;
    ta_error e = {0};
    int rc = ta_model_create(m, &c, &e);
    CHECK_OK(rc, e);
    if (!rc) ta_model_init_random(m, seed, 0.02f);
    return rc;
}

TEST(test_model_load_errors) {
    ta_model m;
    if (make_model(&m, "tiny-llama-gqa.json", 5)) return;
    char dir[512];
    /* a tensor shape that disagrees with config.json */
    tmp_dir(dir, sizeof dir, "bad-shape");
    write_folder(&m, dir, NULL, NULL, 0);
    ta_config c2 = m.cfg;
    c2.intermediate_size = 96;
    char path[600];
    ta_error e = {0};
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK_OK(ta_config_save(&c2, path, &e), e);
    expect_load_error(dir, "model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape [128,64], config wants [96,64]");
    /* a missing tensor */
    tmp_dir(dir, sizeof dir, "missing");
    write_folder(&m, dir, "model.layers.1.mlp.up_proj.weight", NULL, 0);
    expect_load_error(dir, "model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight' is missing");
    /* an unexpected extra tensor; a rotary buffer is fine */
    float junk[4] = {0};
    ta_st_entry extra = {"model.layers.0.self_attn.o_proj.bias", junk, 1, {4}};
    tmp_dir(dir, sizeof dir, "extra");
    write_folder(&m, dir, NULL, &extra, 1);
    expect_load_error(dir, "unexpected tensor 'model.layers.0.self_attn.o_proj.bias'");
    ta_st_entry rot = {"model.layers.0.self_attn.rotary_emb.inv_freq", junk, 1, {4}};
    tmp_dir(dir, sizeof dir, "rotary");
    write_folder(&m, dir, NULL, &rot, 1);
    ta_model m2;
    CHECK_OK(ta_model_load(&m2, dir, &e), e);
    ta_model_release(&m2);
    /* a dtype the loader cannot convert */
    tmp_dir(dir, sizeof dir, "i32");
    write_folder(&m, dir, NULL, NULL, 0);
    {
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        char *buf;
        size_t n;
        CHECK_OK(ta_file_read_all(path, 1 << 24, &buf, &n, &e), e);
        /* turn model.norm.weight (64 F32 = 256 bytes) into 64 I32 values by editing the header text */
        const char *pat = "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[64]";
        char *hit = memmem(buf, n, pat, strlen(pat)); /* the 8-byte length prefix holds NULs */
        CHECK(hit != NULL);
        if (hit) {
            memcpy(strstr(hit, "F32"), "I32", 3);
            CHECK_OK(ta_file_write_atomic(path, buf, n, &e), e);
        }
        free(buf);
    }
    expect_load_error(dir, "model.safetensors: tensor 'model.norm.weight' has dtype I32; taskalign reads F32, BF16 and F16");
    /* no weights at all, no config */
    tmp_dir(dir, sizeof dir, "empty");
    expect_load_error(dir, "config.json");
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK_OK(ta_config_save(&m.cfg, path, &e), e);
    expect_load_error(dir, "no model.safetensors or model.safetensors.index.json");
    ta_model_release(&m);
}

TEST(test_model_tied_head_in_file) {
    ta_model m;
    if (make_model(&m, "tiny-llama-tied.json", 9)) return;
    const ta_param_info *emb = ta_weights_find(&m.w, "model.embed_tokens.weight");
    ta_st_entry head = {"lm_head.weight", m.slab + emb->offset, 2, {emb->shape[0], emb->shape[1]}};
    char dir[512];
    tmp_dir(dir, sizeof dir, "tied-equal");
    write_folder(&m, dir, NULL, &head, 1);
    ta_model m2;
    ta_error e = {0};
    CHECK_OK(ta_model_load(&m2, dir, &e), e);
    ta_model_release(&m2);
    float *other = malloc(emb->numel * sizeof(float));
    memcpy(other, m.slab + emb->offset, emb->numel * sizeof(float));
    other[17] += 1.0f;
    head.data = other;
    tmp_dir(dir, sizeof dir, "tied-differs");
    write_folder(&m, dir, NULL, &head, 1);
    expect_load_error(dir, "'lm_head.weight' differs from 'model.embed_tokens.weight'");
    free(other);
    ta_model_release(&m);
}

/* Two shards + index, written from the test; the loaded model equals the source. */
TEST(test_model_sharded_load) {
    ta_model m;
    if (make_model(&m, "tiny-qwen2.json", 3)) return;
    char dir[512], path[600];
    tmp_dir(dir, sizeof dir, "sharded");
    ta_error e = {0};
    size_t n = m.w.n_tensors, half = n / 2;
    ta_st_entry *ent = calloc(n, sizeof *ent);
    for (size_t i = 0; i < n; i++) {
        const ta_param_info *p = &m.w.params[i];
        ent[i] = (ta_st_entry){p->name, m.slab + p->offset, p->ndim, {p->shape[0], p->shape[1]}};
    }
    const char *f1 = "model-00001-of-00002.safetensors", *f2 = "model-00002-of-00002.safetensors";
    snprintf(path, sizeof path, "%s/%s", dir, f1);
    CHECK_OK(ta_safetensors_write(path, ent, half, TA_DTYPE_F32, &e), e);
    snprintf(path, sizeof path, "%s/%s", dir, f2);
    CHECK_OK(ta_safetensors_write(path, ent + half, n - half, TA_DTYPE_F32, &e), e);
    json_t *wm = json_object();
    for (size_t i = 0; i < n; i++) json_object_set_new(wm, ent[i].name, json_string(i < half ? f1 : f2));
    json_t *idx = json_pack("{s:{s:i},s:o}", "metadata", "total_size", 0, "weight_map", wm);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    CHECK(json_dump_file(idx, path, 0) == 0);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK_OK(ta_config_save(&m.cfg, path, &e), e);
    ta_model m2;
    int rc = ta_model_load(&m2, dir, &e);
    CHECK_OK(rc, e);
    if (!rc) {
        CHECK(!memcmp(m.slab, m2.slab, m.w.n_params * sizeof(float)));
        ta_model_release(&m2);
    }
    /* index errors: a tensor the map lacks, a map pointing at the wrong shard,
     * a shard outside the folder, a missing shard file */
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    json_object_del(wm, "model.norm.weight");
    CHECK(json_dump_file(idx, path, 0) == 0);
    expect_load_error(dir, "model.safetensors.index.json: tensor 'model.norm.weight' is missing from weight_map");
    json_object_set_new(wm, "model.norm.weight", json_string(f1));
    CHECK(json_dump_file(idx, path, 0) == 0);
    expect_load_error(dir, "model-00001-of-00002.safetensors: tensor 'model.norm.weight' is missing");
    json_object_set_new(wm, "model.norm.weight", json_string("../x.safetensors"));
    CHECK(json_dump_file(idx, path, 0) == 0);
    expect_load_error(dir, "not a plain file name");
    json_object_set_new(wm, "model.norm.weight", json_string("model-00003-of-00002.safetensors"));
    CHECK(json_dump_file(idx, path, 0) == 0);
    expect_load_error(dir, "model-00003-of-00002.safetensors");
    json_object_set_new(wm, "model.norm.weight", json_integer(3));
    CHECK(json_dump_file(idx, path, 0) == 0);
    expect_load_error(dir, "weight_map entry 'model.norm.weight' must be a file name string");
    CHECK_OK(ta_file_write_atomic(path, "{\"weight_map\":", 14, &e), e);
    expect_load_error(dir, "model.safetensors.index.json:1:");
    json_decref(idx);
    free(ent);
    ta_model_release(&m);
}

TEST(test_model_save_bf16_and_tokenizer) {
    ta_model m;
    if (make_model(&m, "tiny-llama-gqa.json", 8)) return;
    char src[512], dir[512], path[600];
    tmp_dir(src, sizeof src, "tok-src");
    ta_error e = {0};
    snprintf(path, sizeof path, "%s/tokenizer.json", src);
    CHECK_OK(ta_file_write_atomic(path, "{\"version\":\"1.0\"}", 17, &e), e);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", src);
    CHECK_OK(ta_file_write_atomic(path, "{}", 2, &e), e);
    tmp_dir(dir, sizeof dir, "bf16-out");
    CHECK_OK(ta_model_save(&m, dir, TA_DTYPE_BF16, src, &e), e);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    CHECK(ta_file_exists(path));
    snprintf(path, sizeof path, "%s/special_tokens_map.json", dir);
    CHECK(!ta_file_exists(path));
    ta_model m2;
    int rc = ta_model_load(&m2, dir, &e);
    CHECK_OK(rc, e);
    if (rc) return;
    CHECK(!strcmp(m2.cfg.torch_dtype, "bfloat16"));
    size_t bad = 0;
    for (size_t i = 0; i < m.w.n_params; i++)
        if (m2.slab[i] != ta_bf16_to_f32(ta_f32_to_bf16(m.slab[i]))) bad++;
    CHECK(bad == 0);
    CHECK(ta_model_save(&m, dir, TA_DTYPE_F16, NULL, &e) == TA_EUNSUPPORTED);
    ta_model_release(&m2);
    ta_model_release(&m);
}

/* Every file in fuzz/corpus/config/ goes through the parser; none may crash. */
static void replay_one(const char *name, const uint8_t *data, size_t len, void *ctx) {
    ta_config c;
    ta_error e = {0};
    if (ta_config_parse(&c, (const char *)data, len, name, &e) == TA_OK) CHECK_OK(ta_config_validate(&c, name, &e), e);
    else CHECK_MSG(strstr(e.msg, name) != NULL, "%s: message '%s' does not name the file", name, e.msg);
}

TEST(test_fuzz_config_corpus_replay) {
    int n = ta_corpus_replay("fuzz/corpus/config", replay_one, NULL);
    CHECK_MSG(n >= 5, "only %d corpus files in fuzz/corpus/config", n);
}

int main(void) {
    snprintf(tmp_root, sizeof tmp_root, "%s/ta_model_io_XXXXXX", getenv("TA_TMP") ? getenv("TA_TMP") : "/tmp");
    if (!mkdtemp(tmp_root)) return 1;
    RUN(test_config_load_all);
    RUN(test_config_defaults);
    RUN(test_config_bad_fields);
    RUN(test_config_save_round_trip);
    RUN(test_model_init_save_load);
    RUN(test_model_init_statistics);
    RUN(test_model_load_errors);
    RUN(test_model_tied_head_in_file);
    RUN(test_model_sharded_load);
    RUN(test_model_save_bf16_and_tokenizer);
    RUN(test_fuzz_config_corpus_replay);
    int rc = TEST_END();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return rc;
}
