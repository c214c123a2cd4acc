#include "train/checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "core/json.h"
#include "model/safetensors.h"

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path);
}

int ta_remove_tree(const char *path, ta_error *err) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? TA_OK : ta_error_set(err, TA_EIO, "cannot stat '%s': %s", path, strerror(errno));
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return ta_error_set(err, TA_EIO, "cannot remove '%s': %s", path, strerror(errno));
    return TA_OK;
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static int ckpt_path(char *out, size_t cap, const char *out_dir, int64_t step, const char *suffix, ta_error *err) {
    int n = snprintf(out, cap, "%s/checkpoint-%" PRId64 "%s", out_dir, step, suffix);
    if (n < 0 || (size_t)n >= cap) return ta_error_set(err, TA_ERANGE, "path too long under '%s'", out_dir);
    return TA_OK;
}

int ta_checkpoint_begin(const char *out_dir, int64_t step, char *tmp_dir, size_t cap, ta_error *err) {
    int rc = ckpt_path(tmp_dir, cap, out_dir, step, ".tmp", err);
    if (rc || (rc = ta_remove_tree(tmp_dir, err))) return rc;
    return ta_mkdir_p(tmp_dir, err);
}

static json_t *u64_str(uint64_t x) {
    char b[32];
    snprintf(b, sizeof b, "%016" PRIx64, x);
    return json_string(b);
}

static int get_u64_str(json_t *j, const char *key, uint64_t *out, const char *what, ta_error *err) {
    const char *s = json_string_value(json_object_get(j, key));
    char *end;
    if (!s) return ta_error_set(err, TA_EFORMAT, "%s: \"%s\" is missing", what, key);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (errno || *end || !*s) return ta_error_set(err, TA_EFORMAT, "%s: \"%s\" is not a hex number", what, key);
    *out = (uint64_t)v;
    return TA_OK;
}

