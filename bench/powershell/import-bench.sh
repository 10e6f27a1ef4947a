#!/usr/bin/env bash
# Time added to a fresh pwsh by `Import-Module out/AzMi` (and by the first token call), measured
# paired: each round starts a bare `pwsh -NoProfile -Command 'exit 0'` and, right after it, one
# pwsh per variant; a variant's cost is the median over the rounds of (variant − that round's
# bare start). Pairing cancels most of the drift of a shared machine; the CPU time (user + sys
# of the pwsh process, all its threads) is printed beside the wall time because it is less
# disturbed by other work. Prints figures; asserts nothing.
#
# Variants: AzMi (out/AzMi), AzMi + the first Get-AzMiToken, a trivial binary module with a
# manifest (one cmdlet, built here with Add-Type: what PowerShell itself takes to import any
# binary module) and, with BASELINE=<folder of another AzMi.psd1> (e.g. a build of main), that
# one too.
# Environment: RUNS (rounds, default 20), PWSH, BASELINE; AZMI_IMDS_ENDPOINT must name
# azmi-emulator (scripts/bench.sh sets it) for the first-token variant.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=../lib/bench.sh
source "$root/bench/lib/bench.sh"
bench_measure_build
pwsh="${PWSH:-$HOME/.dotnet/tools/pwsh}"
runs="${RUNS:-20}"
baseline="${BASELINE:-}"
# The first-token run must go to azmi-emulator, never to a real (or absent) IMDS.
if [ -z "${AZMI_IMDS_ENDPOINT:-}" ]; then
  echo "set AZMI_IMDS_ENDPOINT to azmi-emulator's token URL (scripts/bench.sh does)" >&2
  exit 2
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/azmi-import-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The trivial module: one compiled cmdlet, a manifest with explicit export lists.
mkdir -p "$work/Trivial"
cat >"$work/Trivial.cs" <<'CS'
using System.Management.Automation;
namespace Trivial
{
    [Cmdlet(VerbsCommon.Get, "TrivialThing")]
    public sealed class GetTrivialThingCommand : PSCmdlet
    {
        [Parameter] public string Name { get; set; }
        protected override void ProcessRecord() => WriteObject(Name);
    }
}
CS
"$pwsh" -NoProfile -NonInteractive -Command "Add-Type -Path '$work/Trivial.cs' -OutputAssembly '$work/Trivial/Trivial.dll' -OutputType Library"
cat >"$work/Trivial/Trivial.psd1" <<'PSD1'
@{
    RootModule        = 'Trivial.dll'
    ModuleVersion     = '1.0.0'
    GUID              = '0d7f6c1e-5b8a-4a52-9f3e-2c1d0b7a6e41'
    CmdletsToExport   = @('Get-TrivialThing')
    FunctionsToExport = @()
    AliasesToExport   = @()
    VariablesToExport = @()
}
PSD1

names=("Import-Module AzMi" "Import-Module AzMi + first Get-AzMiToken" "Import-Module trivial binary module")
commands=(
  "Import-Module '$root/out/AzMi/AzMi.psd1'; exit 0"
  "Import-Module '$root/out/AzMi/AzMi.psd1'; \$null = Get-AzMiToken -ResourceTypeName Arm; exit 0"
  "Import-Module '$work/Trivial/Trivial.psd1'; exit 0"
)
if [ -n "$baseline" ]; then
  names+=("Import-Module AzMi from $baseline")
  commands+=("Import-Module '$baseline/AzMi.psd1'; exit 0")
fi

# One pwsh run: prints "<wall ms> <cpu ms>" (bench/c/measure.c: wall, peak RSS, user, system).
run() {
  "$bench_measure_bin" /dev/null /dev/null -- "$pwsh" -NoProfile -NonInteractive -Command "$1" |
    awk '{ printf "%d %d\n", $1 * 1000, ($3 + $4) * 1000 }'
}
signed() { awk '{printf "%+d", $1}'; }

load_start=$(bench_loadavg)
"$pwsh" -NoProfile -NonInteractive -Command 'exit 0' >/dev/null # warm the disk cache
declare -A wall_diff cpu_diff wall_of cpu_of
bare_wall=() bare_cpu=()
over_wall="" over_cpu=""
for round in $(seq 1 "$runs"); do
  read -r bw bc < <(run 'exit 0')
  bare_wall+=("$bw"); bare_cpu+=("$bc")
  # The variants in turn, each round starting with the next one: no variant always runs right
  # after the bare start, or last.
  for k in "${!commands[@]}"; do
    i=$(((k + round) % ${#commands[@]}))
    read -r w c < <(run "${commands[$i]}")
    wall_diff[$i]+="$((w - bw)) "
    cpu_diff[$i]+="$((c - bc)) "
    wall_of[$i]=$w cpu_of[$i]=$c
  done
  # The target's figure: AzMi over the trivial module, within the round.
  over_wall+="$((wall_of[0] - wall_of[2])) " over_cpu+="$((cpu_of[0] - cpu_of[2])) "
done
load_end=$(bench_loadavg)

echo "$runs paired rounds, $(nproc) CPUs, load average $load_start at the start, $load_end at the end"
printf '%-72s %8s %8s\n' "" "wall ms" "CPU ms"
printf '%-72s %8s %8s\n' "pwsh -NoProfile -Command 'exit 0' (median)" \
  "$(printf '%s\n' "${bare_wall[@]}" | bench_median)" "$(printf '%s\n' "${bare_cpu[@]}" | bench_median)"
for i in "${!commands[@]}"; do
  printf '%-72s %8s %8s\n' "+ ${names[$i]} (median of differences)" \
    "$(tr ' ' '\n' <<<"${wall_diff[$i]}" | grep . | bench_median | signed)" "$(tr ' ' '\n' <<<"${cpu_diff[$i]}" | grep . | bench_median | signed)"
done
printf '%-72s %8s %8s\n' "Import-Module AzMi over the trivial module (median of paired differences)" \
  "$(tr ' ' '\n' <<<"$over_wall" | grep . | bench_median | signed)" "$(tr ' ' '\n' <<<"$over_cpu" | grep . | bench_median | signed)"
