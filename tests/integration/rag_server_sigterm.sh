#!/usr/bin/env bash
# SIGTERM stops rag_server gracefully: new connections are refused at once, requests in flight
# are answered, one slower than the drain bound (--drain-timeout-ms) is cancelled (503 or a
# closed connection) and the server still exits 0 within the bound plus a margin, and every
# tenant's audit log (final checkpoint signed at shutdown) verifies with the shipped
# tenantai-audit verifier. Usage: rag_server_sigterm.sh <rag_server> <tenantai-audit> <tenants.json>
set -euo pipefail
server=$1
audit_cli=$2
tenants=$3
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
drain_ms=1000
margin_ms=4000  # the cancel window (1 s), closing connections, signing the final checkpoints
"$server" --tenants "$tenants" --port 0 --data-dir "$work/data" --drain-timeout-ms "$drain_ms" --test-slow-route \
  >"$work/out" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/out")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/out"; echo "FAIL: no listening line"; exit 1; }

request() {  # method target key body -> response (status line first)
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "$3" "${#4}" "$4" >&3
  cat <&3
  exec 3<&-
}
key=tai_acmeAliceDemoKey000000000000000000000000000
request POST /v1/documents "$key" '{"documents":[{"id":"sigterm-doc","title":"t","text":"graceful stop canary"}]}' | head -n 1
vkey=$(request GET /v1/audit/checkpoint "$key" "" | tr -d '\r' | sed -n 's|^[Xx]-[Tt]enantai-[Vv]erifier-[Kk]ey: *||p')
[ -n "$vkey" ] || { echo "FAIL: no verifier key"; exit 1; }
# Requests in flight while SIGTERM arrives: one far slower than the drain bound, and chats.
request POST "/test/slow?ms=60000" "$key" "" | head -n 1 >"$work/slow" &
for i in $(seq 1 8); do
  request POST /v1/chat "$key" "{\"messages\":[{\"role\":\"user\",\"content\":\"question $i\"}],\"max_tokens\":32}" \
    | head -n 1 >"$work/reply.$i" &
done
sleep 0.2
started=$(date +%s%N)
kill -TERM "$pid"
sleep 0.3  # the server notices within 100 ms, then drains for up to $drain_ms
if kill -0 "$pid" 2>/dev/null && (exec 4<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "FAIL: a new connection was accepted while draining"; exit 1
fi
set +e
wait "$pid"
status=$?
set -e
pid=""
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
wait
echo "rag_server exited ${elapsed_ms} ms after SIGTERM (drain bound ${drain_ms} ms + margin ${margin_ms} ms)"
[ "$elapsed_ms" -le $((drain_ms + margin_ms)) ] || { cat "$work/out"; echo "FAIL: the drain was not bounded"; exit 1; }
case "$(cat "$work/slow")" in
  "HTTP/1.1 503"*|"") ;;  # cancelled past the bound, or its connection closed
  *) echo "FAIL: the request slower than the bound got: $(cat "$work/slow")"; exit 1 ;;
esac
grep -q "cancelled" "$work/out" || { cat "$work/out"; echo "FAIL: the slow request was not cancelled"; exit 1; }
echo "rag_server exit status after SIGTERM: $status"
[ "$status" = 0 ] || { cat "$work/out"; echo "FAIL: exit status $status"; exit 1; }
grep -q "server stopped" "$work/out" || { echo "FAIL: no orderly stop"; exit 1; }
for f in "$work"/reply.*; do
  line=$(cat "$f")
  case "$line" in
    "HTTP/1.1 200"*|"HTTP/1.1 503"*|"") ;;  # answered, refused while draining, or never accepted
    *) echo "FAIL: in-flight request got: $line"; exit 1 ;;
  esac
done
# Each tenant's log has its own key; acme-bank's is the one its checkpoint endpoint served. The
# others are read from the public line of their sealed signer files (line 3).
[ "$vkey" = "$(sed -n 3p "$work/data/keys/audit-signers/acme-bank.signer")" ] || { echo "FAIL: served key differs"; exit 1; }
for tenant in acme-bank globex-health initech; do
  "$audit_cli" verify --root "$work/data/audit" --tenant "$tenant" \
    --key "$(sed -n 3p "$work/data/keys/audit-signers/$tenant.signer")"
done
echo "sigterm: ok"
