/* dispatch.h: validates a tool call against its schema and executes it on a
 * store, producing the JSON text of the `tool` message the model reads.
 *
 * Contract (the same for the model, the CLI and the data generator):
 * - Validation follows the tool's JSON Schema (tools.h): the arguments must be
 *   an object; required fields present; types exact (integers must be JSON
 *   integers: 3 is an id, "3" and 3.0 are not); enums; string lengths in
 *   characters; "format": "date" is YYYY-MM-DD naming a real day;
 *   "format": "date-time" is ISO 8601 YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM]
 *   with a real date and time; unknown fields are REJECTED (a model that
 *   invents a field hears about it instead of being silently ignored).
 *   The first problem found is reported.
 * - Each call runs in one transaction (BEGIN IMMEDIATE ... COMMIT); any failure
 *   rolls it back, so a call either happens entirely or not at all.
 * - The result is always a JSON object text:
 *     success: create_task/update_task/complete_task -> the task object
 *              (store.h shape); delete_task -> {"deleted": true, "id": 3,
 *              "title": "...", "deleted_subtasks": 0}; list_tasks ->
 *              {"tasks": [...], "count": n}; create_reminder -> {"id",
 *              "task_id", "remind_at", "task_title"}; create_project ->
 *              {"id", "name"}; get_calendar -> {"date", "tasks": [...],
 *              "reminders": [...]}
 *     failure: {"error": "due_date must be YYYY-MM-DD, got 'tmrw'"}
 * - Task text is data: titles and descriptions are stored and returned
 *   byte for byte, whatever they say. */
#ifndef TA_TASKAPI_DISPATCH_H
#define TA_TASKAPI_DISPATCH_H

#include <jansson.h>

#include "core/error.h"
#include "taskapi/store.h"

/* Executes tool `name` with `arguments_json` (JSON object text) on s.
 * Returns TA_OK when the tool succeeded. On a tool failure returns its status
 * (TA_EINVAL bad arguments or unknown tool, TA_ENOTFOUND no such task, TA_EIO
 * database failure), err->msg holds the message, and *result is STILL set to
 * {"error": "<message>"} so the caller can hand it to the model either way.
 * *result is malloc'd (caller frees); it is NULL only when out of memory
 * (TA_ENOMEM). */
int ta_dispatch(ta_store *s, const char *name, const char *arguments_json, char **result, ta_error *err);

/* The same with parsed arguments; *result is a new JSON object (caller
 * decrefs), set in the same cases as above. */
int ta_dispatch_json(ta_store *s, const char *name, const json_t *arguments, json_t **result, ta_error *err);

/* The text of a tool result as the model reads it in a `tool` message: Python
 * json.dumps spacing ({"id": 1, "title": ...}), the look tool results have in
 * public chat data, non-ASCII kept as UTF-8. Every writer of tool messages
 * (the agent loop through ta_dispatch, the data generator) goes through this,
 * so training data and inference show the model one format. malloc'd; NULL
 * when out of memory. */
char *ta_dispatch_result_text(const json_t *result);

/* Validates arguments against tool `name`'s schema without executing.
 * TA_OK or TA_EINVAL with the message the dispatcher would report. */
int ta_dispatch_validate(const char *name, const json_t *arguments, ta_error *err);

/* Date helpers shared with the CLI and the data generator. */
/* 1 if s is YYYY-MM-DD naming a real day (Gregorian, years 1000-9999). */
int ta_date_valid(const char *s);
/* 1 if s is an ISO 8601 date-time as described above. */
int ta_datetime_valid(const char *s);
/* Writes the date `days` after `date` (negative: before) into out (>= 11 bytes). */
int ta_date_add_days(const char *date, int days, char out[11], ta_error *err);
/* 0 = Monday ... 6 = Sunday, or -1 for an invalid date. */
int ta_date_weekday(const char *date);

#endif
