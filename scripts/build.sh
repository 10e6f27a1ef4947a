#!/usr/bin/env bash
# Builds the release native library, azmi-emulator and the AzMi module (out/AzMi/AzMi.psd1),
# and leaves the SONAME link target/release/libazmi.so.<abi> that C programs linked against
# target/release/libazmi.so load it by (scripts/lib/c-program.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release --locked -p azmi -p azmi-emulator
# shellcheck source=lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
c_program_soname_link
bash "$root/scripts/build-module.sh"
