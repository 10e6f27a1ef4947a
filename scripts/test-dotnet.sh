#!/usr/bin/env bash
# Runs the .NET tests against the release build of libazmi and azmi-emulator:
#   tests/dotnet/AzMi.Interop.Tests  the C ABI through DllImport, as a .NET developer uses it
#                                    (builds tests/dotnet/AzMi.SourceProbe, run in child processes)
#   tests/dotnet/AzMi.SdkPeer.Tests  Azure.Identity's ManagedIdentityCredential vs the emulator
# Builds the Rust artifacts first when they are missing. Both projects always run; the script
# fails if either fails, and ends with one "dotnet <project>: N passed, M failed" line each.
# Environment: AZMI_NATIVE_LIB and AZMI_EMULATOR (full paths) override the artifacts tested.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# shellcheck source=lib/dotnet-test.sh
source "$root/scripts/lib/dotnet-test.sh"
azmi_release_artifacts

results="$root/tests/dotnet/TestResults"
rm -rf "$results"
mkdir -p "$results"

projects=(AzMi.Interop.Tests AzMi.SdkPeer.Tests)
summaries=()
failed=0

for project in "${projects[@]}"; do
  echo
  echo "==== dotnet test $project ===="
  rc=0
  dotnet test "$root/tests/dotnet/$project/$project.csproj" \
    --configuration Release \
    --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=$project.trx" \
    --results-directory "$results" || rc=$?

  line="$(dotnet_result_line "$project" "$results/$project.trx" "$rc")" || failed=$((failed + 1))
  summaries+=("$line")
done

echo
printf '%s\n' "${summaries[@]}"
[ "$failed" -eq 0 ]
