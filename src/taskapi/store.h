/* store.h: the TaskMaster task store on SQLite (tasks, tags, reminders, projects).
 *
 * One ta_store is one SQLite connection. A file store is opened in WAL mode
 * with foreign_keys=ON and a busy timeout, so a server and the CLI can share
 * the file; ":memory:" gives a private in-memory store (cheap: the evaluator
 * opens one per red-team item). The schema version lives in PRAGMA
 * user_version; opening applies every pending migration in order, each in
 * its own transaction. All SQL uses prepared statements with bound values.
 *
 * Tasks come back as JSON objects (the shape the tools return to the model):
 *   {"id": 3, "title": "...", "description": "...", "status": "pending",
 *    "priority": "medium", "due_date": "2026-03-14", "tags": ["a", "b"],
 *    "project": "home", "parent_id": 1,
 *    "created_at": "2026-03-14T09:00:00Z", "updated_at": "2026-03-14T09:00:00Z"}
 * Optional fields that are not set (description, due_date, project,
 * parent_id) are omitted; "tags" is always present (possibly []).
 *
 * The store validates only what the schema enforces (lengths, enums via
 * CHECK constraints, foreign keys); argument validation with model-readable
 * messages is the dispatcher's job (dispatch.h). Messages of store errors are
 * still readable: "task 7 not found", "project 'home' already exists".
 *
 * Clock: created_at / updated_at come from the store's "now", which the
 * caller may fix (ta_store_set_now) so generated data and tests are
 * deterministic; unset, it is the wall clock in UTC. */
#ifndef TA_TASKAPI_STORE_H
#define TA_TASKAPI_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ta_store ta_store;
struct sqlite3;

#define TA_STORE_SCHEMA_VERSION 1
#define TA_TITLE_MAX 200         /* characters (UTF-8 code points) */
#define TA_DESCRIPTION_MAX 4000  /* characters */
#define TA_TAG_MAX 50            /* characters per tag */
#define TA_TAGS_MAX 20           /* tags per task */
#define TA_PROJECT_MAX 100       /* characters */

/* Opens (creating if needed) the store at path, or ":memory:". Applies
 * pending migrations. Fails with TA_EFORMAT if the file's user_version is
 * newer than this build knows. *out is set only on success. */
int ta_store_open(ta_store **out, const char *path, ta_error *err);
void ta_store_close(ta_store *s); /* NULL is fine */

/* Fixes the clock: iso is "YYYY-MM-DDTHH:MM:SSZ" (copied). NULL returns to
 * the wall clock. */
int ta_store_set_now(ta_store *s, const char *iso, ta_error *err);
/* Writes the current "now" ("YYYY-MM-DDTHH:MM:SSZ") into out (>= 21 bytes). */
void ta_store_now(const ta_store *s, char out[32]);

/* The schema version of the open store (PRAGMA user_version). */
int ta_store_schema_version(ta_store *s);

/* Transactions. begin is BEGIN IMMEDIATE (takes the write lock up front, so a
 * concurrent writer waits for the busy timeout instead of failing mid-way).
 * They do not nest: the dispatcher wraps each tool call in exactly one. */
int ta_store_begin(ta_store *s, ta_error *err);
int ta_store_commit(ta_store *s, ta_error *err);
void ta_store_rollback(ta_store *s); /* safe to call when no transaction is open */

/* A per-store slot where the dispatcher keeps the parsed tool schemas, so
 * they are parsed once per store rather than once per call. set takes the
 * reference (replacing and freeing an old one); the store frees it on close. */
json_t *ta_store_schemas(ta_store *s);
void ta_store_set_schemas(ta_store *s, json_t *schemas);

/* The raw connection, for tests (fault injection with triggers) and tools
 * that need SQL the store does not offer. The store still owns it. */
struct sqlite3 *ta_store_db(ta_store *s);

/* Fields of a task for create/update. A NULL pointer / has_* == 0 means "not
 * given" (create: default; update: unchanged). Strings are UTF-8. */
typedef struct ta_task_fields {
    const char *title;
    const char *description;
    const char *status;   /* pending | in_progress | completed | cancelled */
    const char *priority; /* low | medium | high */
    const char *due_date; /* YYYY-MM-DD */
    const char *project;  /* created in projects if missing */
    const char *const *tags;
    size_t n_tags;
    int has_tags; /* update: replace the tag list (n_tags may be 0 to clear) */
    int64_t parent_id;
    int has_parent_id;
} ta_task_fields;

/* Creates a task; *id gets its id. Missing parent: TA_ENOTFOUND. */
int ta_store_task_create(ta_store *s, const ta_task_fields *f, int64_t *id, ta_error *err);
/* Updates the given fields and updated_at. Missing task: TA_ENOTFOUND. */
int ta_store_task_update(ta_store *s, int64_t id, const ta_task_fields *f, ta_error *err);
/* Deletes the task, its subtasks (recursively) and their reminders;
 * *n_deleted (may be NULL) counts the tasks removed. Missing: TA_ENOTFOUND. */
int ta_store_task_delete(ta_store *s, int64_t id, int64_t *n_deleted, ta_error *err);
/* A new JSON object for the task (caller decrefs). Missing: TA_ENOTFOUND. */
int ta_store_task_get(ta_store *s, int64_t id, json_t **out, ta_error *err);

/* Filter for listing; NULL fields do not filter. */
typedef struct ta_task_filter {
    const char *status;     /* one status, or "all" / NULL for every status */
    const char *priority;
    const char *due_before; /* due_date < due_before (tasks without a due date excluded) */
    const char *due_on;     /* due_date == due_on */
    const char *tag;
    const char *project;
    size_t limit;           /* 0: no limit */
} ta_task_filter;

/* A new JSON array of task objects ordered by id (caller decrefs). */
int ta_store_task_list(ta_store *s, const ta_task_filter *f, json_t **out, ta_error *err);
/* How many tasks match f (f->limit is ignored). */
int ta_store_task_count(ta_store *s, const ta_task_filter *f, int64_t *n, ta_error *err);

/* Reminders: remind_at is ISO 8601 (stored as given). Missing task: TA_ENOTFOUND. */
int ta_store_reminder_create(ta_store *s, int64_t task_id, const char *remind_at, int64_t *id, ta_error *err);
/* Reminder objects {"id", "task_id", "remind_at", "task_title"} whose remind_at
 * starts with date_prefix ("2026-03-14"), or all when NULL; ordered by remind_at. */
int ta_store_reminder_list(ta_store *s, const char *date_prefix, json_t **out, ta_error *err);

/* Projects: names are unique (exact match). Existing name: TA_EINVAL
 * "project 'X' already exists". */
int ta_store_project_create(ta_store *s, const char *name, int64_t *id, ta_error *err);
/* A new JSON array of {"id", "name", "n_tasks"} ordered by name. */
int ta_store_project_list(ta_store *s, json_t **out, ta_error *err);

#endif
