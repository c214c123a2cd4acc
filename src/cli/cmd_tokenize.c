/* cmd_tokenize.c: `taskalign tokenize`, text -> token ids as JSON arrays. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "text/tokenizer.h"

TA_COMMAND("tokenize", ta_cmd_tokenize, "encode text to token ids with a tokenizer.json");

static void usage(void) {
    printf("usage: taskalign tokenize --tokenizer PATH (--text S | --file F | --lines F | --text-file F) [options]\n"
           "\n"
           "Encodes text with a Hugging Face tokenizer.json (byte-level BPE) and prints the ids\n"
           "as a JSON array.\n"
           "\n"
           "  --tokenizer PATH  tokenizer.json, or a folder holding it (and tokenizer_config.json)\n"
           "  --text S          encode the string S\n"
           "  --file F          F holds one JSON string per line; prints one JSON array per line\n"
           "  --lines F         every line of F (raw bytes, without its \\n) is one text; prints one\n"
           "                    JSON array per line\n"
           "  --text-file F     encode the whole content of F as one text (any bytes; invalid\n"
           "                    UTF-8 reads as U+FFFD)\n"
           "  --no-special      do not add the post-processor's special tokens (BOS/EOS); special-\n"
           "                    token text inside the input is still recognised\n"
           "  --offsets         print {\"ids\": [...], \"offsets\": [[start, end], ...]} instead\n"
           "                    (byte offsets into the input)\n"
           "  --help            show this help\n");
}

static void print_result(FILE *fp, const ta_ids *ids, const ta_ids *offs) {
    if (offs) fputs("{\"ids\":", fp);
    fputc('[', fp);
    for (size_t i = 0; i < ids->n; i++) fprintf(fp, i ? ",%d" : "%d", (int)ids->ids[i]);
    fputc(']', fp);
    if (offs) {
        fputs(",\"offsets\":[", fp);
        for (size_t i = 0; i + 1 < offs->n; i += 2)
            fprintf(fp, "%s[%d,%d]", i ? "," : "", (int)offs->ids[i], (int)offs->ids[i + 1]);
        fputs("]}", fp);
    }
    fputc('\n', fp);
}

static int encode_one(const ta_tokenizer *t, const char *s, size_t n, int special, int want_offs, ta_error *err) {
    ta_ids ids = {0}, offs = {0};
    int rc = ta_tokenizer_encode(t, s, n, special, &ids, want_offs ? &offs : NULL, err);
    if (!rc) print_result(stdout, &ids, want_offs ? &offs : NULL);
    ta_ids_release(&ids);
    ta_ids_release(&offs);
    return rc;
}

static int encode_lines(const ta_tokenizer *t, const char *path, int json, int special, int want_offs, ta_error *err) {
    char *buf;
    size_t len;
    int rc = ta_file_read_all(path, (size_t)1 << 31, &buf, &len, err);
    if (rc) return rc;
    size_t line = 0;
    for (char *p = buf, *end = buf + len; p < end && !rc;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (!json) {
            rc = encode_one(t, p, ll, special, want_offs, err);
            if (rc) ta_error_prefix(err, "'%s':%zu", path, line);
            p += ll + 1;
            continue;
        }
        json_error_t je;
        json_t *j = json_loadb(p, ll, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!j || !json_is_string(j)) {
            rc = ta_error_set(err, TA_EFORMAT, "'%s':%zu: %s", path, line,
                              j ? "the line must hold a JSON string" : je.text);
        } else {
            rc = encode_one(t, json_string_value(j), json_string_length(j), special, want_offs, err);
            if (rc) ta_error_prefix(err, "'%s':%zu", path, line);
        }
        json_decref(j);
        p += ll + 1;
    }
    free(buf);
    return rc;
}

int ta_cmd_tokenize(int argc, char **argv) {
    static const struct option opts[] = {{"tokenizer", required_argument, 0, 'k'}, {"text", required_argument, 0, 't'},
                                         {"file", required_argument, 0, 'f'},      {"text-file", required_argument, 0, 'F'},
                                         {"lines", required_argument, 0, 'l'},
                                         {"no-special", no_argument, 0, 'n'},      {"offsets", no_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *tok_path = NULL, *text = NULL, *file = NULL, *text_file = NULL, *lines = NULL;
    int special = 1, want_offs = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': tok_path = optarg; break;
        case 't': text = optarg; break;
        case 'f': file = optarg; break;
        case 'F': text_file = optarg; break;
        case 'l': lines = optarg; break;
        case 'n': special = 0; break;
        case 'o': want_offs = 1; break;
        case 'h': usage(); return 0;
        default: return ta_cli_usage_error("tokenize", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("tokenize", "unexpected argument '%s'", argv[optind]);
    if (!tok_path) return ta_cli_usage_error("tokenize", "--tokenizer is required");
    if (!!text + !!file + !!text_file + !!lines != 1)
        return ta_cli_usage_error("tokenize", "give exactly one of --text, --file, --lines, --text-file");
    ta_error err = {0};
    ta_tokenizer *t;
    if (ta_tokenizer_load(&t, tok_path, &err)) return ta_cli_fail(&err);
    int rc;
    if (text) {
        rc = encode_one(t, text, strlen(text), special, want_offs, &err);
    } else if (file || lines) {
        rc = encode_lines(t, file ? file : lines, !!file, special, want_offs, &err);
    } else {
        char *buf;
        size_t len;
        rc = ta_file_read_all(text_file, (size_t)1 << 31, &buf, &len, &err);
        if (!rc) {
            rc = encode_one(t, buf, len, special, want_offs, &err);
            free(buf);
        }
    }
    ta_tokenizer_free(t);
    if (fflush(stdout) && !rc) rc = ta_error_set(&err, TA_EIO, "cannot write the output");
    return rc ? ta_cli_fail(&err) : 0;
}
