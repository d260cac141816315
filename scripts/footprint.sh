#!/usr/bin/env bash
# bash scripts/footprint.sh [N=10 BIN=bin/conveyor BASE_PORT=...]
# Footprint figures of the CLI as bin/conveyor runs it: --help wall time (p50 of N), idle RSS of a
# router and a sidecar (after 5 s; children such as an esbuild service counted apart), and
# exec -> health SERVING of a sidecar (p50 of N), polled with grpcurl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${N:-10}
GRPCURL=${GRPCURL:-${CONVEYOR_CACHE:-$HOME/.cache/conveyor}/bin/grpcurl}
BIN=${BIN:-bin/conveyor}
base=${BASE_PORT:-$((30000 + RANDOM % 20000))}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
now_ms() { date +%s%3N; }
p50() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
children_rss_kib() { local s=0; for c in $(pgrep -P "$1" || true); do s=$((s + $(rss_kib "$c"))); done; echo $s; }

for _ in $(seq "$N"); do
  t0=$(now_ms); "$BIN" --help >/dev/null; echo $(($(now_ms) - t0))
done | p50 | xargs printf 'help_ms_p50 %s\n'

"$BIN" router --host 127.0.0.1 --port $base --metrics-port 0 --store memory >"$tmp/router.log" 2>&1 &
router=$!; pids+=($router)
until "$GRPCURL" -plaintext -max-time 1 127.0.0.1:$base grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING; do sleep 0.1; done

sidecar_args=(sidecar --sidecar-id fp --pod-name pod-fp --cluster-endpoint 127.0.0.1:$base --grpc-host 127.0.0.1
  --discovery-host 127.0.0.1 --discovery-start-port $((base + 50)) --discovery-end-port $((base + 51)) --metrics-port 0)
serve_ms() {
  local port=$1 t0
  t0=$(now_ms)
  "$BIN" "${sidecar_args[@]}" --grpc-port "$port" >"$tmp/sidecar-$port.log" 2>&1 &
  local pid=$!
  until "$GRPCURL" -plaintext -max-time 1 127.0.0.1:"$port" grpc.health.v1.Health/Check 2>/dev/null | grep -q SERVING; do
    kill -0 "$pid" 2>/dev/null || { echo "footprint: sidecar on port $port exited:" >&2; tail -3 "$tmp/sidecar-$port.log" >&2; exit 1; }
    sleep 0.01
  done
  echo $(($(now_ms) - t0))
  echo "$pid" >"$tmp/last-pid"
}
serve_ms $((base + 1)) >/dev/null
sidecar=$(cat "$tmp/last-pid"); pids+=($sidecar)
sleep 5
printf 'router_idle_rss_mib %s (children %s)\n' $(($(rss_kib $router) / 1024)) $(($(children_rss_kib $router) / 1024))
printf 'sidecar_idle_rss_mib %s (children %s, hwm %s)\n' $(($(rss_kib $sidecar) / 1024)) \
  $(($(children_rss_kib $sidecar) / 1024)) $(($(hwm_kib $sidecar) / 1024))
kill $sidecar; wait $sidecar 2>/dev/null || true

for i in $(seq "$N"); do
  port=$((base + 1 + i))
  serve_ms $port
  p=$(cat "$tmp/last-pid"); kill "$p"; wait "$p" 2>/dev/null || true
done | p50 | xargs printf 'sidecar_exec_to_serving_ms_p50 %s\n'
