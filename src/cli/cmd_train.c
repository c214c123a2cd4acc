/* cmd_train.c: `taskalign train sft|dpo`. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "train/text_encoder.h"
#include "train/trainer.h"

TA_COMMAND("train", ta_cmd_train, "fine-tune a model: supervised (sft) or on preferences (dpo), full or LoRA");

/* The one global: a signal handler may only communicate through an object of
 * type volatile sig_atomic_t (C11 7.14.1.1), so the Ctrl-C request cannot
 * live in a struct passed around; the trainer gets a pointer to it and polls
 * it between steps. */
static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig) {
    (void)sig;
    stop_requested = 1;
    signal(SIGINT, SIG_DFL); /* async-signal-safe; a second Ctrl-C ends the process at once */
}

static void usage(FILE *out, int dpo) {
    if (!dpo)
        fprintf(out,
                "usage: taskalign train sft (--model DIR | --init CONFIG.json --tokenizer DIR) --data train.jsonl\n"
                "                           [--eval dev.jsonl] --out DIR [options]\n"
                "\n"
                "Supervised fine-tuning on conversations ({\"messages\": [...]} a line, optional \"tools\"),\n"
                "rendered through the model's chat template; the loss is the mean NLL of the\n"
                "assistant tokens (content, tool calls and the end-of-turn token).\n"
                "\n"
                "  --model DIR           Hugging Face model folder to start from\n"
                "  --init CONFIG.json    start from random weights (std 0.02, --seed) of this config\n"
                "  --tokenizer DIR       tokenizer folder (tokenizer.json, tokenizer_config.json)\n"
                "                        for --init; default: --model\n");
    else
        fprintf(out,
                "usage: taskalign train dpo --model DIR --data prefs.jsonl [--eval dev.jsonl] --out DIR\n"
                "                           [--loss sigmoid|ipo|hinge|robust|simpo|orpo --beta X ...] [options]\n"
                "\n"
                "Preference optimisation on {\"prompt\", \"chosen\", \"rejected\"} lines (strings, or\n"
                "message lists: the prompt is rendered with the generation prompt), with TRL's\n"
                "losses and metric names.\n"
                "\n"
                "  --model DIR           the policy's starting point (and the reference's)\n"
                "  --loss NAME           sigmoid (default), ipo, hinge, robust, simpo, orpo\n"
                "  --beta X              temperature of the loss (default 0.1)\n"
                "  --label-smoothing X   cDPO / robust label noise in [0, 0.5) (default 0)\n"
                "  --rpo-alpha X         add X * NLL of the chosen completions (RPO; default 0: off)\n"
                "  --simpo-gamma X       SimPO's target reward margin (default 0.5)\n"
                "  --orpo-lambda X       weight of ORPO's odds-ratio term (default 0.1)\n"
                "  --max-prompt-length N keep the last N prompt tokens (default 512)\n"
                "  --lora-r N            train LoRA adapters of rank N instead of all weights\n"
                "  --lora-alpha X        LoRA scaling alpha (scale alpha/r; default 16)\n"
                "  --lora-dropout X      LoRA dropout; only 0 is supported (exact merged-weight gradients)\n"
                "  --lora-targets LIST   modules: q,k,v,o,gate,up,down or all (default q,k,v,o)\n"
                "  --precompute-ref      compute the reference log-probs once before training and cache\n"
                "                        them in OUT/ref_logps.safetensors (no reference model in memory)\n"
                "  --ref-model DIR       reference model (default: --model; with LoRA: the base, adapters off)\n");
    fprintf(out,
            "\n"
            "common options:\n"
            "  --data FILE           training data (JSONL)\n"
            "  --eval FILE           evaluation data, scored every --eval-every steps and at the end\n"
            "  --out DIR             output: a loadable model folder (config.json, model.safetensors,\n"
            "                        tokenizer files%s) plus metrics.jsonl and checkpoints\n"
            "  --epochs N            passes over the data (default 3)\n"
            "  --max-steps N         optimizer steps; wins over --epochs\n"
            "  --batch-size N        examples%s per micro-batch (default 8)\n"
            "  --grad-accum N        micro-batches per optimizer step (default 1)\n"
            "  --lr X                peak learning rate (default %s)\n"
            "  --warmup-ratio X      share of the steps spent warming up linearly from 0 (default 0)\n"
            "  --schedule NAME       cosine, linear (default) or constant after warmup\n"
            "  --weight-decay X      AdamW decoupled weight decay, not on norms and biases (default 0)\n"
            "  --max-length N        tokens per sequence; longer ones are truncated and reported (default 1024)\n"
            "  --seed N              seed of the data order%s (default 42)\n"
            "  --threads N           threads (default: all cores); with a batch of at least N examples each\n"
            "                        thread trains on its share of the batch (data parallel), else the\n"
            "                        threads split each matrix product\n"
            "  --log-every N         write a metrics line every N steps (default 1)\n"
            "  --eval-every N        evaluate every N steps (default: only at the end)\n"
            "  --save-every N        write OUT/checkpoint-<step> every N steps (default: never; Ctrl-C\n"
            "                        always saves one)\n"
            "  --keep N              keep only the newest N checkpoints (default: all)\n"
            "  --resume [DIR]        continue bit for bit from a checkpoint (default: the newest in --out)\n"
            "  --strict              fail on the first bad data line instead of skipping and counting it\n"
            "  -h, --help            this text\n"
            "\n"
            "Gradients are clipped to global norm 1.0. Ctrl-C saves a checkpoint and exits (status 130).\n",
            dpo ? ", plus adapter_config.json and adapter_model.safetensors with LoRA" : "",
            dpo ? " (pairs)" : "", dpo ? "1e-6" : "2e-5", dpo ? " and the LoRA init" : " and of --init");
}

