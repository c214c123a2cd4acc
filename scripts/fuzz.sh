#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.c target with clang -fsanitize=fuzzer,address,undefined
# against the library sources and runs each for N seconds over its corpus
# fuzz/corpus/<name>/ (the corpus directory also collects new interesting
# inputs). Crash inputs are written to build/fuzz/crashes/<name>/; copy them
# into the corpus once fixed, so the unit tests replay them.
#   scripts/fuzz.sh [SECONDS] [TARGET]      (default 30 seconds, all targets)
# Needs clang and libclang-rt-14-dev (for the fuzzer runtime); installs them
# through scripts/deps.sh --fuzz. Not part of the test suite.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-30}
only=${2:-}
scripts/deps.sh --fuzz
CC=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out/obj"
# Some modules include generated files (`#include "embed/guard/default.json.inc"`,
# see EMBED_SRC in the Makefile): `make embed` writes them into $out/gen.
make -s BUILD="$out" embed
flags="-std=c11 -D_GNU_SOURCE -Isrc -I$out/gen -g -O1 -fno-omit-frame-pointer -fopenmp -fsanitize=address,undefined -fno-sanitize-recover=undefined"
# Library objects (instrumented for coverage, without libFuzzer's main).
objs=""
for src in $(find src -name '*.c' -not -path 'src/cli/*' | sort); do
    obj=$out/obj/$(echo "$src" | tr '/' '_' | sed 's/\.c$/.o/')
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find src "$out/gen" -name '*.h' -newer "$obj" -o -name '*.inc' -newer "$obj" | head -n 1)" ]; then
        $CC $flags -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
    fi
    objs="$objs $obj"
done
# An archive, so each target links only the modules it uses.
rm -f "$out/libfuzz.a"
ar rcs "$out/libfuzz.a" $objs
libs="-lopenblas -ljansson -lpcre2-8 -lutf8proc -lsqlite3 -lmicrohttpd -lcurl -lm -lpthread"
status=0
for t in fuzz/fuzz_*.c; do
    name=$(basename "$t" .c); name=${name#fuzz_}
    if [ -n "$only" ] && [ "$only" != "$name" ]; then continue; fi
    bin=$out/fuzz_$name
    echo "fuzz: building $bin"
    $CC $flags -fsanitize=fuzzer "$t" "$out/libfuzz.a" $libs -o "$bin"
    corpus=fuzz/corpus/$name
    mkdir -p "$corpus" "$out/crashes/$name" "$out/new/$name"
    echo "fuzz: running $name for ${secs}s"
    # New inputs go to build/fuzz/new/<name> so the committed corpus stays small.
    if ! "$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$name/" "$out/new/$name" "$corpus"; then
        echo "fuzz: $name FAILED; crash inputs in $out/crashes/$name/"
        status=1
    fi
done
exit $status
