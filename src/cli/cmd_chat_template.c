#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "text/chat_format.h"
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
           "  --tools FILE.json      a JSON array of tool schemas (OpenAI function format)\n"
           "  --generation-prompt    append the assistant header (add_generation_prompt=True)\n"
           "  --date STRING          Llama 3.1/3.2 \"Today Date\" (default: the template's, e.g. 26 Jul 2024)\n"
           "  --thinking on|off      Qwen3 enable_thinking (default: undefined, as the template sees it)\n"
           "  --tools-in-system      Llama 3.1/3.2: tools_in_user_message=False\n"
           "  --chat-format NAME     force a family (qwen2.5, qwen3, smollm2, llama3, llama3.1, llama3.2) for a\n"
           "                         template that is not byte-identical to a known one\n"
           "  --spans                print the assistant spans as JSON [[begin, end, message], ...] instead\n"
           "  --help                 this text\n");
}

static int read_json_arg(const char *path, json_t **out, ta_error *err) { return ta_json_load_file(path, out, err); }

int ta_cmd_chat_template(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"messages", required_argument, 0, 'M'},
        {"tools", required_argument, 0, 't'},     {"generation-prompt", no_argument, 0, 'g'},
        {"date", required_argument, 0, 'd'},      {"thinking", required_argument, 0, 'k'},
        {"tools-in-system", no_argument, 0, 's'}, {"chat-format", required_argument, 0, 'f'},
        {"spans", no_argument, 0, 'S'},           {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model = NULL, *messages_path = NULL, *tools_path = NULL, *force = NULL;
    int show_spans = 0;
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
        case 'h': usage(); return 0;
        default: return ta_cli_usage_error(argv[0], "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!model) return ta_cli_usage_error(argv[0], "--model DIR is required");
    if (!messages_path) return ta_cli_usage_error(argv[0], "--messages FILE.json is required");

    ta_error err = {0};
    int rc = 1;
    json_t *jm = NULL, *jt = NULL;
    ta_conversation conv;
    ta_conv_init(&conv);
    ta_chat_text out = {0};
    ta_chat_format fmt;

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
    if (ta_chat_render(&fmt, &conv, &o, &out, &err)) { rc = ta_cli_fail(&err); goto done; }
    if (show_spans) {
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
    ta_conv_release(&conv);
    json_decref(jm);
    json_decref(jt);
    return rc;
}
