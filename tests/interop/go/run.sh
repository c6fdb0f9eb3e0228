#!/usr/bin/env bash
# CTest driver for the Go interop test:
#   run.sh <audit_interop_driver> <go executable or empty> <this directory> <work directory>
# Writes a real audit log's checkpoints and proofs with the driver, builds verify_audit.go
# offline against Debian's golang.org/x/mod (GOPATH mode, no network, no modules) and runs it.
set -euo pipefail
driver=$1 go=$2 src=$3 work=$4
gopath=/usr/share/gocode

if [ -z "$go" ] || [ "${go%-NOTFOUND}" != "$go" ] || [ ! -x "$go" ]; then
  echo "FAIL go not found: install golang-go golang-golang-x-mod-dev (bash scripts/setup.sh), then re-run cmake" >&2
  exit 1
fi
for pkg in note tlog; do
  if [ ! -d "$gopath/src/golang.org/x/mod/sumdb/$pkg" ]; then
    echo "FAIL $gopath/src/golang.org/x/mod/sumdb/$pkg missing: install golang-golang-x-mod-dev" >&2
    exit 1
  fi
done

rm -rf "$work/out"
mkdir -p "$work/out" "$work/gocache"
"$driver" "$work/out"

# GOCACHE in the build tree: HOME may be unset under CI, and nothing is written outside it.
export GO111MODULE=off GOPATH=$gopath GOCACHE=$work/gocache GOFLAGS= GOPROXY=off
"$go" version
(cd "$src" && "$go" build -o "$work/verify_audit" verify_audit.go)
"$work/verify_audit" "$work/out"
echo "interop: ok"
