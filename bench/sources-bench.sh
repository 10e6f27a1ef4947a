#!/usr/bin/env bash
# Managed identity source figures for BENCHMARKS.md (issue 9, performance): the time of one cold
# token (AZMI_FLAG_FORCE_REFRESH: a request to the source every time) per source, through the C
# ABI, against azmi-emulator started with `--source`; and what detecting the source costs the
# first azmi_identity_new of a process, with no source variable set and with App Service's
# IDENTITY_ENDPOINT + IDENTITY_HEADER set. Figures, not a test: nothing here passes or fails on
# a number.
#
#   - tokens: bench/c/sources_bench.c `tokens N`, one process per source and round, with only
#     that source's variables (as tests/c/run.sh sets them), one warm-up token, then N timed;
#   - detect: bench/c/sources_bench.c `detect N`, the first azmi_identity_new of a fresh process
#     and the mean of N more, ROUNDS processes per case (the table gives the medians).
#
# Environment (all optional): TOKENS=200 DETECTS=1000 ROUNDS=3.
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), a C compiler.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=lib/bench.sh
source "$root/bench/lib/bench.sh"
cd "$root"

tokens="${TOKENS:-200}"
detects="${DETECTS:-1000}"
rounds="${ROUNDS:-3}"

emulator_bin="$root/target/release/azmi-emulator"
bench_bin="$root/target/bench/sources_bench"

c_program_release
c_program_build "$root/bench/c/sources_bench.c" "$bench_bin" -O2

work="$(mktemp -d "${TMPDIR:-/tmp}/azmi-sources-bench.XXXXXX")"
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Every variable that selects a source: unset for each run, so only the chosen ones count.
source_vars=(AZMI_IMDS_ENDPOINT AZURE_POD_IDENTITY_AUTHORITY_HOST IDENTITY_ENDPOINT IDENTITY_HEADER
  IDENTITY_SERVER_THUMBPRINT MSI_ENDPOINT MSI_SECRET DEFAULT_IDENTITY_CLIENT_ID IMDS_ENDPOINT
  AZURE_FEDERATED_TOKEN_FILE AZURE_CLIENT_ID AZURE_TENANT_ID AZURE_AUTHORITY_HOST
  AZMI_ARC_TOKENS_DIR AZMI_CA_FILE)
unset_args=()
for v in "${source_vars[@]}"; do unset_args+=(-u "$v"); done


echo "load average: $(bench_loadavg)"
printf '| source | cold token mean (µs) | median (µs) | p99 (µs) |\n|---|---|---|---|\n'
for source in imds app-service azure-ml cloud-shell arc service-fabric workload-identity; do
  log="$work/emulator-$source.log"
  "$emulator_bin" --port 0 --source "$source" >"$log" 2>&1 &
  emulator_pid=$!
  emulator_wait "$log" "$(emulator_source_last "$source")" 60 || exit 2
  vars=()
  while IFS= read -r line; do vars+=("$line"); done < <(emulator_source_env "$log" "$source")
  : >"$work/rounds"
  for _ in $(seq 1 "$rounds"); do
    env "${unset_args[@]}" "${vars[@]}" "$bench_bin" tokens "$tokens" >>"$work/rounds"
  done
  id=$(awk 'NR==1 {print $1}' "$work/rounds")
  printf '| %s | %s | %s | %s |\n' "$id" \
    "$(awk '{print $4}' "$work/rounds" | bench_median)" \
    "$(awk '{print $5}' "$work/rounds" | bench_median)" \
    "$(awk '{print $6}' "$work/rounds" | bench_median)"
  kill "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  emulator_pid=""
done

echo
printf '| detection | first azmi_identity_new (µs) | mean of %s more (µs) |\n|---|---|---|\n' "$detects"
detect_case() {
  local label=$1
  shift
  : >"$work/detect"
  for _ in $(seq 1 "$rounds"); do
    env "${unset_args[@]}" "$@" "$bench_bin" detect "$detects" >>"$work/detect"
  done
  printf '| %s | %s | %s |\n' "$label" \
    "$(awk '{print $3}' "$work/detect" | bench_median)" \
    "$(awk '{print $4}' "$work/detect" | bench_median)"
}
detect_case "no source variable (IMDS)"
detect_case "IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service)" \
  IDENTITY_ENDPOINT=http://127.0.0.1:9/msi/token IDENTITY_HEADER=bench-header
