#!/usr/bin/env bash
# Builds the AzMi PowerShell module into out/AzMi/:
#   out/AzMi/AzMi.psd1 (ModuleVersion, ProjectUri, LicenseUri and ReleaseNotes stamped from
#   Cargo.toml and CHANGELOG.md), AzMi.dll, AzMi.format.ps1xml and Format/AzMi.Format.psd1 (the
#   views, imported by the first command), en-US/AzMi.dll-Help.xml
#   out/AzMi/runtimes/<rid>/native/<libazmi.so|libazmi.dylib|libazmi.dll>
# The native library of this machine comes from target/release/ (run with --native to build it
# first). Libraries for other platforms may be dropped into out/AzMi/runtimes/<rid>/native/
# (rids: linux-x64 linux-arm64 osx-x64 osx-arm64 win-x64 win-x86 win-arm64); a rebuild keeps them.
#
# Usage: scripts/build-module.sh [--native]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

build_native=false
for arg in "$@"; do
  case "$arg" in
    --native) build_native=true ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build-module.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# The rid of this machine, as the module's loader computes it (Native/RuntimePlatform.cs).
case "$(uname -s)" in
  Linux) os=linux; lib=libazmi.so ;;
  Darwin) os=osx; lib=libazmi.dylib ;;
  *) echo "build-module.sh: unsupported OS $(uname -s); build on Linux or macOS" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "build-module.sh: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
rid="$os-$arch"

if $build_native; then
  echo "==> building the native library (cargo build --release -p azmi)"
  cargo build --release --locked -p azmi
fi
native="$root/target/release/$lib"
if [ ! -f "$native" ]; then
  echo "build-module.sh: $native not found; run 'cargo build --release -p azmi' or pass --native" >&2
  exit 1
fi

# The manifest with azmi's version (scripts/version.sh, from Cargo.toml), its home (Cargo.toml's
# repository) and, as release notes, this version's section of CHANGELOG.md.
stamp_manifest() {
  local version repository notes
  version="$(bash "$root/scripts/version.sh")"
  repository="$(sed -n 's/^repository *= *"\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)"
  notes="$(awk -v v="$version" '
    index($0, "## [" v "]") == 1 { on = 1; next }
    on && /^## \[/ { exit }
    on { print }' "$root/CHANGELOG.md" | sed -e '/./,$!d' -e :a -e '/^\n*$/{$d;N;ba' -e '}')"
  [ -n "$notes" ] || notes="See CHANGELOG.md."
  # PowerShell single-quoted strings: a quote is written twice.
  VERSION="$version" PROJECT="$repository" LICENSE_URI="$repository/blob/v$version/LICENSE" \
    NOTES="${notes//\'/\'\'}" awk '
    # The value after "=" of a setting, replaced as a whole (sub() would read & in it).
    function set(value) { $0 = substr($0, 1, index($0, "=")) " \x27" value "\x27" }
    /^ *ModuleVersion *=/ { set(ENVIRON["VERSION"]) }
    /^ *ProjectUri *=/ { set(ENVIRON["PROJECT"]) }
    /^ *LicenseUri *=/ { set(ENVIRON["LICENSE_URI"]) }
    /^ *ReleaseNotes *=/ { set("azmi " ENVIRON["VERSION"] "\n\n" ENVIRON["NOTES"]) }
    { print }' "$1"
}

echo "==> building AzMi.dll (dotnet build -c Release)"
dotnet build "$root/powershell/src/AzMi.csproj" -c Release --nologo -v quiet -clp:NoSummary
assembly="$root/powershell/src/bin/Release/netstandard2.0/AzMi.dll"

out="$root/out/AzMi"
echo "==> assembling $out"
mkdir -p "$out"
# Start from an empty module folder, except runtimes/ where other platforms' libraries may
# have been dropped in.
find "$out" -mindepth 1 -maxdepth 1 ! -name runtimes -exec rm -rf {} +
cp "$assembly" "$out/AzMi.dll"
cp "$root/powershell/module/AzMi.format.ps1xml" "$out/"
mkdir -p "$out/Format"
cp "$root/powershell/module/Format/AzMi.Format.psd1" "$out/Format/"
stamp_manifest "$root/powershell/module/AzMi.psd1" >"$out/AzMi.psd1"
mkdir -p "$out/en-US"
cp "$root/powershell/module/en-US/AzMi.dll-Help.xml" "$out/en-US/"
mkdir -p "$out/runtimes/$rid/native"
# Copy then rename: a pwsh that has the old library loaded keeps its mapping of the old file,
# where copying over it in place would change the code under that process and crash it.
cp "$native" "$out/runtimes/$rid/native/$lib.new"
mv -f "$out/runtimes/$rid/native/$lib.new" "$out/runtimes/$rid/native/$lib"

echo "==> module ready: $out/AzMi.psd1"
(cd "$out" && find . -type f | sort | sed 's/^\.\//    /')
