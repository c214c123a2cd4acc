#include "taskapi/datagen_grammar.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"

#define MAX_DEPTH 40
#define MAX_GEN_FILE (16u << 20)

const char *ta_split_name(ta_split s) {
    switch (s) {
    case TA_SPLIT_TRAIN: return "train";
    case TA_SPLIT_DEV: return "dev";
    case TA_SPLIT_TEST: return "test";
    default: return "?";
    }
}

/* ---- string buffer ---- */

void ta_sbuf_init(ta_sbuf *b) { memset(b, 0, sizeof *b); }
void ta_sbuf_release(ta_sbuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}
void ta_sbuf_clear(ta_sbuf *b) {
    b->len = 0;
    if (b->s) b->s[0] = 0;
}
int ta_sbuf_add(ta_sbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) return TA_ENOMEM;
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return TA_OK;
}
int ta_sbuf_puts(ta_sbuf *b, const char *s) { return ta_sbuf_add(b, s, strlen(s)); }
int ta_sbuf_printf(ta_sbuf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return TA_EINVAL;
    if ((size_t)n < sizeof tmp) return ta_sbuf_add(b, tmp, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) return TA_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = ta_sbuf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

/* ---- variables ---- */

void ta_gram_vars_init(ta_gram_vars *v, ta_arena *arena) {
    memset(v, 0, sizeof *v);
    v->arena = arena;
}

int ta_gram_vars_set(ta_gram_vars *v, const char *key, const char *value) {
    const char *val = value ? ta_arena_strdup(v->arena, value) : NULL;
    if (value && !val) return TA_ENOMEM;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->key[i], key)) {
            v->val[i] = val;
            return TA_OK;
        }
    if (!value) return TA_OK;
    if (v->n == TA_GRAM_MAX_VARS) return TA_ERANGE;
    v->key[v->n] = ta_arena_strdup(v->arena, key);
    if (!v->key[v->n]) return TA_ENOMEM;
    v->val[v->n++] = val;
    return TA_OK;
}

const char *ta_gram_vars_get(const ta_gram_vars *v, const char *key) {
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->key[i], key)) return v->val[i];
    return NULL;
}

int ta_gram_vars_used(const ta_gram_vars *v, const char *key) {
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->key[i], key)) return (v->used >> i) & 1u;
    return 0;
}

void ta_gram_vars_clear_used(ta_gram_vars *v) { v->used = 0; }

static const char *vars_getn(ta_gram_vars *v, const char *key, size_t n) {
    if (!v) return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strlen(v->key[i]) == n && !memcmp(v->key[i], key, n)) {
            if (!v->val[i]) return NULL;
            v->used |= 1ull << i;
            return v->val[i];
        }
    return NULL;
}

/* ---- grammar storage ---- */

void ta_grammar_init(ta_grammar *g) {
    memset(g, 0, sizeof *g);
    ta_arena_init(&g->arena, 1 << 16);
}

void ta_grammar_release(ta_grammar *g) {
    for (size_t i = 0; i < g->n_syms; i++) {
        free(g->syms[i].alts);
        for (int s = 0; s < TA_SPLIT_N; s++) free(g->syms[i].by_split[s]);
    }
    free(g->syms);
    free(g->hash);
    for (size_t i = 0; i < g->n_recs; i++) free(g->recs[i].fields);
    free(g->recs);
    free(g->heldout);
    ta_arena_release(&g->arena);
    memset(g, 0, sizeof *g);
}

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int rehash(ta_grammar *g) {
    size_t cap = g->hash_cap ? g->hash_cap * 2 : 256;
    size_t *h = malloc(cap * sizeof *h);
    if (!h) return TA_ENOMEM;
    for (size_t i = 0; i < cap; i++) h[i] = (size_t)-1;
    for (size_t i = 0; i < g->n_syms; i++) {
        size_t j = hash_str(g->syms[i].name, strlen(g->syms[i].name)) & (cap - 1);
        while (h[j] != (size_t)-1) j = (j + 1) & (cap - 1);
        h[j] = i;
    }
    free(g->hash);
    g->hash = h;
    g->hash_cap = cap;
    return TA_OK;
}

