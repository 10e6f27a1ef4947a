#!/usr/bin/env bash
# The benchmarks' CI stage (scripts/test.sh): runs every benchmark entry point at a smoke size,
# a few seconds each, and checks that it finished and printed its figures. Runs, not timed
# assertions: no figure is compared with anything. What fails here is a benchmark that no longer
# builds, starts, completes or prints its table, so that none of them rots between the runs
# that produce BENCHMARKS.md. Expects scripts/build.sh and scripts/setup.sh to have run (the
# release library, azmi-emulator, the AzMi module, Azurite, pwsh).
#
# Each run's output is kept in target/bench-smoke/<name>.log; a failure prints its end.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
logs="$root/target/bench-smoke"
mkdir -p "$logs"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

failed=0
# smoke NAME PATTERN COMMAND…: runs COMMAND; passes when it exits 0 and a line of its output
# matches the extended regular expression PATTERN (a row of its figures).
smoke() {
  local name=$1 pattern=$2 started=$SECONDS status
  shift 2
  "$@" >"$logs/$name.log" 2>&1
  status=$?
  if [ "$status" -ne 0 ]; then
    echo "FAILED  $name: exit status $status ($((SECONDS - started)) s); the end of $logs/$name.log:"
    tail -n 25 "$logs/$name.log" | sed 's/^/    /'
    failed=$((failed + 1))
  elif ! grep -Eq "$pattern" "$logs/$name.log"; then
    echo "FAILED  $name: no figures matching /$pattern/ ($((SECONDS - started)) s); the end of $logs/$name.log:"
    tail -n 25 "$logs/$name.log" | sed 's/^/    /'
    failed=$((failed + 1))
  else
    echo "ok      $name ($((SECONDS - started)) s)"
  fi
}

number='[0-9]+(\.[0-9]+)?'

# Tokens: criterion through the C ABI, the PowerShell per-call figures, Import-Module.
smoke tokens "^## Import-Module" env SMOKE=1 bash scripts/bench.sh
grep -q "^Success" "$logs/tokens.log" || {
  echo "FAILED  tokens: the criterion benchmark did not run"; failed=$((failed + 1)); }
# Blob and Data Lake transfers beside curl (Blob: also azmi's .NET package and PowerShell
# module, Azure.Storage.Blobs, and the blocks-in-flight comparison, in 4 MiB blocks). 12 MiB:
# over the 8 MiB sent from memory, so the upload is streamed from the file as large ones are.
smoke blob "^\| upload +\| +12 MiB \| +$number \| .*\| +$number %" \
  env SIZES_MIB=12 RUNS=1 CONCURRENCY="1 4" SWEEP_BLOCK=4194304 SMOKE=1 bash bench/blob-bench.sh
for client in "azmi \(\.NET package\)" "azmi \(PowerShell\)" "Azure\.Storage\.Blobs"; do
  for op in upload download; do
    grep -Eq "^\| $client +\| $op +\| +12 MiB \| +$number .*%" "$logs/blob.log" || {
      echo "FAILED  blob: no $op figures of $client"; failed=$((failed + 1)); }
  done
done
grep -Eq "^\| download +\| +12 MiB .*%" "$logs/blob.log" || {
  echo "FAILED  blob: no download figures"; failed=$((failed + 1)); }
for op in upload download; do
  grep -Eq "^\| $op +\| +12 MiB \| +$number \| +[0-9]+ \| +$number \| +[0-9]+ \| +$number % \| +$number \| +$number \|$" "$logs/blob.log" || {
    echo "FAILED  blob: no $op figures beside curl, verified"; failed=$((failed + 1)); }
done
grep -Eq "^\| azmi, 4 in flight +\| upload +\| +12 MiB \| +$number .*%" "$logs/blob.log" || {
  echo "FAILED  blob: no figures of blocks in flight"; failed=$((failed + 1)); }
# (12 MiB: one streamed Gen2 append, three Gen1 requests.)
smoke adls "^\| Gen1 download 12 MiB +\| +$number \|" \
  env SIZES_MIB=12 RUNS=1 ENTRIES=50 POPULATE_THREADS=2 bash bench/adls-bench.sh
grep -Eq "^\| Gen2 list 50 entries +\| +$number" "$logs/adls.log" || {
  echo "FAILED  adls: no listing figures"; failed=$((failed + 1)); }
grep -Eq "^\| Gen2 download 12 MiB beside curl \+ fsync +\| +$number \|.*\| +$number %" "$logs/adls.log" || {
  echo "FAILED  adls: no figures beside curl + fsync"; failed=$((failed + 1)); }
# Key Vault per call beside SecretClient.
smoke keyvault "^\| SecretClient .*\| +$number \|$" \
  env CALLS=50 WARMUP=20 ROUNDS=1 bash bench/keyvault-bench.sh
# Key Vault and a warm token direct, through tinyproxy and sent direct by NO_PROXY.
smoke proxy "^\| through tinyproxy \(CONNECT\) +\| +$number \|" \
  env CALLS=50 WARMUP=10 ROUNDS=1 bash bench/proxy-bench.sh
# Cold tokens per managed identity source, detection cost.
smoke sources "^\| workload_identity \| +$number" \
  env TOKENS=5 DETECTS=20 ROUNDS=1 bash bench/sources-bench.sh
# The soak, briefly: its checks of right answers and single flight still hold; the budget and
# RSS tolerance are the long run's, so they are opened up here.
smoke soak "^SOAK PASSED" \
  env SECONDS_TO_RUN=6 THREADS=8 WINDOW=3 WARMUP=2 BUDGET_MS=60000 RSS_TOLERANCE_KIB=1048576 bash bench/soak.sh

echo "bench smoke: $failed failed"
[ "$failed" -eq 0 ]
