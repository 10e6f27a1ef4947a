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
azurite_bin="$root/tools/azurite/node_modules/.bin/azurite-blob"
[ -e "$azurite_bin" ] || {
  echo "Azurite is not installed ($azurite_bin is missing): run scripts/setup.sh" >&2; exit 2; }

# The test programs load libazmi.so by its SONAME, libazmi.so.<abi> (docs/abi.md).
ln -sf libazmi.so "$lib/libazmi.so.$(bash "$root/scripts/version.sh" --abi)"
cc=${CC:-gcc}
for src in "$root"/tests/c/*.c; do
  name=$(basename "$src" .c)
  "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -g -O1 -I "$root/include" "$src" \
    -L "$lib" -Wl,-rpath,"$lib" -lazmi -lpthread -o "$build/$name"
done

log="$build/emulator.log"
"$lib/azmi-emulator" --port 0 >"$log" 2>&1 &
emulator=$!
azurite=""
source_emulators=()
scratch="$(mktemp -d "${TMPDIR:-/tmp}/azmi-c-tests.XXXXXX")"
cleanup() {
  kill "$emulator" 2>/dev/null || true
  for pid in "${source_emulators[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$azurite" ]; then kill "$azurite" 2>/dev/null || true; wait "$azurite" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# Azurite's blob service: a fresh certificate for 127.0.0.1, a free port, an empty workspace.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
  -keyout "$scratch/key.pem" -out "$scratch/cert.pem" >/dev/null 2>&1 \
  || { echo "openssl could not make a certificate for Azurite" >&2; exit 2; }
azurite_port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$scratch/data"
"$azurite_bin" --blobHost 127.0.0.1 --blobPort "$azurite_port" --oauth basic --silent \
  --skipApiVersionCheck --disableTelemetry --cert "$scratch/cert.pem" --key "$scratch/key.pem" \
  --location "$scratch/data" >"$build/azurite.log" 2>&1 &
azurite=$!
emulator_wait "$log" AZMI_ARM_ENDPOINT || exit 2
endpoint=$(emulator_value "$log" AZMI_IMDS_ENDPOINT)
ca_file=$(emulator_value "$log" AZMI_CA_FILE)
adls_base=$(emulator_services_url "$log")
keyvault_url=$(emulator_value "$log" AZMI_KEYVAULT_URL)
arm_endpoint=$(emulator_value "$log" AZMI_ARM_ENDPOINT)
export AZMI_IMDS_ENDPOINT="$endpoint"
# The emulator's CA (for its HTTPS services) with Azurite's certificate, and the base URL of the
# emulator's Data Lake endpoints.
cat "$ca_file" "$scratch/cert.pem" >"$scratch/ca-bundle.pem"
export AZMI_CA_FILE="$scratch/ca-bundle.pem"
export AZMI_ADLS_BASE="$adls_base"
[ -n "$keyvault_url" ] && [ -n "$arm_endpoint" ] || {
  echo "azmi-emulator did not print its Key Vault and Resource Manager URLs:" >&2; cat "$log" >&2; exit 2; }
# Its Key Vault and Resource Manager endpoints.
export AZMI_KEYVAULT_URL="$keyvault_url"
export AZMI_ARM_ENDPOINT="$arm_endpoint"

for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null && break
  kill -0 "$azurite" 2>/dev/null || { echo "Azurite exited:" >&2; cat "$build/azurite.log" >&2; exit 2; }
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null || {
  echo "Azurite did not listen on port $azurite_port within 60 s:" >&2; cat "$build/azurite.log" >&2; exit 2; }
# Azurite's account, path-style, for storage_test.
export AZMI_BLOB_ACCOUNT="https://127.0.0.1:$azurite_port/devstoreaccount1"

under_valgrind() {
  valgrind --quiet --error-exitcode=99 --leak-check=full \
    --suppressions="$root/tests/c/valgrind.supp" --num-callers=40 \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --fair-sched=yes "$@"
}

# Two tinyproxy instances for proxy_test (scripts/setup.sh installs tinyproxy), on free ports,
# with configurations and logs of their own: an open one, and one that asks for Basic
# credentials (alice, s3cret). `start_tinyproxy name extra-config` sets $started_port.
command -v tinyproxy >/dev/null || { echo "tinyproxy is not installed: run scripts/setup.sh" >&2; exit 2; }
start_tinyproxy() {
  local name=$1 extra=$2 conf="$scratch/$1.conf"
  started_port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  printf 'Port %s\nListen 127.0.0.1\nTimeout 30\nLogLevel Connect\nLogFile "%s"\nDisableViaHeader Yes\n%s' \
    "$started_port" "$scratch/$name.log" "$extra" >"$conf"
  # As root, tinyproxy drops to another user unless told to stay (the log is this user's).
  [ "$(id -u)" = 0 ] && printf 'User root\nGroup root\n' >>"$conf"
  tinyproxy -d -c "$conf" >"$build/$name.out" 2>&1 &
  source_emulators+=("$!")
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$started_port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "tinyproxy ($name) did not listen on port $started_port:" >&2; cat "$build/$name.out" >&2; exit 2
}
start_tinyproxy proxy ""
proxy_port=$started_port
start_tinyproxy auth-proxy "BasicAuth alice s3cret
"
auth_proxy_port=$started_port

status=0
for src in "$root"/tests/c/*.c; do
  name=$(basename "$src" .c)
  # sources_test runs below, once per managed identity source; proxy_test with its proxies.
  [ "$name" = sources_test ] || [ "$name" = proxy_test ] && continue
  echo "== $name under valgrind"
  under_valgrind "$build/$name" || status=1
done

# proxy_test with the proxies, and https_proxy (lowercase) in its environment; then again with
# the emulator's CA only in SSL_CERT_FILE (the system's trust store), not in AZMI_CA_FILE.
echo "== proxy_test under valgrind"
(
  export https_proxy="http://127.0.0.1:$proxy_port"
  export AZMI_TEST_PROXY="http://127.0.0.1:$proxy_port" AZMI_TEST_PROXY_LOG="$scratch/proxy.log"
  export AZMI_TEST_AUTH_PROXY="http://127.0.0.1:$auth_proxy_port"
  export AZMI_TEST_AUTH_PROXY_LOG="$scratch/auth-proxy.log"
  under_valgrind "$build/proxy_test"
) || status=1
echo "== proxy_test trust-store (SSL_CERT_FILE) under valgrind"
(
  unset AZMI_CA_FILE
  export SSL_CERT_FILE="$ca_file"
  under_valgrind "$build/proxy_test" trust-store
) || status=1

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
