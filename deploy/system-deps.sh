#!/usr/bin/env bash
# Debian packages the hub and its tests need: Java and Maven for Kafka from the jars, and the
# real peers of the integration tests (Mosquitto, Prometheus with promtool, Chromium and a CJK
# font for the Chinese page).
# Installs what is missing (as root, with apt-get); says what to install otherwise.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [[ "${1:-}" != "--runtime" ]]; then
  [[ -x /usr/sbin/mosquitto ]] || command -v mosquitto >/dev/null || need+=(mosquitto)
  { command -v promtool >/dev/null && command -v prometheus >/dev/null; } || need+=(prometheus)
  [[ -x /usr/bin/chromium ]] || need+=(chromium)
  # the wall screen speaks Chinese: without a CJK font the browser tests see empty boxes
  [[ -d /usr/share/fonts/opentype/noto ]] && fc-list :lang=zh | grep -q . || need+=(fonts-noto-cjk)
fi
((${#need[@]})) || exit 0
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]}" >&2
  echo "install them (Debian: sudo apt-get install -y --no-install-recommends ${need[*]})" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
# Package scripts may start system daemons; the tests start their own on loopback.
service prometheus stop >/dev/null 2>&1 || true
service mosquitto stop >/dev/null 2>&1 || true
