#!/usr/bin/env bash
# Tests the Windows C SDK the way a user meets it: unpacks out/packages/azmi-<version>-win-x64.zip
# (scripts/package.sh) into an empty folder and checks its layout; that bin/azmi.dll exports
# exactly the functions of azmi.h, imports only Windows' own DLLs (no MinGW runtime DLL to
# ship), and carries a version resource saying the crate's version; then builds the SDK's
# example with MinGW-w64 twice, against lib/libazmi.dll.a and against the MSVC import library
# lib/azmi.lib, and runs both under Wine beside bin/azmi.dll against a fresh azmi-emulator.exe.
# Needs the cross root and azmi-emulator.exe (scripts/build-cross.sh win-x64).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../../scripts/lib/cross-root.sh
source "$root/scripts/lib/cross-root.sh"
# shellcheck source=../../scripts/lib/check.sh
source "$root/scripts/lib/check.sh"
version="$(bash "$root/scripts/version.sh")"
abi="$(bash "$root/scripts/version.sh" --abi)"
name="azmi-$version-win-x64"
archive="$root/out/packages/$name.zip"
emulator_exe="$cross_dir/build/x86_64-pc-windows-gnu/release/azmi-emulator.exe"
[ -f "$archive" ] || { echo "missing $archive: run scripts/build-cross.sh win-x64, then scripts/package.sh" >&2; exit 2; }
[ -f "$emulator_exe" ] || { echo "missing $emulator_exe: run scripts/build-cross.sh win-x64" >&2; exit 2; }
export WINEPREFIX="$cross_dir/wine-prefix" WINEDEBUG=-all XDG_RUNTIME_DIR="$cross_dir/xdg-runtime"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/azmi-sdk-win-test.XXXXXX")"
emulator=""
cleanup() {
  if [ -n "$emulator" ]; then kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

echo "== unpacking $(basename "$archive")"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$scratch"
sdk="$scratch/$name"
check "the archive unpacks into $name/" test -d "$sdk"
for f in include/azmi.h bin/azmi.dll lib/azmi.lib lib/libazmi.dll.a lib/azmi.def example/token.c \
  README.md LICENSE CHANGELOG.md; do
  check "the archive holds $f" test -f "$sdk/$f"
done
check "the header is include/azmi.h of the sources" cmp -s "$sdk/include/azmi.h" "$root/include/azmi.h"
check "README names version $version" grep -q "$name" "$sdk/README.md"

echo "== bin/azmi.dll"
cross_run trixie x86_64-w64-mingw32-objdump -p "$sdk/bin/azmi.dll" >"$scratch/objdump"
sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' "$scratch/objdump" |
  awk '/\+base\[/ { print $NF }' | sort -u >"$scratch/exported"
awk '$1 == "function" { print $2 }' "$root/abi/azmi-$abi.symbols" | sort -u >"$scratch/declared"
others="$(grep -v '^azmi_' "$scratch/exported" || true)"
check "only azmi_* functions are exported (others: ${others//$'\n'/ })" test -z "$others"
if ! cmp -s "$scratch/exported" "$scratch/declared"; then
  echo "exported (<) and declared in abi/azmi-$abi.symbols (>) differ:" >&2
  diff "$scratch/exported" "$scratch/declared" >&2 || true
fi
check "the exported functions are those of azmi.h ($(wc -l <"$scratch/declared") functions)" \
  cmp -s "$scratch/exported" "$scratch/declared"
# Windows' own DLLs only: nothing from MinGW (libgcc_s_seh-1, libwinpthread-1, libstdc++-6).
sed -n 's/^\tDLL Name: //p' "$scratch/objdump" | tr 'A-Z' 'a-z' | sort -u >"$scratch/imports"
system_dlls='^(kernel32|ntdll|ws2_32|bcrypt|bcryptprimitives|crypt32|advapi32|userenv|msvcrt|secur32|ole32|oleaut32|shell32|winhttp|ncrypt|api-ms-win-[a-z0-9-]+)\.dll$'
foreign="$(grep -Ev "$system_dlls" "$scratch/imports" || true)"
check "azmi.dll imports only Windows' own DLLs (others: ${foreign//$'\n'/ })" test -z "$foreign"
echo "    imports: $(tr '\n' ' ' <"$scratch/imports")"
cross_run trixie x86_64-w64-mingw32-windres -i "$sdk/bin/azmi.dll" -O rc >"$scratch/resources.rc" 2>/dev/null || true
IFS=. read -r major minor patch <<<"${version%%-*}"
check "the version resource's FILEVERSION is $major,$minor,$patch,0" \
  grep -q "FILEVERSION $major, $minor, $patch, 0" "$scratch/resources.rc"
check "the version resource's FileVersion string is $version" \
  grep -q "VALUE \"FileVersion\", \"$version\"" "$scratch/resources.rc"
check "the version resource's ProductName is azmi" grep -q 'VALUE "ProductName", "azmi"' "$scratch/resources.rc"

echo "== building example/token.c with MinGW-w64, against lib/libazmi.dll.a and lib/azmi.lib"
flags=(-std=c11 -Wall -Wextra -Werror -pedantic -O1 -D__USE_MINGW_ANSI_STDIO=1 -I "$sdk/include")
mkdir -p "$scratch/gnu" "$scratch/msvc"
cross_run trixie x86_64-w64-mingw32-gcc "${flags[@]}" "$sdk/example/token.c" -L "$sdk/lib" -lazmi \
  -o "$scratch/gnu/token.exe"
cross_run trixie x86_64-w64-mingw32-gcc "${flags[@]}" "$sdk/example/token.c" "$sdk/lib/azmi.lib" \
  -o "$scratch/msvc/token.exe"
for kind in gnu msvc; do
  cross_run trixie x86_64-w64-mingw32-objdump -p "$scratch/$kind/token.exe" >"$scratch/$kind/objdump"
  check "the $kind build imports azmi.dll" grep -q 'DLL Name: azmi.dll' "$scratch/$kind/objdump"
  cp "$sdk/bin/azmi.dll" "$scratch/$kind/"
done

echo "== running both under Wine against azmi-emulator.exe"
log="$scratch/emulator.log"
cross_exec trixie wine "$emulator_exe" --port 0 >"$log" 2>&1 &
emulator=$!
emulator_wait "$log" AZMI_IMDS_ENDPOINT 60 || exit 2
endpoint="$(emulator_value "$log" AZMI_IMDS_ENDPOINT)"
run_example() { # run_example <folder> [AZMI_IMDS_ENDPOINT]
  local folder=$1 at=${2:-$endpoint} status
  (
    unset AZURE_POD_IDENTITY_AUTHORITY_HOST
    export AZMI_IMDS_ENDPOINT="$at"
    cross_run trixie wine "$folder/token.exe" https://management.azure.com/
  ) >"$folder/out.raw" 2>"$folder/err.raw"
  status=$?
  # Windows' C runtime ends lines with CR LF.
  tr -d '\r' <"$folder/out.raw" >"$folder/out"
  tr -d '\r' <"$folder/err.raw" >"$folder/err"
  cat "$folder/out" "$folder/err" | grep -v 'XDG_RUNTIME_DIR' | sed 's/^/    /'
  return $status
}
for kind in gnu msvc; do
  check "the $kind build gets a token" run_example "$scratch/$kind"
  check "the $kind build loads the SDK's azmi.dll (azmi $version)" grep -qx "azmi $version" "$scratch/$kind/out"
  check "the $kind build reports an ARM Bearer token" \
    grep -q '^token for https://management.azure.com/: Bearer, [1-9][0-9]* characters' "$scratch/$kind/out"
done
check "the example fails without a managed identity" \
  fails run_example "$scratch/gnu" http://127.0.0.1:9/metadata/identity/oauth2/token
check "and says so" grep -q 'ManagedIdentityUnavailable: no managed identity endpoint answered' "$scratch/gnu/err"

echo "C SDK (win-x64): $passes passed, $failures failed"
[ "$failures" -eq 0 ]
