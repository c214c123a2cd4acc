/* cmd_tasks.c: `taskalign tasks`: the task store for people and scripts.
 * Every change goes through the tool dispatcher, so the CLI and the model
 * share one validation and one set of error messages. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "cli/cli.h"
#include "taskapi/dispatch.h"
#include "taskapi/store.h"

TA_COMMAND("tasks", ta_cmd_tasks, "manage tasks in a store: add, list, show, update, done, rm, remind, calendar");

static void usage(FILE *out) {
    fprintf(out,
            "usage: taskalign tasks SUBCOMMAND [options] --db FILE [--json]\n"
            "\n"
            "  add --title T [--due D] [--priority P] [--tags a,b] [--project X]\n"
            "      [--description S] [--parent ID]        create a task\n"
            "  list [--status S] [--priority P] [--tag T] [--project X] [--due-before D]\n"
            "                                             list tasks (every status unless --status)\n"
            "  show ID                                    one task with its reminders\n"
            "  update ID [--title T] [--due D] [--priority P] [--status S] [--tags a,b]\n"
            "      [--description S]                      change fields (--tags '' clears the tags)\n"
            "  done ID                                    mark completed\n"
            "  rm ID                                      delete the task and its subtasks (no prompt)\n"
            "  remind ID --at YYYY-MM-DDTHH:MM[:SS]       add a reminder\n"
            "  calendar DATE                              tasks due and reminders on DATE\n"
            "  projects                                   list projects\n"
            "\n"
            "options:\n"
            "  --db FILE          the SQLite store (created if missing; default $TASKALIGN_DB);\n"
            "                     a server and the CLI may share it\n"
            "  --json             print JSON (the tool result objects) instead of tables\n"
            "  --title T          task title, 1-200 characters\n"
            "  --description S    longer text\n"
            "  --due D            due date YYYY-MM-DD\n"
            "  --priority P       low, medium (default) or high\n"
            "  --status S         pending, in_progress, completed, cancelled (list: also all)\n"
            "  --tags a,b         comma-separated tags\n"
            "  --tag T            list: only tasks with tag T\n"
            "  --project X        project name (created if missing)\n"
            "  --parent ID        add: make it a subtask of task ID\n"
            "  --due-before D     list: only tasks due strictly before D\n"
            "  --at T             remind: ISO 8601 date-time\n"
            "  -h, --help         this text\n"
            "\n"
            "Dates and values are checked exactly as for the model's tool calls; a bad value\n"
            "fails with the tool's message (exit 1), a bad command line with exit 2.\n");
}

enum { O_DB = 1, O_JSON, O_TITLE, O_DESC, O_DUE, O_PRIO, O_STATUS, O_TAGS, O_TAG, O_PROJECT, O_PARENT, O_DUEB, O_AT, O_HELP };

typedef struct {
    const char *db, *title, *desc, *due, *prio, *status, *tags, *tag, *project, *parent, *due_before, *at;
    int json;
    unsigned given; /* bit per option */
} opts_t;

/* Which options each subcommand takes (besides --db, --json, --help). */
#define B(o) (1u << (o))
static const struct {
    const char *name;
    int takes_id;
    unsigned allowed;
} subs[] = {
    {"add", 0, B(O_TITLE) | B(O_DESC) | B(O_DUE) | B(O_PRIO) | B(O_TAGS) | B(O_PROJECT) | B(O_PARENT)},
    {"list", 0, B(O_STATUS) | B(O_PRIO) | B(O_TAG) | B(O_PROJECT) | B(O_DUEB)},
    {"show", 1, 0},
    {"update", 1, B(O_TITLE) | B(O_DESC) | B(O_DUE) | B(O_PRIO) | B(O_STATUS) | B(O_TAGS)},
    {"done", 1, 0},
    {"rm", 1, 0},
    {"remind", 1, B(O_AT)},
    {"calendar", 0, 0},
    {"projects", 0, 0},
};

