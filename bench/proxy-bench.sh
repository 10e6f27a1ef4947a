#!/usr/bin/env bash
# Proxy figures for BENCHMARKS.md (issue 15): a warm token and a Key Vault secret get per call,
# direct and through a proxy, side by side in one run, against azmi-emulator (Key Vault over
# HTTPS on loopback) and Debian's tinyproxy on a free loopback port. Figures, not a test.
#
#   - direct:   azmi_set_proxy("") (no proxy);
#   - proxy:    azmi_set_proxy(<tinyproxy>): Key Vault through a CONNECT tunnel (kept alive and
#               reused, as a direct connection is); the token still direct (never proxied);
#   - bypassed: azmi_set_proxy(<tinyproxy>, <a 12-entry NO_PROXY list ending in 127.0.0.1>):
#               direct again, but every request decides its way through the list, which shows
#               what deciding costs per call.
#
# Each process makes WARMUP calls of each kind first, then CALLS timed calls; the three run
# interleaved, ROUNDS rounds; the table gives the median over the rounds of each statistic.
# cargo bench --bench proxy_route times the decision alone.
#
# Environment (all optional): CALLS=5000 WARMUP=500 ROUNDS=3.
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), a C compiler,
# tinyproxy (scripts/setup.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../scripts/lib/tinyproxy.sh
source "$root/scripts/lib/tinyproxy.sh"
# shellcheck source=../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=lib/bench.sh
source "$root/bench/lib/bench.sh"
cd "$root"

calls="${CALLS:-5000}"
warmup="${WARMUP:-500}"
rounds="${ROUNDS:-3}"

command -v tinyproxy >/dev/null || { echo "tinyproxy is not installed: run scripts/setup.sh" >&2; exit 2; }
emulator_bin="$root/target/release/azmi-emulator"
bench_bin="$root/target/bench/proxy_bench"
c_program_release
c_program_build "$root/bench/c/proxy_bench.c" "$bench_bin" -O2

work="$(mktemp -d "${TMPDIR:-/tmp}/azmi-proxy-bench.XXXXXX")"
emulator_pid=""
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  tinyproxy_stop
  rm -rf "$work"
}
trap cleanup EXIT

"$emulator_bin" --port 0 >"$work/emulator.log" 2>&1 &
emulator_pid=$!
emulator_wait "$work/emulator.log" AZMI_ARM_ENDPOINT || exit 2
eval "$(grep '^export ' "$work/emulator.log")"
for other in IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT MSI_ENDPOINT MSI_SECRET \
  https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY; do
  unset "$other"
done

tinyproxy_start "$work/tinyproxy" || exit 2
proxy="http://127.0.0.1:$tinyproxy_port"
no_proxy="localhost,.corp.example,.internal.example,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fd00::/8,.svc.cluster.local,metadata.internal,.local,::1,127.0.0.1"

load_start=$(bench_loadavg)
echo "vault $AZMI_KEYVAULT_URL, proxy $proxy (tinyproxy $(tinyproxy -v | awk '{print $2}')), $(nproc) CPUs, load average $load_start"
echo "$calls calls of each kind after $warmup warm-up calls, $rounds rounds"

run() { # <label>
  case "$1" in
    direct) "$bench_bin" direct "$AZMI_KEYVAULT_URL" "" "" "$calls" "$warmup" ;;
    proxy) "$bench_bin" proxy "$AZMI_KEYVAULT_URL" "$proxy" "" "$calls" "$warmup" ;;
    bypassed) "$bench_bin" bypassed "$AZMI_KEYVAULT_URL" "$proxy" "$no_proxy" "$calls" "$warmup" ;;
  esac
}
labels=(direct proxy bypassed)
for round in $(seq 1 "$rounds"); do
  for label in "${labels[@]}"; do
    line=$(run "$label")
    echo "  round $round: $line"
    echo "$line" >>"$work/results"
  done
done

column() { awk -v l="$1" -v c="$2" '$1 == l { print $c }' "$work/results" | bench_median; }
echo
echo "| way                                 | token µs mean | token µs p99 | Key Vault µs mean | median |   p99 |"
echo "|-------------------------------------|--------------:|-------------:|------------------:|-------:|------:|"
for label in "${labels[@]}"; do
  case "$label" in
    direct) name="direct (no proxy)" ;;
    proxy) name="through tinyproxy (CONNECT)" ;;
    bypassed) name="proxy set, NO_PROXY sends it direct" ;;
  esac
  printf '| %-35s | %13.2f | %12.2f | %17.0f | %6.0f | %5.0f |\n' "$name" \
    "$(column "$label" 4)" "$(column "$label" 6)" "$(column "$label" 9)" "$(column "$label" 11)" "$(column "$label" 13)"
done
echo
echo "per call: the median over $rounds rounds of each round's statistic over $calls calls."
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(bench_loadavg)."