static ta_gram_sym *sym_findn(const ta_grammar *g, const char *name, size_t n) {
    if (!g->hash_cap) return NULL;
    size_t j = hash_str(name, n) & (g->hash_cap - 1);
    while (g->hash[j] != (size_t)-1) {
        ta_gram_sym *s = &g->syms[g->hash[j]];
        if (strlen(s->name) == n && !memcmp(s->name, name, n)) return s;
        j = (j + 1) & (g->hash_cap - 1);
    }
    return NULL;
}

const ta_gram_sym *ta_grammar_sym(const ta_grammar *g, const char *name) { return sym_findn(g, name, strlen(name)); }

static ta_gram_sym *sym_get_or_add(ta_grammar *g, const char *name) {
    ta_gram_sym *s = sym_findn(g, name, strlen(name));
    if (s) return s;
    if (g->n_syms == g->cap_syms) {
        size_t nc = g->cap_syms ? g->cap_syms * 2 : 128;
        ta_gram_sym *ns = realloc(g->syms, nc * sizeof *ns);
        if (!ns) return NULL;
        g->syms = ns;
        g->cap_syms = nc;
    }
    s = &g->syms[g->n_syms];
    memset(s, 0, sizeof *s);
    s->name = ta_arena_strdup(&g->arena, name);
    if (!s->name) return NULL;
    g->n_syms++;
    if (g->n_syms * 2 > g->hash_cap) {
        if (rehash(g)) return NULL;
    } else {
        size_t j = hash_str(name, strlen(name)) & (g->hash_cap - 1);
        while (g->hash[j] != (size_t)-1) j = (j + 1) & (g->hash_cap - 1);
        g->hash[j] = g->n_syms - 1;
    }
    return &g->syms[g->n_syms - 1];
}

static int sym_add_alt(ta_grammar *g, ta_gram_sym *s, const char *text, unsigned splits, const char *file, int line) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        ta_gram_alt *na = realloc(s->alts, nc * sizeof *na);
        if (!na) return TA_ENOMEM;
        s->alts = na;
        s->cap = nc;
    }
    ta_gram_alt *a = &s->alts[s->n];
    a->text = ta_arena_strdup(&g->arena, text);
    a->splits = splits;
    a->file = file;
    a->line = line;
    if (!a->text) return TA_ENOMEM;
    s->n++;
    for (int sp = 0; sp < TA_SPLIT_N; sp++) {
        if (!(splits & (1u << sp))) continue;
        size_t *ni = realloc(s->by_split[sp], (s->n_by_split[sp] + 1) * sizeof *ni);
        if (!ni) return TA_ENOMEM;
        s->by_split[sp] = ni;
        ni[s->n_by_split[sp]++] = s->n - 1;
    }
    return TA_OK;
}

static int parse_splits(const char *s, unsigned *out) {
    unsigned m = 0;
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n + 1);
    for (char *tok = strtok(buf, ", \t"); tok; tok = strtok(NULL, ", \t")) {
        if (!strcmp(tok, "train")) m |= 1u << TA_SPLIT_TRAIN;
        else if (!strcmp(tok, "dev")) m |= 1u << TA_SPLIT_DEV;
        else if (!strcmp(tok, "test")) m |= 1u << TA_SPLIT_TEST;
        else if (!strcmp(tok, "all")) m |= TA_SPLIT_MASK_ALL;
        else return -1;
    }
    if (!m) return -1;
    *out = m;
    return 0;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

