/* datagen_grammar.h: the template grammar behind the data generator.
 *
 * Grammar files (data/gen/NAME.gen, loaded in name order) hold symbols (lists of
 * alternatives), records (blocks of "key: value" fields) and split
 * declarations. The grammar itself is documented in docs/datagen.md; in short:
 *
 *   # comment                      (only at the start of a line)
 *   @sym NAME [lexicon]            begins a symbol; each following line is an alternative
 *   @rec KIND                      begins records; blocks of "key: value" lines, blank-line separated
 *   @split train|dev|test|all|a,b  split of the entries that follow (default all)
 *   @heldout WHAT ITEM...          e.g. "@heldout family roleplay escalation"
 *
 * Template text (alternatives and record values):
 *   {x}      variable x if bound, otherwise an alternative of symbol x (for the
 *            current split), itself expanded;  {^x} capitalises the first letter
 *   {v=x}    expands symbol x, binds the result to variable v, emits it
 *   (a|b|c)  one of the choices, uniformly;   [text] text or nothing (1/2 each)
 *   \n       newline;  \{ \} \( \) \[ \] \| \\  the literal character
 * After expansion, runs of spaces collapse and " ," / " ." lose the space.
 *
 * Everything lives in the grammar's arena; the grammar owns all strings. */
#ifndef TA_TASKAPI_DATAGEN_GRAMMAR_H
#define TA_TASKAPI_DATAGEN_GRAMMAR_H

#include <stddef.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/rng.h"

typedef enum { TA_SPLIT_TRAIN = 0, TA_SPLIT_DEV = 1, TA_SPLIT_TEST = 2, TA_SPLIT_N = 3 } ta_split;
#define TA_SPLIT_MASK_ALL 7u

const char *ta_split_name(ta_split s);

typedef struct ta_gram_alt {
    const char *text;
    unsigned splits; /* bit (1 << ta_split) set when usable in that split */
    const char *file;
    int line;
} ta_gram_alt;

typedef struct ta_gram_sym {
    const char *name;
    ta_gram_alt *alts;
    size_t n, cap;
    int lexicon;              /* a lexical filler list (held-out checks look at these) */
    size_t *by_split[TA_SPLIT_N]; /* indices of the alternatives usable per split */
    size_t n_by_split[TA_SPLIT_N];
} ta_gram_sym;

typedef struct ta_gram_field {
    const char *key, *value;
} ta_gram_field;

typedef struct ta_gram_rec {
    const char *kind;
    unsigned splits;
    ta_gram_field *fields;
    size_t n;
    const char *file;
    int line;
} ta_gram_rec;

typedef struct ta_gram_heldout {
    const char *what; /* "family", "category" */
    const char *item;
} ta_gram_heldout;

typedef struct ta_grammar {
    ta_arena arena;
    ta_gram_sym *syms;
    size_t n_syms, cap_syms;
    size_t *hash; /* open addressing over syms, (size_t)-1 empty */
    size_t hash_cap;
    ta_gram_rec *recs;
    size_t n_recs, cap_recs;
    ta_gram_heldout *heldout;
    size_t n_heldout, cap_heldout;
} ta_grammar;

/* A growable NUL-terminated string (malloc'd). */
typedef struct ta_sbuf {
    char *s;
    size_t len, cap;
} ta_sbuf;

void ta_sbuf_init(ta_sbuf *b);
void ta_sbuf_release(ta_sbuf *b);
void ta_sbuf_clear(ta_sbuf *b);
int ta_sbuf_add(ta_sbuf *b, const char *s, size_t n);
int ta_sbuf_puts(ta_sbuf *b, const char *s);
int ta_sbuf_printf(ta_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Variables bound during an expansion: names and values are copied into the
 * caller's arena, so they live as long as it does. */
#define TA_GRAM_MAX_VARS 48
typedef struct ta_gram_vars {
    ta_arena *arena;
    const char *key[TA_GRAM_MAX_VARS];
    const char *val[TA_GRAM_MAX_VARS];
    size_t n;
    unsigned long long used; /* bit i: key[i] was read by an expansion since the last ta_gram_vars_clear_used */
} ta_gram_vars;

void ta_gram_vars_init(ta_gram_vars *v, ta_arena *arena);
/* Binds (or rebinds) key; value NULL unbinds. Returns TA_ENOMEM/TA_ERANGE on failure. */
int ta_gram_vars_set(ta_gram_vars *v, const char *key, const char *value);
const char *ta_gram_vars_get(const ta_gram_vars *v, const char *key);
/* Whether an expansion read variable key since the last clear (so the caller
 * knows which of its bound values a chosen template actually mentions). */
int ta_gram_vars_used(const ta_gram_vars *v, const char *key);
void ta_gram_vars_clear_used(ta_gram_vars *v);

void ta_grammar_init(ta_grammar *g);
void ta_grammar_release(ta_grammar *g);
/* Parses one grammar text; `file` names it in errors ("data/gen/x.gen:12: ..."). */
int ta_grammar_parse(ta_grammar *g, const char *text, size_t len, const char *file, ta_error *err);
/* Loads every *.gen file of dir, in name order. */
int ta_grammar_load_dir(ta_grammar *g, const char *dir, ta_error *err);
/* Loads the copy of data/gen embedded at build time (datagen_embed.c). */
int ta_grammar_load_embedded(ta_grammar *g, ta_error *err);
/* Checks every {name} reference resolves to a symbol or to one of the variable
 * names in `known_vars` (NULL-terminated; may be NULL), and that templates are
 * well formed. Run once after loading so bad data fails before generation. */
int ta_grammar_validate(const ta_grammar *g, const char *const *known_vars, ta_error *err);

const ta_gram_sym *ta_grammar_sym(const ta_grammar *g, const char *name);
/* Nonzero when ITEM is declared held out for WHAT ("family", "category"). */
int ta_grammar_is_heldout(const ta_grammar *g, const char *what, const char *item);
/* Value of a record field or NULL. */
const char *ta_gram_rec_get(const ta_gram_rec *r, const char *key);

/* Appends the expansion of template text `tmpl` to out (post-processed as
 * described above only by ta_gram_tidy). Unknown symbols, symbols without an
 * alternative for `split`, and malformed templates are errors. */
int ta_gram_expand(const ta_grammar *g, const char *tmpl, ta_gram_vars *vars, ta_split split, ta_rng *rng,
                   ta_sbuf *out, ta_error *err);
/* Expands one alternative of symbol `name` into a fresh tidied string in
 * vars->arena. *out is set on success. */
int ta_gram_sym_str(const ta_grammar *g, const char *name, ta_gram_vars *vars, ta_split split, ta_rng *rng,
                    const char **out, ta_error *err);
/* Expands template text into a fresh tidied string in vars->arena. */
int ta_gram_str(const ta_grammar *g, const char *tmpl, ta_gram_vars *vars, ta_split split, ta_rng *rng,
                const char **out, ta_error *err);
/* Collapses space runs, trims, removes spaces before , . ! ? ; : and ) (in place). */
void ta_gram_tidy(char *s);

#endif
