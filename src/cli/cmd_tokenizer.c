#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "text/bpe_train.h"

TA_COMMAND("tokenizer", ta_cmd_tokenizer, "train a byte-level BPE tokenizer (tokenizer train ...)");

static void usage(void) {
    printf("usage: taskalign tokenizer train --corpus FILES --vocab-size N --out DIR [options]\n"
           "\n"
           "Trains a byte-level BPE tokenizer (NFC, Qwen2 pre-tokenizer regex, ByteLevel) and writes\n"
           "DIR/tokenizer.json and DIR/tokenizer_config.json (with the Qwen2.5 chat template when\n"
           "<|im_start|> and <|im_end|> are special tokens). Deterministic for a given corpus.\n"
           "\n"
           "  --corpus FILES          text files, comma-separated (the option may repeat)\n"
           "  --vocab-size N          total vocabulary size, special tokens and 256 bytes included\n"
           "  --special-tokens LIST   comma-separated, in id order (ids 0..); default\n"
           "                          \"<|endoftext|>,<|im_start|>,<|im_end|>\"\n"
           "  --min-frequency N       merge only pairs seen at least N times (default 2)\n"
           "  --eos-token S           tokenizer_config eos_token (default <|im_end|> when special)\n"
           "  --pad-token S           tokenizer_config pad_token (default <|endoftext|> when special)\n"
           "  --bos-token S           tokenizer_config bos_token (default none)\n"
           "  --out DIR               output folder (created)\n"
           "  --quiet                 no progress on stderr\n"
           "  --help                  this text\n");
}

/* Splits a comma-separated list into strdup'd items appended to *v. */
static int split_list(const char *s, char ***v, size_t *n) {
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            char **nv = realloc(*v, (*n + 1) * sizeof *nv);
            if (!nv) return -1;
            *v = nv;
            (*v)[*n] = strndup(p, len);
            if (!(*v)[*n]) return -1;
            (*n)++;
        }
        p = e ? e + 1 : p + len;
    }
    return 0;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {
        {"corpus", required_argument, 0, 'c'},        {"vocab-size", required_argument, 0, 'v'},
        {"special-tokens", required_argument, 0, 's'}, {"min-frequency", required_argument, 0, 'f'},
        {"eos-token", required_argument, 0, 'e'},     {"pad-token", required_argument, 0, 'p'},
        {"bos-token", required_argument, 0, 'b'},     {"out", required_argument, 0, 'o'},
        {"quiet", no_argument, 0, 'q'},               {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    char **files = NULL, **specials = NULL;
    size_t n_files = 0, n_specials = 0;
    const char *specials_arg = "<|endoftext|>,<|im_start|>,<|im_end|>", *out = NULL;
    ta_bpe_train_opts o;
    ta_bpe_train_opts_init(&o);
    o.progress = 1;
    int have_vocab = 0, rc = 2;
    ta_error err = {0};
    long x;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (split_list(optarg, &files, &n_files)) { ta_error_set(&err, TA_ENOMEM, "out of memory"); rc = ta_cli_fail(&err); goto done; }
            break;
        case 'v':
            if (ta_cli_parse_long(optarg, "--vocab-size", &x, &err) || x <= 0) {
                rc = ta_cli_usage_error("tokenizer train", "--vocab-size must be a positive integer, not '%s'", optarg);
                goto done;
            }
            o.vocab_size = (size_t)x;
            have_vocab = 1;
            break;
        case 's': specials_arg = optarg; break;
        case 'f':
            if (ta_cli_parse_long(optarg, "--min-frequency", &x, &err) || x < 1) {
                rc = ta_cli_usage_error("tokenizer train", "--min-frequency must be a positive integer, not '%s'", optarg);
                goto done;
            }
            o.min_frequency = (uint64_t)x;
            break;
        case 'e': o.eos_token = optarg; break;
        case 'p': o.pad_token = optarg; break;
        case 'b': o.bos_token = optarg; break;
        case 'o': out = optarg; break;
        case 'q': o.progress = 0; break;
        case 'h': usage(); rc = 0; goto done;
        default: rc = ta_cli_usage_error("tokenizer train", "unknown option"); goto done;
        }
    }
    if (optind < argc) { rc = ta_cli_usage_error("tokenizer train", "unexpected argument '%s'", argv[optind]); goto done; }
    if (!n_files) { rc = ta_cli_usage_error("tokenizer train", "--corpus FILES is required"); goto done; }
    if (!have_vocab) { rc = ta_cli_usage_error("tokenizer train", "--vocab-size N is required"); goto done; }
    if (!out) { rc = ta_cli_usage_error("tokenizer train", "--out DIR is required"); goto done; }
    if (split_list(specials_arg, &specials, &n_specials)) { ta_error_set(&err, TA_ENOMEM, "out of memory"); rc = ta_cli_fail(&err); goto done; }
    o.specials = (const char *const *)specials;
    o.n_specials = n_specials;
    ta_bpe_train_stats st;
    if (ta_bpe_train((const char *const *)files, n_files, &o, out, &st, &err)) { rc = ta_cli_fail(&err); goto done; }
    fprintf(stderr,
            "tokenizer train: %zu bytes, %llu pre-tokens (%zu distinct), %zu merges; pre-tokenize %.2f s, merges "
            "%.2f s, total %.2f s; wrote %s/tokenizer.json%s\n",
            st.corpus_bytes, (unsigned long long)st.n_pretokens, st.n_words, st.n_merges, st.t_pretok_s, st.t_merge_s,
            st.t_total_s, out, st.wrote_chat_template ? " and tokenizer_config.json (Qwen2.5 chat template)" :
                                                          " and tokenizer_config.json (no chat template: <|im_start|>/<|im_end|> are not special tokens)");
    rc = 0;
done:
    free_list(files, n_files);
    free_list(specials, n_specials);
    return rc;
}

int ta_cmd_tokenizer(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
    return ta_cli_usage_error("tokenizer", "unknown action '%s' (only 'train')", argv[1]);
}