static int rec_push(ta_grammar *g, ta_gram_rec *cur) {
    if (!cur->n) return TA_OK;
    if (g->n_recs == g->cap_recs) {
        size_t nc = g->cap_recs ? g->cap_recs * 2 : 64;
        ta_gram_rec *nr = realloc(g->recs, nc * sizeof *nr);
        if (!nr) return TA_ENOMEM;
        g->recs = nr;
        g->cap_recs = nc;
    }
    g->recs[g->n_recs++] = *cur;
    cur->fields = NULL;
    cur->n = 0;
    return TA_OK;
}

int ta_grammar_parse(ta_grammar *g, const char *text, size_t len, const char *file, ta_error *err) {
    const char *fname = ta_arena_strdup(&g->arena, file);
    if (!fname) return ta_error_set(err, TA_ENOMEM, "out of memory");
    enum { NONE, SYM, REC } mode = NONE;
    ta_gram_sym *sym = NULL;
    ta_gram_rec cur = {0};
    unsigned splits = TA_SPLIT_MASK_ALL;
    int lineno = 0, rc = TA_OK;
    char *line = NULL;
    size_t pos = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && text[e] != '\n') e++;
        lineno++;
        free(line);
        line = malloc(e - pos + 1);
        if (!line) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
        memcpy(line, text + pos, e - pos);
        line[e - pos] = 0;
        pos = e + 1;
        char *t = trim(line);
        if (*t == '#') continue;
        if (!*t) {
            if (mode == REC && (rc = rec_push(g, &cur))) { rc = ta_error_set(err, rc, "out of memory"); goto done; }
            continue;
        }
        if (*t == '@') {
            if (mode == REC && (rc = rec_push(g, &cur))) { rc = ta_error_set(err, rc, "out of memory"); goto done; }
            char *dir = t + 1, *arg = dir;
            while (*arg && *arg != ' ' && *arg != '\t') arg++;
            if (*arg) *arg++ = 0;
            arg = trim(arg);
            if (!strcmp(dir, "sym")) {
                char *flag = arg;
                while (*flag && *flag != ' ' && *flag != '\t') flag++;
                if (*flag) *flag++ = 0;
                flag = trim(flag);
                if (!*arg) { rc = ta_error_set(err, TA_EFORMAT, "%s:%d: @sym needs a name", file, lineno); goto done; }
                for (const char *c = arg; *c; c++)
                    if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '.')) {
                        rc = ta_error_set(err, TA_EFORMAT, "%s:%d: symbol name '%s' may only use letters, digits, '_' and '.'", file, lineno, arg);
                        goto done;
                    }
                if (*flag && strcmp(flag, "lexicon")) {
                    rc = ta_error_set(err, TA_EFORMAT, "%s:%d: unknown @sym flag '%s' (known: lexicon)", file, lineno, flag);
                    goto done;
                }
                sym = sym_get_or_add(g, arg);
                if (!sym) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
                if (*flag) sym->lexicon = 1;
                mode = SYM;
                splits = TA_SPLIT_MASK_ALL;
            } else if (!strcmp(dir, "rec")) {
                if (!*arg) { rc = ta_error_set(err, TA_EFORMAT, "%s:%d: @rec needs a kind", file, lineno); goto done; }
                cur.kind = ta_arena_strdup(&g->arena, arg);
                mode = REC;
                splits = TA_SPLIT_MASK_ALL;
            } else if (!strcmp(dir, "split")) {
                if (mode == NONE) { rc = ta_error_set(err, TA_EFORMAT, "%s:%d: @split outside a @sym or @rec section", file, lineno); goto done; }
                if (parse_splits(arg, &splits)) {
                    rc = ta_error_set(err, TA_EFORMAT, "%s:%d: bad split '%s' (use train, dev, test, all or a comma list)", file, lineno, arg);
                    goto done;
                }
            } else if (!strcmp(dir, "heldout")) {
                char *what = strtok(arg, " \t");
                if (!what || (strcmp(what, "family") && strcmp(what, "category"))) {
                    rc = ta_error_set(err, TA_EFORMAT, "%s:%d: @heldout wants 'family' or 'category' and items", file, lineno);
                    goto done;
                }
                const char *w = ta_arena_strdup(&g->arena, what);
                for (char *it = strtok(NULL, " \t"); it; it = strtok(NULL, " \t")) {
                    if (g->n_heldout == g->cap_heldout) {
                        size_t nc = g->cap_heldout ? g->cap_heldout * 2 : 8;
                        ta_gram_heldout *nh = realloc(g->heldout, nc * sizeof *nh);
                        if (!nh) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
                        g->heldout = nh;
                        g->cap_heldout = nc;
                    }
                    g->heldout[g->n_heldout].what = w;
                    g->heldout[g->n_heldout++].item = ta_arena_strdup(&g->arena, it);
                }
                mode = NONE;
            } else {
                rc = ta_error_set(err, TA_EFORMAT, "%s:%d: unknown directive '@%s' (known: sym, rec, split, heldout)", file, lineno, dir);
                goto done;
            }
            continue;
        }
        if (mode == SYM) {
            if ((rc = sym_add_alt(g, sym, t, splits, fname, lineno))) { rc = ta_error_set(err, rc, "out of memory"); goto done; }
        } else if (mode == REC) {
            char *colon = strchr(t, ':');
            if (!colon || colon == t) {
                rc = ta_error_set(err, TA_EFORMAT, "%s:%d: record line must be 'key: value'", file, lineno);
                goto done;
            }
            *colon = 0;
            char *key = trim(t), *val = trim(colon + 1);
            if (!cur.n) {
                cur.splits = splits;
                cur.file = fname;
                cur.line = lineno;
            }
            for (size_t i = 0; i < cur.n; i++)
                if (!strcmp(cur.fields[i].key, key)) {
                    rc = ta_error_set(err, TA_EFORMAT, "%s:%d: field '%s' repeated in one record", file, lineno, key);
                    goto done;
                }
            ta_gram_field *nf = realloc(cur.fields, (cur.n + 1) * sizeof *nf);
            if (!nf) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto done; }
            cur.fields = nf;
            nf[cur.n].key = ta_arena_strdup(&g->arena, key);
            nf[cur.n].value = ta_arena_strdup(&g->arena, val);
            cur.n++;
        } else {
            rc = ta_error_set(err, TA_EFORMAT, "%s:%d: text outside a @sym or @rec section", file, lineno);
            goto done;
        }
    }
    if (mode == REC && (rc = rec_push(g, &cur))) rc = ta_error_set(err, rc, "out of memory");
