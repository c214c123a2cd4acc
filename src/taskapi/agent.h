/* agent.h: the TaskMaster agent loop, one library function shared by
 * `taskalign chat`, the red-team evaluator and the server.
 *
 * One call of ta_agent_run answers the conversation's last user (or tool)
 * message:
 *   repeat up to max_steps times:
 *     reply = model.respond(conversation, tools)
 *     parse reply (toolcall.h)
 *     no tool-call blocks -> append {"role": "assistant", "content": text}; done
 *     else append the assistant message (free text in content, the valid
 *       calls in tool_calls with ids "call_1", "call_2", ... unique in the
 *       conversation; invalid blocks stay verbatim in content so the turn
 *       re-renders as the model wrote it), then one tool message per block:
 *       valid calls are executed through the dispatcher (ta_dispatch), each in
 *       its own transaction; invalid blocks get
 *       {"error": "invalid tool call: <why>"} without touching the store.
 *   after max_steps replies that all called tools, stop: hit_step_limit = 1.
 * Output filter (opts->filter, e.g. a guardrail): before any call of a reply
 * runs, every parsed call of it (valid or unknown tool) is shown to the
 * filter. When it blocks one, none of that reply's calls are executed (the
 * reply is one plan; its other calls are "withheld"), the reply is replaced
 * in the conversation by the filter's response (a plain assistant message,
 * no tool_calls), final_text is that response, out->blocked = 1 with the
 * rule, and the loop stops. Calls executed in earlier steps stay executed
 * (they passed the filter).
 * Every tool call (valid or not) is recorded in the result in order, so the
 * evaluator judges effects (which tools ran with which arguments) from it. */
#ifndef TA_TASKAPI_AGENT_H
#define TA_TASKAPI_AGENT_H

#include <stddef.h>

#include "core/error.h"
#include "taskapi/store.h"
#include "taskapi/toolcall.h"
#include "text/conversation.h"

/* Streaming sink: the model calls on_text with each decoded piece as it is
 * generated. Returning non-zero asks the model to stop (it then returns
 * TA_EINTERRUPTED). */
typedef struct ta_stream {
    int (*on_text)(void *user, const char *piece, size_t len);
    void *user;
} ta_stream;

/* A pluggable model. respond renders conv (whose first message is normally
 * the system prompt) with its chat template, generates the assistant's turn,
 * and returns its raw text (tool-call blocks included) in *reply_text
 * (malloc'd; the agent frees it). tools_json is the OpenAI-format tool array
 * (tools.h) for templates that render tools themselves; it may be ignored
 * when the system prompt already lists them. stream may be NULL. */
typedef struct ta_agent_model { /* not ta_model: that name is the transformer (model/model.h) */
    void *ctx;
    int (*respond)(void *ctx, const ta_conversation *conv, const char *tools_json, const ta_stream *stream,
                   char **reply_text, ta_error *err);
} ta_agent_model;

/* Optional callback: told about each tool call after it ran, or after the
 * filter stopped it (call->guard != TA_AGENT_CALL_RUN; result is NULL then),
 * for a chat UI that prints "-> create_task(...)". */
struct ta_agent_call;
typedef void (*ta_agent_on_call)(void *user, const struct ta_agent_call *call);

/* The output filter's answer for one call. rule and response are owned by
 * the filter and must stay valid until ta_agent_run returns (the agent copies
 * them). */
typedef struct ta_agent_verdict {
    int block;            /* 1: do not execute this call (nor its reply's other calls) */
    const char *rule;     /* why, for the record (e.g. the guard rule's name); may be NULL */
    const char *response; /* the text that answers the turn instead; NULL: a generic refusal */
} ta_agent_verdict;

/* Called for each parsed tool call before it would be executed; fills *v
 * (zeroed by the caller: pass). A non-zero return is an error (err set): the
 * agent fails closed, nothing of that reply runs and ta_agent_run returns it. */
typedef int (*ta_agent_filter)(void *user, const char *tool_name, const char *arguments_json, ta_agent_verdict *v,
                               ta_error *err);

typedef struct ta_agent_opts {
    int max_steps;          /* model replies per ta_agent_run; <= 0: TA_AGENT_DEFAULT_STEPS */
    const char *tools_json; /* NULL: the embedded tool set */
    ta_stream stream;       /* on_text NULL: no streaming */
    ta_agent_on_call on_call;
    void *on_call_user;
    ta_agent_filter filter; /* NULL: every call runs */
    void *filter_user;
} ta_agent_opts;

/* What the filter did to a call. */
typedef enum {
    TA_AGENT_CALL_RUN = 0,   /* not blocked (executed when status is TA_TC_OK or an unknown tool) */
    TA_AGENT_CALL_BLOCKED,   /* the filter blocked it: not executed */
    TA_AGENT_CALL_WITHHELD,  /* not executed because another call of the same reply was blocked */
} ta_agent_call_guard;

#define TA_AGENT_DEFAULT_STEPS 5

typedef struct ta_agent_call {
    int step;              /* 1-based model reply that made it */
    ta_tc_status status;   /* parse status; TA_TC_OK means it was executed */
    char *name;            /* NULL when unparseable */
    char *arguments;       /* compact JSON object text, NULL when unparseable */
    char *raw;             /* block text as the model wrote it */
    char *id;              /* tool_call id ("call_3"); NULL for unparseable blocks */
    int ok;                /* 1: executed and the tool succeeded */
    int tool_status;       /* ta_dispatch's status (TA_OK, TA_EINVAL, TA_ENOTFOUND...) */
    char *result;          /* the tool message content the model was given; NULL when not executed */
    ta_agent_call_guard guard;
    char *block_rule;      /* the filter's rule for a blocked call (NULL otherwise or when it gave none) */
} ta_agent_call;

typedef struct ta_agent_result {
    char *final_text;      /* the free text of the last reply (never NULL) */
    ta_agent_call *calls;  /* n_calls, in order */
    size_t n_calls;
    size_t n_invalid;      /* calls with status != TA_TC_OK */
    int n_steps;           /* model replies made */
    int hit_step_limit;    /* 1: stopped at max_steps while the model still called tools */
    int blocked;           /* 1: the filter blocked a call; final_text is its response */
    size_t n_blocked;      /* calls the filter blocked (withheld ones not counted) */
    char *block_rule;      /* the first blocked call's rule (NULL when none given) */
} ta_agent_result;

void ta_agent_result_init(ta_agent_result *r);
void ta_agent_result_release(ta_agent_result *r);

/* Runs the loop described above, appending to conv. out must be initialised
 * (ta_agent_result_init); its previous content is released. Returns TA_OK
 * also when the step limit was hit (see out->hit_step_limit) and when tools
 * failed (see out->calls[i].ok); fails only when the model fails (its status,
 * e.g. TA_EINTERRUPTED) or memory runs out. On failure conv keeps the
 * messages appended by the completed steps and out what was recorded. */
int ta_agent_run(const ta_agent_model *model, ta_store *store, ta_conversation *conv, const ta_agent_opts *opts,
                 ta_agent_result *out, ta_error *err);

/* Appends conv as one JSONL line {"messages": [...]} to path (creating it).
 * The line is written with a single write so concurrent writers do not
 * interleave. */
int ta_agent_save_transcript(const ta_conversation *conv, const char *path, ta_error *err);

#endif