static const char *opt_names[] = {"", "--db", "--json", "--title", "--description", "--due", "--priority", "--status",
                                  "--tags", "--tag", "--project", "--parent", "--due-before", "--at", "--help"};

/* ---- output ---- */

/* Display width of s in terminal columns, counting control characters as the
 * one '?' they are printed as. */
static size_t text_width(const char *s) {
    size_t w = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t n = (utf8proc_ssize_t)strlen(s);
    while (n > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, n, &cp);
        if (k <= 0) { p++, n--, w++; continue; }
        int cw = cp < 0x20 || cp == 0x7f ? 1 : utf8proc_charwidth(cp);
        w += cw > 0 ? (size_t)cw : 0;
        p += k, n -= k;
    }
    return w;
}

/* Prints s padded to `width` columns, at most `max` columns (cut with "..."),
 * control characters (ANSI escapes, newlines from stored text) as '?', so task
 * text can never drive the terminal. */
static void put_cell(const char *s, size_t width, size_t max) {
    size_t w = text_width(s);
    size_t limit = w > max ? max - 3 : (size_t)-1, used = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t n = (utf8proc_ssize_t)strlen(s);
    while (n > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p, n, &cp);
        int ctrl = k <= 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
        int cw = ctrl ? 1 : utf8proc_charwidth(cp);
        if (cw < 0) cw = 0;
        if (used + (size_t)cw > limit) break;
        if (ctrl) fputc('?', stdout);
        else fwrite(p, 1, (size_t)k, stdout);
        used += (size_t)cw;
        if (k <= 0) k = 1;
        p += k, n -= k;
    }
    if (w > max) fputs("...", stdout), used += 3;
    for (; used < width; used++) fputc(' ', stdout);
}

static const char *sget(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void tags_text(const json_t *t, char *out, size_t cap) {
    out[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(t, "tags"), i, v) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", i ? "," : "", json_string_value(v));
    }
}

/* The cells of one table row; id and tg are the caller's buffers (32, 1200). */
static void row_cells(const json_t *t, char *id, char *tg, const char *cells[7]) {
    snprintf(id, 32, "%lld", (long long)json_integer_value(json_object_get(t, "id")));
    tags_text(t, tg, 1200);
    const char *v[7] = {id, sget(t, "status"), sget(t, "priority"), sget(t, "due_date"), sget(t, "title"), tg,
                        sget(t, "project")};
    memcpy(cells, v, sizeof v);
}

/* An aligned table: ID STATUS PRIORITY DUE TITLE TAGS PROJECT. On a terminal
 * long titles are cut to keep rows on one line. */
static void print_tasks(const json_t *tasks, int tty) {
    size_t n = json_array_size(tasks);
    if (!n) {
        printf("no tasks\n");
        return;
    }
    static const char *hdr[] = {"ID", "STATUS", "PRIORITY", "DUE", "TITLE", "TAGS", "PROJECT"};
    size_t w[7];
    for (int c = 0; c < 7; c++) w[c] = strlen(hdr[c]);
    size_t maxw[7] = {12, 11, 8, 10, tty ? 48 : 400, tty ? 24 : 400, tty ? 20 : 200};
    for (size_t i = 0; i < n; i++) {
        char id[32], tg[1200];
        const char *cells[7];
        row_cells(json_array_get(tasks, i), id, tg, cells);
        for (int c = 0; c < 7; c++) {
            size_t cw = text_width(cells[c]);
            if (cw > maxw[c]) cw = maxw[c];
            if (cw > w[c]) w[c] = cw;
        }
    }
    for (int c = 0; c < 7; c++) {
        put_cell(hdr[c], c < 6 ? w[c] + 2 : 0, 1000);
    }
    fputc('\n', stdout);
    for (size_t i = 0; i < n; i++) {
        char id[32], tg[1200];
        const char *cells[7];
        row_cells(json_array_get(tasks, i), id, tg, cells);
        for (int c = 0; c < 7; c++) put_cell(cells[c], c < 6 ? w[c] + 2 : 0, maxw[c]);
        fputc('\n', stdout);
    }
}