done:
    free(line);
    free(cur.fields);
    return rc;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int ta_grammar_load_dir(ta_grammar *g, const char *dir, ta_error *err) {
    DIR *d = opendir(dir);
    if (!d) return ta_error_set(err, TA_EIO, "cannot open grammar folder '%s'", dir);
    char **names = NULL;
    size_t n = 0;
    int rc = TA_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".gen")) continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn || !(nn[n] = strdup(de->d_name))) {
            if (nn) names = nn;
            rc = ta_error_set(err, TA_ENOMEM, "out of memory");
            goto done;
        }
        names = nn;
        n++;
    }
    if (!n) { rc = ta_error_set(err, TA_ENOTFOUND, "no .gen files in '%s'", dir); goto done; }
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n && !rc; i++) {
        char path[4096];
        if ((rc = ta_path_join(path, sizeof path, dir, names[i], err))) break;
        char *buf;
        size_t len;
        if ((rc = ta_file_read_all(path, MAX_GEN_FILE, &buf, &len, err))) break;
        rc = ta_grammar_parse(g, buf, len, path, err);
        free(buf);
    }
done:
    closedir(d);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int ta_grammar_is_heldout(const ta_grammar *g, const char *what, const char *item) {
    for (size_t i = 0; i < g->n_heldout; i++)
        if (!strcmp(g->heldout[i].what, what) && !strcmp(g->heldout[i].item, item)) return 1;
    return 0;
}

