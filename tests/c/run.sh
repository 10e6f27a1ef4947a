#!/usr/bin/env bash
# Builds the C tests against include/azmi.h with -Wall -Wextra -Werror -pedantic and runs them
# under valgrind against a fresh azmi-emulator and (for storage_test) Azurite over HTTPS with
# `--oauth basic`, as tests/common/mod.rs starts it. Fails on any test failure, leak or memory
# error. Expects target/release/libazmi.so and target/release/azmi-emulator (scripts/build.sh) and
# Azurite under tools/azurite (scripts/setup.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
lib="$root/target/release"
build="$root/target/c-tests"
mkdir -p "$build"

for f in "$lib/libazmi.so" "$lib/azmi-emulator"; do
  [ -e "$f" ] || { echo "missing $f: run scripts/build.sh first" >&2; exit 2; }
done
# shellcheck source=../../scripts/lib/azurite.sh
source "$root/scripts/lib/azurite.sh"

# shellcheck source=../../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
for src in "$root"/tests/c/*.c; do
  c_program_build "$src" "$build/$(basename "$src" .c)" -g -O1
done

log="$build/emulator.log"
"$lib/azmi-emulator" --port 0 >"$log" 2>&1 &
emulator=$!
azurite_pid=""
source_emulators=()
scratch="$(mktemp -d "${TMPDIR:-/tmp}/azmi-c-tests.XXXXXX")"
cleanup() {
  kill "$emulator" 2>/dev/null || true
  for pid in "${source_emulators[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$azurite_pid" ]; then kill "$azurite_pid" 2>/dev/null || true; wait "$azurite_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Azurite's blob service (HTTPS, --oauth basic), for storage_test.
azurite_start "$scratch/azurite" || exit 2
emulator_wait "$log" AZMI_ARM_ENDPOINT || exit 2
endpoint=$(emulator_value "$log" AZMI_IMDS_ENDPOINT)
ca_file=$(emulator_value "$log" AZMI_CA_FILE)
adls_base=$(emulator_services_url "$log")
keyvault_url=$(emulator_value "$log" AZMI_KEYVAULT_URL)
arm_endpoint=$(emulator_value "$log" AZMI_ARM_ENDPOINT)
export AZMI_IMDS_ENDPOINT="$endpoint"
# The emulator's CA (for its HTTPS services) with Azurite's certificate, and the base URL of the
# emulator's Data Lake endpoints.
cat "$ca_file" "$azurite_cert" >"$scratch/ca-bundle.pem"
export AZMI_CA_FILE="$scratch/ca-bundle.pem"
export AZMI_ADLS_BASE="$adls_base"
[ -n "$keyvault_url" ] && [ -n "$arm_endpoint" ] || {
  echo "azmi-emulator did not print its Key Vault and Resource Manager URLs:" >&2; cat "$log" >&2; exit 2; }
# Its Key Vault and Resource Manager endpoints.
export AZMI_KEYVAULT_URL="$keyvault_url"
export AZMI_ARM_ENDPOINT="$arm_endpoint"

# Azurite's account, path-style, for storage_test.
export AZMI_BLOB_ACCOUNT="$azurite_account"

status=0
for src in "$root"/tests/c/*.c; do
  name=$(basename "$src" .c)
  # sources_test runs below, once per managed identity source.
  [ "$name" = sources_test ] && continue
  echo "== $name under valgrind"
  valgrind --quiet --error-exitcode=99 --leak-check=full \
    --suppressions="$root/tests/c/valgrind.supp" --num-callers=40 \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --fair-sched=yes "$build/$name" || status=1
done

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
  "$lib/azmi-emulator" --port 0 --source "$source" >"$slog" 2>&1 &
  pid=$!
  source_emulators+=("$pid")
  emulator_wait "$slog" "$(emulator_source_last "$source")" 60 || { status=1; return; }
  local vars=()
  while IFS= read -r line; do vars+=("$line"); done < <(emulator_source_env "$slog" "$source")
  echo "== sources_test $source ${mode:-} under valgrind"
  env -u AZMI_IMDS_ENDPOINT -u AZURE_POD_IDENTITY_AUTHORITY_HOST -u AZMI_CA_FILE \
    "${vars[@]}" "$@" valgrind --quiet --error-exitcode=99 --leak-check=full \
    --suppressions="$root/tests/c/valgrind.supp" --num-callers=40 \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --fair-sched=yes "$build/sources_test" "$expected" $mode || status=1
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
exit $status
