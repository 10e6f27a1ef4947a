#!/usr/bin/env bash
# Key Vault figures for BENCHMARKS.md (issue: Key Vault, ARM, SAS, Blob, SQL; performance
# section): the time of one secret get with a warm token cache, azmi beside Azure.Security.
# KeyVault.Secrets' SecretClient, both against azmi-emulator's Key Vault (HTTPS on loopback).
# Figures, not a test: nothing here passes or fails on a number.
#
#   - azmi-c:       bench/c/keyvault_bench.c, azmi_keyvault_get in a loop;
#   - azmi-dotnet:  bench/dotnet/keyvault (KeyVaultBench azmi), azmi_keyvault_get through
#                   DllImport from .NET, the value copied into a string;
#   - secretclient: bench/dotnet/keyvault (KeyVaultBench sdk), SecretClient.GetSecret (4.12.0)
#                   with ManagedIdentityCredential (system-assigned) from the emulator's IMDS.
#
# Each process makes WARMUP calls first (the vault's 401 challenge, the token from IMDS, the TLS
# connection; the token is then cached), then CALLS timed calls of the secret mi-test, one after
# another on one thread. Every tool runs ROUNDS times, interleaved; the table gives the median of
# the rounds for each statistic (per-call mean, median, p99).
#
# Environment (all optional): CALLS=5000 WARMUP=1000 ROUNDS=3. (.NET tiers its JIT up after 30
# calls and a 100 ms delay: the warm-up is long enough for that.)
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), a C compiler, the
# .NET 10 SDK (restores Azure.Identity 1.21.0 and Azure.Security.KeyVault.Secrets 4.12.0).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=lib/bench.sh
source "$root/bench/lib/bench.sh"
cd "$root"

calls="${CALLS:-5000}"
warmup="${WARMUP:-1000}"
rounds="${ROUNDS:-3}"
secret=mi-test

lib="$root/target/release/libazmi.so"
emulator_bin="$root/target/release/azmi-emulator"
bench_bin="$root/target/bench/keyvault_bench"
dotnet_out="$root/target/bench/dotnet-keyvault"

c_program_release
c_program_build "$root/bench/c/keyvault_bench.c" "$bench_bin" -O2
echo "building bench/dotnet/keyvault"
dotnet build -c Release -nologo -v quiet -o "$dotnet_out" "$root/bench/dotnet/keyvault/KeyVaultBench.csproj" >/dev/null

work="$(mktemp -d "${TMPDIR:-/tmp}/azmi-keyvault-bench.XXXXXX")"
emulator_pid=""
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$emulator_bin" --port 0 >"$work/emulator.log" 2>&1 &
emulator_pid=$!
emulator_wait "$work/emulator.log" AZMI_ARM_ENDPOINT || exit 2
# AZMI_IMDS_ENDPOINT, AZURE_POD_IDENTITY_AUTHORITY_HOST (read by Azure.Identity), AZMI_CA_FILE,
# AZMI_KEYVAULT_URL.
eval "$(grep '^export ' "$work/emulator.log")"
for other in IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT MSI_ENDPOINT MSI_SECRET; do
  unset "$other"
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

load_start=$(bench_loadavg)
echo "vault $AZMI_KEYVAULT_URL, $(nproc) CPUs, load average $load_start; $calls calls after $warmup warm-up calls, $rounds rounds"

run_tool() { # <tool>
  case "$1" in
    azmi-c) "$bench_bin" "$AZMI_KEYVAULT_URL" "$secret" "$calls" "$warmup" ;;
    azmi-dotnet) "$dotnet_out/KeyVaultBench" azmi "$AZMI_KEYVAULT_URL" "$secret" "$calls" "$warmup" "$lib" ;;
    secretclient) "$dotnet_out/KeyVaultBench" sdk "$AZMI_KEYVAULT_URL" "$secret" "$calls" "$warmup" "$AZMI_CA_FILE" ;;
  esac
}

tools=(azmi-c azmi-dotnet secretclient)
for round in $(seq 1 "$rounds"); do
  for tool in "${tools[@]}"; do
    line=$(run_tool "$tool")
    echo "  round $round: $line"
    echo "$line" >>"$work/results"
  done
done

label() {
  case "$1" in
    azmi-c) echo "azmi (C)" ;;
    azmi-dotnet) echo "azmi (.NET, DllImport)" ;;
    secretclient) echo "SecretClient 4.12.0" ;;
  esac
}
echo
echo "| client                    | µs/call mean | µs/call median | µs/call p99 | calls/s |"
echo "|---------------------------|-------------:|---------------:|------------:|--------:|"
for tool in "${tools[@]}"; do
  mean=$(awk -v t="$tool" '$1 == t { print $5 }' "$work/results" | bench_median)
  med=$(awk -v t="$tool" '$1 == t { print $7 }' "$work/results" | bench_median)
  p99=$(awk -v t="$tool" '$1 == t { print $9 }' "$work/results" | bench_median)
  printf '| %-25s | %12.0f | %14.0f | %11.0f | %7.0f |\n' "$(label "$tool")" "$mean" "$med" "$p99" \
    "$(awk -v m="$mean" 'BEGIN { print 1e6 / m }')"
done
echo
echo "per call: the median over $rounds rounds of each round's statistic over $calls calls (after $warmup warm-up calls)."
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(bench_loadavg)."
