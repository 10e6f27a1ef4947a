#!/usr/bin/env bash
# Packs the .NET packages into out/packages/nuget/ (a local NuGet feed):
#   AzMi             dotnet/AzMi: the typed API, netstandard2.0 + net8.0, with the native
#                    library under runtimes/linux-x64/native/libazmi.so
#   AzMi.Azure.Core  dotnet/AzMi.Azure.Core: AzMiCredential (an Azure.Core TokenCredential)
# Version: Cargo.toml's workspace version, unless AZMI_PACKAGE_VERSION is set (e.g. a
# prerelease such as 0.1.0-ci.42). Builds the release library first when it is missing.
# Environment:
#   AZMI_NATIVE_LIB         the linux-x64 library to pack (default target/release/libazmi.so)
#   AZMI_NATIVE_RUNTIMES    folder holding <rid>/native/<file> for other platforms
#                           (win-x64/native/libazmi.dll, linux-arm64/native/libazmi.so, …), packed as
#                           is; by default the other platforms' libraries of out/AzMi/runtimes
#                           (scripts/build-cross.sh puts them there)
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
runtimes="${AZMI_NATIVE_RUNTIMES:-}"
if [ -z "$runtimes" ] && compgen -G "$root/out/AzMi/runtimes/*/native/*" >/dev/null; then
  # The module's other platforms (linux-x64 is AZMI_NATIVE_LIB's), staged without it.
  runtimes="$root/out/dotnet-runtimes"
  rm -rf "$runtimes"
  mkdir -p "$runtimes" # (empty when linux-x64 is the only one: no cross build)
  for dir in "$root"/out/AzMi/runtimes/*/; do
    rid="$(basename "$dir")"
    [ "$rid" = linux-x64 ] && continue
    mkdir -p "$runtimes/$rid"
    cp -r "$dir/native" "$runtimes/$rid/"
  done
fi
if [ -n "$runtimes" ]; then
  props+=("-p:AzMiNativeRuntimesDir=$(cd "$runtimes" && pwd)")
fi

for project in AzMi AzMi.Azure.Core; do
  echo "==== dotnet pack $project $version ===="
  dotnet pack "dotnet/$project/$project.csproj" "${props[@]}" --nologo -v quiet
done

# The package is useless without its native library: check it is where the runtime looks.
package="$out/AzMi.$version.nupkg"
# (python3's zipfile, not unzip: a new machine has python3 but not always unzip.)
expected=(runtimes/linux-x64/native/libazmi.so)
if [ -n "$runtimes" ]; then
  while IFS= read -r file; do expected+=("runtimes/${file#"$runtimes"/}"); done \
    < <(find "$runtimes" -path '*/native/*' -type f | sort)
fi
if ! python3 -c '
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [n for n in sys.argv[2:] if n not in names]
for n in missing:
    print(f"error: {sys.argv[1]} has no {n}", file=sys.stderr)
sys.exit(1 if missing else 0)' "$package" "${expected[@]}"; then
  exit 1
fi
echo "native libraries in the package: ${expected[*]}"
echo "packed $package and $out/AzMi.Azure.Core.$version.nupkg"
