#!/usr/bin/env bash
# Builds the C tests against include/azmi.h with -Wall -Wextra -Werror -pedantic and runs them
# against a fresh azmi-emulator and (for storage_test) Azurite over HTTPS with `--oauth basic`,
# as tests/common/mod.rs starts it. Fails on any test failure (and, natively, any leak or memory
# error). Azurite under tools/azurite (scripts/setup.sh).
#
# Usage: tests/c/run.sh [rid]
#   (none)       this machine: gcc, the programs under valgrind, against target/release/libazmi.so
#                and target/release/azmi-emulator (scripts/build.sh)
#   win-x64      MinGW-w64 in the trixie root, the programs and azmi-emulator.exe under Wine,
#                against out/AzMi/runtimes/win-x64/native/libazmi.dll (scripts/build-cross.sh win-x64)
#   floor        this machine's library as it ships (out/AzMi/runtimes/linux-x64/native), the
#                programs built and run in the Debian 11 root (glibc 2.31, scripts/lib/cross-root.sh),
#                so an older system loads it and gets tokens; without valgrind
#   linux-arm64  aarch64-linux-gnu-gcc, linked against bullseye's glibc 2.31, under qemu-aarch64
#                on that glibc (the floor), against out/AzMi/runtimes/linux-arm64/native/libazmi.so
#                (scripts/build-cross.sh linux-arm64) and this machine's azmi-emulator
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
rid="${1:-native}"
build="$root/target/c-tests/$rid"
mkdir -p "$build"
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g -O1 -I "$root/include")
valgrind_args=(--quiet --error-exitcode=99 --leak-check=full
  --suppressions="$root/tests/c/valgrind.supp" --num-callers=40
  --show-leak-kinds=definite,indirect,possible
  --errors-for-leak-kinds=definite,indirect,possible --fair-sched=yes)
# The first call's IMDS probe allows 1 s by default; under valgrind, Wine or qemu on a loaded
# 2-core machine the emulator's first answer can take longer (seen: a first call failing as
# "no managed identity" at load 15), so the tests give it 10 s. Tests of the window itself
# are in tests/imds.rs.
export AZMI_IMDS_PROBE_TIMEOUT_MS="${AZMI_IMDS_PROBE_TIMEOUT_MS:-10000}"

