#!/usr/bin/env bash
# The latency and throughput of POST /v1/decide on loopback, measured with wrk: a server
# with a generated sample (CONTACTS, default 20,000), 100 dynamic groups, 20 personas and 50
# experiences; each request decides 3 slots for a known visitor with a browser context.
# RATE=N: requests are sent at a constant N per second by http_rate (latency counted
# from when each request was due, as wrk2 does) instead of by wrk's closed loop; the first
# WARMUP seconds (default 2) are not measured. NEW_VISITORS=P (with RATE): P requests in 100
# come from a first-time anonymous visitor (a new contact and 3 new exposures each), the
# others from the 5,000 known visitors. TRACE=FILE (with RATE): every measured request's
# timings, one a line (see tools/bench/load/http_rate.cc).
# Usage: [RATE=N [WARMUP=S] [NEW_VISITORS=P] [TRACE=FILE]] [SEGMENTA_BIN=PATH] [HTTP_RATE_BIN=PATH] [PACE_MS=N] [INGEST_CONTACTS=N] [IO_THREADS=N] tools/bench/load/decide-wrk.sh [CONTACTS] [DURATION_S] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../../.."
CONTACTS="${1:-20000}" DURATION="${2:-20}" CONNECTIONS="${3:-32}"
command -v wrk >/dev/null || { echo "wrk is missing: scripts/setup installs it"; exit 1; }
# SEGMENTA_BIN=PATH benchmarks that binary instead of building this tree's (A/B runs);
# HTTP_RATE_BIN=PATH is the load generator to use then (default: this tree's).
[ -n "${SEGMENTA_BIN:-}" ] || scripts/build >/dev/null
BIN="${SEGMENTA_BIN:-$PWD/build/release/src/cli/segmenta}"
HTTP_RATE="${HTTP_RATE_BIN:-$PWD/build/release/tools/bench/load/http_rate}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/segmenta-decide-XXXXXX")
export SEGMENTA_DATA_DIR="$WORK/store"
WRITE_KEY=$("$BIN" keys create --kind write --name bench 2>/dev/null)
ADMIN=$("$BIN" keys create --kind admin --name bench 2>/dev/null)
"$BIN" gen --contacts "$CONTACTS" --seed 7 --end "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --output "$WORK/sample.jsonl" >/dev/null 2>&1
"$BIN" serve --port 0 --io-threads "${IO_THREADS:-2}" >"$WORK/serve.out" 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$WORK/serve.out")
"$BIN" import activities "$WORK/sample.jsonl" --url "$URL" --write-key "$WRITE_KEY" >/dev/null
api() {
  local out
  out=$(curl -s -w "\n%{http_code}" -H "Authorization: Bearer $ADMIN" -X "$1" "$URL$2" -d "$3")
  [[ "${out##*$'\n'}" == 2* ]] || { echo "$1 $2: ${out%$'\n'*}" >&2; exit 1; }
}

CATS=(fashion electronics running cycling food books home outdoor)
for i in $(seq 1 100); do
  c=${CATS[$((i % 8))]}
  case $((i % 4)) in
    0) cond="count(\"Product Viewed\" where category = \"$c\" within last $((7 * (i % 8 + 1))) days) >= $((i % 3 + 1))" ;;
    1) cond="age between $((18 + i % 30)) and $((35 + i % 30)) and did \"Order Completed\"" ;;
    2) cond="count(page within last $((i % 20 + 5)) days) >= $((i % 5 + 2))" ;;
    3) cond="sum(\"Order Completed\".revenue within last 90 days) > $((i * 10))" ;;
  esac
  api POST /api/groups "{\"name\": \"G$i\", \"condition\": $(jq -Rn --arg c "$cond" '$c')}"
