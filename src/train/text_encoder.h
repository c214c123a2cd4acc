/* text_encoder.h: the trainers' ta_encoder over a model's tokenizer and chat
 * template (text/tokenizer.h, text/chat_format.h, text/chat_mask.h), so
 * training sees byte for byte what the model is asked at run time.
 *
 *   SFT          the conversation rendered without the generation prompt;
 *                the mask is the chat format's assistant-token mask (content,
 *                tool calls, end-of-turn token).
 *   preference, conversational
 *                prompt rendered with the generation prompt, prompt + completion
 *                without it; the prompt's ids must be a prefix of the full ids
 *                (else the pair is reported as bad data), the completion ids
 *                are the rest.
 *   preference, strings
 *                as TRL: prompt and completion tokenized separately without
 *                special tokens, EOS appended to the completion. */
#ifndef TA_TRAIN_TEXT_ENCODER_H
#define TA_TRAIN_TEXT_ENCODER_H

#include "text/chat_format.h"
#include "text/tokenizer.h"
#include "train/dataset.h"

typedef struct ta_text_encoder {
    ta_tokenizer *tok;
    ta_chat_format fmt;
    int have_fmt;          /* 0: no known chat template (conversational data is refused) */
    char fmt_error[TA_ERROR_MSG_MAX];
    int32_t eos;
} ta_text_encoder;

/* Loads dir's tokenizer.json and tokenizer_config.json (chat template). */
int ta_text_encoder_open(ta_text_encoder *e, const char *dir, ta_error *err);
void ta_text_encoder_release(ta_text_encoder *e);
/* The ta_encoder for ta_dataset_load / ta_trainer_open (e must outlive it). */
ta_encoder ta_text_encoder_iface(ta_text_encoder *e);

#endif
