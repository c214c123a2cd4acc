#include <stdlib.h>

#include "core/json.h"
#include "harness.h"
#include "text/conversation.h"

TEST(test_roundtrip) {
    const char *txt = "[{\"role\":\"system\",\"content\":\"be nice\"},{\"role\":\"user\",\"content\":\"add milk\"},"
                      "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"type\":\"function\",\"function\":"
                      "{\"name\":\"create_task\",\"arguments\":\"{\\\"title\\\": \\\"milk\\\"}\"}}]},"
                      "{\"role\":\"tool\",\"name\":\"create_task\",\"content\":\"{\\\"id\\\":1}\"}]";
    json_t *j;
    ta_error e = {0};
    CHECK_OK(ta_json_load_buf(txt, strlen(txt), "t", &j, &e), e);
    ta_conversation c;
    ta_conv_init(&c);
    CHECK_OK(ta_conv_from_json(&c, j, "t", &e), e);
    CHECK(c.n == 4);
    CHECK(c.msgs[2].n_tool_calls == 1);
    CHECK(!strcmp(c.msgs[2].tool_calls[0].arguments, "{\"title\":\"milk\"}"));
    CHECK(!strcmp(c.msgs[3].name, "create_task"));
    json_t *out = ta_conv_to_json(&c);
    CHECK(json_array_size(out) == 4);
    json_decref(out);
    /* a range copies messages with their calls and names; the end is clamped */
    ta_conversation d;
    ta_conv_init(&d);
    CHECK_OK(ta_conv_append_range(&d, &c, 2, 9, &e), e);
    CHECK(d.n == 2 && d.msgs[0].role == TA_ROLE_ASSISTANT && d.msgs[0].n_tool_calls == 1);
    CHECK(!strcmp(d.msgs[0].tool_calls[0].name, "create_task") && !strcmp(d.msgs[1].name, "create_task"));
    CHECK(d.msgs[0].tool_calls[0].arguments != c.msgs[2].tool_calls[0].arguments); /* copied, not shared */
    CHECK_OK(ta_conv_append_range(&d, &c, 1, 1, &e), e);
    CHECK(d.n == 2);
    ta_conv_release(&d);
    json_decref(j);
    ta_conv_release(&c);
}

TEST(test_errors_name_the_element) {
    const char *txt = "[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"robot\",\"content\":\"y\"}]";
    json_t *j;
    ta_error e = {0};
    CHECK_OK(ta_json_load_buf(txt, strlen(txt), "t", &j, &e), e);
    ta_conversation c;
    ta_conv_init(&c);
    CHECK(ta_conv_from_json(&c, j, "data.jsonl:3", &e) == TA_EFORMAT);
    CHECK_MSG(strstr(e.msg, "data.jsonl:3: messages[1]") != NULL, "%s", e.msg);
    CHECK(c.n == 0);
    json_decref(j);
    ta_conv_release(&c);
}

int main(void) {
    RUN(test_roundtrip);
    RUN(test_errors_name_the_element);
    return TEST_END();
}
