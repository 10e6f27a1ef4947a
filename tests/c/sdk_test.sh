#!/usr/bin/env bash
# Tests the C SDK archive the way a user meets it: unpacks out/packages/azmi-<version>-<rid>.tar.gz
# (scripts/package.sh) into an empty folder, checks its layout, the library's SONAME and links,
# that the shared library exports exactly the functions of azmi.h (all azmi_*) and nothing else,
# and that the versions agree; then builds the SDK's example with nothing but pkg-config, once
# against libazmi.so and once against libazmi.a, and runs both (under valgrind) against a fresh
# azmi-emulator for a token. Needs target/release/azmi-emulator (scripts/build.sh), pkg-config.
#
# Usage: tests/c/sdk_test.sh [rid]
#   (none)       this machine's archive (linux-x64 here)
#   linux-arm64  that archive on an x64 machine: the example built with aarch64-linux-gnu-gcc in
#                the trixie root against bullseye's glibc 2.31, run under qemu-aarch64 on that
#                glibc (scripts/lib/cross-root.sh), without valgrind
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
version="$(bash "$root/scripts/version.sh")"
abi="$(bash "$root/scripts/version.sh" --abi)"
case "$(uname -m)" in
  x86_64) host_rid=linux-x64 ;;
  aarch64) host_rid=linux-arm64 ;;
  *) echo "sdk_test.sh: no C SDK for $(uname -m)" >&2; exit 2 ;;
esac
rid="${1:-$host_rid}"
case $rid in
  "$host_rid") cross="" ;;
  linux-arm64) cross=aarch64-linux-gnu ;;
  *) echo "sdk_test.sh: cannot test the $rid archive on $host_rid" >&2; exit 2 ;;
esac
archive="$root/out/packages/azmi-$version-$rid.tar.gz"
emulator_bin="$root/target/release/azmi-emulator"
[ -f "$archive" ] || { echo "missing $archive: run scripts/package.sh first" >&2; exit 2; }
[ -x "$emulator_bin" ] || { echo "missing $emulator_bin: run scripts/build.sh first" >&2; exit 2; }
command -v pkg-config >/dev/null || { echo "pkg-config is not installed: run scripts/setup.sh" >&2; exit 2; }

# shellcheck source=../../scripts/lib/check.sh
source "$root/scripts/lib/check.sh"

# The compiler (cc), nm and target_run [VAR=value…] PROGRAM ARGS…: this machine's, or the
# cross root's with the programs under qemu on glibc 2.31.
if [ -z "$cross" ]; then
  cc=("${CC:-gcc}")
  nm=(nm)
  runner=()
  if command -v valgrind >/dev/null; then
    runner=(valgrind --quiet --error-exitcode=99 --leak-check=full
      --suppressions="$root/tests/c/valgrind.supp" --num-callers=40
      --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible)
  fi
  link_tail=()
  target_run() {
    local envs=()
    while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    env -u AZURE_POD_IDENTITY_AUTHORITY_HOST "${envs[@]}" "${runner[@]}" "$@"
  }
