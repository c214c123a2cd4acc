#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/file.h"
#include "core/json.h"
#include "text/chat_format.h"
#include "text/chat_mask.h"
#include "text/conversation.h"

TA_COMMAND("chat-template", ta_cmd_chat_template, "render a conversation with a model's chat template");

static void usage(void) {
    printf("usage: taskalign chat-template --model DIR --messages FILE.json [options]\n"
           "\n"
           "Renders a conversation exactly as the model's chat template (DIR/tokenizer_config.json)\n"
           "does and prints the text (no newline added).\n"
           "\n"
           "  --model DIR            folder with tokenizer_config.json (and tokenizer.json for --ids/--mask)\n"
           "  --messages FILE.json   a JSON array of messages, or an object {\"messages\": [...], \"tools\": [...]}\n"
           "  --jsonl FILE           instead of --messages: one such object a line; prints one JSON object a\n"
           "                         line: {\"text\", \"spans\"} (+ \"ids\", \"mask\" with --ids) or {\"error\"}\n"
           "  --tools FILE.json      a JSON array of tool schemas (OpenAI function format)\n"
           "  --generation-prompt    append the assistant header (add_generation_prompt=True)\n"
           "  --date STRING          Llama 3.1/3.2 \"Today Date\" (default: the template's, e.g. 26 Jul 2024)\n"
           "  --thinking on|off      Qwen3 enable_thinking (default: undefined, as the template sees it)\n"
           "  --tools-in-system      Llama 3.1/3.2: tools_in_user_message=False\n"
           "  --chat-format NAME     force a family (qwen2.5, qwen3, smollm2, llama3, llama3.1, llama3.2) for a\n"
           "                         template that is not byte-identical to a known one\n"
           "  --spans                print the assistant spans as JSON [[begin, end, message], ...] instead\n"
           "  --ids                  print the token ids (JSON array; needs DIR/tokenizer.json)\n"
           "  --mask                 print one line per token: index, id, 1 if the model's own token, its text\n"
           "                         (with --ids: one JSON object {\"ids\": [...], \"mask\": [...]})\n"
           "  --completion FILE.json check that ids(messages + generation prompt) are a prefix of\n"
           "                         ids(messages + completion messages); prints a JSON report\n"
           "  --help                 this text\n");
}

static int read_json_arg(const char *path, json_t **out, ta_error *err) { return ta_json_load_file(path, out, err); }

/* --jsonl: one conversation a line ({"messages": [...], "tools": [...]}), one
 * JSON object a line out: {"text", "spans", ["ids", "mask"]} or {"error"}. */