/* One task as "field: value" lines. */
static void print_task(const json_t *t) {
    static const char *keys[] = {"title", "description", "status", "priority", "due_date", "project", "created_at", "updated_at"};
    printf("%-12s %lld\n", "id:", (long long)json_integer_value(json_object_get(t, "id")));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (!json_object_get(t, keys[i])) continue;
        char k[32];
        snprintf(k, sizeof k, "%s:", keys[i]);
        printf("%-12s ", k);
        put_cell(sget(t, keys[i]), 0, 100000);
        fputc('\n', stdout);
    }
    if (json_object_get(t, "parent_id"))
        printf("%-12s %lld\n", "parent_id:", (long long)json_integer_value(json_object_get(t, "parent_id")));
    char tg[1200];
    tags_text(t, tg, sizeof tg);
    if (tg[0]) {
        printf("%-12s ", "tags:");
        put_cell(tg, 0, 100000);
        fputc('\n', stdout);
    }
}

static void print_json(const json_t *j) {
    char *s = json_dumps(j, JSON_COMPACT);
    if (s) puts(s);
    free(s);
}

/* ---- commands ---- */

/* Splits "a, b,,c" into a JSON array ["a", "b", "c"]. */
static json_t *split_tags(const char *s) {
    json_t *arr = json_array();
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *a = p, *b = e;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
        if (b > a) json_array_append_new(arr, json_stringn(a, (size_t)(b - a)));
        p = *e ? e + 1 : e;
    }
    return arr;
}

static void set_str(json_t *args, const char *key, const char *v) {
    if (v) json_object_set_new(args, key, json_string(v));
}

/* Runs a tool through the dispatcher and prints its result. */
static int run_tool(ta_store *s, const char *tool, json_t *args, const opts_t *o, int tty, const char *verb) {
    json_t *res = NULL;
    ta_error err = {0};
    int rc = ta_dispatch_json(s, tool, args, &res, &err);
    if (rc) {
        json_decref(res);
        return ta_cli_fail(&err);
    }
    if (o->json) {
        print_json(res);
    } else if (!strcmp(tool, "delete_task")) {
        printf("deleted task %lld: ", (long long)json_integer_value(json_object_get(res, "id")));
        put_cell(sget(res, "title"), 0, 1000);
        long long subs_n = (long long)json_integer_value(json_object_get(res, "deleted_subtasks"));
        if (subs_n) printf(" (and %lld subtask%s)", subs_n, subs_n == 1 ? "" : "s");
        fputc('\n', stdout);
    } else if (!strcmp(tool, "create_reminder")) {
        printf("reminder %lld for task %lld at %s\n", (long long)json_integer_value(json_object_get(res, "id")),
               (long long)json_integer_value(json_object_get(res, "task_id")), sget(res, "remind_at"));
    } else {
        printf("%s task %lld: ", verb, (long long)json_integer_value(json_object_get(res, "id")));
        put_cell(sget(res, "title"), 0, 1000);
        fputc('\n', stdout);
        (void)tty;
    }
    json_decref(res);
    return 0;
}

static int parse_id(const char *sub, const char *s, json_int_t *id) {
    long v;
    ta_error err = {0};
    if (ta_cli_parse_long(s, "ID", &v, &err) || v < 1)
        return ta_cli_usage_error("tasks", "%s: '%s' is not a task id (a positive integer)", sub, s);
    *id = v;
    return 0;
}

