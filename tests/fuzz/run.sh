#!/usr/bin/env bash
# Builds the audit reader fuzzer with clang++ (libFuzzer + ASan + UBSan, library sources
# instrumented too) and runs it for a bounded time. Exits 0 with a message when clang++ is missing.
#   FUZZ_SECONDS=60 FUZZ_CXX=clang++ FUZZ_BUILD_DIR=build-fuzz bash tests/fuzz/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
cxx="${FUZZ_CXX:-clang++}"
seconds="${FUZZ_SECONDS:-60}"
out="${FUZZ_BUILD_DIR:-${repo}/build-fuzz}"

if ! command -v "${cxx}" >/dev/null 2>&1; then
  echo "fuzz: ${cxx} not found; skipping the libFuzzer run"
  exit 0
fi

mkdir -p "${out}/corpus"
shopt -s nullglob
sources=("${repo}"/src/core/*.cpp "${repo}"/src/crypto/*.cpp "${repo}"/src/audit/*.cpp)
shopt -u nullglob

flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -I"${repo}/include" -I"${repo}/src")
echo "fuzz: building ${out}/audit_reader_fuzz with ${cxx}"
"${cxx}" "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  "${here}/audit_reader_fuzz.cpp" "${sources[@]}" \
  -o "${out}/audit_reader_fuzz" -lsodium -lfmt -lpthread

echo "fuzz: running for ${seconds}s"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  "${out}/audit_reader_fuzz" -max_total_time="${seconds}" -max_len=65536 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 "${out}/corpus" "${here}/corpus"
echo "fuzz: no crash, no sanitizer report in ${seconds}s"
