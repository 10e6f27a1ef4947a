#!/usr/bin/env bash
# Builds every package of azmi into out/packages/, all with the version of Cargo.toml
# (scripts/version.sh; docs/abi.md):
#   azmi-<version>-<rid>.tar.gz   the C SDK: include/azmi.h, lib/libazmi.so.<version> with its
#                                 SONAME link libazmi.so.<abi> and libazmi.so, lib/libazmi.a,
#                                 lib/pkgconfig/azmi.pc and azmi-static.pc, an example, README,
#                                 LICENSE, CHANGELOG.md (Linux)
#                                 (this machine's rid, and linux-arm64 when scripts/build-cross.sh
#                                 linux-arm64 has built it)
#   azmi-<version>-win-x64.zip    the Windows C SDK: include/azmi.h, bin/azmi.dll, lib/azmi.lib
#                                 (MSVC), lib/libazmi.dll.a (MinGW), lib/azmi.def, the example,
#                                 README, LICENSE, CHANGELOG.md (when scripts/build-cross.sh
#                                 win-x64 has built the DLL)
#   powershell/AzMi.<version>.nupkg
#                                 the AzMi PowerShell module, as PSResourceGet installs it:
#                                 Register-PSResourceRepository -Name local -Uri ./out/packages/powershell -Trusted
#                                 Install-PSResource AzMi -Repository local
#   nuget/AzMi.<version>.nupkg, nuget/AzMi.Azure.Core.<version>.nupkg
#                                 the .NET packages (scripts/pack-dotnet.sh):
#                                 dotnet add package AzMi --source ./out/packages/nuget
#   SHA256SUMS                    the packages' checksums
# The module and the .NET package are both "AzMi" (the PowerShell Gallery and nuget.org are
# separate registries), so each has a folder of its own here: one local feed cannot hold both.
# The module holds the native library of every runtimes/<rid>/native/ in out/AzMi (this
# machine's, and any built elsewhere and dropped in there: scripts/build-module.sh).
# Tests of the packages: tests/c/sdk_test.sh and powershell/tests/AzMi.Package.Tests.ps1.
#
# Usage: scripts/package.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "package.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

version="$(bash scripts/version.sh)"
abi="$(bash scripts/version.sh --abi)"
packages="$root/out/packages"

# Every package carries its version's CHANGELOG.md section (the module as its release notes).
grep -q "^## \[$version\]" CHANGELOG.md || {
  echo "package.sh: CHANGELOG.md has no section '## [$version]'; write it first" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;;
  Linux-aarch64) rid=linux-arm64 ;;
  Darwin-arm64) rid=osx-arm64 ;;
  Darwin-x86_64) rid=osx-x64 ;;
  *) rid=unknown ;;
esac

build_native() {
  echo "==> building the native library $version (cargo build --release -p azmi)"
  cargo build --release --locked -p azmi
}

# The system libraries a Rust static library needs on this target (rustc says, for an empty
# crate; azmi's own dependencies add none), for the static link lines of the .pc files.
native_static_libs() {
  local scratch
  scratch="$(mktemp -d)"
  : >"$scratch/empty.rs"
  rustc --crate-type staticlib --crate-name empty --print native-static-libs \
    -o "$scratch/libempty.a" "$scratch/empty.rs" 2>&1 |
    sed -n 's/^note: native-static-libs: //p'
  rm -rf "$scratch"
}