int ta_cmd_tasks(int argc, char **argv) {
    static const struct option lo[] = {
        {"db", required_argument, 0, O_DB},         {"json", no_argument, 0, O_JSON},
        {"title", required_argument, 0, O_TITLE},   {"description", required_argument, 0, O_DESC},
        {"due", required_argument, 0, O_DUE},       {"priority", required_argument, 0, O_PRIO},
        {"status", required_argument, 0, O_STATUS}, {"tags", required_argument, 0, O_TAGS},
        {"tag", required_argument, 0, O_TAG},       {"project", required_argument, 0, O_PROJECT},
        {"parent", required_argument, 0, O_PARENT}, {"due-before", required_argument, 0, O_DUEB},
        {"at", required_argument, 0, O_AT},         {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    if (argc < 2) return ta_cli_usage_error("tasks", "a subcommand is required (add, list, show, update, done, rm, ...)");
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    const char *sub = argv[1];
    int si = -1;
    for (int i = 0; i < (int)(sizeof subs / sizeof subs[0]); i++)
        if (!strcmp(sub, subs[i].name)) si = i;
    if (si < 0) return ta_cli_usage_error("tasks", "'%s' is not a tasks subcommand", sub);

    opts_t o = {0};
    o.db = getenv("TASKALIGN_DB");
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "h", lo, NULL)) != -1) {
        if (c == 'h' || c == O_HELP) {
            usage(stdout);
            return 0;
        }
        if (c == '?' || c == ':') return ta_cli_usage_error("tasks", "bad option for '%s'", sub);
        if (c != O_DB && c != O_JSON && !(subs[si].allowed & B(c)))
            return ta_cli_usage_error("tasks", "%s does not take %s", sub, opt_names[c]);
        o.given |= B(c);
        switch (c) {
        case O_DB: o.db = optarg; break;
        case O_JSON: o.json = 1; break;
        case O_TITLE: o.title = optarg; break;
        case O_DESC: o.desc = optarg; break;
        case O_DUE: o.due = optarg; break;
        case O_PRIO: o.prio = optarg; break;
        case O_STATUS: o.status = optarg; break;
        case O_TAGS: o.tags = optarg; break;
        case O_TAG: o.tag = optarg; break;
        case O_PROJECT: o.project = optarg; break;
        case O_PARENT: o.parent = optarg; break;
        case O_DUEB: o.due_before = optarg; break;
        case O_AT: o.at = optarg; break;
        }
    }
    int npos = argc - 1 - optind;
    char **pos = argv + 1 + optind;
    int want_pos = subs[si].takes_id || !strcmp(sub, "calendar");
    if (want_pos && npos != 1) return ta_cli_usage_error("tasks", "%s needs exactly one %s", sub, subs[si].takes_id ? "task ID" : "DATE");
    if (!want_pos && npos) return ta_cli_usage_error("tasks", "unexpected argument '%s'", pos[0]);
    if (!o.db || !*o.db) return ta_cli_usage_error("tasks", "--db FILE is required (or set TASKALIGN_DB)");
    if (!strcmp(sub, "add") && !o.title) return ta_cli_usage_error("tasks", "add needs --title");
    if (!strcmp(sub, "remind") && !o.at) return ta_cli_usage_error("tasks", "remind needs --at");
    json_int_t id = 0;
    if (subs[si].takes_id && parse_id(sub, pos[0], &id)) return 2;
    json_int_t parent = 0;
    if (o.parent && parse_id(sub, o.parent, &parent)) return 2;

    ta_store *s = NULL;
    ta_error err = {0};
    if (ta_store_open(&s, o.db, &err)) return ta_cli_fail(&err);
    int tty = isatty(STDOUT_FILENO);
    json_t *args = json_object();
    int rc = 0;
    if (!strcmp(sub, "add") || !strcmp(sub, "update")) {
        if (id) json_object_set_new(args, "task_id", json_integer(id));
        set_str(args, "title", o.title);
        set_str(args, "description", o.desc);
        set_str(args, "due_date", o.due);
        set_str(args, "priority", o.prio);
        set_str(args, "status", o.status);
        set_str(args, "project", o.project);
        if (o.tags) json_object_set_new(args, "tags", split_tags(o.tags));
        if (o.parent) json_object_set_new(args, "parent_id", json_integer(parent));
        if (!strcmp(sub, "update") && json_object_size(args) < 2) {
            rc = ta_cli_usage_error("tasks", "update needs at least one field option (--title, --due, ...)");
        } else {
            rc = run_tool(s, sub[0] == 'a' ? "create_task" : "update_task", args, &o, tty, sub[0] == 'a' ? "created" : "updated");
        }
    } else if (!strcmp(sub, "done") || !strcmp(sub, "rm")) {
        json_object_set_new(args, "task_id", json_integer(id));
        rc = run_tool(s, sub[0] == 'd' ? "complete_task" : "delete_task", args, &o, tty, "completed");
    } else if (!strcmp(sub, "remind")) {
        json_object_set_new(args, "task_id", json_integer(id));
        set_str(args, "remind_at", o.at);
        rc = run_tool(s, "create_reminder", args, &o, tty, "");
    } else if (!strcmp(sub, "list")) {
        /* Validated as the list_tasks tool, listed without its 50-task cap. */
        set_str(args, "status", o.status);
        set_str(args, "priority", o.prio);
        set_str(args, "tag", o.tag);
        set_str(args, "project", o.project);
        set_str(args, "due_before", o.due_before);
        json_t *tasks = NULL;
        ta_task_filter f = {.status = o.status, .priority = o.prio, .tag = o.tag, .project = o.project, .due_before = o.due_before};
        if (ta_dispatch_validate("list_tasks", args, &err) || ta_store_task_list(s, &f, &tasks, &err)) {
            rc = ta_cli_fail(&err);
        } else {
            if (o.json) {
                json_t *wrap = json_pack("{s:O, s:I}", "tasks", tasks, "count", (json_int_t)json_array_size(tasks));
                print_json(wrap);
                json_decref(wrap);
            } else {
                print_tasks(tasks, tty);
            }
            json_decref(tasks);
        }
    } else if (!strcmp(sub, "show")) {
        json_t *t = NULL, *rem = NULL;
        if (ta_store_task_get(s, id, &t, &err) || ta_store_reminder_list(s, NULL, &rem, &err)) {
            rc = ta_cli_fail(&err);
        } else {
            /* keep this task's reminders */
            for (size_t i = json_array_size(rem); i-- > 0;)
                if (json_integer_value(json_object_get(json_array_get(rem, i), "task_id")) != id) json_array_remove(rem, i);
            if (o.json) {
                json_object_set(t, "reminders", rem);
                print_json(t);
            } else {
                print_task(t);
                size_t i;
                json_t *r;
                json_array_foreach(rem, i, r) printf("%-12s %s\n", i ? "" : "reminders:", sget(r, "remind_at"));
            }
        }
        json_decref(t);
        json_decref(rem);
    } else if (!strcmp(sub, "calendar")) {
        json_object_set_new(args, "date", json_string(pos[0]));
        json_t *res = NULL;
        if (ta_dispatch_json(s, "get_calendar", args, &res, &err)) {
            rc = ta_cli_fail(&err);
        } else if (o.json) {
            print_json(res);
        } else {
            printf("%s %s\n", sget(res, "weekday"), sget(res, "date"));
            print_tasks(json_object_get(res, "tasks"), tty);
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(res, "reminders"), i, r) {
                printf("reminder %s  task %lld: ", sget(r, "remind_at"), (long long)json_integer_value(json_object_get(r, "task_id")));
                put_cell(sget(r, "task_title"), 0, 1000);
                fputc('\n', stdout);
            }
        }
        json_decref(res);
    } else if (!strcmp(sub, "projects")) {
        json_t *ps = NULL;
        if (ta_store_project_list(s, &ps, &err)) {
            rc = ta_cli_fail(&err);
        } else if (o.json) {
            json_t *wrap = json_pack("{s:O}", "projects", ps);
            print_json(wrap);
            json_decref(wrap);
        } else if (!json_array_size(ps)) {
            printf("no projects\n");
        } else {
            size_t i;
            json_t *p;
            json_array_foreach(ps, i, p) {
                printf("%-6lld ", (long long)json_integer_value(json_object_get(p, "id")));
                put_cell(sget(p, "name"), 0, 200);
                printf("  (%lld tasks)\n", (long long)json_integer_value(json_object_get(p, "n_tasks")));
            }
        }
        json_decref(ps);
    }
    json_decref(args);
    ta_store_close(s);
    return rc;
}
