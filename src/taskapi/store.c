#include "taskapi/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ta_store {
    sqlite3 *db;
    char now[32];     /* fixed clock, "" = wall clock */
    json_t *schemas;  /* the dispatcher's parsed tool schemas (owned) */
};

/* Migrations: entry i brings the schema from version i to i + 1. Each runs in
 * its own transaction together with the user_version bump, so a store is
 * never left half-migrated. Append new entries; never edit old ones. */
static const char *const migrations[] = {
    /* v1: initial schema. Tags are a table (task_tags) rather than a JSON
     * column so a tag filter is an indexed lookup; pos keeps the user's order.
     * AUTOINCREMENT: an id is never reused after a delete ("task 5" always
     * means one task). Text columns are compared with NOCASE where people
     * type names (tags, projects). */
    "CREATE TABLE projects ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 100),"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE tasks ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),"
    "  description TEXT CHECK (description IS NULL OR length(description) <= 4000),"
    "  status TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (status IN ('pending', 'in_progress', 'completed', 'cancelled')),"
    "  priority TEXT NOT NULL DEFAULT 'medium' CHECK (priority IN ('low', 'medium', 'high')),"
    "  due_date TEXT CHECK (due_date IS NULL OR due_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),"
    "  project TEXT REFERENCES projects(name) ON UPDATE CASCADE ON DELETE SET NULL,"
    "  parent_id INTEGER REFERENCES tasks(id) ON DELETE CASCADE,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL);"
    "CREATE INDEX tasks_parent ON tasks(parent_id);"
    "CREATE INDEX tasks_due ON tasks(due_date);"
    "CREATE INDEX tasks_project ON tasks(project);"
    "CREATE TABLE task_tags ("
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL,"
    "  tag TEXT NOT NULL COLLATE NOCASE CHECK (length(tag) BETWEEN 1 AND 50),"
    "  PRIMARY KEY (task_id, tag)) WITHOUT ROWID;"
    "CREATE INDEX task_tags_tag ON task_tags(tag);"
    "CREATE TABLE reminders ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    "  remind_at TEXT NOT NULL,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX reminders_task ON reminders(task_id);"
    "CREATE INDEX reminders_at ON reminders(remind_at);",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])
_Static_assert(N_MIGRATIONS == TA_STORE_SCHEMA_VERSION, "one migration per schema version");

/* Maps a SQLite failure to our codes with its message. */
static int db_fail(ta_store *s, int rc, const char *what, ta_error *err) {
    int prc = (rc & 0xff);
    int code = TA_EIO;
    if (prc == SQLITE_CONSTRAINT) code = TA_EINVAL;
    else if (prc == SQLITE_NOMEM) code = TA_ENOMEM;
    else if (prc == SQLITE_BUSY || prc == SQLITE_LOCKED) code = TA_EIO;
    return ta_error_set(err, code, "%s: %s", what, s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int exec_sql(ta_store *s, const char *sql, const char *what, ta_error *err) {
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TA_OK : db_fail(s, rc, what, err);
}

static int prepare(ta_store *s, const char *sql, sqlite3_stmt **st, ta_error *err) {
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? TA_OK : db_fail(s, rc, "prepare", err);
}

/* Binds a string or NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *v) {
    if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

/* Runs a statement that returns no rows (or ignores them). Finalizes it. */
static int step_done(ta_store *s, sqlite3_stmt *st, const char *what, ta_error *err) {
    int rc = sqlite3_step(st);
    while (rc == SQLITE_ROW) rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? TA_OK : db_fail(s, rc, what, err);
    sqlite3_finalize(st);
    return out;
}

static int user_version(ta_store *s, int *v, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s, "PRAGMA user_version", &st, err);
    if (rc) return rc;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = db_fail(s, rc, "read user_version", err);
        sqlite3_finalize(st);
        return rc;
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return TA_OK;
}

/* Applies pending migrations. The version is read again inside each write
 * transaction, so two processes opening a new file at once do not both run
 * the same migration: the second waits for the lock, then sees it done. */
static int migrate(ta_store *s, const char *path, ta_error *err) {
    for (;;) {
        int v = 0, rc;
        if ((rc = user_version(s, &v, err))) return rc;
        if (v > (int)N_MIGRATIONS)
            return ta_error_set(err, TA_EFORMAT, "'%s': schema version %d is newer than this build knows (%d)", path, v,
                                (int)N_MIGRATIONS);
        if (v == (int)N_MIGRATIONS) return TA_OK;
        if ((rc = ta_store_begin(s, err))) return ta_error_prefix(err, "'%s'", path);
        if ((rc = user_version(s, &v, err))) {
            ta_store_rollback(s);
            return rc;
        }
        if (v >= (int)N_MIGRATIONS) { /* someone else migrated meanwhile */
            ta_store_rollback(s);
            continue;
        }
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1); /* a constant, not user input */
        if ((rc = exec_sql(s, migrations[v], "migration", err)) || (rc = exec_sql(s, bump, "migration", err)) ||
            (rc = ta_store_commit(s, err))) {
            ta_store_rollback(s);
            return ta_error_prefix(err, "'%s': migration to schema version %d", path, v + 1);
        }
    }
}

