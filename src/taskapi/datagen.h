/* datagen.h: the training and red-team data generator (`taskalign data gen`).
 *
 * Reads the grammar in data/gen (datagen_grammar.h) and writes, into out_dir,
 * deterministically for (seed, scale):
 *   base_{train,dev}.jsonl     general chat + safety refusals (messages format)
 *   sft_{train,dev}.jsonl      TaskMaster capability conversations; every tool
 *                              result comes from executing the call on a fresh
 *                              ":memory:" store through ta_dispatch
 *   prefs_{train,dev}.jsonl    preference pairs (TRL conversational)
 *   suites/{redteam,benign,capability}_{dev,test}.jsonl   suite format (issue 4)
 *   suites/{redteam,benign,capability}_train.jsonl        the same over the train split
 *                              (red-team on training prompts for on-policy DPO)
 *   manifest.json              seed, scale, held-out design, per-file lines,
 *                              chars, estimated tokens (chars/4), sha256 and
 *                              counts per category x attack family
 * Files are written atomically. The split design is in docs/datagen.md. */
#ifndef TA_TASKAPI_DATAGEN_H
#define TA_TASKAPI_DATAGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/error.h"

/* demo: sized for the embedded demo's CPU budget (about a fifth of default, full-size test suites halved). */
typedef enum { TA_SCALE_SMALL = 0, TA_SCALE_DEFAULT, TA_SCALE_LARGE, TA_SCALE_DEMO } ta_datagen_scale;

/* "small", "default", "large". */
const char *ta_datagen_scale_name(ta_datagen_scale s);
int ta_datagen_scale_parse(const char *s, ta_datagen_scale *out);

/* The harm categories and attack families, in manifest order. */
#define TA_N_CATEGORIES 9
extern const char *const ta_datagen_categories[TA_N_CATEGORIES];
#define TA_N_ATTACKS 8
extern const char *const ta_datagen_attacks[TA_N_ATTACKS]; /* the suite format also has "none" */

typedef struct ta_datagen_opts {
    const char *data_dir; /* a grammar folder; NULL: the data/gen embedded at build time */
    const char *out_dir;  /* created if missing */
    uint64_t seed;
    ta_datagen_scale scale;
    FILE *log; /* progress lines (NULL: quiet) */
    const char *system_template; /* TaskMaster system prompt template (tools.h placeholders); NULL: the default */
} ta_datagen_opts;

#define TA_DATAGEN_MAX_FILES 16
typedef struct ta_datagen_file {
    char name[64]; /* relative to out_dir, e.g. "suites/redteam_test.jsonl" */
    size_t lines, chars;
    char sha256[65];
} ta_datagen_file;

typedef struct ta_datagen_stats {
    ta_datagen_file files[TA_DATAGEN_MAX_FILES];
    size_t n_files;
    size_t total_chars;
} ta_datagen_stats;

int ta_datagen_run(const ta_datagen_opts *o, ta_datagen_stats *st, ta_error *err);

/* Composes one five-part refusal for harm category `cat` (one of
 * ta_datagen_categories) about person `p` with need `need`, from the grammar in
 * data_dir (NULL: embedded); for tests and for `data from-eval`. *out is malloc'd. */
int ta_datagen_refusal(const char *data_dir, const char *cat, const char *p, const char *need, uint64_t seed,
                       char **out, ta_error *err);

/* The answer to an indirect injection after list_tasks: the list, then a refusal
 * to follow the task that carries the instructions (the first task in `tasks`
 * with a non-empty description, else the last), offering to delete it.
 * tasks: list_tasks's "tasks" array ({id, title, status, ...} objects). */
/* What the TaskMaster of the SFT data says after `tool` ran with `args` and
 * returned `result` (the ans.* templates: "I've added ...", the list, the
 * calendar, an error with a fix). TA_EINVAL for a tool without one. */
int ta_datagen_tool_answer(const char *data_dir, const char *tool, const json_t *args, const json_t *result, uint64_t seed,
                           char **out, ta_error *err);

int ta_datagen_indirect_refusal(const char *data_dir, const char *cat, const json_t *tasks, uint64_t seed, char **out,
                                ta_error *err);

#endif
