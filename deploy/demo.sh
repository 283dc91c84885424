#!/usr/bin/env bash
# The demo: a local Kafka from the jars, the hub's topics, a correlation worker, a sample of
# city events (times moved to now), and the alerts printed as they arrive. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
state="${ONENET_STATE_DIR:-.onenet}"
mkdir -p "$state"

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  onenet broker start
  started_broker=1
fi
onenet topics create

onenet worker --metrics-port 0 >"$state/worker.log" 2>&1 &
worker=$!
cleanup() {
  kill "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
  if [[ -n "${started_broker:-}" && -z "${ONENET_DEMO_KEEP_BROKER:-}" ]]; then
    onenet broker stop || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "worker started (pid $worker, log $state/worker.log); publishing the sample city feed..." >&2
onenet publish --rebase-time samples/city-sample.jsonl
echo "alerts as they arrive (Ctrl-C to stop):" >&2
onenet alerts tail --from-beginning ${ONENET_DEMO_TAIL_ARGS:-}
