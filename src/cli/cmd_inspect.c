/* cmd_inspect.c: `taskalign inspect`: what is in a model folder or a
 * safetensors file (config summary, tensor names, dtypes, shapes, values). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "model/model.h"
#include "model/safetensors.h"

TA_COMMAND("inspect", ta_cmd_inspect, "list the config and tensors of a model folder or safetensors file");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign inspect (--model DIR | --file FILE.safetensors) [--json] [--values]\n"
            "\n"
            "--model loads the folder as the engine does (config.json + single or sharded\n"
            "safetensors, every tensor checked against the config) and prints the config\n"
            "summary and the parameters. --file parses one safetensors file and lists its\n"
            "tensors with dtype, shape and byte offsets; it does not need a config.\n"
            "\n"
            "options:\n"
            "  --model DIR     a model folder\n"
            "  --file FILE     a .safetensors file\n"
            "  --json          machine-readable output on stdout\n"
            "  --values        with --json: also every value, converted to F32 (printed with\n"
            "                  9 significant digits, exact for F32; NaN/Infinity as Python's\n"
            "                  json module writes them)\n"
            "  -h, --help      this text\n");
}

/* Prints s as a JSON string (names in files are untrusted text). */
static void print_json_str(const char *s) {
    json_t *j = json_string(s);
    char *t = j ? ta_json_dumps(j) : NULL;
    fputs(t ? t : "\"?\"", stdout);
    free(t);
    json_decref(j);
}

static void print_float(float v) {
    if (isnan(v)) fputs("NaN", stdout);
    else if (isinf(v)) fputs(v > 0 ? "Infinity" : "-Infinity", stdout);
    else if (v == 0) fputs(signbit(v) ? "-0.0" : "0.0", stdout); /* "-0" would read back as the integer 0 */
    else printf("%.9g", (double)v);
}

static void print_values(const float *x, size_t n) {
    fputs(", \"values\": [", stdout);
    for (size_t i = 0; i < n; i++) {
        if (i) fputc(',', stdout);
        print_float(x[i]);
    }
    fputc(']', stdout);
}

static void print_shape(const size_t *shape, size_t ndim, int json) {
    fputc('[', stdout);
    for (size_t i = 0; i < ndim; i++) printf(i ? (json ? ", %zu" : ",%zu") : "%zu", shape[i]);
    fputc(']', stdout);
}

static int inspect_file(const char *path, int json, int values) {
    ta_safetensors st;
    ta_error err = {0};
    if (ta_safetensors_open(&st, path, &err)) return ta_cli_fail(&err);
    int rc = 0;
    if (json) {
        fputs("{\"file\": ", stdout);
        print_json_str(path);
        printf(", \"n_tensors\": %zu, \"tensors\": [\n", st.n_tensors);
    }
    else printf("%s: %zu tensors\n", path, st.n_tensors);
    for (size_t i = 0; i < st.n_tensors && !rc; i++) {
        const ta_st_tensor *t = &st.tensors[i];
        size_t begin = (size_t)(t->data - st.buf);
        if (!json) {
            printf("  %-56s %-5s ", t->name, ta_st_dtype_name(t->dtype));
            print_shape(t->shape, t->ndim, 0);
            printf("  bytes %zu..%zu\n", begin, begin + t->nbytes);
            continue;
        }
        fputs("  {\"name\": ", stdout);
        print_json_str(t->name);
        printf(", \"dtype\": \"%s\", \"shape\": ", ta_st_dtype_name(t->dtype));
        print_shape(t->shape, t->ndim, 1);
        printf(", \"offset\": %zu, \"nbytes\": %zu", begin, t->nbytes);
        if (values) {
            float *x = malloc(t->numel * sizeof *x + 1);
            if (!x) {
                ta_error_set(&err, TA_ENOMEM, "out of memory");
                rc = ta_cli_fail(&err);
                break;
            }
            if (ta_safetensors_read_f32(&st, t, x, &err)) {
                free(x);
                rc = ta_cli_fail(&err);
                break;
            }
            print_values(x, t->numel);
            free(x);
        }
        printf("}%s\n", i + 1 < st.n_tensors ? "," : "");
    }
    if (json && !rc) printf("]}\n");
    ta_safetensors_release(&st);
    return rc;
}

