/* lm.h: a model folder ready to chat: transformer weights + tokenizer + chat
 * format + decoding settings, and the agent-model adapter (agent.h) that the
 * chat command, the evaluator and the server all use, so what the model is
 * asked at run time is rendered by the same code it was trained with.
 *
 * A reply is produced by: render the conversation with the generation prompt
 * (text/chat_format.h) -> encode without adding BOS/EOS (the template has
 * them, as transformers' apply_chat_template) -> generate until an EOS id or
 * the end-of-turn token -> decode keeping added tokens such as <tool_call>
 * (only the end-of-turn token itself is dropped) -> trim. */
#ifndef TA_TASKAPI_LM_H
#define TA_TASKAPI_LM_H

#include "core/error.h"
#include "model/generate.h"
#include "model/model.h"
#include "taskapi/agent.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

#define TA_LM_MAX_STOP 8

typedef struct ta_lm {
    ta_model model;
    ta_tokenizer *tok;
    ta_chat_format fmt;
    ta_gen_params gen;          /* max_tokens, sampler, seed; eos ids point into stop_ids */
    int32_t stop_ids[TA_LM_MAX_STOP];
    size_t n_stop_ids;
    int render_tools;           /* pass the tool schemas to the template (real Qwen models); 0 for
                                   the embedded model, whose system prompt lists the tools */
} ta_lm;

typedef struct ta_lm_usage {
    size_t prompt_tokens, completion_tokens;
    ta_finish_reason finish;
} ta_lm_usage;

/* Loads DIR (config.json, safetensors, tokenizer.json, tokenizer_config.json).
 * Decoding defaults: greedy, max_tokens 256, seed 0. */
int ta_lm_open(ta_lm *lm, const char *dir, ta_error *err);
void ta_lm_close(ta_lm *lm);

/* What one call asks for beyond the conversations; every field may be 0/NULL. */
typedef struct ta_lm_request {
    const ta_gen_params *params; /* NULL: lm->gen (eos ids are always the lm's stop ids) */
    const json_t *tools;         /* tool schemas (rendered only when lm->render_tools) */
    const char *const *stop;     /* stop strings: generation stops at the first, which is cut from the reply */
    size_t n_stop;
    double deadline;             /* ta_now() time after which generation stops (finish "length"); 0: none */
    const ta_stream *stream;     /* conversation 0's text as it is generated (n == 1 chats) */
} ta_lm_request;

/* Replies to each conversation (generation prompt appended), in one generation
 * batch. replies[i] is malloc'd; usage (n entries, may be NULL) gets token
 * counts and the finish reason. The lm is only read: threads may call this
 * concurrently. req may be NULL. */
int ta_lm_respond_batch(const ta_lm *lm, const ta_conversation *const *convs, size_t n, const ta_lm_request *req,
                        char **replies, ta_lm_usage *usage, ta_error *err);

/* One user of an lm as an agent model (agent.h), with its own decoding
 * settings and token counters; the chat command, each evaluation run and
 * each server request have their own. */
typedef struct ta_lm_agent {
    const ta_lm *lm;
    ta_gen_params params;
    size_t prompt_tokens, completion_tokens;
} ta_lm_agent;

void ta_lm_agent_init(ta_lm_agent *a, const ta_lm *lm);
ta_agent_model ta_lm_agent_model(ta_lm_agent *a);

#endif