const char *ta_gram_rec_get(const ta_gram_rec *r, const char *key) {
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->fields[i].key, key)) return r->fields[i].value;
    return NULL;
}

/* ---- expansion ---- */

/* Finds the closer matching the opener at s[0] within [s, end), honouring
 * escapes and nesting of all three bracket kinds. */
static const char *match_close(const char *s, const char *end) {
    char stack[64];
    int sp = 0;
    for (const char *p = s; p < end; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            continue;
        }
        if (c == '{' || c == '(' || c == '[') {
            if (sp == 64) return NULL;
            stack[sp++] = c == '{' ? '}' : c == '(' ? ')' : ']';
        } else if (c == '}' || c == ')' || c == ']') {
            if (!sp || stack[sp - 1] != c) return NULL;
            if (--sp == 0) return p;
        }
    }
    return NULL;
}

typedef struct expand_ctx {
    const ta_grammar *g;
    ta_gram_vars *vars;
    ta_split split;
    ta_rng *rng; /* NULL: validation walk (no output, every branch visited) */
    const char *const *known_vars;
    const char *where; /* "file:line" of the template being expanded */
    ta_error *err;
} expand_ctx;

static int expand(expand_ctx *x, const char *p, const char *end, ta_sbuf *out, int depth);

static int is_known_var(const expand_ctx *x, const char *name, size_t n) {
    if (x->known_vars)
        for (const char *const *k = x->known_vars; *k; k++)
            if (strlen(*k) == n && !memcmp(*k, name, n)) return 1;
    return 0;
}

static int expand_slot(expand_ctx *x, const char *p, const char *end, ta_sbuf *out, int depth) {
    int cap = 0;
    if (p < end && *p == '^') {
        cap = 1;
        p++;
    }
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *bind = NULL;
    size_t bind_n = 0;
    if (eq) {
        bind = p;
        bind_n = (size_t)(eq - p);
        p = eq + 1;
    }
    size_t n = (size_t)(end - p);
    if (!n) return ta_error_set(x->err, TA_EFORMAT, "%s: empty {} slot", x->where);
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == '.'))
            return ta_error_set(x->err, TA_EFORMAT, "%s: bad slot name '{%.*s}'", x->where, (int)n, p);
    const char *val = bind ? NULL : vars_getn(x->vars, p, n);
    size_t start = out ? out->len : 0;
    if (val) {
        if (out && ta_sbuf_puts(out, val)) return ta_error_set(x->err, TA_ENOMEM, "out of memory");
    } else {
        const ta_gram_sym *s = sym_findn(x->g, p, n);
        if (!s) {
            if (!x->rng && !bind && is_known_var(x, p, n)) return TA_OK;
            return ta_error_set(x->err, TA_EFORMAT, "%s: unknown symbol or unbound variable '{%.*s}' (split %s)", x->where,
                                (int)n, p, ta_split_name(x->split));
        }
        if (!x->rng) return TA_OK; /* validation walks each symbol once, at top level */
        size_t na = s->n_by_split[x->split];
        if (!na)
            return ta_error_set(x->err, TA_EFORMAT, "%s: symbol '%s' has no alternative for split %s", x->where, s->name,
                                ta_split_name(x->split));
        const ta_gram_alt *a = &s->alts[s->by_split[x->split][ta_rng_below(x->rng, na)]];
        if (depth > MAX_DEPTH) return ta_error_set(x->err, TA_EFORMAT, "%s: expansion deeper than %d (recursive symbol?)", x->where, MAX_DEPTH);
        const char *saved = x->where;
        char where[256];
        snprintf(where, sizeof where, "%s:%d", a->file, a->line);
        x->where = where;
        int rc = expand(x, a->text, a->text + strlen(a->text), out, depth + 1);
        x->where = saved;
        if (rc) return rc;
    }
    if (out && cap && out->len > start) {
        size_t i = start;
        while (i < out->len && out->s[i] == ' ') i++;
        if (i < out->len) out->s[i] = (char)toupper((unsigned char)out->s[i]);
    }
    if (out && bind) {
        char key[64];
        if (bind_n >= sizeof key) return ta_error_set(x->err, TA_EFORMAT, "%s: variable name too long", x->where);
        memcpy(key, bind, bind_n);
        key[bind_n] = 0;
        char *v = ta_arena_strndup(x->vars->arena, out->s + start, out->len - start);
        if (!v) return ta_error_set(x->err, TA_ENOMEM, "out of memory");
        ta_gram_tidy(v);
        int rc = ta_gram_vars_set(x->vars, key, v);
        if (rc) return ta_error_set(x->err, rc, "%s: cannot bind variable '%s'", x->where, key);
    }
    return TA_OK;
}

