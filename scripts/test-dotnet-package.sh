#!/usr/bin/env bash
# Packs the AzMi and AzMi.Azure.Core NuGet packages (scripts/pack-dotnet.sh) into out/packages/nuget
# and runs tests/dotnet/AzMi.Package.Tests, which restores them from that local feed only (its
# nuget.config) and runs the tutorial flows against azmi-emulator and Azurite. Ends with the
# line "dotnet AzMi.Package.Tests: N passed, M failed".
# Environment: AZMI_NATIVE_LIB and AZMI_EMULATOR (full paths) override the artifacts tested;
# AZMI_PACKAGE_VERSION the version packed (default: Cargo.toml's).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# shellcheck source=lib/dotnet-test.sh
source "$root/scripts/lib/dotnet-test.sh"
azmi_release_artifacts

version="${AZMI_PACKAGE_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)}"
export AZMI_PACKAGE_VERSION="$version"
bash "$root/scripts/pack-dotnet.sh"

# NuGet never looks at a feed again for a version it has in its global packages folder: drop
# this version of our own packages from it, so the tests get what was just packed.
packages_cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
rm -rf "$packages_cache/azmi/$version" "$packages_cache/azmi.azure.core/$version"

project=AzMi.Package.Tests
csproj="$root/tests/dotnet/$project/$project.csproj"
results="$root/tests/dotnet/TestResults"
mkdir -p "$results"
rm -f "$results/$project.trx"

echo
echo "==== dotnet test $project (AzMi $version from out/packages/nuget) ===="
rc=0
dotnet restore "$csproj" --force "-p:AzMiPackageVersion=$version" || rc=$?
if [ "$rc" -eq 0 ]; then
  dotnet test "$csproj" --configuration Release --no-restore "-p:AzMiPackageVersion=$version" \
    --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=$project.trx" \
    --results-directory "$results" || rc=$?
fi

failed=0
line="$(dotnet_result_line "$project" "$results/$project.trx" "$rc")" || failed=1
echo
echo "$line"
[ "$failed" -eq 0 ]
