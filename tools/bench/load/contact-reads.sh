#!/usr/bin/env bash
# Reads of a contact with its newest activities (GET /api/contacts/ID?activities=N) over one
# keep-alive connection: the mean time per request, cold (the OS's page cache dropped, when
# run as root) then warm. For comparing store layouts on the same data directory, e.g. one
# filled by `segmenta import activities` (docs/benchmarks.md).
# Usage: tools/bench/load/contact-reads.sh BINARY DATA_DIR [REQUESTS] [ACTIVITIES]
#   REQUESTS (default 1000) contacts, ids 1000, 1037, 1074, ...; ACTIVITIES default 100.
set -euo pipefail
BIN="$1"
DATA="$2"
REQUESTS="${3:-1000}"
ACTIVITIES="${4:-100}"
OUT=$(mktemp -d)
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$OUT"' EXIT

TOKEN=$("$BIN" --data-dir "$DATA" keys create --kind read --name bench-contact-reads 2>/dev/null)
"$BIN" --data-dir "$DATA" serve --port 0 >"$OUT/serve.out" 2>"$OUT/serve.log" &
SERVER=$!
for _ in $(seq 1 300); do
  grep -q 'listening on' "$OUT/serve.out" 2>/dev/null && break
  sleep 0.1
done
URL=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$OUT/serve.out")
[ -n "$URL" ] || { echo "server did not start:"; cat "$OUT/serve.log"; exit 1; }

args=()
for i in $(seq 0 $((REQUESTS - 1))); do
  args+=(-o /dev/null "$URL/api/contacts/$((1000 + 37 * i))?activities=$ACTIVITIES")
done
sync
[ "$(id -u)" = 0 ] && echo 3 >/proc/sys/vm/drop_caches
for pass in cold warm; do
  curl -s -H "Authorization: Bearer $TOKEN" -w '%{http_code} %{time_total} %{size_download}\n' \
    "${args[@]}" >"$OUT/$pass"
  awk -v pass="$pass" '{ n++; t += $2; b += $3; if ($1 != 200) bad++ }
    END { printf "%s: %d requests, %d not 200, mean %.3f ms, %.0f bytes each\n",
          pass, n, bad, 1000 * t / n, b / n }' "$OUT/$pass"
done