static int expand(expand_ctx *x, const char *p, const char *end, ta_sbuf *out, int depth) {
    while (p < end) {
        char c = *p;
        if (c == '\\') {
            if (p + 1 >= end) return ta_error_set(x->err, TA_EFORMAT, "%s: template ends with a backslash", x->where);
            char e = p[1] == 'n' ? '\n' : p[1];
            if (out && ta_sbuf_add(out, &e, 1)) return ta_error_set(x->err, TA_ENOMEM, "out of memory");
            p += 2;
        } else if (c == '{' || c == '(' || c == '[') {
            const char *q = match_close(p, end);
            if (!q) return ta_error_set(x->err, TA_EFORMAT, "%s: unbalanced '%c' in template", x->where, c);
            int rc;
            if (c == '{') {
                rc = expand_slot(x, p + 1, q, out, depth);
            } else if (c == '[') {
                if (!x->rng || ta_rng_below(x->rng, 2)) rc = expand(x, p + 1, q, out, depth);
                else rc = TA_OK;
            } else {
                /* split the top level of (a|b|c) */
                const char *starts[128], *ends[128];
                size_t k = 0;
                const char *s = p + 1;
                int lvl = 0;
                for (const char *r = p + 1; r < q; r++) {
                    if (*r == '\\') {
                        r++;
                        continue;
                    }
                    if (*r == '{' || *r == '(' || *r == '[') lvl++;
                    else if (*r == '}' || *r == ')' || *r == ']') lvl--;
                    else if (*r == '|' && lvl == 0) {
                        if (k == 127) return ta_error_set(x->err, TA_EFORMAT, "%s: too many choices", x->where);
                        starts[k] = s;
                        ends[k++] = r;
                        s = r + 1;
                    }
                }
                starts[k] = s;
                ends[k++] = q;
                rc = TA_OK;
                if (!x->rng) {
                    if (k == 1)
                        return ta_error_set(x->err, TA_EFORMAT, "%s: '(%.*s)' has no '|': write literal parentheses as \\( \\)",
                                            x->where, (int)(q - p - 1), p + 1);
                    for (size_t i = 0; i < k && !rc; i++) rc = expand(x, starts[i], ends[i], out, depth);
                } else {
                    size_t i = ta_rng_below(x->rng, k);
                    rc = expand(x, starts[i], ends[i], out, depth);
                }
            }
            if (rc) return rc;
            p = q + 1;
        } else if (c == '}' || c == ')' || c == ']') {
            return ta_error_set(x->err, TA_EFORMAT, "%s: unbalanced '%c' in template", x->where, c);
        } else {
            const char *q = p;
            while (q < end && !strchr("\\{}()[]", *q)) q++;
            if (out && ta_sbuf_add(out, p, (size_t)(q - p))) return ta_error_set(x->err, TA_ENOMEM, "out of memory");
            p = q;
        }
    }
    return TA_OK;
}

