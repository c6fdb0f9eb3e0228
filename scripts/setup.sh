#!/usr/bin/env bash
# Installs every Debian 12 package tenantai needs to build, test and run its demo.
# Idempotent: when everything is present it installs nothing and exits 0.
set -euo pipefail

packages=(
  build-essential g++ cmake pkg-config git
  libfaiss-dev libopenblas-dev          # FAISS (static) + BLAS; OpenMP comes with g++ (libgomp)
  libsodium-dev                         # all cryptography
  libeigen3-dev                         # dense math for the batch search path
  libboost-dev                          # header-only Boost: Asio, Beast, Multi-Index
  libfmt-dev nlohmann-json3-dev         # formatting, JSON
  libsqlite3-dev                        # per-tenant conversation memory
  catch2                                # unit tests (Catch2 v2)
  clang libclang-rt-14-dev              # libFuzzer targets (built only when clang is present)
  golang-go golang-golang-x-mod-dev     # interop test: Go's sumdb/note + sumdb/tlog as independent verifiers
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