int ta_store_open(ta_store **out, const char *path, ta_error *err) {
    ta_store *s = calloc(1, sizeof *s);
    if (!s) return ta_error_set(err, TA_ENOMEM, "out of memory");
    int memory = !strcmp(path, ":memory:");
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = ta_error_set(err, TA_EIO, "cannot open '%s': %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    if ((rc = exec_sql(s, "PRAGMA foreign_keys = ON", "foreign_keys", err))) goto fail_named;
    if (!memory) {
        /* WAL lets the CLI read while a server writes; NORMAL sync is safe in WAL. */
        /* Switching to WAL takes an exclusive lock, and SQLite returns BUSY at once (no busy
           handler) when that could deadlock, e.g. two processes opening a fresh database
           together: retry for the same 5 s the busy timeout allows. */
        int wrc = SQLITE_BUSY;
        for (int tries = 0; tries < 500; tries++) {
            wrc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
            if ((wrc & 0xff) != SQLITE_BUSY && (wrc & 0xff) != SQLITE_LOCKED) break;
            sqlite3_sleep(10);
        }
        if (wrc != SQLITE_OK && (rc = db_fail(s, wrc, "journal_mode", err))) goto fail_named;
        if ((rc = exec_sql(s, "PRAGMA synchronous = NORMAL", "synchronous", err))) goto fail_named;
    }
    if ((rc = migrate(s, path, err))) goto fail;
    *out = s;
    return TA_OK;
fail_named:
    ta_error_prefix(err, "'%s'", path);
fail:
    ta_store_close(s);
    return rc;
}

void ta_store_close(ta_store *s) {
    if (!s) return;
    json_decref(s->schemas);
    sqlite3_close(s->db);
    free(s);
}

struct sqlite3 *ta_store_db(ta_store *s) { return s->db; }

json_t *ta_store_schemas(ta_store *s) { return s->schemas; }
void ta_store_set_schemas(ta_store *s, json_t *schemas) {
    json_decref(s->schemas);
    s->schemas = schemas;
}

int ta_store_schema_version(ta_store *s) {
    int v = -1;
    if (user_version(s, &v, NULL)) return -1;
    return v;
}

int ta_store_set_now(ta_store *s, const char *iso, ta_error *err) {
    if (!iso) {
        s->now[0] = 0;
        return TA_OK;
    }
    size_t n = strlen(iso);
    if (n < 10 || n >= sizeof s->now) return ta_error_set(err, TA_EINVAL, "clock: '%s' is not an ISO 8601 time", iso);
    memcpy(s->now, iso, n + 1);
    return TA_OK;
}

void ta_store_now(const ta_store *s, char out[32]) {
    if (s->now[0]) {
        memcpy(out, s->now, sizeof s->now);
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ta_store_begin(ta_store *s, ta_error *err) { return exec_sql(s, "BEGIN IMMEDIATE", "begin transaction", err); }
int ta_store_commit(ta_store *s, ta_error *err) { return exec_sql(s, "COMMIT", "commit", err); }
void ta_store_rollback(ta_store *s) {
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- tasks ---- */

static int task_exists(ta_store *s, int64_t id, int *exists, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT 1 FROM tasks WHERE id = ?1", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        *exists = rc == SQLITE_ROW;
        rc = TA_OK;
    } else {
        rc = db_fail(s, rc, "look up task", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Resolves a project name to the stored spelling, creating the project when
 * missing. canon must hold TA_PROJECT_MAX * 4 + 1 bytes. */
static int project_ensure(ta_store *s, const char *name, char *canon, size_t cap, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT name FROM projects WHERE name = ?1", &st, err);
    if (rc) return rc;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(canon, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return TA_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(s, rc, "look up project", err);
    int64_t id;
    if ((rc = ta_store_project_create(s, name, &id, err))) return rc;
    snprintf(canon, cap, "%s", name);
    return TA_OK;
}

/* Replaces the tags of a task (duplicates, compared without case, keep the first). */
static int tags_set(ta_store *s, int64_t id, const char *const *tags, size_t n, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s, "DELETE FROM task_tags WHERE task_id = ?1", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = step_done(s, st, "clear tags", err))) return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = prepare(s, "INSERT OR IGNORE INTO task_tags (task_id, pos, tag) VALUES (?1, ?2, ?3)", &st, err)))
            return rc;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        bind_text(st, 3, tags[i]);
        if ((rc = step_done(s, st, "add tag", err))) return rc;
    }
    return TA_OK;
}

int ta_store_task_create(ta_store *s, const ta_task_fields *f, int64_t *id, ta_error *err) {
    if (!f->title) return ta_error_set(err, TA_EINVAL, "title is required");
    int rc;
    if (f->has_parent_id) {
        int exists = 0;
        if ((rc = task_exists(s, f->parent_id, &exists, err))) return rc;
        if (!exists) return ta_error_set(err, TA_ENOTFOUND, "parent task %lld not found", (long long)f->parent_id);
    }
    char canon[TA_PROJECT_MAX * 4 + 1];
    if (f->project && (rc = project_ensure(s, f->project, canon, sizeof canon, err))) return rc;
    char now[32];
    ta_store_now(s, now);
    sqlite3_stmt *st;
    rc = prepare(s,
                 "INSERT INTO tasks (title, description, status, priority, due_date, project, parent_id,"
                 " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                 &st, err);
    if (rc) return rc;
    bind_text(st, 1, f->title);
    bind_text(st, 2, f->description);
    bind_text(st, 3, f->status ? f->status : "pending");
    bind_text(st, 4, f->priority ? f->priority : "medium");
    bind_text(st, 5, f->due_date);
    bind_text(st, 6, f->project ? canon : NULL);
    if (f->has_parent_id) sqlite3_bind_int64(st, 7, f->parent_id);
    else sqlite3_bind_null(st, 7);
    bind_text(st, 8, now);
    if ((rc = step_done(s, st, "create task", err))) return rc;
    int64_t new_id = sqlite3_last_insert_rowid(s->db);
    if (f->has_tags && (rc = tags_set(s, new_id, f->tags, f->n_tags, err))) return rc;
    *id = new_id;
    return TA_OK;
}

int ta_store_task_update(ta_store *s, int64_t id, const ta_task_fields *f, ta_error *err) {
    int exists = 0, rc;
    if ((rc = task_exists(s, id, &exists, err))) return rc;
    if (!exists) return ta_error_set(err, TA_ENOTFOUND, "task %lld not found", (long long)id);
    if (f->has_parent_id) {
        if (f->parent_id == id) return ta_error_set(err, TA_EINVAL, "a task cannot be its own parent");
        int pexists = 0;
        if ((rc = task_exists(s, f->parent_id, &pexists, err))) return rc;
        if (!pexists) return ta_error_set(err, TA_ENOTFOUND, "parent task %lld not found", (long long)f->parent_id);
        /* Refuse cycles: the new parent must not be a descendant of id. */
        sqlite3_stmt *st;
        if ((rc = prepare(s,
                          "WITH RECURSIVE d(id) AS (SELECT id FROM tasks WHERE parent_id = ?1"
                          " UNION SELECT t.id FROM tasks t JOIN d ON t.parent_id = d.id)"
                          " SELECT 1 FROM d WHERE id = ?2",
                          &st, err)))
            return rc;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, f->parent_id);
        int r = sqlite3_step(st);
        sqlite3_finalize(st);
        if (r == SQLITE_ROW)
            return ta_error_set(err, TA_EINVAL, "task %lld is a subtask of task %lld; it cannot be its parent",
                                (long long)f->parent_id, (long long)id);
        if (r != SQLITE_DONE) return db_fail(s, r, "check parent", err);
    }
    char canon[TA_PROJECT_MAX * 4 + 1];
    if (f->project && (rc = project_ensure(s, f->project, canon, sizeof canon, err))) return rc;
    char now[32];
    ta_store_now(s, now);
    sqlite3_stmt *st;
    rc = prepare(s,
                 "UPDATE tasks SET title = coalesce(?1, title), description = coalesce(?2, description),"
                 " status = coalesce(?3, status), priority = coalesce(?4, priority),"
                 " due_date = coalesce(?5, due_date), project = coalesce(?6, project),"
                 " parent_id = CASE WHEN ?7 THEN ?8 ELSE parent_id END, updated_at = ?9 WHERE id = ?10",
                 &st, err);
    if (rc) return rc;
    bind_text(st, 1, f->title);
    bind_text(st, 2, f->description);
    bind_text(st, 3, f->status);
    bind_text(st, 4, f->priority);
    bind_text(st, 5, f->due_date);
    bind_text(st, 6, f->project ? canon : NULL);
    sqlite3_bind_int(st, 7, f->has_parent_id != 0);
    sqlite3_bind_int64(st, 8, f->parent_id);
    bind_text(st, 9, now);
    sqlite3_bind_int64(st, 10, id);
    if ((rc = step_done(s, st, "update task", err))) return rc;
    if (f->has_tags && (rc = tags_set(s, id, f->tags, f->n_tags, err))) return rc;
    return TA_OK;
}

int ta_store_task_delete(ta_store *s, int64_t id, int64_t *n_deleted, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "WITH RECURSIVE d(id) AS (SELECT id FROM tasks WHERE id = ?1"
                     " UNION SELECT t.id FROM tasks t JOIN d ON t.parent_id = d.id) SELECT count(*) FROM d",
                     &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return db_fail(s, rc, "count subtasks", err);
    if (n == 0) return ta_error_set(err, TA_ENOTFOUND, "task %lld not found", (long long)id);
    if ((rc = prepare(s, "DELETE FROM tasks WHERE id = ?1", &st, err))) return rc;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = step_done(s, st, "delete task", err))) return rc;
    if (n_deleted) *n_deleted = n;
    return TA_OK;
}

