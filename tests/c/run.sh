#!/usr/bin/env bash
# Builds the C tests against include/azmi.h with -Wall -Wextra -Werror -pedantic and runs them
# under valgrind against a fresh azmi-emulator. Fails on any test failure, leak or memory error.
# Expects target/release/libazmi.so and target/release/azmi-emulator (scripts/build.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
lib="$root/target/release"
build="$root/target/c-tests"
mkdir -p "$build"

for f in "$lib/libazmi.so" "$lib/azmi-emulator"; do
  [ -e "$f" ] || { echo "missing $f: run scripts/build.sh first" >&2; exit 2; }
done

cc=${CC:-gcc}
for src in "$root"/tests/c/*.c; do
  name=$(basename "$src" .c)
  "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -g -O1 -I "$root/include" "$src" \
    -L "$lib" -Wl,-rpath,"$lib" -lazmi -lpthread -o "$build/$name"
done

log="$build/emulator.log"
"$lib/azmi-emulator" --port 0 >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^export AZMI_IMDS_ENDPOINT=' "$log" && break
  sleep 0.1
done
for _ in $(seq 1 100); do
  grep -q '^azmi-emulator services on ' "$log" && break
  sleep 0.1
done
endpoint=$(sed -n 's/^export AZMI_IMDS_ENDPOINT=//p' "$log")
ca_file=$(sed -n 's/^export AZMI_CA_FILE=//p' "$log")
adls_base=$(sed -n 's/^azmi-emulator services on //p' "$log")
for _ in $(seq 1 100); do
  grep -q '^export AZMI_ARM_ENDPOINT=' "$log" && break
  sleep 0.1
done
keyvault_url=$(sed -n 's/^export AZMI_KEYVAULT_URL=//p' "$log")
arm_endpoint=$(sed -n 's/^export AZMI_ARM_ENDPOINT=//p' "$log")
[ -n "$endpoint" ] || { echo "azmi-emulator did not start:" >&2; cat "$log" >&2; exit 2; }
[ -n "$ca_file" ] && [ -n "$adls_base" ] || {
  echo "azmi-emulator did not print its CA file and services URL:" >&2; cat "$log" >&2; exit 2; }
export AZMI_IMDS_ENDPOINT="$endpoint"
# The emulator's CA (for its HTTPS services) and the base URL of its Data Lake endpoints.
export AZMI_CA_FILE="$ca_file"
export AZMI_ADLS_BASE="$adls_base"
[ -n "$keyvault_url" ] && [ -n "$arm_endpoint" ] || {
  echo "azmi-emulator did not print its Key Vault and Resource Manager URLs:" >&2; cat "$log" >&2; exit 2; }
# Its Key Vault and Resource Manager endpoints.
export AZMI_KEYVAULT_URL="$keyvault_url"
export AZMI_ARM_ENDPOINT="$arm_endpoint"

status=0
for src in "$root"/tests/c/*.c; do
  name=$(basename "$src" .c)
  echo "== $name under valgrind"
  valgrind --quiet --error-exitcode=99 --leak-check=full \
    --suppressions="$root/tests/c/valgrind.supp" --num-callers=40 \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --fair-sched=yes "$build/$name" || status=1
done
exit $status
