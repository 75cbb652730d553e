#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. Release build: unit tests and integration tests (real flowedge,
#      redis-server and sipp processes on loopback);
#   2. Sanitize build (ASan + UBSan): unit tests;
#   3. Fuzz build (clang + libFuzzer): each fuzzer for FE_FUZZ_SECONDS (default 30).
# Exits non-zero on the first failure. Build folders: build/, build-sanitize/,
# build-fuzz/ (override with FE_BUILD_DIR...).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash deploy/install-deps.sh

jobs=${FE_JOBS:-$(nproc)}
release=${FE_BUILD_DIR:-$root/build}
sanitize=${FE_SANITIZE_BUILD_DIR:-$root/build-sanitize}
fuzz=${FE_FUZZ_BUILD_DIR:-$root/build-fuzz}
fuzz_seconds=${FE_FUZZ_SECONDS:-30}
# A fixed seed makes the fuzz step repeatable: a run explores the same inputs
# in the same order, so a crash found here reproduces with the same command.
fuzz_seed=${FE_FUZZ_SEED:-1}

step() { printf '\n=== %s ===\n' "$*"; }

step "Release build"
cmake -S . -B "$release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$release" -j "$jobs"

step "Unit and integration tests (Release)"
ctest --test-dir "$release" --output-on-failure -j "$jobs" --timeout 600

step "Sanitize build (ASan + UBSan): unit tests"
cmake -S . -B "$sanitize" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DFE_BUILD_BENCH=OFF >/dev/null
cmake --build "$sanitize" -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$sanitize" --output-on-failure -j "$jobs" -L unit --timeout 600

step "Fuzz build (clang + libFuzzer): ${fuzz_seconds}s per fuzzer"
CC=clang CXX=clang++ cmake -S . -B "$fuzz" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz \
  -DFE_BUILD_BENCH=OFF -DFE_BUILD_TESTS=OFF >/dev/null
cmake --build "$fuzz" -j "$jobs"
shopt -s nullglob
for f in "$fuzz"/tests/fuzz/*_fuzz; do
  name=$(basename "$f")
  corpus="tests/fuzz/corpus/${name%_fuzz}"
  work=$(mktemp -d)
  dict=()
  [[ -f "tests/fuzz/${name%_fuzz}.dict" ]] && dict=(-dict="tests/fuzz/${name%_fuzz}.dict")
  echo "fuzz: $name for ${fuzz_seconds}s"
  "$f" -seed="$fuzz_seed" -max_total_time="$fuzz_seconds" -print_final_stats=0 "${dict[@]}" "$work" \
    $( [[ -d "$corpus" ]] && echo "$corpus" ) 2>"$work.log" || { tail -50 "$work.log"; exit 1; }
  rm -rf "$work" "$work.log"
done

step "All tests passed"