#define TASK_COLS                                                                                                  \
    "t.id, t.title, t.description, t.status, t.priority, t.due_date,"                                              \
    " (SELECT json_group_array(tag) FROM (SELECT tag FROM task_tags g WHERE g.task_id = t.id ORDER BY pos)),"      \
    " t.project, t.parent_id, t.created_at, t.updated_at"

static void set_text_col(json_t *o, const char *key, sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return;
    json_object_set_new(o, key, json_stringn((const char *)sqlite3_column_text(st, col),
                                             (size_t)sqlite3_column_bytes(st, col)));
}

/* Builds the task object from a row of TASK_COLS. NULL on out of memory. */
static json_t *task_from_row(sqlite3_stmt *st) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    set_text_col(o, "title", st, 1);
    set_text_col(o, "description", st, 2);
    set_text_col(o, "status", st, 3);
    set_text_col(o, "priority", st, 4);
    set_text_col(o, "due_date", st, 5);
    json_t *tags = NULL;
    if (sqlite3_column_type(st, 6) != SQLITE_NULL)
        tags = json_loadb((const char *)sqlite3_column_text(st, 6), (size_t)sqlite3_column_bytes(st, 6), 0, NULL);
    json_object_set_new(o, "tags", json_is_array(tags) ? tags : (json_decref(tags), json_array()));
    set_text_col(o, "project", st, 7);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL)
        json_object_set_new(o, "parent_id", json_integer(sqlite3_column_int64(st, 8)));
    set_text_col(o, "created_at", st, 9);
    set_text_col(o, "updated_at", st, 10);
    return o;
}