static int inspect_model(const char *dir, int json, int values) {
    ta_model m;
    ta_error err = {0};
    if (ta_model_load(&m, dir, &err)) return ta_cli_fail(&err);
    const ta_config *c = &m.cfg;
    if (!json) {
        printf("%s: %s (%s), %zu parameters\n", dir, c->arch_name, ta_config_model_type(c), m.w.n_params);
        printf("  vocab %zu, hidden %zu, intermediate %zu, layers %zu, heads %zu, kv heads %zu, head_dim %zu\n", c->vocab_size,
               c->hidden_size, c->intermediate_size, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim);
        printf("  rope_theta %g%s, rms_norm_eps %g, max positions %zu, tied embeddings %s, q/k/v bias %s\n", c->rope_theta,
               c->rope_kind == TA_ROPE_LLAMA3 ? " (llama3 scaling)" : "", (double)c->rms_norm_eps, c->max_position_embeddings,
               c->tie_word_embeddings ? "yes" : "no", c->attn_bias ? "yes" : "no");
        printf("  bos %d, eos", (int)c->bos_token_id);
        for (size_t i = 0; i < c->n_eos; i++) printf("%s%d", i ? "," : " ", (int)c->eos_token_ids[i]);
        printf(", pad %d, torch_dtype %s\n", (int)c->pad_token_id, c->torch_dtype[0] ? c->torch_dtype : "-");
        for (size_t i = 0; i < m.w.n_tensors; i++) {
            printf("  %-56s ", m.w.params[i].name);
            print_shape(m.w.params[i].shape, m.w.params[i].ndim, 0);
            printf("\n");
        }
        ta_model_release(&m);
        return 0;
    }
    fputs("{\"dir\": ", stdout);
    print_json_str(dir);
    printf(", \"architecture\": \"%s\", \"n_params\": %zu, \"vocab_size\": %zu, \"hidden_size\": %zu, "
           "\"intermediate_size\": %zu, \"num_hidden_layers\": %zu, \"num_attention_heads\": %zu, \"num_key_value_heads\": %zu, "
           "\"head_dim\": %zu, \"tie_word_embeddings\": %s, \"tensors\": [\n",
           c->arch_name, m.w.n_params, c->vocab_size, c->hidden_size, c->intermediate_size, c->n_layers, c->n_heads, c->n_kv_heads,
           c->head_dim, c->tie_word_embeddings ? "true" : "false");
    for (size_t i = 0; i < m.w.n_tensors; i++) {
        const ta_param_info *p = &m.w.params[i];
        printf("  {\"name\": \"%s\", \"shape\": ", p->name);
        print_shape(p->shape, p->ndim, 1);
        if (values) print_values(m.slab + p->offset, p->numel);
        printf("}%s\n", i + 1 < m.w.n_tensors ? "," : "");
    }
    printf("]}\n");
    ta_model_release(&m);
    return 0;
}

int ta_cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"file", required_argument, 0, 'f'},
                                         {"json", no_argument, 0, 'j'},         {"values", no_argument, 0, 'v'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *model = NULL, *file = NULL;
    int json = 0, values = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'f': file = optarg; break;
        case 'j': json = 1; break;
        case 'v': values = 1; break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("inspect", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("inspect", "unexpected argument '%s'", argv[optind]);
    if (!model == !file) return ta_cli_usage_error("inspect", "give exactly one of --model and --file");
    if (values && !json) return ta_cli_usage_error("inspect", "--values needs --json");
    return file ? inspect_file(file, json, values) : inspect_model(model, json, values);
}
