#!/usr/bin/env bash
# Builds the release native library, azmi-emulator and the AzMi module (out/AzMi/AzMi.psd1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --locked -p azmi -p azmi-emulator
bash "$root/scripts/build-module.sh"
