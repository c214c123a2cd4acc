# taskalign build. `make` builds the CLI; `make test` installs what is missing,
# builds and runs the whole suite; `make demo` runs the main job.
# MODE=release (default) | debug | asan | ubsan
MODE ?= release
BUILD := build/$(MODE)

CC ?= cc
WARN := -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter
# -fno-math-errno: nothing here reads errno after a math call, and without it
# GCC cannot vectorise a loop that calls sqrtf (AdamW's update ran scalar).
# IEEE results are unchanged (sqrt is correctly rounded either way).
BASE := $(WARN) -D_GNU_SOURCE -Isrc -I$(BUILD)/gen -fopenmp -fno-math-errno -MMD -MP
ifeq ($(MODE),release)
  OPT := -O3 -march=native -g
else ifeq ($(MODE),debug)
  OPT := -O0 -g
else ifeq ($(MODE),asan)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(MODE),ubsan)
  OPT := -O1 -g -fsanitize=undefined -fno-sanitize-recover=undefined
else
  $(error unknown MODE '$(MODE)': use release, debug, asan or ubsan)
endif
CFLAGS += $(BASE) $(OPT)
LDLIBS := -lopenblas -ljansson -lpcre2-8 -lutf8proc -lsqlite3 -lmicrohttpd -lcurl -lm -lpthread
LDFLAGS += -fopenmp $(filter -fsanitize=%,$(OPT))

LIB_SRC := $(shell find src -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
# Helper programs the Python/CLI tests drive (not tests themselves).
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
LIB := $(BUILD)/libtaskalign.a
BIN := $(BUILD)/taskalign
GEN := $(BUILD)/gen/commands.inc

.PHONY: all deps test-deps test unit demo bench clean fuzz format embed
all: $(BIN)

# Subcommands register themselves with a line `TA_COMMAND("name", fn, "summary")`
# in src/cli/cmd_*.c; the table in main.c is generated from those lines.
$(GEN): $(CLI_SRC) Makefile
	@mkdir -p $(dir $@)
	@grep -h '^TA_COMMAND(' $(CLI_SRC) | sed 's/^TA_COMMAND(/X(/; s/;$$//' > $@.tmp && mv $@.tmp $@

# Data files the library embeds: data/X becomes $(BUILD)/gen/embed/X.inc, a C
# string literal a module includes (`#include "embed/tools.json.inc"`), so the
# binary needs no data path at run time. List a file here to embed it.
EMBED_SRC := data/tools.json data/system_prompt.txt data/guard/default.json data/web/index.html data/judge/labelled.jsonl
EMBED_INC := $(EMBED_SRC:data/%=$(BUILD)/gen/embed/%.inc)
$(BUILD)/gen/embed/%.inc: data/%
	@mkdir -p $(dir $@)
	@sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@
# The generator's grammar (data/gen/*.gen) is embedded as one table of
# {"name", "text"} entries, in name order (see src/taskapi/datagen_embed.c).
GEN_DATA := $(sort $(wildcard data/gen/*.gen))
GEN_DATA_INC := $(BUILD)/gen/embed/datagen_files.inc
$(GEN_DATA_INC): $(GEN_DATA) Makefile
	@mkdir -p $(dir $@)
	@for f in $(GEN_DATA); do printf '{"%s",\n' "$$(basename $$f)"; sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $$f; printf '},\n'; done > $@.tmp && mv $@.tmp $@
# Order-only: the first build needs them; -MMD tracks them afterwards.
$(LIB_OBJ): | $(EMBED_INC) $(GEN_DATA_INC)
# `make embed` writes them only (scripts/fuzz.sh compiles the sources itself).
embed: $(EMBED_INC) $(GEN_DATA_INC)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CLI_OBJ): $(GEN)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) tests/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

unit: $(BIN) $(TEST_BIN) $(TOOL_BIN)

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

# The README's test command.
test: test-deps
	@$(MAKE) --no-print-directory unit MODE=$(MODE)
	@MODE=$(MODE) tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all MODE=$(MODE)
	@MODE=$(MODE) scripts/demo.sh

bench: $(BIN) $(BENCH_BIN)

fuzz:
	@scripts/fuzz.sh

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(shell find src -name '*.h')

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
