#!/usr/bin/env bash
# rag_server without --operator-token serves no /metrics: the old built-in demo token (and any
# other) gets 401. Usage: rag_server_metrics_off.sh <rag_server binary>
set -euo pipefail
server=$1
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$server" --port 0 --data-dir "$work/data" >"$work/out" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/out"; echo "rag_server exited early"; exit 1; }
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/out"; echo "no listening line"; exit 1; }

status_of() {  # GET /metrics with the given bearer token; prints the status code
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$1" >&3
  head -n 1 <&3 | cut -d' ' -f2
  exec 3<&-
}
for token in operator-demo-token anything; do
  got=$(status_of "$token")
  echo "GET /metrics with token '$token': $got"
  [ "$got" = "401" ] || { echo "FAIL: /metrics must be off without --operator-token"; exit 1; }
done
grep -q "/metrics is off" "$work/out" || { echo "FAIL: start-up does not say /metrics is off"; exit 1; }
echo "metrics off: ok"
