#!/usr/bin/env bash
# Prints the figures of BENCHMARKS.md: azmi_get_token through the C ABI (criterion), per-call
# cost in PowerShell beside a floor cmdlet, Invoke-RestMethod and Azure.Identity, a service
# cmdlet's fixed overhead, and Import-Module time.
# Everything runs against azmi-emulator on loopback. Benchmarks print; they assert nothing.
# BASELINE=<folder holding another build's AzMi.psd1> (e.g. main's out/AzMi, copied) measures
# that module too, in the same run, for before/after figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
cd "$root"
bash scripts/build.sh >/dev/null
pwsh="$HOME/.dotnet/tools/pwsh"

echo "## azmi_get_token, warm cache, through the C ABI (cargo bench --bench token_cache)"
cargo bench --quiet --bench token_cache 2>/dev/null | grep -E "^azmi_get_token|time:|thrpt:"

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
"$pwsh" -NoProfile -NonInteractive -File bench/powershell/token-bench.ps1 -AzureIdentityDir "$root/target/bench/azure-identity"
if [ -n "${BASELINE:-}" ]; then
  "$pwsh" -NoProfile -NonInteractive -File bench/powershell/token-bench.ps1 -ModulePath "$BASELINE/AzMi.psd1" -Label baseline
fi

echo "## Import-Module cost (bench/powershell/import-bench.sh)"
bash bench/powershell/import-bench.sh
