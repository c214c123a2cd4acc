/* fuzz_chat_render.c: the chat renderer on untrusted conversations (training
 * data, API requests). Input: a JSON messages array or {"messages", "tools"};
 * its first byte picks the options. Every family renders it (or refuses with
 * an error); spans must lie inside the text, in order, and the template
 * recognizer must take the raw bytes as a template without crashing.
 * Run: scripts/fuzz.sh 60 chat_render. Crash inputs go into
 * fuzz/corpus/chat_render/ (replayed by tests/unit/test_chat_format.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "text/chat_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ta_error err;
    ta_chat_format f;
    char *tmpl = malloc(size + 1);
    if (!tmpl) return 0;
    memcpy(tmpl, data, size);
    tmpl[size] = 0;
    (void)ta_chat_format_from_template(&f, tmpl, NULL, NULL, "fuzz", &err);
    free(tmpl);
    if (size < 1) return 0;
    unsigned opt = data[0];
    json_t *j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (!j) return 0;
    const json_t *msgs = json_is_object(j) ? json_object_get(j, "messages") : j;
    const json_t *tools = json_is_object(j) ? json_object_get(j, "tools") : NULL;
    ta_conversation c;
    ta_conv_init(&c);
    if (ta_conv_from_json(&c, msgs, "fuzz", &err) == TA_OK) {
        ta_chat_options o;
        ta_chat_options_init(&o);
        o.tools = tools;
        o.add_generation_prompt = opt & 1;
        o.enable_thinking = (int)((opt >> 1) & 3) - 1; /* -1, 0, 1, 2 */
        o.tools_in_user_message = (opt & 8) ? 0 : -1;
        o.date_string = (opt & 16) ? "01 Jan 2000" : NULL;
        for (int fam = 0; fam < TA_CHAT_N_FAMILIES; fam++) {
            if (ta_chat_format_for_family(&f, (ta_chat_family)fam, "<|begin_of_text|>", NULL, &err)) abort();
            f.always_generation_prompt = (opt >> 5) & 1;
            ta_chat_text r;
            if (ta_chat_render(&f, &c, &o, &r, &err) != TA_OK) continue;
            if (!r.text || strlen(r.text) > r.len) abort();
            size_t last = 0;
            for (size_t k = 0; k < r.n_spans; k++) {
                if (r.spans[k].begin < last || r.spans[k].end < r.spans[k].begin || r.spans[k].end > r.len) abort();
                if (r.spans[k].msg >= c.n) abort();
                last = r.spans[k].end;
            }
            ta_chat_text_release(&r);
        }
    }
    ta_conv_release(&c);
    json_decref(j);
    return 0;
}