int ta_store_task_get(ta_store *s, int64_t id, json_t **out, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT " TASK_COLS " FROM tasks t WHERE t.id = ?1", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return ta_error_set(err, TA_ENOTFOUND, "task %lld not found", (long long)id);
    }
    if (rc != SQLITE_ROW) {
        rc = db_fail(s, rc, "read task", err);
        sqlite3_finalize(st);
        return rc;
    }
    json_t *o = task_from_row(st);
    sqlite3_finalize(st);
    if (!o) return ta_error_set(err, TA_ENOMEM, "out of memory");
    *out = o;
    return TA_OK;
}

/* Runs a prepared query and collects one object per row (built by row())
 * into a new array. Finalizes st. */
static int collect_rows(ta_store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), const char *what, json_t **out,
                        ta_error *err) {
    json_t *arr = json_array();
    int rc;
    while (arr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = row(st);
        if (!o || json_array_append_new(arr, o)) {
            sqlite3_finalize(st);
            json_decref(arr);
            return ta_error_set(err, TA_ENOMEM, "out of memory");
        }
    }
    if (!arr) {
        sqlite3_finalize(st);
        return ta_error_set(err, TA_ENOMEM, "out of memory");
    }
    if (rc != SQLITE_DONE) {
        rc = db_fail(s, rc, what, err);
        sqlite3_finalize(st);
        json_decref(arr);
        return rc;
    }
    sqlite3_finalize(st);
    *out = arr;
    return TA_OK;
}

/* One fixed WHERE clause for listing and counting: each filter is
 * "?N IS NULL OR ...", values bound by bind_filter. */
