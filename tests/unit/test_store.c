/* test_store.c: the SQLite task store (schema, migrations, CRUD, clock, sharing). */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "taskapi/store.h"

static ta_store *open_mem(void) {
    ta_store *s = NULL;
    ta_error err = {0};
    int rc = ta_store_open(&s, ":memory:", &err);
    CHECK_OK(rc, err);
    if (s) ta_store_set_now(s, "2026-03-14T09:00:00Z", &err);
    return s;
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

TEST(test_open_memory_schema) {
    ta_store *s = open_mem();
    if (!s) return;
    CHECK(ta_store_schema_version(s) == TA_STORE_SCHEMA_VERSION);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(ta_store_db(s), "PRAGMA foreign_keys", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1);
    sqlite3_finalize(st);
    ta_store_close(s);
}

TEST(test_create_get_defaults_and_clock) {
    ta_store *s = open_mem();
    if (!s) return;
    ta_error err = {0};
    int64_t id = 0;
    ta_task_fields f = {.title = "Buy milk"};
    CHECK_OK(ta_store_task_create(s, &f, &id, &err), err);
    CHECK(id == 1);
    json_t *t = NULL;
    CHECK_OK(ta_store_task_get(s, id, &t, &err), err);
    CHECK(!strcmp(jstr(t, "title"), "Buy milk"));
    CHECK(!strcmp(jstr(t, "status"), "pending"));
    CHECK(!strcmp(jstr(t, "priority"), "medium"));
    CHECK(!strcmp(jstr(t, "created_at"), "2026-03-14T09:00:00Z"));
    CHECK(!json_object_get(t, "due_date") && !json_object_get(t, "project") && !json_object_get(t, "parent_id"));
    CHECK(json_is_array(json_object_get(t, "tags")) && json_array_size(json_object_get(t, "tags")) == 0);
    json_decref(t);

    ta_store_set_now(s, "2026-03-15T10:30:00Z", &err);
    ta_task_fields u = {.priority = "high", .due_date = "2026-03-20"};
    CHECK_OK(ta_store_task_update(s, id, &u, &err), err);
    CHECK_OK(ta_store_task_get(s, id, &t, &err), err);
    CHECK(!strcmp(jstr(t, "priority"), "high"));
    CHECK(!strcmp(jstr(t, "due_date"), "2026-03-20"));
    CHECK(!strcmp(jstr(t, "created_at"), "2026-03-14T09:00:00Z"));
    CHECK(!strcmp(jstr(t, "updated_at"), "2026-03-15T10:30:00Z"));
    CHECK(!strcmp(jstr(t, "title"), "Buy milk")); /* untouched */
    json_decref(t);

    /* Wall clock when unset: an ISO time of the right shape. */
    ta_store_set_now(s, NULL, &err);
    char now[32];
    ta_store_now(s, now);
    CHECK(strlen(now) == 20 && now[10] == 'T' && now[19] == 'Z');
    ta_store_close(s);
}

TEST(test_tags_projects_subtasks) {
    ta_store *s = open_mem();
    if (!s) return;
    ta_error err = {0};
    const char *tags[] = {"work", "urgent", "Work"}; /* duplicate without case is dropped */
    int64_t parent = 0, child = 0, grandchild = 0, other = 0;
    ta_task_fields f = {.title = "Launch", .tags = tags, .n_tags = 3, .has_tags = 1, .project = "Apollo"};
    CHECK_OK(ta_store_task_create(s, &f, &parent, &err), err);
    json_t *t;
    CHECK_OK(ta_store_task_get(s, parent, &t, &err), err);
    json_t *jt = json_object_get(t, "tags");
    CHECK(json_array_size(jt) == 2);
    CHECK(!strcmp(json_string_value(json_array_get(jt, 0)), "work"));
    CHECK(!strcmp(json_string_value(json_array_get(jt, 1)), "urgent"));
    CHECK(!strcmp(jstr(t, "project"), "Apollo"));
    json_decref(t);

    /* Project auto-created; same name in another case resolves to it. */
    ta_task_fields f2 = {.title = "Other", .project = "apollo"};
    CHECK_OK(ta_store_task_create(s, &f2, &other, &err), err);
    CHECK_OK(ta_store_task_get(s, other, &t, &err), err);
    CHECK(!strcmp(jstr(t, "project"), "Apollo"));
    json_decref(t);
    int64_t pid;
    CHECK(ta_store_project_create(s, "APOLLO", &pid, &err) == TA_EINVAL);
    CHECK(strstr(err.msg, "already exists") != NULL);
    json_t *projects;
    CHECK_OK(ta_store_project_list(s, &projects, &err), err);
    CHECK(json_array_size(projects) == 1);
    CHECK(json_integer_value(json_object_get(json_array_get(projects, 0), "n_tasks")) == 2);
    json_decref(projects);

    ta_task_fields c = {.title = "Child", .parent_id = parent, .has_parent_id = 1};
    CHECK_OK(ta_store_task_create(s, &c, &child, &err), err);
    ta_task_fields g = {.title = "Grandchild", .parent_id = child, .has_parent_id = 1};
    CHECK_OK(ta_store_task_create(s, &g, &grandchild, &err), err);
    ta_task_fields bad = {.title = "Orphan", .parent_id = 99, .has_parent_id = 1};
    int64_t bid;
    CHECK(ta_store_task_create(s, &bad, &bid, &err) == TA_ENOTFOUND);
    CHECK(strstr(err.msg, "parent task 99 not found") != NULL);
    /* No cycles: the parent cannot become a child of its grandchild. */
    ta_task_fields cyc = {.parent_id = grandchild, .has_parent_id = 1};
    CHECK(ta_store_task_update(s, parent, &cyc, &err) == TA_EINVAL);

    int64_t rid;
    CHECK_OK(ta_store_reminder_create(s, grandchild, "2026-03-16T08:00:00", &rid, &err), err);
    CHECK(ta_store_reminder_create(s, 42, "2026-03-16T08:00:00", &rid, &err) == TA_ENOTFOUND);

    /* Deleting the parent removes the subtree and its reminders. */
    int64_t n = 0;
    CHECK_OK(ta_store_task_delete(s, parent, &n, &err), err);
    CHECK(n == 3);
    CHECK(ta_store_task_get(s, grandchild, &t, &err) == TA_ENOTFOUND);
    json_t *rem;
    CHECK_OK(ta_store_reminder_list(s, NULL, &rem, &err), err);
    CHECK(json_array_size(rem) == 0);
    json_decref(rem);
    CHECK(ta_store_task_delete(s, parent, &n, &err) == TA_ENOTFOUND);

    /* Ids are never reused. */
    int64_t next;
    ta_task_fields f3 = {.title = "After"};
    CHECK_OK(ta_store_task_create(s, &f3, &next, &err), err);
    CHECK(next == 5); /* 1..4 used; 3 of them deleted */
    ta_store_close(s);
}

TEST(test_list_filters) {
    ta_store *s = open_mem();
    if (!s) return;
    ta_error err = {0};
    const char *home[] = {"home"};
    struct {
        const char *title, *status, *priority, *due;
        int tagged;
    } rows[] = {
        {"a", "pending", "high", "2026-03-10", 1},
        {"b", "completed", "low", "2026-03-20", 0},
        {"c", "pending", "medium", NULL, 1},
        {"d", "in_progress", "high", "2026-03-14", 0},
    };
    for (size_t i = 0; i < 4; i++) {
        int64_t id;
        ta_task_fields f = {.title = rows[i].title, .status = rows[i].status, .priority = rows[i].priority,
                            .due_date = rows[i].due, .tags = home, .n_tags = rows[i].tagged, .has_tags = 1};
        CHECK_OK(ta_store_task_create(s, &f, &id, &err), err);
    }
    struct {
        ta_task_filter f;
        size_t n;
    } cases[] = {
        {{0}, 4},
        {{.status = "all"}, 4},
        {{.status = "pending"}, 2},
        {{.priority = "high"}, 2},
        {{.due_before = "2026-03-14"}, 1}, /* strictly before; undated excluded */
        {{.due_on = "2026-03-14"}, 1},
        {{.tag = "HOME"}, 2},
        {{.tag = "home", .status = "pending", .priority = "high"}, 1},
        {{.limit = 3}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *arr = NULL;
        CHECK_OK(ta_store_task_list(s, &cases[i].f, &arr, &err), err);
        CHECK_MSG(json_array_size(arr) == cases[i].n, "case %zu: %zu tasks, want %zu", i, json_array_size(arr), cases[i].n);
        json_decref(arr);
        int64_t cnt = -1;
        CHECK_OK(ta_store_task_count(s, &cases[i].f, &cnt, &err), err);
        CHECK(cnt == (int64_t)(cases[i].f.limit ? 4 : cases[i].n)); /* count ignores the limit */
    }
    ta_store_close(s);
}

TEST(test_constraints_hold_without_dispatcher) {
    ta_store *s = open_mem();
    if (!s) return;
    ta_error err = {0};
    int64_t id;
    ta_task_fields f = {.title = "x", .status = "done"};
    CHECK(ta_store_task_create(s, &f, &id, &err) == TA_EINVAL); /* CHECK constraint */
    char longt[260];
    memset(longt, 'a', 201);
    longt[201] = 0;
    ta_task_fields g = {.title = longt};
    CHECK(ta_store_task_create(s, &g, &id, &err) == TA_EINVAL);
    ta_store_close(s);
}

TEST(test_file_store_shared_and_versioned) {
    char dir[] = "/tmp/ta_store_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/tasks.db", dir);
    ta_error err = {0};
    ta_store *a = NULL, *b = NULL;
    CHECK_OK(ta_store_open(&a, path, &err), err);
    CHECK_OK(ta_store_open(&b, path, &err), err);
    if (!a || !b) return;
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(ta_store_db(a), "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "wal"));
    sqlite3_finalize(st);
    int64_t id;
    ta_task_fields f = {.title = "from a"};
    CHECK_OK(ta_store_task_create(a, &f, &id, &err), err);
    json_t *t = NULL;
    CHECK_OK(ta_store_task_get(b, id, &t, &err), err); /* b sees a's write */
    CHECK(t && !strcmp(jstr(t, "title"), "from a"));
    json_decref(t);
    /* b holds a write transaction; a waits (busy timeout) and then gets it once b commits. */
    CHECK_OK(ta_store_begin(b, &err), err);
    CHECK_OK(ta_store_commit(b, &err), err);
    CHECK_OK(ta_store_begin(a, &err), err);
    ta_store_commit(a, &err);
    ta_store_close(b);
    /* A store written by a newer build is refused with a clear message. */
    CHECK(sqlite3_exec(ta_store_db(a), "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    ta_store_close(a);
    CHECK(ta_store_open(&a, path, &err) == TA_EFORMAT);
    CHECK(strstr(err.msg, "schema version 99") != NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

TEST(test_open_bad_path) {
    ta_store *s = NULL;
    ta_error err = {0};
    CHECK(ta_store_open(&s, "/nonexistent/dir/tasks.db", &err) == TA_EIO);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "/nonexistent/dir/tasks.db") != NULL);
}

TEST(test_memory_store_is_cheap) {
    /* The evaluator opens one per red-team item: 200 opens must be quick
     * (no timing assertion; this just exercises open/close under ASan). */
    for (int i = 0; i < 200; i++) {
        ta_store *s = open_mem();
        if (!s) return;
        ta_store_close(s);
    }
}

int main(void) {
    RUN(test_open_memory_schema);
    RUN(test_create_get_defaults_and_clock);
    RUN(test_tags_projects_subtasks);
    RUN(test_list_filters);
    RUN(test_constraints_hold_without_dispatcher);
    RUN(test_file_store_shared_and_versioned);
    RUN(test_open_bad_path);
    RUN(test_memory_store_is_cheap);
    return TEST_END();
}
