#!/usr/bin/env bash
# The main job: builds azmi, starts azmi-emulator (an offline stand-in for an Azure VM's
# managed identity endpoint and the services it reaches) and runs the tutorials' flows from
# PowerShell: tokens, Data Lake Storage Gen1 and Gen2, Key Vault, Resource Manager and SAS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/build.sh

log="$(mktemp)"
target/release/azmi-emulator --port 0 >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^export AZMI_IMDS_ENDPOINT=' "$log" && break
  sleep 0.1
done
for _ in $(seq 1 100); do
  grep -q '^export AZMI_ARM_ENDPOINT=' "$log" && break
  sleep 0.1
done
cat "$log"
value() { sed -n "s/^export $1=//p" "$log"; }
export AZMI_IMDS_ENDPOINT="$(value AZMI_IMDS_ENDPOINT)"
export AZMI_CA_FILE="$(value AZMI_CA_FILE)"
export AZMI_KEYVAULT_URL="$(value AZMI_KEYVAULT_URL)"
export AZMI_ARM_ENDPOINT="$(value AZMI_ARM_ENDPOINT)"
export AZMI_SERVICES_URL="$(sed -n 's/^azmi-emulator services on //p' "$log")"
[ -n "$AZMI_IMDS_ENDPOINT" ] && [ -n "$AZMI_SERVICES_URL" ] || { cat "$log" >&2; exit 1; }

pwsh="$HOME/.dotnet/tools/pwsh"
"$pwsh" -NoProfile -NonInteractive -File examples/token-flows.ps1
"$pwsh" -NoProfile -NonInteractive -File examples/service-flows.ps1
