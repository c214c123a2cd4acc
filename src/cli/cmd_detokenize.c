/* cmd_detokenize.c: `taskalign detokenize`, token ids -> text. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "text/tokenizer.h"

TA_COMMAND("detokenize", ta_cmd_detokenize, "decode token ids to text with a tokenizer.json");

static void usage(void) {
    printf("usage: taskalign detokenize --tokenizer PATH (--ids 1,2,3 | --file F) [--skip-special]\n"
           "\n"
           "Decodes token ids with a Hugging Face tokenizer.json (byte-level BPE), the inverse of\n"
           "`taskalign tokenize`. Bytes that do not form valid UTF-8 come out as U+FFFD.\n"
           "\n"
           "  --tokenizer PATH  tokenizer.json, or a folder holding it\n"
           "  --ids LIST        comma-separated ids; prints the text as is\n"
           "  --file F          F holds one JSON array of ids per line; prints one JSON string per line\n"
           "  --skip-special    leave special tokens out\n"
           "  --help            show this help\n");
}

/* JSON string of valid UTF-8 text (non-ASCII kept as is). */
static void print_json_string(FILE *fp, const char *s, size_t n) {
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\b': fputs("\\b", fp); break;
        case '\f': fputs("\\f", fp); break;
        default:
            if (c < 0x20) fprintf(fp, "\\u%04x", c);
            else fputc(c, fp);
        }
    }
    fputs("\"\n", fp);
}

static int decode_lines(const ta_tokenizer *t, const char *path, int skip, ta_error *err) {
    char *buf;
    size_t len;
    int rc = ta_file_read_all(path, (size_t)1 << 31, &buf, &len, err);
    if (rc) return rc;
    size_t line = 0, cap = 0;
    int32_t *ids = NULL;
    for (char *p = buf, *end = buf + len; p < end && !rc;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        json_error_t je;
        json_t *j = json_loadb(p, ll, 0, &je);
        if (!json_is_array(j)) {
            rc = ta_error_set(err, TA_EFORMAT, "'%s':%zu: %s", path, line, j ? "the line must hold a JSON array" : je.text);
        } else {
            size_t n = json_array_size(j);
            if (n > cap) {
                int32_t *nids = realloc(ids, n * sizeof *ids);
                if (!nids) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
                else ids = nids, cap = n;
            }
            for (size_t i = 0; i < n && !rc; i++) {
                json_t *v = json_array_get(j, i);
                if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
                    rc = ta_error_set(err, TA_EFORMAT, "'%s':%zu: element %zu is not a token id", path, line, i);
                else ids[i] = (int32_t)json_integer_value(v);
            }
            char *text;
            size_t tl;
            if (!rc && !(rc = ta_tokenizer_decode(t, ids, n, skip, &text, &tl, err))) {
                print_json_string(stdout, text, tl);
                free(text);
            } else if (rc) {
                ta_error_prefix(err, "'%s':%zu", path, line);
            }
        }
        json_decref(j);
        p += ll + 1;
    }
    free(ids);
    free(buf);
    return rc;
}

int ta_cmd_detokenize(int argc, char **argv) {
    static const struct option opts[] = {{"tokenizer", required_argument, 0, 'k'}, {"ids", required_argument, 0, 'i'},
                                         {"file", required_argument, 0, 'f'},      {"skip-special", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *tok_path = NULL, *ids_s = NULL, *file = NULL;
    int skip = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': tok_path = optarg; break;
        case 'i': ids_s = optarg; break;
        case 'f': file = optarg; break;
        case 's': skip = 1; break;
        case 'h': usage(); return 0;
        default: return ta_cli_usage_error("detokenize", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("detokenize", "unexpected argument '%s'", argv[optind]);
    if (!tok_path) return ta_cli_usage_error("detokenize", "--tokenizer is required");
    if (!!ids_s + !!file != 1) return ta_cli_usage_error("detokenize", "give exactly one of --ids, --file");
    ta_error err = {0};
    ta_tokenizer *t;
    if (ta_tokenizer_load(&t, tok_path, &err)) return ta_cli_fail(&err);
    int rc;
    if (ids_s) {
        int32_t *ids;
        size_t n;
        rc = ta_cli_parse_ids(ids_s, &ids, &n, &err);
        if (!rc) {
            char *text;
            size_t tl;
            rc = ta_tokenizer_decode(t, ids, n, skip, &text, &tl, &err);
            if (!rc) {
                fwrite(text, 1, tl, stdout);
                fputc('\n', stdout);
                free(text);
            }
            free(ids);
        }
    } else {
        rc = decode_lines(t, file, skip, &err);
    }
    ta_tokenizer_free(t);
    if (fflush(stdout) && !rc) rc = ta_error_set(&err, TA_EIO, "cannot write the output");
    return rc ? ta_cli_fail(&err) : 0;
}
