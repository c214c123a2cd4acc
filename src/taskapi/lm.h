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
    size_t n_prompt_tokens, n_generated_tokens; /* running totals (not thread-safe; per lm) */
} ta_lm;

/* Loads DIR (config.json, safetensors, tokenizer.json, tokenizer_config.json).
 * Decoding defaults: greedy, max_tokens 256, seed 0. */
int ta_lm_open(ta_lm *lm, const char *dir, ta_error *err);
void ta_lm_close(ta_lm *lm);

/* Replies to each conversation (generation prompt appended), in one generation
 * batch. replies[i] is malloc'd. stream (may be NULL) gets conversation 0's text
 * as it is generated (for n == 1 chats). */
int ta_lm_respond_batch(ta_lm *lm, const ta_conversation *const *convs, size_t n, const json_t *tools,
                        const ta_stream *stream, char **replies, ta_error *err);

/* The agent.h adapter: respond() = ta_lm_respond_batch for one conversation. */
ta_agent_model ta_lm_agent_model(ta_lm *lm);

#endif