int ta_gram_expand(const ta_grammar *g, const char *tmpl, ta_gram_vars *vars, ta_split split, ta_rng *rng,
                   ta_sbuf *out, ta_error *err) {
    expand_ctx x = {g, vars, split, rng, NULL, "template", err};
    return expand(&x, tmpl, tmpl + strlen(tmpl), out, 0);
}

void ta_gram_tidy(char *s) {
    char *w = s;
    const char *r = s;
    while (*r == ' ') r++;
    while (*r) {
        if (*r == ' ') {
            const char *q = r;
            while (*q == ' ') q++;
            if (!*q || *q == '\n' || strchr(",.!?;:)", *q)) {
                r = q;
                continue;
            }
            if (w > s && (w[-1] == '\n' || w[-1] == '(')) {
                r = q;
                continue;
            }
            *w++ = ' ';
            r = q;
            continue;
        }
        *w++ = *r++;
    }
    *w = 0;
}

static int to_arena(ta_gram_vars *vars, ta_sbuf *b, const char **out, ta_error *err) {
    ta_gram_tidy(b->s ? b->s : (char *)"");
    char *s = ta_arena_strdup(vars->arena, b->s ? b->s : "");
    if (!s) return ta_error_set(err, TA_ENOMEM, "out of memory");
    *out = s;
    return TA_OK;
}

int ta_gram_str(const ta_grammar *g, const char *tmpl, ta_gram_vars *vars, ta_split split, ta_rng *rng,
                const char **out, ta_error *err) {
    ta_sbuf b;
    ta_sbuf_init(&b);
    int rc = ta_gram_expand(g, tmpl, vars, split, rng, &b, err);
    if (!rc) {
        if (!b.s && ta_sbuf_add(&b, "", 0)) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
        else rc = to_arena(vars, &b, out, err);
    }
    ta_sbuf_release(&b);
    return rc;
}

int ta_gram_sym_str(const ta_grammar *g, const char *name, ta_gram_vars *vars, ta_split split, ta_rng *rng,
                    const char **out, ta_error *err) {
    char tmpl[160];
    if (snprintf(tmpl, sizeof tmpl, "{%s}", name) >= (int)sizeof tmpl)
        return ta_error_set(err, TA_ERANGE, "symbol name too long: '%s'", name);
    if (!ta_grammar_sym(g, name)) return ta_error_set(err, TA_ENOTFOUND, "grammar has no symbol '%s'", name);
    return ta_gram_str(g, tmpl, vars, split, rng, out, err);
}

int ta_grammar_validate(const ta_grammar *g, const char *const *known_vars, ta_error *err) {
    for (size_t i = 0; i < g->n_syms; i++) {
        const ta_gram_sym *s = &g->syms[i];
        if (!s->n) return ta_error_set(err, TA_EFORMAT, "symbol '%s' has no alternatives", s->name);
        for (size_t k = 0; k < s->n; k++) {
            char where[256];
            snprintf(where, sizeof where, "%s:%d", s->alts[k].file, s->alts[k].line);
            expand_ctx x = {g, NULL, TA_SPLIT_TRAIN, NULL, known_vars, where, err};
            int rc = expand(&x, s->alts[k].text, s->alts[k].text + strlen(s->alts[k].text), NULL, 0);
            if (rc) return rc;
        }
    }
    for (size_t i = 0; i < g->n_recs; i++) {
        const ta_gram_rec *r = &g->recs[i];
        for (size_t k = 0; k < r->n; k++) {
            char where[256];
            snprintf(where, sizeof where, "%s:%d (field '%s')", r->file, r->line, r->fields[k].key);
            expand_ctx x = {g, NULL, TA_SPLIT_TRAIN, NULL, known_vars, where, err};
            int rc = expand(&x, r->fields[k].value, r->fields[k].value + strlen(r->fields[k].value), NULL, 0);
            if (rc) return rc;
        }
    }
    return TA_OK;
}
