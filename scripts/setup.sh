#!/usr/bin/env bash
# Installs what building and testing azmi needs on a fresh machine; safe to run again.
# - cargo pointed at the shared offline crate registry (crates.io is not reachable here)
# - gcc, valgrind and pkg-config (C tests, C SDK test), debootstrap (the Debian roots of the
#   cross builds and their Wine and qemu tests: scripts/lib/cross-root.sh) and tinyproxy (the
#   proxy of the proxy tests: Rust, C, C# and Pester), from Debian's packages when missing
# - Azurite 3.37.0 (npm) under tools/azurite, the Blob storage peer of tests/blob.rs
# - the JavaScript SDK peer tests' packages (npm ci from tests/js/package-lock.json)
# - PowerShell 7.6.9 and Pester (scripts/setup-powershell.sh)
# - as root: the Debian 11 root (glibc 2.31) that libazmi.so is linked against, so that it loads
#   on older systems (build.rs; scripts/lib/cross-root.sh), under $AZMI_CROSS_ROOTS or target/cross
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

shared="${AZMI_SHARED_DIR:-$root/../shared}"
if [ -x "$shared/cargo-offline.sh" ] || [ -f "$shared/cargo-offline.sh" ]; then
  bash "$shared/cargo-offline.sh"
else
  echo "note: $shared/cargo-offline.sh not found; using cargo's configured registry" >&2
fi

missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# Debian installs it in /usr/bin and, where services may start, as a service too: the tests
# never use that one, they start their own on free ports.
[ -x /usr/bin/tinyproxy ] || [ -x /usr/sbin/tinyproxy ] || missing+=(tinyproxy)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian's packages"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}"
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq "${missing[@]}"
  fi
fi

for tool in cargo dotnet; do
  command -v "$tool" >/dev/null || { echo "$tool is required but not installed" >&2; exit 1; }
done
rustup component list --installed 2>/dev/null | grep -q clippy || true

azurite_version=3.37.0
azurite_dir="$root/tools/azurite"
installed="$(node -p "require('$azurite_dir/node_modules/azurite/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$azurite_version" ]; then
  command -v npm >/dev/null || { echo "npm is required to install Azurite" >&2; exit 1; }
  echo "installing Azurite $azurite_version into $azurite_dir"
  mkdir -p "$azurite_dir"
  npm install --prefix "$azurite_dir" --no-audit --no-fund --loglevel=error "azurite@$azurite_version"
fi

bash "$root/scripts/setup-js.sh"

bash "$root/scripts/setup-powershell.sh"

# The glibc floor's root: made once (a few minutes), then only checked. Without root the build
# links against this machine's glibc and says so.
if [ "$(id -u)" = 0 ]; then
  # shellcheck source=lib/cross-root.sh
  source "$root/scripts/lib/cross-root.sh"
  cross_root_ensure bullseye
else
  echo "note: not root, so no Debian 11 root: libazmi.so will need this machine's glibc" >&2
fi
