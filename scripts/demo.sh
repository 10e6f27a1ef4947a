#!/usr/bin/env bash
# The main job: builds azmi, starts azmi-emulator (an offline stand-in for an Azure VM's
# managed identity endpoint) and runs the tutorials' token flows from PowerShell.
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
sed -n '1,3p' "$log"
export AZMI_IMDS_ENDPOINT="$(sed -n 's/^export AZMI_IMDS_ENDPOINT=//p' "$log")"
[ -n "$AZMI_IMDS_ENDPOINT" ] || { cat "$log" >&2; exit 1; }

"$HOME/.dotnet/tools/pwsh" -NoProfile -NonInteractive -File examples/token-flows.ps1
