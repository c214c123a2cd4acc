/* byte_encoder.h: a stand-in ta_encoder for tests: one token per byte; a
 * message renders as "<r>content\n" (r: the role's first letter), tool calls
 * as their names; the generation prompt is "<a>"; assistant content, tool
 * calls and the closing "\n" are trained on. String completions get "$" as EOS. */
#ifndef TA_TEST_BYTE_ENCODER_H
#define TA_TEST_BYTE_ENCODER_H

#include <stdlib.h>
#include <string.h>

#include "train/dataset.h"

static void app(int32_t **ids, uint8_t **mask, size_t *n, size_t *cap, const char *s, int m) {
    for (; *s; s++) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            *ids = realloc(*ids, *cap * sizeof **ids);
            if (mask) *mask = realloc(*mask, *cap);
        }
        (*ids)[*n] = (unsigned char)*s;
        if (mask) (*mask)[*n] = (uint8_t)m;
        (*n)++;
    }
}

static void render(const ta_conversation *c, int32_t **ids, uint8_t **mask, size_t *n, size_t *cap) {
    for (size_t i = 0; i < c->n; i++) {
        char head[4] = {'<', ta_role_name(c->msgs[i].role)[0], '>', 0};
        int a = c->msgs[i].role == TA_ROLE_ASSISTANT;
        app(ids, mask, n, cap, head, 0);
        app(ids, mask, n, cap, c->msgs[i].content, a);
        for (size_t k = 0; k < c->msgs[i].n_tool_calls; k++) app(ids, mask, n, cap, c->msgs[i].tool_calls[k].name, a);
        app(ids, mask, n, cap, "\n", a);
    }
}

static int enc_sft(void *ctx, const ta_conversation *c, const json_t *tools, int32_t **ids, uint8_t **mask, size_t *n, ta_error *err) {
    size_t cap = 0;
    *ids = NULL, *mask = NULL, *n = 0;
    render(c, ids, mask, n, &cap);
    return TA_OK;
}

static int enc_pair(void *ctx, const ta_text_part *p, const ta_text_part *c, const json_t *tools, int32_t **pid, size_t *np, int32_t **cid,
                    size_t *nc, ta_error *err) {
    size_t cap = 0, cap2 = 0;
    *pid = NULL, *cid = NULL, *np = 0, *nc = 0;
    if (p->text) {
        app(pid, NULL, np, &cap, p->text, 0);
        app(cid, NULL, nc, &cap2, c->text, 0);
        app(cid, NULL, nc, &cap2, "$", 0); /* EOS */
        return TA_OK;
    }
    render(p->conv, pid, NULL, np, &cap);
    app(pid, NULL, np, &cap, "<a>", 0);
    ta_conversation tmp;
    ta_conv_init(&tmp);
    ta_conv_append(&tmp, c->conv, err);
    render(&tmp, cid, NULL, nc, &cap2);
    ta_conv_release(&tmp);
    /* drop the completion's own "<a>" (it is the generation prompt) */
    memmove(*cid, *cid + 3, (*nc - 3) * sizeof **cid);
    *nc -= 3;
    return TA_OK;
}

static const ta_encoder ENC = {NULL, enc_sft, enc_pair};

#endif
