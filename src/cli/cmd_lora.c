/* cmd_lora.c: `taskalign lora merge`: bake a PEFT LoRA adapter into a plain model folder. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "model/model.h"
#include "train/lora.h"

TA_COMMAND("lora", ta_cmd_lora, "LoRA adapters: merge an adapter into a plain model folder");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign lora merge --model DIR --adapter DIR --out DIR [--dtype f32|bf16]\n"
            "\n"
            "Writes a plain Hugging Face model folder whose targeted weights are\n"
            "W + (lora_alpha / r) * B @ A, from a PEFT LoRA adapter (adapter_config.json +\n"
            "adapter_model.safetensors, as `taskalign train dpo --lora-r N` or PEFT save\n"
            "them). Tokenizer files are copied from --model.\n"
            "\n"
            "options:\n"
            "  --model DIR     the base model folder the adapter was trained on\n"
            "  --adapter DIR   the adapter folder\n"
            "  --out DIR       folder to write (created if missing; files replaced atomically)\n"
            "  --dtype T       f32 (default) or bf16 for model.safetensors\n"
            "  -h, --help      this text\n");
}

int ta_cmd_lora(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "merge")) return ta_cli_usage_error("lora", "unknown action '%s' (expected: merge)", argv[1]);
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"adapter", required_argument, 0, 'a'},
                                         {"out", required_argument, 0, 'o'},   {"dtype", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *model = NULL, *adapter = NULL, *out = NULL;
    ta_dtype dtype = TA_DTYPE_F32;
    optind = 1;
    int c;
    argc--, argv++; /* argv[0] = "merge" */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'a': adapter = optarg; break;
        case 'o': out = optarg; break;
        case 'd':
            if (!strcmp(optarg, "f32")) dtype = TA_DTYPE_F32;
            else if (!strcmp(optarg, "bf16")) dtype = TA_DTYPE_BF16;
            else return ta_cli_usage_error("lora", "--dtype: '%s' is not f32 or bf16", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("lora", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("lora", "unexpected argument '%s'", argv[optind]);
    if (!model || !adapter || !out) return ta_cli_usage_error("lora", "merge needs --model, --adapter and --out");
    ta_error err = {0};
    ta_model m;
    if (ta_model_load(&m, model, &err)) return ta_cli_fail(&err);
    ta_lora l;
    if (ta_lora_load(&l, &m, adapter, &err)) {
        ta_model_release(&m);
        return ta_cli_fail(&err);
    }
    ta_lora_merge_into(&l, &m);
    size_t n_mods = l.n_mods, r = l.cfg.r;
    ta_lora_release(&l);
    int rc = ta_model_save(&m, out, dtype, model, &err);
    ta_model_release(&m);
    if (rc) return ta_cli_fail(&err);
    fprintf(stderr, "lora merge: wrote %s (%zu adapted matrices, r %zu)\n", out, n_mods, r);
    return 0;
}
