/* cmd_init.c: `taskalign init`: a randomly initialised model folder. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"

TA_COMMAND("init", ta_cmd_init, "write a randomly initialised model folder from a config.json");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign init --config CONFIG.json --out DIR [--seed N] [--dtype f32|bf16] [--std S]\n"
            "\n"
            "Writes a Hugging Face model folder (config.json + model.safetensors) with\n"
            "random weights, as transformers' Llama init does: Linear and Embedding weights\n"
            "~ N(0, S^2), biases 0, RMSNorm weights 1. The same seed and config always give\n"
            "the same bytes.\n"
            "\n"
            "options:\n"
            "  --config FILE   Hugging Face config.json (LlamaForCausalLM, MistralForCausalLM,\n"
            "                  Qwen2ForCausalLM); see tests/data/configs/ for examples\n"
            "  --out DIR       folder to write (created if missing; files replaced atomically)\n"
            "  --seed N        random seed (default 0)\n"
            "  --dtype T       f32 (default) or bf16 for model.safetensors\n"
            "  --std S         standard deviation of the normal init (default 0.02)\n"
            "  -h, --help      this text\n");
}

int ta_cmd_init(int argc, char **argv) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"out", required_argument, 0, 'o'},
                                         {"seed", required_argument, 0, 's'},   {"dtype", required_argument, 0, 'd'},
                                         {"std", required_argument, 0, 'S'},    {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = NULL, *out = NULL;
    long seed = 0;
    double std = 0.02;
    ta_dtype dtype = TA_DTYPE_F32;
    ta_error err = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'o': out = optarg; break;
        case 's':
            if (ta_cli_parse_long(optarg, "--seed", &seed, &err) || seed < 0) return ta_cli_usage_error("init", "--seed: '%s' is not a non-negative integer", optarg);
            break;
        case 'd':
            if (!strcmp(optarg, "f32")) dtype = TA_DTYPE_F32;
            else if (!strcmp(optarg, "bf16")) dtype = TA_DTYPE_BF16;
            else return ta_cli_usage_error("init", "--dtype: '%s' is not f32 or bf16", optarg);
            break;
        case 'S':
            if (ta_cli_parse_double(optarg, "--std", &std, &err) || !(std >= 0)) return ta_cli_usage_error("init", "--std: '%s' is not a non-negative number", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("init", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("init", "unexpected argument '%s'", argv[optind]);
    if (!config) return ta_cli_usage_error("init", "--config is required");
    if (!out) return ta_cli_usage_error("init", "--out is required");

    ta_config cfg;
    if (ta_config_load(&cfg, config, &err)) return ta_cli_fail(&err);
    ta_model m;
    if (ta_model_create(&m, &cfg, &err)) return ta_cli_fail(&err);
    ta_model_init_random(&m, (uint64_t)seed, (float)std);
    int rc = ta_model_save(&m, out, dtype, NULL, &err);
    size_t n = m.w.n_params;
    ta_model_release(&m);
    if (rc) return ta_cli_fail(&err);
    fprintf(stderr, "init: wrote %s (%s, %zu parameters, seed %ld, %s)\n", out, cfg.arch_name, n, seed, dtype == TA_DTYPE_BF16 ? "bf16" : "f32");
    return 0;
}