# package_c_sdk RID SO A: the Linux C SDK archive of one rid from its shared and static library.
package_c_sdk() {
  local rid=$1 so=$2 static=$3
  local name="azmi-$version-$rid"
  local stage="$root/out/c-sdk/$rid/$name"
  echo "==> C SDK $name.tar.gz"
  local soname
  soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
  if [ "$soname" != "libazmi.so.$abi" ]; then
    echo "package.sh: $so has SONAME '$soname', not libazmi.so.$abi (build.rs sets it)" >&2
    exit 1
  fi
  local libs
  libs="$(native_static_libs)"
  [ -n "$libs" ] || { echo "package.sh: rustc did not print the native static libraries" >&2; exit 1; }

  rm -rf "$root/out/c-sdk/$rid"
  mkdir -p "$stage/include" "$stage/lib/pkgconfig" "$stage/example"
  cp include/azmi.h "$stage/include/"
  cp "$so" "$stage/lib/libazmi.so.$version"
  ln -s "libazmi.so.$version" "$stage/lib/libazmi.so.$abi"
  ln -s "libazmi.so.$abi" "$stage/lib/libazmi.so"
  cp "$static" "$stage/lib/libazmi.a"
  local description repository
  description="$(sed -n 's/^description *= *"\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
  repository="$(sed -n 's/^repository *= *"\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
  # ${pcfiledir}: the files work wherever the archive is unpacked or installed.
  cat >"$stage/lib/pkgconfig/azmi.pc" <<EOF
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: azmi
Description: $description
URL: $repository
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lazmi
Libs.private: $libs
EOF
  cat >"$stage/lib/pkgconfig/azmi-static.pc" <<EOF
prefix=\${pcfiledir}/../..
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: azmi-static
Description: $description (static library)
URL: $repository
Version: $version
Cflags: -I\${includedir}
Libs: \${libdir}/libazmi.a $libs
EOF
  cp packaging/c/token.c "$stage/example/"
  sed -e "s/@VERSION@/$version/g" -e "s/@ABI@/$abi/g" -e "s/@RID@/$rid/g" \
    packaging/c/README.md >"$stage/README.md"
  cp LICENSE CHANGELOG.md "$stage/"
  # Owner and times fixed, names sorted: the same inputs make the same archive.
  tar -C "$root/out/c-sdk/$rid" --sort=name --owner=0 --group=0 --numeric-owner \
    --mtime="@$(git log -1 --format=%ct 2>/dev/null || echo 0)" -cf - "$name" |
    gzip -n -9 >"$packages/$name.tar.gz"
}

package_powershell_module() {
  echo "==> AzMi PowerShell module"
  local feed="$packages/powershell"
  mkdir -p "$feed"
  bash scripts/build-module.sh
  local pwsh="${PWSH:-$HOME/.dotnet/tools/pwsh}"
  [ -x "$pwsh" ] || pwsh="$(command -v pwsh || true)"
  [ -n "$pwsh" ] || { echo "package.sh: pwsh not found; run scripts/setup-powershell.sh" >&2; exit 1; }
  echo "    runtimes: $(cd out/AzMi/runtimes && echo */native/* | tr ' ' '\n' | sed 's|/native/| |' | tr '\n' ';')"
  # Compress-PSResource (PSResourceGet 1.1+, in PowerShell 7.4+) makes the .nupkg that
  # Publish-PSResource would push, checking the manifest first; no repository is registered.
  AZMI_MODULE="$root/out/AzMi" AZMI_PACKAGES="$feed" "$pwsh" -NoProfile -NonInteractive -Command '
    $ErrorActionPreference = "Stop"
    Import-Module Microsoft.PowerShell.PSResourceGet -MinimumVersion 1.1.0
    Compress-PSResource -Path $env:AZMI_MODULE -DestinationPath $env:AZMI_PACKAGES
  '
  [ -f "$feed/AzMi.$version.nupkg" ] || {
    echo "package.sh: Compress-PSResource made no $feed/AzMi.$version.nupkg" >&2; exit 1; }
}

# The .NET packages (the typed AzMi API for C#, and AzMiCredential for the Azure SDKs), with
# the same version (pack-dotnet.sh reads Cargo.toml).
package_dotnet() {
  echo "==> .NET packages AzMi and AzMi.Azure.Core"
  AZMI_PACKAGES_DIR="$packages/nuget" bash scripts/pack-dotnet.sh
}

