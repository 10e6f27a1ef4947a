#!/usr/bin/env bash
# Prints the figures of BENCHMARKS.md: azmi_get_token through the C ABI (criterion), per-call
# cost in PowerShell beside a floor cmdlet, Invoke-RestMethod and Azure.Identity, a service
# cmdlet's fixed overhead, and Import-Module time.
# Everything runs against azmi-emulator on loopback. Benchmarks print; they assert nothing.
# BASELINE=<folder holding another build's AzMi.psd1> (e.g. main's out/AzMi, copied) measures
# that module too, in the same run, for before/after figures. SMOKE=1 runs everything at a smoke
# size (a few seconds each, figures meaningless): what scripts/bench-smoke.sh does in CI.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
cd "$root"
smoke="${SMOKE:-0}"
# (The smoke runs after scripts/test.sh's build stage.)
[ "$smoke" = 1 ] || bash scripts/build.sh >/dev/null
pwsh="$HOME/.dotnet/tools/pwsh"
if [ "$smoke" = 1 ]; then
  token_bench=(-Calls 50 -ServiceCalls 10 -Rounds 1)
  import_runs=1
else
  token_bench=()
  import_runs="${RUNS:-20}"
fi

echo "## azmi_get_token, warm cache, through the C ABI (cargo bench --bench token_cache)"
if [ "$smoke" = 1 ]; then
  # criterion's test mode: each benchmark runs once, in the debug build the tests already made
  # (a release build of the benches would take minutes on a new machine).
  cargo test --locked --quiet --bench token_cache 2>/dev/null | grep -E "^Testing azmi_get_token|^Success"
else
  cargo bench --locked --quiet --bench token_cache 2>/dev/null | grep -E "^azmi_get_token|time:|thrpt:"
fi

dotnet publish bench/dotnet/azure-identity -c Release -o target/bench/azure-identity >/dev/null
log="$(mktemp)"
target/release/azmi-emulator --port 0 >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log"' EXIT
emulator_wait "$log" AZMI_ARM_ENDPOINT || exit 2
# AZMI_IMDS_ENDPOINT, AZURE_POD_IDENTITY_AUTHORITY_HOST, AZMI_CA_FILE, AZMI_KEYVAULT_URL, AZMI_ARM_ENDPOINT.
eval "$(grep '^export ' "$log")"

echo
echo "## Per call in one pwsh $("$pwsh" -NoProfile -Command '$PSVersionTable.PSVersion.ToString()') process (bench/powershell/token-bench.ps1)"
"$pwsh" -NoProfile -NonInteractive -File bench/powershell/token-bench.ps1 -AzureIdentityDir "$root/target/bench/azure-identity" \
  "${token_bench[@]}"
if [ -n "${BASELINE:-}" ]; then
  "$pwsh" -NoProfile -NonInteractive -File bench/powershell/token-bench.ps1 -ModulePath "$BASELINE/AzMi.psd1" -Label baseline \
    "${token_bench[@]}"
fi

echo "## Import-Module cost (bench/powershell/import-bench.sh)"
RUNS=$import_runs bash bench/powershell/import-bench.sh
