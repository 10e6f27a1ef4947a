#!/usr/bin/env bash
# Soak test for BENCHMARKS.md (issue 11, "Soak"): a bounded load test that stops by itself.
# Builds bench/c/soak.c against include/azmi.h and target/release/libazmi.so, starts
# azmi-emulator with tokens that go stale in the cache every WINDOW seconds (token lifetime
# 300 + WINDOW: azmi serves a cached token until 5 minutes before it expires), and runs THREADS
# threads calling azmi_get_token and azmi_keyvault_get for SECONDS seconds while the soak
# program keeps re-arming the emulator's fault queues (429 with Retry-After, 5xx, dropped
# connections, slow answers). Prints the figures and the checks; exits non-zero when one fails
# (wrong result, error, call over budget, RSS growth, more tokens than refresh windows).
# Takes minutes: not part of scripts/test.sh (tests/soak_smoke.rs is the quick version).
#
# Environment (all optional): SECONDS_TO_RUN=120 THREADS=32 WINDOW=5 BUDGET_MS=10000
# INITIAL_DELAY_MS=200 WARMUP=20 RSS_TOLERANCE_KIB=4096 TOKEN_THINK_US=1000 KV_THINK_US=20000
# FAULTS=1 SEED=1. GLIBC_TUNABLES=glibc.malloc.tcache_count=0 makes the "heap in use" figure
# count live allocations only (glibc counts its per-thread caches as in use).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=lib/bench.sh
source "$root/bench/lib/bench.sh"
cd "$root"

seconds="${SECONDS_TO_RUN:-120}"
threads="${THREADS:-32}"
window="${WINDOW:-5}"

emulator_bin="$root/target/release/azmi-emulator"
soak_bin="$root/target/bench/soak"

c_program_release
c_program_build "$root/bench/c/soak.c" "$soak_bin" -O2

work="$(mktemp -d "${TMPDIR:-/tmp}/azmi-soak.XXXXXX")"
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$emulator_bin" --port 0 --token-lifetime $((300 + window)) >"$work/emulator.log" 2>&1 &
emulator_pid=$!
emulator_wait "$work/emulator.log" AZMI_ARM_ENDPOINT || exit 2
# AZMI_IMDS_ENDPOINT, AZMI_CA_FILE, AZMI_KEYVAULT_URL (and others the soak does not use).
eval "$(grep '^export ' "$work/emulator.log")"
for other in IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT MSI_ENDPOINT MSI_SECRET; do
  unset "$other"
done

emulator_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$emulator_pid/status" 2>/dev/null || echo "?"; }
echo "date $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; load average $(bench_loadavg) at the start"
echo "azmi-emulator --token-lifetime $((300 + window)); emulator RSS $(emulator_rss) KiB at the start"

# The emulator's RSS, sampled beside the soak's own.
( while kill -0 "$emulator_pid" 2>/dev/null; do emulator_rss >>"$work/emulator-rss"; sleep 5; done ) &
sampler=$!

status=0
"$soak_bin" --vault "$AZMI_KEYVAULT_URL" --seconds "$seconds" --threads "$threads" --window "$window" \
  --budget-ms "${BUDGET_MS:-10000}" --initial-delay-ms "${INITIAL_DELAY_MS:-200}" --warmup "${WARMUP:-20}" \
  --rss-tolerance-kib "${RSS_TOLERANCE_KIB:-4096}" --token-think-us "${TOKEN_THINK_US:-1000}" \
  --kv-think-us "${KV_THINK_US:-20000}" --faults "${FAULTS:-1}" --seed "${SEED:-1}" || status=$?

kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo
echo "azmi-emulator RSS every 5 s (KiB): $(tr '\n' ' ' <"$work/emulator-rss")"
echo "load average $(bench_loadavg) at the end"
exit "$status"
