#!/usr/bin/env bash
# Appends the items include/azmi.h gained to abi/azmi-<abi>.symbols (creating the list for a new
# ABI name), then checks the header against it (tests/abi.rs). Listed items are never rewritten:
# removing or changing one needs a new ABI name first (docs/abi.md).
set -euo pipefail
cd "$(dirname "$0")/.."
AZMI_WRITE_ABI=1 cargo test --quiet --locked --test abi
echo "abi/azmi-$(bash scripts/version.sh --abi).symbols is up to date"