enum {
    O_MODEL = 256, O_INIT, O_TOKENIZER, O_DATA, O_EVAL, O_OUT, O_EPOCHS, O_MAX_STEPS, O_BATCH, O_ACCUM, O_LR, O_WARMUP,
    O_SCHEDULE, O_WD, O_MAXLEN, O_SEED, O_THREADS, O_LOG_EVERY, O_EVAL_EVERY, O_SAVE_EVERY, O_KEEP, O_RESUME, O_STRICT,
    O_LOSS, O_BETA, O_LS, O_RPO, O_SIMPO_GAMMA, O_ORPO_LAMBDA, O_MAX_PROMPT, O_LORA_R, O_LORA_ALPHA, O_LORA_DROPOUT,
    O_LORA_TARGETS, O_PRECOMPUTE, O_REF_MODEL
};

static int parse_size(const char *s, const char *flag, long min, size_t *out) {
    long v;
    ta_error e;
    if (ta_cli_parse_long(s, flag, &v, &e) || v < min) return -1;
    *out = (size_t)v;
    return 0;
}

int ta_cmd_train(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "sft") && strcmp(argv[1], "dpo"))) {
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
            fprintf(stdout, "usage: taskalign train sft|dpo [options]   (taskalign train sft --help, taskalign train dpo --help)\n");
            return 0;
        }
        return ta_cli_usage_error("train", "expected 'sft' or 'dpo'");
    }
    int dpo = !strcmp(argv[1], "dpo");
    const char *cmd = dpo ? "train dpo" : "train sft";
    static const struct option common[] = {
        {"model", required_argument, 0, O_MODEL},      {"data", required_argument, 0, O_DATA},
        {"eval", required_argument, 0, O_EVAL},        {"out", required_argument, 0, O_OUT},
        {"epochs", required_argument, 0, O_EPOCHS},    {"max-steps", required_argument, 0, O_MAX_STEPS},
        {"batch-size", required_argument, 0, O_BATCH}, {"grad-accum", required_argument, 0, O_ACCUM},
        {"lr", required_argument, 0, O_LR},            {"warmup-ratio", required_argument, 0, O_WARMUP},
        {"schedule", required_argument, 0, O_SCHEDULE}, {"weight-decay", required_argument, 0, O_WD},
        {"max-length", required_argument, 0, O_MAXLEN}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS},  {"log-every", required_argument, 0, O_LOG_EVERY},
        {"eval-every", required_argument, 0, O_EVAL_EVERY}, {"save-every", required_argument, 0, O_SAVE_EVERY},
        {"keep", required_argument, 0, O_KEEP},        {"resume", optional_argument, 0, O_RESUME},
        {"strict", no_argument, 0, O_STRICT},          {"help", no_argument, 0, 'h'},
        /* sft */
        {"init", required_argument, 0, O_INIT},        {"tokenizer", required_argument, 0, O_TOKENIZER},
        /* dpo */
        {"loss", required_argument, 0, O_LOSS},        {"beta", required_argument, 0, O_BETA},
        {"label-smoothing", required_argument, 0, O_LS}, {"rpo-alpha", required_argument, 0, O_RPO},
        {"simpo-gamma", required_argument, 0, O_SIMPO_GAMMA}, {"orpo-lambda", required_argument, 0, O_ORPO_LAMBDA},
        {"max-prompt-length", required_argument, 0, O_MAX_PROMPT}, {"lora-r", required_argument, 0, O_LORA_R},
        {"lora-alpha", required_argument, 0, O_LORA_ALPHA}, {"lora-dropout", required_argument, 0, O_LORA_DROPOUT},
        {"lora-targets", required_argument, 0, O_LORA_TARGETS}, {"precompute-ref", no_argument, 0, O_PRECOMPUTE},
        {"ref-model", required_argument, 0, O_REF_MODEL}, {0, 0, 0, 0}};
    ta_train_opts o;
    ta_train_opts_default(&o, dpo ? TA_DATA_PREF : TA_DATA_SFT);
    o.log = stderr;
    ta_error err = {0};
    argc--, argv++; /* argv[0] is now "sft" / "dpo" */
    optind = 1;
    int c, li = -1;
    long lv;
    double dv;
    while ((c = getopt_long(argc, argv, "h", common, &li)) != -1) {
        /* li: the long option getopt matched (argv[optind - 1] is its value when one was given) */
        if (c >= O_INIT && c <= O_TOKENIZER && dpo) return ta_cli_usage_error(cmd, "--%s is an option of train sft", common[li].name);
        if (c >= O_LOSS && !dpo) return ta_cli_usage_error(cmd, "--%s is an option of train dpo", common[li].name);
#define SIZE(flag, min, dst)                                                                                          \
    if (parse_size(optarg, flag, min, dst)) return ta_cli_usage_error(cmd, "%s: '%s' is not an integer >= %d", flag, optarg, min); \
    break
#define NUM(flag, dst)                                                                                                \
    if (ta_cli_parse_double(optarg, flag, &dv, &err)) return ta_cli_usage_error(cmd, "%s: '%s' is not a number", flag, optarg); \
    dst = dv;                                                                                                         \
    break
        switch (c) {
        case O_MODEL: o.model_dir = optarg; break;
        case O_INIT: o.init_config = optarg; break;
        case O_TOKENIZER: o.tokenizer_dir = optarg; break;
        case O_DATA: o.data = optarg; break;
        case O_EVAL: o.eval = optarg; break;
        case O_OUT: o.out_dir = optarg; break;
        case O_EPOCHS: SIZE("--epochs", 0, &o.epochs);
        case O_MAX_STEPS:
            if (ta_cli_parse_long(optarg, "--max-steps", &lv, &err) || lv < 1) return ta_cli_usage_error(cmd, "--max-steps: '%s' is not an integer >= 1", optarg);
            o.max_steps = lv;
            break;
        case O_BATCH: SIZE("--batch-size", 1, &o.batch_size);
        case O_ACCUM: SIZE("--grad-accum", 1, &o.grad_accum);
        case O_LR: NUM("--lr", o.lr);
        case O_WARMUP: NUM("--warmup-ratio", o.warmup_ratio);
        case O_SCHEDULE:
            if (ta_schedule_parse_kind(optarg, &o.schedule, &err)) return ta_cli_usage_error(cmd, "--schedule: '%s' is not cosine, linear or constant", optarg);
            break;
        case O_WD: NUM("--weight-decay", o.weight_decay);
        case O_MAXLEN: SIZE("--max-length", 2, &o.max_length);
        case O_SEED:
            if (ta_cli_parse_long(optarg, "--seed", &lv, &err) || lv < 0) return ta_cli_usage_error(cmd, "--seed: '%s' is not a non-negative integer", optarg);
            o.seed = (uint64_t)lv;
            break;
        case O_THREADS:
            if (ta_cli_parse_long(optarg, "--threads", &lv, &err) || lv < 1 || lv > 1024) return ta_cli_usage_error(cmd, "--threads: '%s' is not an integer in [1, 1024]", optarg);
            o.threads = (int)lv;
            break;
        case O_LOG_EVERY: SIZE("--log-every", 1, &o.log_every);
        case O_EVAL_EVERY: SIZE("--eval-every", 1, &o.eval_every);
        case O_SAVE_EVERY: SIZE("--save-every", 1, &o.save_every);
        case O_KEEP: SIZE("--keep", 1, &o.keep);
        case O_RESUME:
            /* --resume, --resume=DIR or --resume DIR */
            if (optarg) o.resume = optarg;
            else if (optind < argc && argv[optind][0] != '-') o.resume = argv[optind++];
            else o.resume = "";
            break;
        case O_STRICT: o.strict = 1; break;
        case O_LOSS:
            if (ta_dpo_loss_parse(optarg, &o.dpo.type)) return ta_cli_usage_error(cmd, "--loss: '%s' is not sigmoid, ipo, hinge, robust, simpo or orpo", optarg);
            break;
        case O_BETA: NUM("--beta", o.dpo.beta);
        case O_LS: NUM("--label-smoothing", o.dpo.label_smoothing);
        case O_RPO: NUM("--rpo-alpha", o.dpo.rpo_alpha);
        case O_SIMPO_GAMMA: NUM("--simpo-gamma", o.dpo.simpo_gamma);
        case O_ORPO_LAMBDA: NUM("--orpo-lambda", o.dpo.orpo_lambda);
        case O_MAX_PROMPT: SIZE("--max-prompt-length", 1, &o.max_prompt_length);
        case O_LORA_R: SIZE("--lora-r", 1, &o.lora.r);
        case O_LORA_ALPHA: NUM("--lora-alpha", o.lora.alpha);
        case O_LORA_DROPOUT: NUM("--lora-dropout", o.lora.dropout);
        case O_LORA_TARGETS:
            if (ta_lora_parse_targets(optarg, &o.lora.targets, &err)) return ta_cli_usage_error(cmd, "%s", err.msg);
            break;
        case O_PRECOMPUTE: o.precompute_ref = 1; break;
        case O_REF_MODEL: o.ref_model = optarg; break;
        case 'h': usage(stdout, dpo); return 0;
        default: return ta_cli_usage_error(cmd, "unknown option");
        }
#undef SIZE
#undef NUM
    }
    if (optind < argc) return ta_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.data) return ta_cli_usage_error(cmd, "--data is required");
    if (!o.out_dir) return ta_cli_usage_error(cmd, "--out is required");
    if (o.init_config && o.model_dir) return ta_cli_usage_error(cmd, "give either --model or --init, not both");
    if (!o.init_config && !o.model_dir) return ta_cli_usage_error(cmd, dpo ? "--model is required" : "--model or --init is required");
    if (o.init_config && !o.tokenizer_dir) return ta_cli_usage_error(cmd, "--init needs --tokenizer DIR");
    if (o.lora.dropout != 0) {
        err.code = TA_EUNSUPPORTED;
        snprintf(err.msg, sizeof err.msg, "--lora-dropout %g: only 0 is supported (the merged-weight LoRA path gives exact "
                 "gradients only without dropout)", o.lora.dropout);
        return ta_cli_fail(&err);
    }

    ta_text_encoder te;
    if (ta_text_encoder_open(&te, o.tokenizer_dir ? o.tokenizer_dir : o.model_dir, &err)) return ta_cli_fail(&err);
    ta_encoder enc = ta_text_encoder_iface(&te);
    o.stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    ta_trainer *t = NULL;
    int rc = ta_trainer_open(&t, &o, &enc, &err);
    if (!rc) rc = ta_trainer_run(t, &err);
    ta_trainer_close(t);
    ta_text_encoder_release(&te);
    signal(SIGINT, SIG_DFL);
    if (rc == TA_EINTERRUPTED) return 130;
    if (rc) return ta_cli_fail(&err);
    return 0;
}
