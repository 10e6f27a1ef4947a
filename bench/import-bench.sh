#!/usr/bin/env bash
# Time added to a fresh pwsh by `Import-Module out/AzMi` (and by the first token call), beside
# pwsh's own start-up. Prints medians of N runs; asserts nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pwsh="${PWSH:-$HOME/.dotnet/tools/pwsh}"
runs="${RUNS:-15}"
# The first-token run must go to azmi-emulator, never to a real (or absent) IMDS.
if [ -z "${AZMI_IMDS_ENDPOINT:-}" ]; then
  echo "set AZMI_IMDS_ENDPOINT to azmi-emulator's token URL (scripts/bench.sh does)" >&2
  exit 2
fi
median_ms() {
  local cmd=$1 times=() i start end
  for i in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$pwsh" -NoProfile -NonInteractive -Command "$cmd" >/dev/null
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
base=$(median_ms 'exit 0')
import=$(median_ms "Import-Module '$root/out/AzMi/AzMi.psd1'; exit 0")
first=$(median_ms "Import-Module '$root/out/AzMi/AzMi.psd1'; \$null = Get-AzMiToken -ResourceTypeName Arm; exit 0")
echo "pwsh start-up (median of $runs):                 ${base} ms"
echo "pwsh + Import-Module AzMi:                        ${import} ms  (+$((import - base)) ms)"
echo "pwsh + Import-Module AzMi + first Get-AzMiToken:  ${first} ms  (+$((first - base)) ms)"