static int run_jsonl(const ta_chat_format *fmt, const ta_tokenizer *tok, const ta_chat_options *o0, const char *path,
                     int with_ids, ta_error *err) {
    char *buf;
    size_t len;
    int rc = ta_file_read_all(path, (size_t)1 << 31, &buf, &len, err);
    if (rc) return rc;
    size_t lineno = 0;
    for (char *p = buf; p < buf + len && !rc;) {
        char *nl = memchr(p, '\n', (size_t)(buf + len - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
        lineno++;
        char *line = p;
        p += ll + 1;
        if (ll == 0) continue;
        char what[4200];
        snprintf(what, sizeof what, "'%s':%zu", path, lineno);
        json_t *j;
        if ((rc = ta_json_load_buf(line, ll, what, &j, err))) break;
        ta_chat_options o = *o0;
        const json_t *msgs = json_is_object(j) ? json_object_get(j, "messages") : j;
        const json_t *t = json_is_object(j) ? json_object_get(j, "tools") : NULL;
        if (t && !json_is_null(t)) o.tools = t;
        ta_conversation c;
        ta_conv_init(&c);
        ta_chat_text r = {0};
        ta_error le = {0};
        json_t *res = json_object();
        if (ta_conv_from_json(&c, msgs, what, &le) || ta_chat_render(fmt, &c, &o, &r, &le)) {
            json_object_set_new(res, "error", json_string(le.msg));
        } else {
            json_object_set_new(res, "text", json_stringn(r.text, r.len));
            json_t *sp = json_array();
            for (size_t k = 0; k < r.n_spans; k++)
                json_array_append_new(sp, json_pack("[I, I]", (json_int_t)r.spans[k].begin, (json_int_t)r.spans[k].end));
            json_object_set_new(res, "spans", sp);
            if (with_ids) {
                ta_ids ids;
                ta_ids_init(&ids);
                uint8_t *mask = NULL;
                if (ta_chat_encode(tok, &r, &ids, &mask, &le)) {
                    json_object_set_new(res, "error", json_string(le.msg));
                } else {
                    json_t *ji = json_array(), *jm = json_array();
                    for (size_t k = 0; k < ids.n; k++) {
                        json_array_append_new(ji, json_integer(ids.ids[k]));
                        json_array_append_new(jm, json_integer(mask[k]));
                    }
                    json_object_set_new(res, "ids", ji);
                    json_object_set_new(res, "mask", jm);
                }
                free(mask);
                ta_ids_release(&ids);
            }
        }
        char *out = json_dumps(res, JSON_COMPACT);
        if (!out) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
        else {
            puts(out);
            free(out);
        }
        json_decref(res);
        ta_chat_text_release(&r);
        ta_conv_release(&c);
        json_decref(j);
    }
    free(buf);
    return rc;
}

int ta_cmd_chat_template(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"messages", required_argument, 0, 'M'},
        {"tools", required_argument, 0, 't'},     {"generation-prompt", no_argument, 0, 'g'},
        {"date", required_argument, 0, 'd'},      {"thinking", required_argument, 0, 'k'},
        {"tools-in-system", no_argument, 0, 's'}, {"chat-format", required_argument, 0, 'f'},
        {"spans", no_argument, 0, 'S'},           {"help", no_argument, 0, 'h'},
        {"ids", no_argument, 0, 'i'},             {"mask", no_argument, 0, 'K'},
        {"completion", required_argument, 0, 'C'}, {"jsonl", required_argument, 0, 'J'},
        {0, 0, 0, 0}};
    const char *model = NULL, *messages_path = NULL, *tools_path = NULL, *force = NULL;
    int show_spans = 0, show_ids = 0, show_mask = 0;
    const char *completion_path = NULL, *jsonl_path = NULL;
    ta_chat_options o;
    ta_chat_options_init(&o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'M': messages_path = optarg; break;
        case 't': tools_path = optarg; break;
        case 'g': o.add_generation_prompt = 1; break;
        case 'd': o.date_string = optarg; break;
        case 'k':
            if (!strcmp(optarg, "on")) o.enable_thinking = 1;
            else if (!strcmp(optarg, "off")) o.enable_thinking = 0;
            else return ta_cli_usage_error(argv[0], "--thinking must be 'on' or 'off', not '%s'", optarg);
            break;
        case 's': o.tools_in_user_message = 0; break;
        case 'f': force = optarg; break;
        case 'S': show_spans = 1; break;
        case 'i': show_ids = 1; break;
        case 'K': show_mask = 1; break;
        case 'C': completion_path = optarg; break;
        case 'J': jsonl_path = optarg; break;
        case 'h': usage(); return 0;
        default: return ta_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!model) return ta_cli_usage_error(argv[0], "--model DIR is required");
    if (!messages_path && !jsonl_path) return ta_cli_usage_error(argv[0], "--messages FILE.json (or --jsonl FILE) is required");
    if (messages_path && jsonl_path) return ta_cli_usage_error(argv[0], "--messages and --jsonl exclude each other");

    ta_error err = {0};
    int rc = 1;
    json_t *jm = NULL, *jt = NULL;
    ta_conversation conv;
    ta_conv_init(&conv);
    ta_chat_text out = {0};
    ta_chat_format fmt;
    ta_tokenizer *tok = NULL;
    ta_ids ids;
    ta_ids_init(&ids);
    uint8_t *mask = NULL;
    ta_conversation comp;
    ta_conv_init(&comp);
    json_t *jc = NULL;

    if (force) {
        ta_chat_family fam;
        if (ta_chat_family_parse(force, &fam))
            { rc = ta_cli_usage_error(argv[0], "--chat-format: unknown family '%s'", force); goto done; }
        /* bos/eos still come from the config when it has them */
        ta_chat_format probe;
        int lrc = ta_chat_format_load(&probe, model, &err);
        if (lrc == TA_OK) {
            fmt = probe;
            fmt.family = fam;
        } else if (ta_chat_format_for_family(&fmt, fam, fam >= TA_CHAT_LLAMA3 ? "<|begin_of_text|>" : NULL, NULL, &err)) {
            rc = ta_cli_fail(&err);
            goto done;
        }
        ta_error_clear(&err);
    } else if (ta_chat_format_load(&fmt, model, &err)) {
        rc = ta_cli_fail(&err);
        goto done;
    }
    if (jsonl_path) {
        if (tools_path) {
            if (read_json_arg(tools_path, &jt, &err)) { rc = ta_cli_fail(&err); goto done; }
            o.tools = jt;
        }
        if ((show_ids || show_mask) && ta_tokenizer_load(&tok, model, &err)) { rc = ta_cli_fail(&err); goto done; }
        rc = run_jsonl(&fmt, tok, &o, jsonl_path, show_ids || show_mask, &err) ? ta_cli_fail(&err) : 0;
        if (!rc && fflush(stdout)) rc = 1;
        goto done;
    }
    if (read_json_arg(messages_path, &jm, &err)) { rc = ta_cli_fail(&err); goto done; }
    char what[4200];
    snprintf(what, sizeof what, "'%s'", messages_path);
    const json_t *msgs = jm;
    if (json_is_object(jm)) {
        msgs = json_object_get(jm, "messages");
        const json_t *t = json_object_get(jm, "tools");
        if (t && !json_is_null(t)) o.tools = t;
    }
    if (ta_conv_from_json(&conv, msgs, what, &err)) { rc = ta_cli_fail(&err); goto done; }
    if (tools_path) {
        if (read_json_arg(tools_path, &jt, &err)) { rc = ta_cli_fail(&err); goto done; }
        if (!json_is_array(jt)) {
            ta_error_set(&err, TA_EFORMAT, "'%s': tools must be a JSON array", tools_path);
            rc = ta_cli_fail(&err);
            goto done;
        }
        o.tools = jt;
    }
    if ((show_ids || show_mask || completion_path) && ta_tokenizer_load(&tok, model, &err)) {
        rc = ta_cli_fail(&err);
        goto done;
    }
    if (completion_path) {
        if (read_json_arg(completion_path, &jc, &err)) { rc = ta_cli_fail(&err); goto done; }
        snprintf(what, sizeof what, "'%s'", completion_path);
        const json_t *cm = json_is_object(jc) ? json_object_get(jc, "messages") : jc;
        if (ta_conv_from_json(&comp, cm, what, &err)) { rc = ta_cli_fail(&err); goto done; }
        ta_prefix_report rep;
        if (ta_chat_check_prefix(&fmt, tok, &conv, &comp, &o, &rep, NULL, &err)) { rc = ta_cli_fail(&err); goto done; }
        printf("{\"text_prefix\": %s, \"ids_prefix\": %s, \"prompt_tokens\": %zu, \"full_tokens\": %zu, "
               "\"first_difference\": %zu}\n",
               rep.text_prefix ? "true" : "false", rep.ids_prefix ? "true" : "false", rep.prompt_len, rep.full_len,
               rep.first_diff);
        rc = fflush(stdout) ? 1 : 0;
        goto done;
    }
    if (ta_chat_render(&fmt, &conv, &o, &out, &err)) { rc = ta_cli_fail(&err); goto done; }
    if (show_ids || show_mask) {
        if (ta_chat_encode(tok, &out, &ids, show_mask ? &mask : NULL, &err)) { rc = ta_cli_fail(&err); goto done; }
        if (show_ids) {
            printf(show_mask ? "{\"ids\": [" : "[");
            for (size_t i = 0; i < ids.n; i++) printf("%s%d", i ? ", " : "", ids.ids[i]);
            if (show_mask) {
                printf("], \"mask\": [");
                for (size_t i = 0; i < ids.n; i++) printf("%s%d", i ? ", " : "", mask[i]);
                printf("]}\n");
            } else {
                printf("]\n");
            }
        } else {
            for (size_t i = 0; i < ids.n; i++) {
                char *txt = NULL;
                size_t tl;
                if (ta_tokenizer_decode(tok, &ids.ids[i], 1, 0, &txt, &tl, &err)) { rc = ta_cli_fail(&err); goto done; }
                json_t *js = json_stringn(txt, tl);
                char *q = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
                printf("%zu\t%d\t%d\t%s\n", i, ids.ids[i], mask[i], q ? q : "?");
                free(q);
                json_decref(js);
                free(txt);
            }
        }
    } else if (show_spans) {
        printf("[");
        for (size_t i = 0; i < out.n_spans; i++)
            printf("%s[%zu, %zu, %zu]", i ? ", " : "", out.spans[i].begin, out.spans[i].end, out.spans[i].msg);
        printf("]\n");
    } else {
        fwrite(out.text, 1, out.len, stdout);
    }
    rc = fflush(stdout) ? 1 : 0;
done:
    ta_chat_text_release(&out);
    ta_tokenizer_free(tok);
    ta_ids_release(&ids);
    free(mask);
    ta_conv_release(&comp);
    json_decref(jc);
    ta_conv_release(&conv);
    json_decref(jm);
    json_decref(jt);
    return rc;
}
