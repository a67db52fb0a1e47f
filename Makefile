# fstore build. `make` builds libfstore (static + shared) and the fstore
# command; `make demo` and `make test` also install missing Debian packages.
# Variants build into their own directory so a sanitizer build never mixes
# objects with a release one: `make SAN=1` builds into build/san.

CC      ?= cc
SAN     ?= 0
ifeq ($(SAN),1)
BUILD   ?= build/san
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
BUILD   ?= build/release
OPT     := -O2 -g
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -fPIC -pthread -Iinclude -Isrc $(EXTRA_CFLAGS)
LDLIBS  := -lyaml -ljansson -lmicrohttpd -lpthread -lm
LDFLAGS := $(OPT) -pthread

LIB_SRC  := $(sort $(shell find src -name '*.c' ! -path 'src/cli/*'))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(foreach f,$(BENCH_SRC),$(BUILD)/bench/$(basename $(notdir $(f))))

STATIC := $(BUILD)/lib/libfstore.a
SHARED := $(BUILD)/lib/libfstore.so
FSTORE := $(BUILD)/bin/fstore

.PHONY: all deps demo test check tests bench clean
all: $(STATIC) $(SHARED) $(FSTORE)

deps:
	@scripts/install-deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FSTORE): $(CLI_OBJ) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c tests/test.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(STATIC) $(LDLIBS)

tests: all $(TEST_BIN)

# In-process benchmarks (bench/*/*.c); the peer benchmarks are scripts there.
bench: all $(BENCH_BIN)

$(BUILD)/bench/%: $(STATIC) $(BENCH_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $(filter %/$*.c,$(BENCH_SRC)) $(STATIC) $(LDLIBS)

# Runs every test in this variant only (no install step).
check: tests
	@tests/run.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BUILD)

# The full suite twice: release, then under ASan + UBSan. The last line is the
# total, in the 'N passed, N failed' form CI reads.
test: deps
	@scripts/test-all.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
