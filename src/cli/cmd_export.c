/* cmd_export.c: `taskalign export gguf`: a model folder as a GGUF file for llama.cpp / Ollama. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "model/gguf.h"
#include "model/model.h"

TA_COMMAND("export", ta_cmd_export, "export a model folder (export gguf: GGUF v3 for llama.cpp and Ollama)");

static void usage(FILE *fp) {
    fprintf(fp, "usage: taskalign export gguf --model DIR --out FILE.gguf [--type f32|f16|q8_0]\n\n"
                "Writes GGUF v3 with llama.cpp's metadata and tensor names (Llama's Q/K rows permuted for\n"
                "its RoPE layout, Qwen2 biases, Llama 3 rope factors), the tokenizer (tokens, types, merges,\n"
                "special ids, pre-tokenizer) and the chat template.\n\n"
                "options:\n"
                "  --model DIR    model folder (config.json, safetensors, tokenizer.json, tokenizer_config.json)\n"
                "  --out FILE     output path (written atomically)\n"
                "  --type T       f32 (default), f16, or q8_0 (norms and biases stay f32)\n");
}

int ta_cmd_export(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "gguf")) return ta_cli_usage_error("export", "unknown format '%s' (use gguf)", argv[1]);
    const char *model_dir = NULL, *out = NULL, *type_s = "f32";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        if (i + 1 >= argc) return ta_cli_usage_error("export", "'%s' needs a value or is unknown", argv[i]);
        if (!strcmp(argv[i], "--model")) model_dir = argv[++i];
        else if (!strcmp(argv[i], "--out")) out = argv[++i];
        else if (!strcmp(argv[i], "--type")) type_s = argv[++i];
        else return ta_cli_usage_error("export", "unknown option '%s'", argv[i]);
    }
    if (!model_dir || !out) return ta_cli_usage_error("export", "--model and --out are required");
    ta_gguf_type type;
    if (!strcmp(type_s, "f32")) type = TA_GGUF_F32;
    else if (!strcmp(type_s, "f16")) type = TA_GGUF_F16;
    else if (!strcmp(type_s, "q8_0")) type = TA_GGUF_Q8_0;
    else return ta_cli_usage_error("export", "--type must be f32, f16 or q8_0, not '%s'", type_s);
    ta_error err = {0};
    ta_model m;
    if (ta_model_load(&m, model_dir, &err)) return ta_cli_fail(&err);
    int rc = ta_gguf_export(&m, model_dir, out, type, &err);
    ta_model_release(&m);
    if (rc) return ta_cli_fail(&err);
    fprintf(stderr, "export: wrote %s (%s)\n", out, type_s);
    return 0;
}
