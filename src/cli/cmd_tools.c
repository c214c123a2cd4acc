/* cmd_tools.c: `taskalign tools`: the TaskMaster tool schemas and system prompt. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/file.h"
#include "taskapi/dispatch.h"
#include "taskapi/tools.h"

TA_COMMAND("tools", ta_cmd_tools, "print the TaskMaster tool schemas (OpenAI format) or the system prompt");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign tools [--json | --prompt [--today YYYY-MM-DD] [--template FILE]]\n"
            "\n"
            "Without options, lists the tools one line each. The schemas come from\n"
            "data/tools.json, built into the binary; the dispatcher checks calls against\n"
            "the same schemas.\n"
            "\n"
            "options:\n"
            "  --json            the tool array in OpenAI function format\n"
            "                    ([{\"type\": \"function\", \"function\": {name, description, parameters}}])\n"
            "  --prompt          the TaskMaster system prompt rendered for a day\n"
            "  --today D         the day for --prompt (default: today, UTC)\n"
            "  --template FILE   render this template instead of data/system_prompt.txt\n"
            "                    (placeholders {today} {weekday} {tools_brief} {tools})\n"
            "  -h, --help        this text\n");
}

int ta_cmd_tools(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},           {"prompt", no_argument, 0, 'p'},
                                         {"today", required_argument, 0, 't'},    {"template", required_argument, 0, 'T'},
                                         {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int json = 0, prompt = 0;
    const char *today = NULL, *template_path = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'p': prompt = 1; break;
        case 't': today = optarg; break;
        case 'T': template_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return ta_cli_usage_error("tools", "unknown option");
        }
    }
    if (optind < argc) return ta_cli_usage_error("tools", "unexpected argument '%s'", argv[optind]);
    if (json && prompt) return ta_cli_usage_error("tools", "--json and --prompt exclude each other");
    if ((today || template_path) && !prompt) return ta_cli_usage_error("tools", "--today and --template go with --prompt");
    if (today && !ta_date_valid(today)) return ta_cli_usage_error("tools", "--today: '%s' is not a real date YYYY-MM-DD", today);
    ta_error err = {0};
    if (prompt) {
        char day[16];
        if (!today) {
            time_t t = time(NULL);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
            today = day;
        }
        char *tmpl = NULL, *out = NULL;
        size_t len;
        if (template_path && ta_file_read_all(template_path, 1 << 16, &tmpl, &len, &err)) return ta_cli_fail(&err);
        int rc = ta_system_prompt_render(tmpl, today, &out, &err);
        free(tmpl);
        if (rc) return ta_cli_fail(&err);
        puts(out);
        free(out);
        return 0;
    }
    json_t *tools = NULL;
    if (ta_tools_load(&tools, &err)) return ta_cli_fail(&err);
    if (json) {
        char *s = json_dumps(tools, JSON_INDENT(2));
        if (s) puts(s);
        free(s);
    } else {
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t) {
            json_t *fn = json_object_get(t, "function");
            printf("%-16s %s\n", json_string_value(json_object_get(fn, "name")),
                   json_string_value(json_object_get(fn, "description")));
        }
    }
    json_decref(tools);
    return 0;
}