done
for i in $(seq 1 20); do
  c=${CATS[$((i % 8))]}
  api POST /api/personas "{\"name\": \"P$i\", \"threshold\": $((5 + i % 4 * 3)), \"rules\": [
    {\"type\": \"activity\", \"activity\": \"\\\"Product Viewed\\\" where category = \\\"$c\\\"\", \"points\": 2, \"within\": \"90 days\", \"cap\": 20},
    {\"type\": \"attribute\", \"condition\": \"age between $((20 + i)) and $((40 + i))\", \"points\": 3},
    {\"type\": \"macro\", \"condition\": \"did \\\"Order Completed\\\"\", \"points\": 4}]}"
done
for i in $(seq 1 50); do
  api PUT "/api/experiences/slot-$i" "{\"variations\": [
    {\"name\": \"search\", \"condition\": \"visit.new and visit.referrer.search_engine and visit.page.path starts_with \\\"/products/\\\"\", \"payload\": {\"v\": \"search-$i\"}},
    {\"name\": \"group\", \"condition\": \"in group \\\"G$((i % 100 + 1))\\\" and visit.device.type = \\\"mobile\\\"\", \"payload\": {\"v\": \"group-$i\"}},
    {\"name\": \"persona\", \"condition\": \"persona = \\\"P$((i % 20 + 1))\\\"\", \"payload\": {\"v\": \"persona-$i\"}}],
    \"default\": {\"v\": \"default-$i\"}}"
done
grep -o '"userId":"[^"]*"' "$WORK/sample.jsonl" | sort -u | awk 'NR <= 5000' | sed 's/"userId":"\(.*\)"/\1/' >"$WORK/users.txt"
# The request bodies, one a line, for wrk and http_rate alike: 30,000, every
# (visitor, slots) pair the 5,000 visitors and 48 slot triples give; with NEW_VISITORS, one a
# request of the whole run, so that each first-time visitor is one.
LINES=30000
if [ "${NEW_VISITORS:-0}" -gt 0 ]; then
  [ -n "${RATE:-}" ] || { echo "NEW_VISITORS needs RATE"; exit 1; }
  LINES=$((RATE * (${WARMUP:-2} + DURATION)))
fi
awk -v lines="$LINES" -v pct="${NEW_VISITORS:-0}" '{ u[NR] = $0 } END {
  for (n = 1; n <= lines; n++) {
    s = n % 48 + 1
    if ((n * pct) % 100 < pct) id = sprintf("\"anonymousId\":\"first-visit-%d\"", n)
    else id = sprintf("\"userId\":\"%s\"", u[n % NR + 1])
    printf "{%s,\"slots\":[\"slot-%d\",\"slot-%d\",\"slot-%d\"],", id, s, s + 1, s + 2
    printf "\"context\":{\"page\":{\"url\":\"https://shop.example.com/products/p%d\",\"referrer\":\"https://www.google.com/search?q=x\"},", n % 100
    printf "\"userAgent\":\"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1\",\"timezone\":\"Europe/Madrid\"}}\n"
  } }' "$WORK/users.txt" >"$WORK/bodies.jsonl"
AUTH="Basic $(printf '%s:' "$WRITE_KEY" | base64 -w0)"
cat >"$WORK/decide.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "$AUTH"
-- The requests are built once, before the run, so that wrk spends its CPU on sending them:
-- it shares the two cores with the server.
local requests = {}
init = function(args)
  for body in io.lines("$WORK/bodies.jsonl") do
    requests[#requests + 1] = wrk.format(nil, "/v1/decide", nil, body)
  end
end
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
LUA
# PACE_MS > 0: each connection waits that long between requests (a paced load, below
# saturation: CONNECTIONS / PACE_MS requests per millisecond at most).
if [ "${PACE_MS:-0}" -gt 0 ]; then
  printf 'delay = function() return %d end\n' "$PACE_MS" >>"$WORK/decide.lua"
fi
echo "decide: $CONTACTS generated contacts, 100 groups, 20 personas, 50 experiences; 3 slots per request"
curl -sf -H "Authorization: $AUTH" "$URL/v1/decide" \
  -d "{\"userId\": \"$(head -1 "$WORK/users.txt")\", \"slots\": [\"slot-1\"]}" | jq -c '.decisions[0] | {slot, variation, reason}'
# INGEST_CONTACTS > 0: the traffic of that many more generated visitors is posted through
# /v1/batch while wrk runs (decisions while the writer applies a sustained ingest).
if [ "${INGEST_CONTACTS:-0}" -gt 0 ]; then
  "$BIN" gen --contacts "$INGEST_CONTACTS" --seed 8 --end "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --output "$WORK/more.jsonl" >/dev/null 2>&1
  ( "$BIN" import activities "$WORK/more.jsonl" --url "$URL" --write-key "$WRITE_KEY" \
      2>&1 | tail -1 | sed 's/^/during wrk: /' ) &
  INGEST=$!
fi
# What this script wrote (the sample, ~400 MB at 20,000 contacts; the bodies) reaches the disk
# now, not in the kernel's writeback 30 s after it was written: that is when the measured part
# begins, and on the development VM a writeback of that size stops every thread for 10-30 ms
# at a time (docs/benchmarks.md, "Stalls from the bench's own files"). The server's own
# writes (its log, its flushes) stay in the measured part.
sync
if [ -n "${RATE:-}" ]; then
  "$HTTP_RATE" --url "$URL/v1/decide" --bodies "$WORK/bodies.jsonl" \
    --rate "$RATE" --seconds "$DURATION" --warmup "${WARMUP:-2}" --connections "$CONNECTIONS" \
    --header "Authorization: $AUTH" ${TRACE:+--trace "$TRACE"}
else
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/decide.lua" "$URL" | sed -n '/Latency/,$p'
fi
if [ -n "${INGEST:-}" ]; then wait "$INGEST"; fi