#define TASK_WHERE                                                                                                 \
    " WHERE (?1 IS NULL OR t.status = ?1)"                                                                         \
    " AND (?2 IS NULL OR t.priority = ?2)"                                                                         \
    " AND (?3 IS NULL OR (t.due_date IS NOT NULL AND t.due_date < ?3))"                                            \
    " AND (?4 IS NULL OR t.due_date = ?4)"                                                                         \
    " AND (?5 IS NULL OR EXISTS (SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag = ?5))"                \
    " AND (?6 IS NULL OR t.project = ?6 COLLATE NOCASE)"

static const ta_task_filter no_filter = {0};

static void bind_filter(sqlite3_stmt *st, const ta_task_filter *f) {
    bind_text(st, 1, f->status && strcmp(f->status, "all") ? f->status : NULL);
    bind_text(st, 2, f->priority);
    bind_text(st, 3, f->due_before);
    bind_text(st, 4, f->due_on);
    bind_text(st, 5, f->tag);
    bind_text(st, 6, f->project);
}

int ta_store_task_list(ta_store *s, const ta_task_filter *f, json_t **out, ta_error *err) {
    if (!f) f = &no_filter;
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT " TASK_COLS " FROM tasks t" TASK_WHERE " ORDER BY t.id LIMIT ?7", &st, err);
    if (rc) return rc;
    bind_filter(st, f);
    sqlite3_bind_int64(st, 7, f->limit ? (int64_t)f->limit : -1);
    return collect_rows(s, st, task_from_row, "list tasks", out, err);
}

int ta_store_task_count(ta_store *s, const ta_task_filter *f, int64_t *n, ta_error *err) {
    if (!f) f = &no_filter;
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT count(*) FROM tasks t" TASK_WHERE, &st, err);
    if (rc) return rc;
    bind_filter(st, f);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        rc = TA_OK;
    } else {
        rc = db_fail(s, rc, "count tasks", err);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- reminders ---- */

int ta_store_reminder_create(ta_store *s, int64_t task_id, const char *remind_at, int64_t *id, ta_error *err) {
    int exists = 0, rc;
    if ((rc = task_exists(s, task_id, &exists, err))) return rc;
    if (!exists) return ta_error_set(err, TA_ENOTFOUND, "task %lld not found", (long long)task_id);
    char now[32];
    ta_store_now(s, now);
    sqlite3_stmt *st;
    if ((rc = prepare(s, "INSERT INTO reminders (task_id, remind_at, created_at) VALUES (?1, ?2, ?3)", &st, err)))
        return rc;
    sqlite3_bind_int64(st, 1, task_id);
    bind_text(st, 2, remind_at);
    bind_text(st, 3, now);
    if ((rc = step_done(s, st, "create reminder", err))) return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return TA_OK;
}

static json_t *reminder_from_row(sqlite3_stmt *st) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(o, "task_id", json_integer(sqlite3_column_int64(st, 1)));
    set_text_col(o, "remind_at", st, 2);
    set_text_col(o, "task_title", st, 3);
    return o;
}

int ta_store_reminder_list(ta_store *s, const char *date_prefix, json_t **out, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT r.id, r.task_id, r.remind_at, t.title FROM reminders r JOIN tasks t ON t.id = r.task_id"
                     " WHERE ?1 IS NULL OR substr(r.remind_at, 1, length(?1)) = ?1 ORDER BY r.remind_at, r.id",
                     &st, err);
    if (rc) return rc;
    bind_text(st, 1, date_prefix);
    return collect_rows(s, st, reminder_from_row, "list reminders", out, err);
}

/* ---- projects ---- */

int ta_store_project_create(ta_store *s, const char *name, int64_t *id, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT name FROM projects WHERE name = ?1", &st, err);
    if (rc) return rc;
    bind_text(st, 1, name);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = ta_error_set(err, TA_EINVAL, "project '%s' already exists", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_fail(s, rc, "look up project", err);
    char now[32];
    ta_store_now(s, now);
    if ((rc = prepare(s, "INSERT INTO projects (name, created_at) VALUES (?1, ?2)", &st, err))) return rc;
    bind_text(st, 1, name);
    bind_text(st, 2, now);
    if ((rc = step_done(s, st, "create project", err))) return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return TA_OK;
}

static json_t *project_from_row(sqlite3_stmt *st) {
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
    set_text_col(o, "name", st, 1);
    json_object_set_new(o, "n_tasks", json_integer(sqlite3_column_int64(st, 2)));
    return o;
}

int ta_store_project_list(ta_store *s, json_t **out, ta_error *err) {
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT p.id, p.name, (SELECT count(*) FROM tasks t WHERE t.project = p.name)"
                     " FROM projects p ORDER BY p.name",
                     &st, err);
    if (rc) return rc;
    return collect_rows(s, st, project_from_row, "list projects", out, err);
}