# Per platform: compile SRC OUT builds a test program; start_emulator LOG ARGS... starts
# azmi-emulator in the background (its pid in $!); run_program PROG ARGS... runs a program with
# the caller's environment; host_path PATH turns a path the programs print into this machine's.
case $rid in
  native)
    lib="$root/target/release"
    for f in "$lib/libazmi.so" "$lib/azmi-emulator"; do
      [ -e "$f" ] || { echo "missing $f: run scripts/build.sh first" >&2; exit 2; }
    done
    # Built as every C program against target/release is (the SONAME link made there too).
    # shellcheck source=../../scripts/lib/c-program.sh
    source "$root/scripts/lib/c-program.sh"
    compile() { c_program_build "$1" "$2" -g -O1; }
    start_emulator() { local log=$1; shift; "$lib/azmi-emulator" --port 0 "$@" >"$log" 2>&1 & }
    run_program() { valgrind "${valgrind_args[@]}" "$@"; }
    host_path() { echo "$1"; }
    ;;
  win-x64)
    # shellcheck source=../../scripts/lib/cross-root.sh
    source "$root/scripts/lib/cross-root.sh"
    lib="$root/out/AzMi/runtimes/win-x64/native"
    cross_release="$cross_dir/build/x86_64-pc-windows-gnu/release"
    for f in "$lib/libazmi.dll" "$cross_release/libazmi.dll.a" "$cross_release/azmi-emulator.exe"; do
      [ -e "$f" ] || { echo "missing $f: run scripts/build-cross.sh win-x64 first" >&2; exit 2; }
    done
    # The module's library, under the name C programs import (the import library's azmi.dll).
    cp "$lib/libazmi.dll" "$build/azmi.dll"
    # One Wine prefix per checkout, made by the first program (a few seconds).
    export WINEPREFIX="$cross_dir/wine-prefix" WINEDEBUG=-all
    export XDG_RUNTIME_DIR="$cross_dir/xdg-runtime"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    compile() {
      cross_run trixie x86_64-w64-mingw32-gcc "${cflags[@]}" "$1" "$cross_release/libazmi.dll.a" \
        -static -lpthread -lws2_32 -o "$2.exe"
    }
    start_emulator() {
      local log=$1; shift
      cross_exec trixie wine "$cross_release/azmi-emulator.exe" --port 0 "$@" >"$log" 2>&1 &
    }
    run_program() { local prog=$1; shift; cross_run trixie wine "$prog.exe" "$@"; }
    # Wine's drive Z: is the root folder, C: the prefix's drive_c.
    host_path() {
      local p=${1//\\//}
      case $p in
        [Zz]:/*) echo "${p:2}" ;;
        [Cc]:/*) echo "$WINEPREFIX/drive_c${p:2}" ;;
        *) echo "$p" ;;
      esac
    }
    windows_path() { local p=${1//\//\\}; echo "Z:$p"; }
    ;;
  floor)
    # shellcheck source=../../scripts/lib/cross-root.sh
    source "$root/scripts/lib/cross-root.sh"
    lib="$root/out/AzMi/runtimes/linux-x64/native"
    for f in "$lib/libazmi.so" "$root/target/release/azmi-emulator"; do
      [ -e "$f" ] || { echo "missing $f: run scripts/build.sh first" >&2; exit 2; }
    done
    [ -f "$(cross_root_path bullseye)/.azmi-root" ] || { echo "no bullseye root: run scripts/setup.sh" >&2; exit 2; }
    # Programs load it by its SONAME: a copy with that link in the build folder, not in the
    # module's folder, whose files the packages take as they are.
    cp "$lib/libazmi.so" "$build/libazmi.so"
    ln -sf libazmi.so "$build/libazmi.so.$(bash "$root/scripts/version.sh" --abi)"
    lib="$build"
    compile() {
      cross_run bullseye gcc "${cflags[@]}" "$1" -L "$lib" -Wl,-rpath,"$lib" -lazmi -lpthread -o "$2"
    }
    start_emulator() { local log=$1; shift; "$root/target/release/azmi-emulator" --port 0 "$@" >"$log" 2>&1 & }
    run_program() { cross_run bullseye "$@"; }
    host_path() { echo "$1"; }
    ;;
  linux-arm64)
    # shellcheck source=../../scripts/lib/cross-root.sh
    source "$root/scripts/lib/cross-root.sh"
    lib="$root/out/AzMi/runtimes/linux-arm64/native"
    [ -e "$lib/libazmi.so" ] || { echo "missing $lib/libazmi.so: run scripts/build-cross.sh linux-arm64 first" >&2; exit 2; }
    [ -e "$root/target/release/azmi-emulator" ] || { echo "missing target/release/azmi-emulator: run scripts/build.sh" >&2; exit 2; }
    # Programs load it by its SONAME: a copy with that link in the build folder, not in the
    # module's folder, whose files the packages take as they are.
    cp "$lib/libazmi.so" "$build/libazmi.so"
    ln -sf libazmi.so "$build/libazmi.so.$(bash "$root/scripts/version.sh" --abi)"
    lib="$build"
    old="$(cross_root_path bullseye)/usr/aarch64-linux-gnu"
    compile() {
      # bullseye's libc and libgcc_s, not trixie's: the programs run on glibc 2.31 as the library does.
      cross_run trixie aarch64-linux-gnu-gcc "${cflags[@]}" --sysroot="$(cross_root_path bullseye)" \
        -B "$old/lib" -L "$old/lib" "$1" -L "$lib" -Wl,-rpath,"$lib" -lazmi -lpthread \
        "$old/lib/libgcc_s.so.1" -o "$2"
    }
    start_emulator() { local log=$1; shift; "$root/target/release/azmi-emulator" --port 0 "$@" >"$log" 2>&1 & }
    run_program() { cross_run trixie qemu-aarch64 -L "$old" "$@"; }
    host_path() { echo "$1"; }
    ;;
  *) echo "run.sh: unknown rid '$rid' (native, floor, win-x64, linux-arm64)" >&2; exit 2 ;;
esac

sources=("$root"/tests/c/*.c)
# What azmi does differently on Windows (paths, files held open, Arc's folders).
[ "$rid" = win-x64 ] && sources+=("$root"/tests/c/windows/*.c)
for src in "${sources[@]}"; do
  compile "$src" "$build/$(basename "$src" .c)"
done

log="$build/emulator.log"
start_emulator "$log"
emulator=$!
source_emulators=()
scratch="$(mktemp -d "${TMPDIR:-/tmp}/azmi-c-tests.XXXXXX")"
# shellcheck source=../../scripts/lib/azurite.sh
source "$root/scripts/lib/azurite.sh"
# shellcheck source=../../scripts/lib/tinyproxy.sh
source "$root/scripts/lib/tinyproxy.sh"
cleanup() {
  kill "$emulator" 2>/dev/null || true
  for pid in "${source_emulators[@]}"; do kill "$pid" 2>/dev/null || true; done
  azurite_stop
  tinyproxy_stop
  rm -rf "$scratch"
}
trap cleanup EXIT

azurite_start "$scratch/azurite" || exit 2
emulator_wait "$log" AZMI_ARM_ENDPOINT 60 || exit 2
endpoint=$(emulator_value "$log" AZMI_IMDS_ENDPOINT)
ca_file=$(emulator_value "$log" AZMI_CA_FILE)
adls_base=$(emulator_services_url "$log")
keyvault_url=$(emulator_value "$log" AZMI_KEYVAULT_URL)
arm_endpoint=$(emulator_value "$log" AZMI_ARM_ENDPOINT)
export AZMI_IMDS_ENDPOINT="$endpoint"
# The emulator's CA (for its HTTPS services) with Azurite's certificate, and the base URL of the
# emulator's Data Lake endpoints.
cat "$(host_path "$ca_file")" "$azurite_cert" >"$scratch/ca-bundle.pem"
export AZMI_CA_FILE="$scratch/ca-bundle.pem"
export AZMI_ADLS_BASE="$adls_base"
[ -n "$keyvault_url" ] && [ -n "$arm_endpoint" ] || {
  echo "azmi-emulator did not print its Key Vault and Resource Manager URLs:" >&2; cat "$log" >&2; exit 2; }
# Its Key Vault and Resource Manager endpoints.
export AZMI_KEYVAULT_URL="$keyvault_url"
export AZMI_ARM_ENDPOINT="$arm_endpoint"
# Azurite's account, path-style, for storage_test.
export AZMI_BLOB_ACCOUNT="$azurite_url"

# Two tinyproxy instances for proxy_test, on this machine whatever the rid: an open one, and one
# that asks for Basic credentials (alice, s3cret).
tinyproxy_start "$scratch/proxy" || exit 2
proxy_port=$tinyproxy_port
proxy_log=$tinyproxy_log
tinyproxy_start "$scratch/auth-proxy" alice s3cret || exit 2
auth_proxy_port=$tinyproxy_port
auth_proxy_log=$tinyproxy_log
# A path of this machine as the programs open it (Windows programs under Wine: Z:\…).
program_path() { if [ "$rid" = win-x64 ]; then windows_path "$1"; else echo "$1"; fi; }

status=0
for src in "$root"/tests/c/*.c; do
  name=$(basename "$src" .c)
  # sources_test runs below, once per managed identity source; proxy_test with its proxies.
  [ "$name" = sources_test ] || [ "$name" = proxy_test ] && continue
  echo "== $name ($rid)"
  run_program "$build/$name" || status=1
done

# proxy_test with the proxies, and https_proxy (lowercase) in its environment; then (on Linux,
# where SSL_CERT_FILE is the system's store) again with the emulator's CA only in SSL_CERT_FILE,
# not in AZMI_CA_FILE.
echo "== proxy_test ($rid)"
(
  export https_proxy="http://127.0.0.1:$proxy_port"
  export AZMI_TEST_PROXY="http://127.0.0.1:$proxy_port"
  export AZMI_TEST_PROXY_LOG="$(program_path "$proxy_log")"
  export AZMI_TEST_AUTH_PROXY="http://127.0.0.1:$auth_proxy_port"
  export AZMI_TEST_AUTH_PROXY_LOG="$(program_path "$auth_proxy_log")"
  run_program "$build/proxy_test"
) || status=1
if [ "$rid" != win-x64 ]; then
  echo "== proxy_test trust-store, the CA in SSL_CERT_FILE only ($rid)"
  (
    unset AZMI_CA_FILE
    export SSL_CERT_FILE="$(host_path "$ca_file")"
    run_program "$build/proxy_test" trust-store
  ) || status=1
fi

# Windows' system proxy (src/proxy/system.rs), with no proxy variable set: written into the Wine
# prefix's registry where WinHTTP reads it, as Internet Options and `netsh winhttp set proxy`
# leave it: HKCU's DefaultConnectionSettings and HKLM's WinHttpSettings under
# ...\Internet Settings\Connections (magic, counter, flags, then each string after its length;
# flags 1 direct, 2 proxy, 8 automatic detection). `<-loopback>` lets the loopback vault use
# the proxy; without it loopback goes direct, as on Windows. Removed again afterwards.
if [ "$rid" = win-x64 ]; then
  connections='Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections'
  le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
  counted() { le32 ${#1}; printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
  # system_blob MAGIC FLAGS PROXY BYPASS: a settings value as reg.exe takes it (hex).
  system_blob() { le32 "$1"; le32 0; le32 "$2"; counted "$3"; counted "$4"; le32 0; }
  wine_reg() { cross_run trixie wine reg "$@" >/dev/null; }
  system_proxy_clear() {
    wine_reg delete "HKCU\\$connections" /v DefaultConnectionSettings /f 2>/dev/null || true
    wine_reg delete "HKLM\\$connections" /v WinHttpSettings /f 2>/dev/null || true
  }
  # system_proxy_test IE-FLAGS IE-BYPASS WINHTTP-BYPASS-OR-NONE ARGS...: sets Internet Options
  # (the open proxy when IE-FLAGS has 2) and WinHTTP's proxy (unless NONE), runs proxy_test.
  system_proxy_test() {
    local ie_flags=$1 ie_bypass=$2 winhttp_bypass=$3
    shift 3
    system_proxy_clear
    wine_reg add "HKCU\\$connections" /v DefaultConnectionSettings /t REG_BINARY /f \
      /d "$(system_blob 70 "$ie_flags" "127.0.0.1:$proxy_port" "$ie_bypass")" || return 1
    if [ "$winhttp_bypass" != NONE ]; then
      wine_reg add "HKLM\\$connections" /v WinHttpSettings /t REG_BINARY /f \
        /d "$(system_blob 24 3 "127.0.0.1:$proxy_port" "$winhttp_bypass")" || return 1
    fi
    echo "== proxy_test system $* ($rid)"
    (
      unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
      export AZMI_TEST_PROXY_LOG="$(program_path "$proxy_log")"
      run_program "$build/proxy_test" system "$@"
    )
  }
  through="through the proxy http://127.0.0.1:$proxy_port (from"
  # Internet Options name the proxy; loopback through it.
  system_proxy_test 3 "<-loopback>" NONE through \
    "$through the Windows proxy settings (Internet Options))" || status=1
  # The same without <-loopback>: loopback goes direct, as Windows does.
  system_proxy_test 3 "*.corp.example;<local>" NONE direct \
    "direct: the Windows proxy bypass list leaves out loopback" || status=1
  # Internet Options only ask for automatic detection (a user's default): WinHTTP's proxy
  # (netsh winhttp) is used, and the automatic detection azmi does not run is said.
  system_proxy_test 9 "" "<-loopback>" through "$through WinHTTP's proxy (netsh winhttp))" \
    "automatic proxy configuration" || status=1
  system_proxy_clear
fi

# sources_test: one emulator per managed identity source (`--source`); the program runs with
# only that source's variables (the lines after the banner's "managed identity source" line;
# for IMDS its AZMI_IMDS_ENDPOINT), none of the IMDS variables exported above, the emulator's CA
# (workload identity's authority is HTTPS) and, for Arc, the emulator's key folder as the
# agent's (AZMI_ARC_TOKENS_DIR). Arguments: --source name, the id azmi must detect, the
# program's mode ("" or wrong-secret), then NAME=value overrides of the source's variables.
run_sources_test() {
  local source=$1 expected=$2 mode=$3
  shift 3
  local slog="$build/emulator-$source.log" pid
  start_emulator "$slog" --source "$source"
  pid=$!
  source_emulators+=("$pid")
  emulator_wait "$slog" "$(emulator_source_last "$source")" 60 || { status=1; return; }
  local vars=()
  while IFS= read -r line; do vars+=("$line"); done < <(emulator_source_env "$slog" "$source")
  echo "== sources_test $source ${mode:-} ($rid)"
  (
    unset AZMI_IMDS_ENDPOINT AZURE_POD_IDENTITY_AUTHORITY_HOST AZMI_CA_FILE
    export "${vars[@]}" "$@"
    # shellcheck disable=SC2086 # $mode is one word or none
    run_program "$build/sources_test" "$expected" $mode
  ) || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
run_sources_test imds imds ""
run_sources_test app-service app_service ""
run_sources_test app-service app_service wrong-secret IDENTITY_HEADER=wrong-secret-value
run_sources_test azure-ml azure_ml ""
run_sources_test azure-ml azure_ml wrong-secret MSI_SECRET=wrong-secret-value
run_sources_test cloud-shell cloud_shell ""
run_sources_test arc arc ""
run_sources_test service-fabric service_fabric ""
run_sources_test workload-identity workload_identity ""

# Windows: windows_test, with an Arc emulator whose key folder is
# <ProgramData>\AzureConnectedMachineAgent\Tokens, for the test to find through %ProgramData%.
if [ "$rid" = win-x64 ]; then
  program_data="$scratch/programdata"
  mkdir -p "$program_data/AzureConnectedMachineAgent/Tokens"
  alog="$build/emulator-arc-windows.log"
  start_emulator "$alog" --source arc \
    --arc-tokens-dir "$(windows_path "$program_data/AzureConnectedMachineAgent/Tokens")"
  source_emulators+=("$!")
  if emulator_wait "$alog" "$(emulator_source_last arc)" 60; then
    echo "== windows_test ($rid)"
    (
      export AZMI_TEST_ARC_IDENTITY_ENDPOINT="$(emulator_value "$alog" IDENTITY_ENDPOINT)"
      export AZMI_TEST_ARC_IMDS_ENDPOINT="$(emulator_value "$alog" IMDS_ENDPOINT)"
      export AZMI_TEST_ARC_PROGRAMDATA="$(windows_path "$program_data")"
      run_program "$build/windows_test"
    ) || status=1
  else
    status=1
  fi
fi
exit $status
