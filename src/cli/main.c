/* main.c: the taskalign command line: dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/threads.h"

#define X(name, fn, summary) int fn(int argc, char **argv);
#include "commands.inc"
#undef X

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} ta_command;

static const ta_command commands[] = {
#define X(name, fn, summary) {name, fn, summary},
#include "commands.inc"
#undef X
};

static void print_help(FILE *out) {
    fprintf(out, "usage: taskalign COMMAND [options]\n\n"
                 "taskalign runs, trains, red-teams and serves a task-management assistant model.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-16s %s\n", "help", "this list");
    fprintf(out, "\n'taskalign COMMAND --help' documents each command.\n");
}

int main(int argc, char **argv) {
    ta_blas_fix_core(argv); /* may re-execute with OPENBLAS_CORETYPE set */
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        if (argc >= 3 && !strcmp(argv[1], "help")) {
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (!strcmp(commands[i].name, argv[2])) {
                    char *hargv[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, hargv);
                }
        }
        print_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("taskalign %s\n", TA_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, argv[1])) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "taskalign: '%s' is not a command. See 'taskalign help'.\n", argv[1]);
    return 2;
}
