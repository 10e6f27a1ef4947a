#!/usr/bin/env bash
# Packs the .NET packages into out/packages/nuget/ (a local NuGet feed):
#   AzMi             dotnet/AzMi: the typed API, netstandard2.0 + net8.0, with the native
#                    library under runtimes/linux-x64/native/libazmi.so
#   AzMi.Azure.Core  dotnet/AzMi.Azure.Core: AzMiCredential (an Azure.Core TokenCredential)
# Version: Cargo.toml's workspace version, unless AZMI_PACKAGE_VERSION is set (e.g. a
# prerelease such as 0.1.0-ci.42). Builds the release library first when it is missing.
# Environment:
#   AZMI_NATIVE_LIB         the linux-x64 library to pack (default target/release/libazmi.so)
#   AZMI_NATIVE_RUNTIMES    optional folder holding <rid>/native/<file> for other platforms
#                           (win-x64/native/azmi.dll, osx-arm64/native/libazmi.dylib, …), packed as is
#   AZMI_PACKAGES_DIR       output folder (default out/packages/nuget)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
native="${AZMI_NATIVE_LIB:-$target_dir/release/libazmi.so}"
out="${AZMI_PACKAGES_DIR:-$root/out/packages/nuget}"
case "$out" in /*) ;; *) out="$root/$out" ;; esac

version="${AZMI_PACKAGE_VERSION:-}"
if [ -z "$version" ]; then
  # The first `version = "…"` of Cargo.toml is [workspace.package]'s, which every crate uses.
  version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
fi
[ -n "$version" ] || { echo "error: no version in Cargo.toml" >&2; exit 1; }

if [ ! -f "$native" ]; then
  if [ -n "${AZMI_NATIVE_LIB:-}" ]; then
    echo "error: AZMI_NATIVE_LIB=$native does not exist" >&2
    exit 1
  fi
  echo "building the release library (missing: $native)"
  cargo build --release -p azmi
fi

mkdir -p "$out"
props=(-c Release -o "$out" "-p:Version=$version" "-p:AzMiNativeLib=$native")
if [ -n "${AZMI_NATIVE_RUNTIMES:-}" ]; then
  props+=("-p:AzMiNativeRuntimesDir=$(cd "$AZMI_NATIVE_RUNTIMES" && pwd)")
fi

for project in AzMi AzMi.Azure.Core; do
  echo "==== dotnet pack $project $version ===="
  dotnet pack "dotnet/$project/$project.csproj" "${props[@]}" --nologo -v quiet
done

# The package is useless without its native library: check it is where the runtime looks.
package="$out/AzMi.$version.nupkg"
# (python3's zipfile, not unzip: a new machine has python3 but not always unzip.)
if ! python3 -c 'import sys, zipfile; sys.exit(sys.argv[2] not in zipfile.ZipFile(sys.argv[1]).namelist())' \
  "$package" runtimes/linux-x64/native/libazmi.so; then
  echo "error: $package has no runtimes/linux-x64/native/libazmi.so" >&2
  exit 1
fi
echo "packed $package and $out/AzMi.Azure.Core.$version.nupkg"