/* m and v as exp_avg.<name> / exp_avg_sq.<name> (torch's AdamW state names). */
static int write_moments(const char *path, const ta_param_info *t, size_t nt, const float *m, const float *v,
                         ta_error *err) {
    ta_st_entry *e = calloc(2 * nt + 1, sizeof *e);
    char (*names)[TA_PARAM_NAME_MAX + 16] = calloc(2 * nt + 1, sizeof *names);
    if (!e || !names) { free(e); free(names); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
    for (size_t i = 0; i < nt; i++)
        for (int s = 0; s < 2; s++) {
            size_t k = 2 * i + (size_t)s;
            snprintf(names[k], sizeof names[0], "%s.%s", s ? "exp_avg_sq" : "exp_avg", t[i].name);
            e[k].name = names[k];
            e[k].data = (s ? v : m) + t[i].offset;
            e[k].ndim = t[i].ndim;
            e[k].shape[0] = t[i].shape[0];
            e[k].shape[1] = t[i].shape[1];
        }
    int rc = ta_safetensors_write(path, e, 2 * nt, TA_DTYPE_F32, err);
    free(e);
    free(names);
    return rc;
}

int ta_checkpoint_write_state(const char *tmp_dir, const ta_train_state *st, const ta_param_info *t, size_t nt,
                              const float *m, const float *v, ta_error *err) {
    char path[4200];
    int rc = ta_path_join(path, sizeof path, tmp_dir, "optimizer.safetensors", err);
    if (rc || (rc = write_moments(path, t, nt, m, v, err))) return rc;
    json_t *j = json_object();
    json_object_set_new(j, "format", json_string("taskalign-trainer-state-1"));
    json_object_set_new(j, "kind", json_string(st->kind));
    json_object_set_new(j, "step", json_integer(st->step));
    json_object_set_new(j, "adam_step", json_integer(st->adam_step));
    json_object_set_new(j, "epoch", json_integer((json_int_t)st->epoch));
    json_object_set_new(j, "pos", json_integer((json_int_t)st->pos));
    json_t *rng = json_array();
    for (int i = 0; i < 4; i++) json_array_append_new(rng, u64_str(st->rng.s[i]));
    json_object_set_new(j, "rng", rng);
    json_object_set_new(j, "tokens_seen", json_real(st->tokens_seen));
    json_object_set_new(j, "elapsed_s", json_real(st->elapsed_s));
    json_object_set_new(j, "seed", u64_str(st->seed));
    json_object_set_new(j, "batch_size", json_integer((json_int_t)st->batch_size));
    json_object_set_new(j, "grad_accum", json_integer((json_int_t)st->grad_accum));
    json_object_set_new(j, "n_examples", json_integer((json_int_t)st->n_examples));
    json_object_set_new(j, "total_steps", json_integer(st->total_steps));
    char *txt = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    if (!txt) return ta_error_set(err, TA_ENOMEM, "out of memory");
    rc = ta_path_join(path, sizeof path, tmp_dir, "trainer_state.json", err);
    if (!rc) rc = ta_file_write_atomic(path, txt, strlen(txt), err);
    free(txt);
    return rc;
}

typedef struct ckpt_list {
    int64_t *steps;
    size_t n;
} ckpt_list;

static int list_ckpts(const char *out_dir, ckpt_list *l, ta_error *err) {
    l->steps = NULL;
    l->n = 0;
    DIR *d = opendir(out_dir);
    if (!d) return ta_error_set(err, errno == ENOENT ? TA_ENOTFOUND : TA_EIO, "cannot open '%s': %s", out_dir, strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *s = de->d_name;
        if (strncmp(s, "checkpoint-", 11)) continue;
        char *end;
        errno = 0;
        long long v = strtoll(s + 11, &end, 10);
        if (errno || *end || end == s + 11 || v < 0) continue; /* skips "*.tmp" and "*.old" */
        if (l->n == cap) {
            cap = cap ? 2 * cap : 16;
            int64_t *p = realloc(l->steps, cap * sizeof *p);
            if (!p) { closedir(d); free(l->steps); return ta_error_set(err, TA_ENOMEM, "out of memory"); }
            l->steps = p;
        }
        l->steps[l->n++] = (int64_t)v;
    }
    closedir(d);
    for (size_t i = 1; i < l->n; i++) /* insertion sort: a handful of entries */
        for (size_t k = i; k > 0 && l->steps[k - 1] > l->steps[k]; k--) {
            int64_t t = l->steps[k];
            l->steps[k] = l->steps[k - 1];
            l->steps[k - 1] = t;
        }
    return TA_OK;
}

int ta_checkpoint_commit(const char *out_dir, const char *tmp_dir, int64_t step, size_t keep, char *final_dir,
                         size_t cap, ta_error *err) {
    char dst[4200], old[4200];
    int rc = ckpt_path(dst, sizeof dst, out_dir, step, "", err);
    if (rc || (rc = ckpt_path(old, sizeof old, out_dir, step, ".old", err))) return rc;
    fsync_dir(tmp_dir);
    if (ta_dir_exists(dst)) {
        if ((rc = ta_remove_tree(old, err))) return rc;
        if (rename(dst, old) != 0) return ta_error_set(err, TA_EIO, "cannot rename '%s': %s", dst, strerror(errno));
    }
    if (rename(tmp_dir, dst) != 0) return ta_error_set(err, TA_EIO, "cannot rename '%s' to '%s': %s", tmp_dir, dst, strerror(errno));
    fsync_dir(out_dir);
    ta_remove_tree(old, NULL);
    if (final_dir) snprintf(final_dir, cap, "%s", dst);
    if (keep > 0) {
        ckpt_list l;
        if ((rc = list_ckpts(out_dir, &l, err))) return rc;
        for (size_t i = 0; i + keep < l.n; i++) {
            char p[4200];
            if (ckpt_path(p, sizeof p, out_dir, l.steps[i], "", err) == TA_OK && (rc = ta_remove_tree(p, err))) break;
        }
        free(l.steps);
    }
    return rc;
}

int ta_checkpoint_latest(const char *out_dir, char *dir, size_t cap, ta_error *err) {
    ckpt_list l;
    int rc = list_ckpts(out_dir, &l, err);
    if (rc) return rc;
    if (l.n == 0) {
        free(l.steps);
        return ta_error_set(err, TA_ENOTFOUND, "no checkpoint-<step> folder in '%s' to resume from", out_dir);
    }
    rc = ckpt_path(dir, cap, out_dir, l.steps[l.n - 1], "", err);
    free(l.steps);
    return rc;
}

static int get_size(json_t *j, const char *key, size_t *out, const char *what, ta_error *err) {
    int64_t v;
    int rc = ta_json_get_int(j, key, 1, &v, what, err);
    if (rc) return rc;
    if (v < 0) return ta_error_set(err, TA_EFORMAT, "%s: \"%s\" must be >= 0", what, key);
    *out = (size_t)v;
    return TA_OK;
}

int ta_checkpoint_read_state(const char *dir, ta_train_state *st, const ta_param_info *t, size_t nt, float *m, float *v,
                             ta_error *err) {
    char path[4200];
    json_t *j = NULL;
    int rc = ta_path_join(path, sizeof path, dir, "trainer_state.json", err);
    if (rc || (rc = ta_json_load_file(path, &j, err))) return rc;
    ta_train_state s;
    memset(&s, 0, sizeof s);
    const char *kind = NULL;
    double d;
    if ((rc = ta_json_get_str(j, "kind", 1, &kind, path, err))) goto done;
    snprintf(s.kind, sizeof s.kind, "%s", kind);
    if ((rc = ta_json_get_int(j, "step", 1, &s.step, path, err)) ||
        (rc = ta_json_get_int(j, "adam_step", 1, &s.adam_step, path, err)) ||
        (rc = get_size(j, "epoch", &s.epoch, path, err)) || (rc = get_size(j, "pos", &s.pos, path, err)) ||
        (rc = get_size(j, "batch_size", &s.batch_size, path, err)) ||
        (rc = get_size(j, "grad_accum", &s.grad_accum, path, err)) ||
        (rc = get_size(j, "n_examples", &s.n_examples, path, err)) ||
        (rc = ta_json_get_int(j, "total_steps", 1, &s.total_steps, path, err)) ||
        (rc = get_u64_str(j, "seed", &s.seed, path, err)))
        goto done;
    if ((rc = ta_json_get_num(j, "tokens_seen", 1, &d, path, err))) goto done;
    s.tokens_seen = d;
    if ((rc = ta_json_get_num(j, "elapsed_s", 1, &d, path, err))) goto done;
    s.elapsed_s = d;
    json_t *rng = json_object_get(j, "rng");
    if (!json_is_array(rng) || json_array_size(rng) != 4) {
        rc = ta_error_set(err, TA_EFORMAT, "'%s': \"rng\" must be a list of 4 hex strings", path);
        goto done;
    }
    for (size_t i = 0; i < 4; i++) {
        const char *hx = json_string_value(json_array_get(rng, i));
        char *end;
        if (!hx) { rc = ta_error_set(err, TA_EFORMAT, "'%s': rng[%zu] is not a string", path, i); goto done; }
        s.rng.s[i] = (uint64_t)strtoull(hx, &end, 16);
        if (*end) { rc = ta_error_set(err, TA_EFORMAT, "'%s': rng[%zu] is not hex", path, i); goto done; }
    }
    ta_safetensors sf;
    if ((rc = ta_path_join(path, sizeof path, dir, "optimizer.safetensors", err)) ||
        (rc = ta_safetensors_open(&sf, path, err)))
        goto done;
    for (size_t i = 0; i < nt && !rc; i++)
        for (int k = 0; k < 2 && !rc; k++) {
            char name[TA_PARAM_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s.%s", k ? "exp_avg_sq" : "exp_avg", t[i].name);
            const ta_st_tensor *x = ta_safetensors_find(&sf, name);
            if (!x) rc = ta_error_set(err, TA_ENOTFOUND, "'%s': tensor '%s' is missing", path, name);
            else if (x->numel != t[i].numel)
                rc = ta_error_set(err, TA_EFORMAT, "'%s': tensor '%s' has %zu elements, want %zu", path, name, x->numel, t[i].numel);
            else rc = ta_safetensors_read_f32(&sf, x, (k ? v : m) + t[i].offset, err);
        }
    ta_safetensors_release(&sf);
    if (!rc) *st = s;
done:
    json_decref(j);
    return rc;
}

int ta_checkpoint_check_compatible(const ta_train_state *a, const ta_train_state *b, ta_error *err) {
    const char *what = "checkpoint";
    if (strcmp(a->kind, b->kind))
        return ta_error_set(err, TA_EINVAL, "%s was written by 'train %s', not 'train %s'", what, a->kind, b->kind);
#define SAME(field, flag)                                                                                             \
    if (a->field != b->field)                                                                                         \
        return ta_error_set(err, TA_EINVAL, "cannot resume: %s was %llu in the checkpoint, %llu now (resume needs the same value)", \
                            flag, (unsigned long long)a->field, (unsigned long long)b->field);
    SAME(seed, "--seed");
    SAME(batch_size, "--batch-size");
    SAME(grad_accum, "--grad-accum");
    SAME(n_examples, "the number of training examples");
    SAME(total_steps, "the total number of steps (--epochs/--max-steps)");
#undef SAME
    return TA_OK;
}
