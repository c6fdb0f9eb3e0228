#!/usr/bin/env bash
# The leak probe against the shipped rag_server, both as built binaries:
#   run_against_rag_server.sh PATH/TO/rag_server PATH/TO/tenantai-leakprobe
# Starts rag_server with tenants.json (next to this script) on an ephemeral port and a fresh
# state directory, waits for its "listening on http://127.0.0.1:<port>" line, runs the probe with
# probe.json, stops the server, and exits with the probe's status (0 clean, 1 findings, 2 usage).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 RAG_SERVER TENANTAI_LEAKPROBE" >&2
  exit 2
fi
rag_server=$1
leakprobe=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tenantai-leakprobe.XXXXXX")
server_pid=""

stop_server() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

show_server_output() {
  echo "---- rag_server stdout" >&2
  cat "$work/server.out" >&2 || true
  echo "---- rag_server stderr" >&2
  cat "$work/server.err" >&2 || true
}

# rag_server flushes its listening line itself (no stdbuf: its LD_PRELOAD breaks sanitizer builds).
"$rag_server" --tenants "$here/tenants.json" --port 0 --data-dir "$work/data" \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

port=""
for _ in $(seq 1 600); do  # up to 60 s
  port=$(sed -n 's#^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)\r\{0,1\}$#\1#p' "$work/server.out" | head -n 1)
  [[ -n $port ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "rag_server exited before it was listening" >&2
    show_server_output
    exit 1
  fi
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "rag_server did not print \"listening on http://127.0.0.1:<port>\" within 60 s" >&2
  show_server_output
  exit 1
fi
echo "rag_server listening on port $port (pid $server_pid)"

status=0
"$leakprobe" --config "$here/probe.json" --url "http://127.0.0.1:$port" --threads 8 || status=$?
stop_server
if [[ $status -ne 0 ]]; then show_server_output; fi
exit "$status"
