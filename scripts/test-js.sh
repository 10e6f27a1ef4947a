#!/usr/bin/env bash
# Runs Microsoft's JavaScript SDKs against the release build of azmi-emulator: @azure/identity
# in every managed identity source mode, @azure/keyvault-secrets, @azure/storage-file-datalake,
# @azure/storage-blob, @azure/arm-resources, @azure/arm-storage and the `webhdfs` client
# (tests/js; node's test runner, all traffic on loopback). The packages are those of
# tests/js/package-lock.json, installed into tests/js/node_modules by scripts/setup.sh (run
# here too when they are missing). Builds the emulator first when it is missing.
# Environment: AZMI_EMULATOR (full path) overrides the emulator tested.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
export AZMI_EMULATOR="${AZMI_EMULATOR:-$target_dir/release/azmi-emulator}"
if [ ! -x "$AZMI_EMULATOR" ]; then
  echo "building the release emulator (missing: $AZMI_EMULATOR)"
  cargo build --release -p azmi-emulator
fi

if [ ! -d "$root/tests/js/node_modules/@azure/identity" ]; then
  bash "$root/scripts/setup-js.sh"
fi
node "$root/tests/js/run.mjs" "$@"
