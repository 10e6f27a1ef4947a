#!/usr/bin/env bash
# Regenerates the committed include/azmi.h from src/ffi (cbindgen, via build.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
AZMI_WRITE_HEADER=1 cargo build --quiet --lib
echo "include/azmi.h regenerated"
