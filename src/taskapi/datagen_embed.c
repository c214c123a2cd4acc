/* datagen_embed.c: the grammar of data/gen, embedded at build time (the
 * Makefile writes one {"file name", "text"} entry per .gen file, in name
 * order), so `taskalign data gen` needs no data path at run time. */
#include <stdio.h>
#include <string.h>

#include "taskapi/datagen_grammar.h"

static const struct {
    const char *name, *text;
} embedded[] = {
#include "embed/datagen_files.inc"
};

int ta_grammar_load_embedded(ta_grammar *g, ta_error *err) {
    for (size_t i = 0; i < sizeof embedded / sizeof embedded[0]; i++) {
        char name[256];
        snprintf(name, sizeof name, "data/gen/%s", embedded[i].name);
        int rc = ta_grammar_parse(g, embedded[i].text, strlen(embedded[i].text), name, err);
        if (rc) return rc;
    }
    return TA_OK;
}