else
  # shellcheck source=../../scripts/lib/cross-root.sh
  source "$root/scripts/lib/cross-root.sh"
  bullseye="$(cross_root_path bullseye)"
  old="$bullseye/usr/$cross"
  # bullseye's libc and libgcc_s, not trixie's: the programs need only what glibc 2.31 has.
  cc=(cross_run trixie "$cross-gcc" --sysroot="$bullseye" -B "$old/lib" -L "$old/lib")
  nm=(cross_run trixie "$cross-nm")
  link_tail=("$old/lib/libgcc_s.so.1")
  target_run() {
    local envs=()
    while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    cross_run trixie env -u AZURE_POD_IDENTITY_AUTHORITY_HOST "${envs[@]}" qemu-aarch64 -L "$old" "$@"
  }
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/azmi-sdk-test.XXXXXX")"
emulator=""
cleanup() {
  if [ -n "$emulator" ]; then kill "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

echo "== unpacking $(basename "$archive")"
tar -C "$scratch" -xzf "$archive"
sdk="$scratch/azmi-$version-$rid"
check "the archive unpacks into azmi-$version-$rid/" test -d "$sdk"
for f in include/azmi.h "lib/libazmi.so.$version" lib/libazmi.a lib/pkgconfig/azmi.pc \
  lib/pkgconfig/azmi-static.pc example/token.c README.md LICENSE CHANGELOG.md; do
  check "the archive holds $f" test -f "$sdk/$f"
done
check "lib/libazmi.so.$abi links to libazmi.so.$version" \
  test "$(readlink "$sdk/lib/libazmi.so.$abi")" = "libazmi.so.$version"
check "lib/libazmi.so links to libazmi.so.$abi" test "$(readlink "$sdk/lib/libazmi.so")" = "libazmi.so.$abi"
check "the header is include/azmi.h of the sources" cmp -s "$sdk/include/azmi.h" "$root/include/azmi.h"
check "README names version $version" grep -q "azmi-$version-$rid" "$sdk/README.md"

echo "== the shared library"
so="$sdk/lib/libazmi.so.$version"
soname="$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
check "SONAME is libazmi.so.$abi (is '$soname')" test "$soname" = "libazmi.so.$abi"
# Defined dynamic symbols: azmi's functions and nothing else (no Rust internals, no
# rust_eh_personality, no symbols of the libraries built in).
"${nm[@]}" -D --defined-only "$so" | awk '{ print $NF }' | sort -u >"$scratch/exported"
awk '$1 == "function" { print $2 }' "$root/abi/azmi-$abi.symbols" | sort -u >"$scratch/declared"
others="$(grep -v '^azmi_' "$scratch/exported" || true)"
check "only azmi_* symbols are exported (others: ${others//$'\n'/ })" test -z "$others"
if ! cmp -s "$scratch/exported" "$scratch/declared"; then
  echo "exported (<) and declared in abi/azmi-$abi.symbols (>) differ:" >&2
  diff "$scratch/exported" "$scratch/declared" >&2 || true
fi
check "the exported functions are those of azmi.h ($(wc -l <"$scratch/declared") functions)" \
  cmp -s "$scratch/exported" "$scratch/declared"

echo "== pkg-config"
export PKG_CONFIG_PATH="$sdk/lib/pkgconfig"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
check "pkg-config --modversion azmi is $version" test "$(pkg-config --modversion azmi)" = "$version"
check "pkg-config --modversion azmi-static is $version" test "$(pkg-config --modversion azmi-static)" = "$version"
private="$(pkg-config --static --libs azmi)"
for l in -lpthread -ldl -lm; do
  check "pkg-config --static --libs azmi has $l (Libs.private of libazmi.a)" grep -qe "$l\b" <<<"$private"
done

flags=(-std=c11 -Wall -Wextra -Werror -pedantic -O1 -g)
echo "== building example/token.c against libazmi.so: $(pkg-config --cflags --libs azmi)"
# shellcheck disable=SC2046 # pkg-config's output is a list of words
"${cc[@]}" "${flags[@]}" "$sdk/example/token.c" $(pkg-config --cflags --libs azmi) "${link_tail[@]}" -o "$scratch/token-shared"
check "the shared build needs libazmi.so.$abi" \
  grep -q "NEEDED.*\[libazmi.so.$abi\]" <(readelf -d "$scratch/token-shared")
echo "== building example/token.c against libazmi.a: $(pkg-config --cflags --libs azmi-static)"
# shellcheck disable=SC2046
"${cc[@]}" "${flags[@]}" "$sdk/example/token.c" $(pkg-config --cflags --libs azmi-static) "${link_tail[@]}" -o "$scratch/token-static"
check "the static build needs no libazmi" \
  test -z "$(readelf -d "$scratch/token-static" | grep 'NEEDED.*libazmi' || true)"

echo "== running both against azmi-emulator"
log="$scratch/emulator.log"
"$emulator_bin" --port 0 >"$log" 2>&1 &
emulator=$!
emulator_wait "$log" AZMI_IMDS_ENDPOINT || exit 2
endpoint="$(emulator_value "$log" AZMI_IMDS_ENDPOINT)"
run_example() { # run_example <binary> <extra env…>
  local bin=$1
  shift
  target_run AZMI_IMDS_ENDPOINT="$endpoint" "$@" \
    "$bin" https://management.azure.com/ >"$bin.out" 2>"$bin.err"
  local status=$?
  sed 's/^/    /' "$bin.out" "$bin.err"
  return $status
}
check "the shared build gets a token" run_example "$scratch/token-shared" LD_LIBRARY_PATH="$sdk/lib"
check "the shared build loads the SDK's library (azmi $version)" \
  grep -qx "azmi $version" "$scratch/token-shared.out"
check "the shared build reports an ARM Bearer token" \
  grep -q '^token for https://management.azure.com/: Bearer, [1-9][0-9]* characters' "$scratch/token-shared.out"
check "the static build gets a token" run_example "$scratch/token-static"
check "the static build is azmi $version" grep -qx "azmi $version" "$scratch/token-static.out"
check "the static build reports an ARM Bearer token" \
  grep -q '^token for https://management.azure.com/: Bearer, [1-9][0-9]* characters' "$scratch/token-static.out"
# The error path, as a user meets it: a machine without a managed identity.
check "the example fails clearly without a managed identity" \
  fails target_run LD_LIBRARY_PATH="$sdk/lib" AZMI_IMDS_ENDPOINT=http://127.0.0.1:9/metadata/identity/oauth2/token \
  "$scratch/token-shared"

echo "C SDK: $passes passed, $failures failed"
[ "$failures" -eq 0 ]
