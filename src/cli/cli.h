/* cli.h: helpers shared by the subcommands. Each subcommand lives in
 * src/cli/cmd_<name>.c, registers itself with a TA_COMMAND line at the top
 * level of that file (the table in main.c is generated from those lines):
 *
 *   TA_COMMAND("logprobs", ta_cmd_logprobs, "log-probabilities of a token sequence");
 *
 * and has the signature int fn(int argc, char **argv) where argv[0] is the
 * subcommand name. It returns the process exit code: 0 ok, 1 failure, 2 usage. */
#ifndef TA_CLI_CLI_H
#define TA_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

#define TA_COMMAND(name, fn, summary) int fn(int argc, char **argv)
#define TA_VERSION "0.1.0"

/* Prints "taskalign: error: <msg>" to stderr; returns 1. */
int ta_cli_fail(const ta_error *err);
/* Prints "taskalign CMD: <msg>\nTry 'taskalign CMD --help'." to stderr; returns 2. */
int ta_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses "1,5,9,3" into a malloc'd array. Errors name the bad element. */
int ta_cli_parse_ids(const char *s, int32_t **ids, size_t *n, ta_error *err);
/* Strict number parsing: the whole string must be a number. */
int ta_cli_parse_long(const char *s, const char *flag, long *out, ta_error *err);
int ta_cli_parse_double(const char *s, const char *flag, double *out, ta_error *err);

/* What `logprobs` and `grad` take: --model DIR, --ids LIST, [--out FILE],
 * -t/--threads N, -h/--help. */
typedef struct ta_cli_seq_args {
    const char *model;
    const char *out;
    int32_t *ids; /* malloc'd, caller frees */
    size_t n;
    int threads;  /* 0: all CPUs */
} ta_cli_seq_args;

/* Parses them for subcommand cmd (with_out: --out is accepted and required),
 * demanding at least min_ids ids. Returns -1 when the command should go on,
 * else its exit code (0 after --help, printed with usage(stdout); 2 on a
 * usage error, printed). */
int ta_cli_parse_seq_args(int argc, char **argv, const char *cmd, int with_out, size_t min_ids,
                          void (*usage)(FILE *), ta_cli_seq_args *a);

#endif
