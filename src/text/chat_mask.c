#include "text/chat_mask.h"

#include <stdlib.h>
#include <string.h>

int ta_chat_encode(const ta_tokenizer *t, const ta_chat_text *r, ta_ids *ids, uint8_t **mask, ta_error *err) {
    ta_ids offs;
    ta_ids_init(&offs);
    ids->n = 0;
    int rc = ta_tokenizer_encode(t, r->text, r->len, 0, ids, mask ? &offs : NULL, err);
    if (rc) goto fail;
    if (mask) {
        uint8_t *m = calloc(ids->n ? ids->n : 1, 1);
        if (!m) { rc = ta_error_set(err, TA_ENOMEM, "out of memory"); goto fail; }
        /* spans and token offsets are both in text order: one merge-like walk */
        size_t k = 0;
        for (size_t i = 0; i < ids->n; i++) {
            size_t s = (size_t)offs.ids[2 * i], e = (size_t)offs.ids[2 * i + 1];
            if (e <= s) continue;
            while (k < r->n_spans && r->spans[k].end <= s) k++;
            for (size_t j = k; j < r->n_spans && r->spans[j].begin < e; j++)
                if (r->spans[j].end > s) { m[i] = 1; break; }
        }
        *mask = m;
    }
    ta_ids_release(&offs);
    return TA_OK;
fail:
    ids->n = 0;
    ta_ids_release(&offs);
    return rc;
}

int ta_chat_encode_conversation(const ta_chat_format *f, const ta_tokenizer *t, const ta_conversation *c,
                                const ta_chat_options *o, ta_ids *ids, uint8_t **mask, ta_error *err) {
    ta_chat_text r;
    int rc = ta_chat_render(f, c, o, &r, err);
    if (rc) return rc;
    rc = ta_chat_encode(t, &r, ids, mask, err);
    ta_chat_text_release(&r);
    return rc;
}

int ta_chat_check_prefix(const ta_chat_format *f, const ta_tokenizer *t, const ta_conversation *prompt,
                         const ta_conversation *completion, const ta_chat_options *o, ta_prefix_report *rep,
                         ta_ids *full_ids, ta_error *err) {
    ta_chat_options po, fo;
    if (o) po = *o;
    else ta_chat_options_init(&po);
    fo = po;
    po.add_generation_prompt = 1;
    fo.add_generation_prompt = 0;
    ta_conversation full;
    ta_conv_init(&full);
    ta_chat_text pr = {0}, fr = {0};
    ta_ids pids, fids;
    ta_ids_init(&pids);
    ta_ids_init(&fids);
    int rc = ta_conv_append(&full, prompt, err);
    if (!rc) rc = ta_conv_append(&full, completion, err);
    if (!rc) rc = ta_chat_render(f, prompt, &po, &pr, err);
    if (!rc) rc = ta_chat_render(f, &full, &fo, &fr, err);
    if (!rc) rc = ta_chat_encode(t, &pr, &pids, NULL, err);
    if (!rc) rc = ta_chat_encode(t, &fr, &fids, NULL, err);
    if (!rc) {
        ta_prefix_report R = {0};
        R.text_prefix = pr.len <= fr.len && !memcmp(pr.text, fr.text, pr.len);
        R.prompt_len = pids.n;
        R.full_len = fids.n;
        size_t i = 0;
        while (i < pids.n && i < fids.n && pids.ids[i] == fids.ids[i]) i++;
        R.first_diff = i;
        R.ids_prefix = i == pids.n;
        *rep = R;
        if (full_ids) {
            full_ids->n = 0;
            if (ta_ids_reserve(full_ids, fids.n)) rc = ta_error_set(err, TA_ENOMEM, "out of memory");
            else {
                memcpy(full_ids->ids, fids.ids, fids.n * sizeof *fids.ids);
                full_ids->n = fids.n;
            }
        }
    }
    ta_ids_release(&pids);
    ta_ids_release(&fids);
    ta_chat_text_release(&pr);
    ta_chat_text_release(&fr);
    ta_conv_release(&full);
    return rc;
}
