#!/usr/bin/env bash
# The main job: builds azmi, starts azmi-emulator (an offline stand-in for an Azure VM's
# managed identity endpoint and the services it reaches) and runs the tutorials' flows from
# PowerShell: tokens, Data Lake Storage Gen1 and Gen2, Key Vault, Resource Manager and SAS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh

log="$(mktemp)"
target/release/azmi-emulator --port 0 >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log"' EXIT
emulator_wait "$log" AZMI_ARM_ENDPOINT || exit 1
cat "$log"
export AZMI_IMDS_ENDPOINT="$(emulator_value "$log" AZMI_IMDS_ENDPOINT)"
export AZMI_CA_FILE="$(emulator_value "$log" AZMI_CA_FILE)"
export AZMI_KEYVAULT_URL="$(emulator_value "$log" AZMI_KEYVAULT_URL)"
export AZMI_ARM_ENDPOINT="$(emulator_value "$log" AZMI_ARM_ENDPOINT)"
export AZMI_SERVICES_URL="$(emulator_services_url "$log")"

pwsh="$HOME/.dotnet/tools/pwsh"
"$pwsh" -NoProfile -NonInteractive -File examples/token-flows.ps1
"$pwsh" -NoProfile -NonInteractive -File examples/service-flows.ps1
