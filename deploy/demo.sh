#!/usr/bin/env bash
# The demo: a local Kafka from the jars, the hub's topics, a correlation worker, the simulated
# city feeding the hub, the control view, Prometheus (when installed), and the alerts printed
# as they arrive. Ctrl-C stops it all.
#
#   ONENET_DEMO_TIME_SCALE  simulated seconds per wall second (default 1440: a day a minute,
#                           so overdue inspections and SLA breaches show within minutes)
#   ONENET_DEMO_RATE        simulator events per second (default 20)
#   ONENET_DEMO_SECONDS     stop by itself after this many seconds (default: run until Ctrl-C)
set -euo pipefail
cd "$(dirname "$0")/.."
state="${ONENET_STATE_DIR:-.onenet}"
mkdir -p "$state/demo"
logs="$state/demo"
worker_port="${ONENET_DEMO_WORKER_PORT:-6066}"
sim_port="${ONENET_DEMO_CONNECTOR_PORT:-9401}"
view_port="${ONENET_DEMO_VIEW_PORT:-8080}"
prom_port="${ONENET_DEMO_PROMETHEUS_PORT:-9090}"
pids=()

say() { printf '\033[1m%s\033[0m\n' "$*" >&2; }
cleanup() {
  trap - EXIT INT TERM
  say "stopping the demo..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "${started_broker:-}" && -z "${ONENET_DEMO_KEEP_BROKER:-}" ]]; then
    onenet broker stop >/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  onenet broker start >/dev/null
  started_broker=1
fi
onenet topics create

onenet worker --metrics-port "$worker_port" >"$logs/worker.log" 2>&1 &
pids+=($!)

# A fresh operator token for this demo; only its hash is written to disk.
token="demo-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
onenet view --hash-token "$token" --name "Duty officer (demo)" --role operator >"$logs/tokens.toml"
onenet view --port "$view_port" --tokens-file "$logs/tokens.toml" >"$logs/view.log" 2>&1 &
pids+=($!)

onenet connector run simulator --reset-checkpoint \
  --time-scale "${ONENET_DEMO_TIME_SCALE:-1440}" --rate "${ONENET_DEMO_RATE:-20}" \
  --metrics-port "$sim_port" >"$logs/simulator.log" 2>&1 &
pids+=($!)

if command -v prometheus >/dev/null; then
  mkdir -p "$state/prometheus"
  prometheus --config.file=deploy/prometheus/prometheus.yml \
    --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.path="$state/prometheus" \
    >"$logs/prometheus.log" 2>&1 &
  pids+=($!)
  prom_line="Prometheus:   http://127.0.0.1:$prom_port  (targets: deploy/prometheus/targets)"
else
  prom_line="Prometheus:   not installed (apt-get install prometheus), skipped"
fi

say ""
say "OneNet Hub demo is running"
say "Control view: http://127.0.0.1:$view_port   sign in with the token: $token"
say "$prom_line"
say "Metrics:      worker http://127.0.0.1:$worker_port/metrics, simulator http://127.0.0.1:$sim_port/metrics"
say "Logs:         $logs/"
say "Alerts as they arrive (Ctrl-C to stop):"
say ""
if [[ -n "${ONENET_DEMO_SECONDS:-}" ]]; then
  timeout --signal=INT "$ONENET_DEMO_SECONDS" onenet alerts tail || true
else
  onenet alerts tail
fi
