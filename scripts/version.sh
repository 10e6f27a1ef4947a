#!/usr/bin/env bash
# Prints azmi's version, the one version of every package (the C SDK, the AzMi PowerShell module
# and the .NET assembly), from [workspace.package] in Cargo.toml.
#   scripts/version.sh         0.1.0
#   scripts/version.sh --abi   0.1  (the ABI name: the major version, or 0.<minor> before 1.0;
#                                    the SONAME is libazmi.so.<abi>; docs/abi.md)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=$(awk '
  /^\[/ { section = $0 }
  section == "[workspace.package]" && /^version[ \t]*=/ {
    sub(/^[^"]*"/, ""); sub(/".*$/, ""); print; exit
  }' "$root/Cargo.toml")
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]]; then
  echo "version.sh: no version under [workspace.package] in $root/Cargo.toml" >&2
  exit 1
fi
case "${1:-}" in
  "") echo "$version" ;;
  --abi)
    IFS=. read -r major minor _ <<<"$version"
    if [ "$major" = 0 ]; then echo "0.$minor"; else echo "$major"; fi ;;
  *) echo "version.sh: unknown argument '$1' (try --abi)" >&2; exit 2 ;;
esac