# The Windows C SDK, when scripts/build-cross.sh win-x64 has built the DLL: the DLL (the module's
# libazmi.dll, named azmi.dll as C programs and its import libraries expect), MinGW's
# import library, an MSVC import library made from a .def of the ABI's functions (MinGW's
# dlltool, in the cross root), the header, the example, README, licence. A zip made by python3
# (a new machine has no zip), with fixed times: the same inputs make the same archive.
package_windows_sdk() {
  local dll="$root/out/AzMi/runtimes/win-x64/native/libazmi.dll"
  local release="$root/target/cross/build/x86_64-pc-windows-gnu/release"
  if [ ! -f "$dll" ]; then
    echo "==> no win-x64 C SDK: scripts/build-cross.sh win-x64 has not built the DLL"
    return
  fi
  local name="azmi-$version-win-x64"
  local stage="$root/out/c-sdk-win/$name"
  echo "==> C SDK $name.zip"
  rm -rf "$root/out/c-sdk-win"
  mkdir -p "$stage/include" "$stage/bin" "$stage/lib" "$stage/example"
  cp include/azmi.h "$stage/include/"
  cp "$dll" "$stage/bin/azmi.dll"
  cp "$release/libazmi.dll.a" "$stage/lib/"
  { echo "LIBRARY azmi.dll"; echo "EXPORTS"; sed -n 's/^function \([a-z0-9_]*\) .*/    \1/p' "abi/azmi-$abi.symbols"; } \
    >"$stage/lib/azmi.def"
  # shellcheck source=lib/cross-root.sh
  (source "$root/scripts/lib/cross-root.sh" &&
    cross_run trixie x86_64-w64-mingw32-dlltool -m i386:x86-64 -d "$stage/lib/azmi.def" \
      -D azmi.dll -l "$stage/lib/azmi.lib")
  cp packaging/c/token.c "$stage/example/"
  sed -e "s/@VERSION@/$version/g" -e "s/@ABI@/$abi/g" packaging/c/README-windows.md >"$stage/README.md"
  cp LICENSE CHANGELOG.md "$stage/"
  python3 - "$root/out/c-sdk-win" "$name" "$packages/$name.zip" <<'PY'
import os, sys, zipfile
base, name, out = sys.argv[1:]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for folder, dirs, files in sorted(os.walk(os.path.join(base, name))):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(folder, f)
            info = zipfile.ZipInfo(os.path.relpath(path, base), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as data:
                z.writestr(info, data.read())
PY
}

rm -rf "$packages"
mkdir -p "$packages"
# The Linux C SDKs: this machine's, and linux-arm64's whenever scripts/build-cross.sh has built it
# (its shared library as the module ships it, its static library from the cross build).
package_linux_sdks() {
  if [ "${rid%%-*}" = linux ]; then
    package_c_sdk "$rid" "$root/target/release/libazmi.so" "$root/target/release/libazmi.a"
  else
    echo "==> no C SDK archive on $(uname -s): it is built on Linux"
  fi
  local arm64_so="$root/out/AzMi/runtimes/linux-arm64/native/libazmi.so"
  local arm64_a="$root/target/cross/build/aarch64-unknown-linux-gnu/release/libazmi.a"
  if [ "$rid" != linux-arm64 ] && [ -f "$arm64_so" ] && [ -f "$arm64_a" ]; then
    package_c_sdk linux-arm64 "$arm64_so" "$arm64_a"
  elif [ "$rid" != linux-arm64 ]; then
    echo "==> no linux-arm64 C SDK: scripts/build-cross.sh linux-arm64 has not built it"
  fi
}

build_native
package_linux_sdks
package_windows_sdk
package_powershell_module
package_dotnet

(cd "$packages" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum -- >SHA256SUMS)
echo "==> packages of azmi $version in $packages:"
(cd "$packages" && find . -type f | sed 's|^\./||' | sort | xargs du -h -- | sed 's/^/    /')
