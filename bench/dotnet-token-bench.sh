#!/usr/bin/env bash
# Warm token per call from .NET (issue 21), in one process: azmi's
# ManagedIdentity.GetTokenAsync and AzMiCredential.GetToken beside Azure.Identity's
# ManagedIdentityCredential.GetToken, all against azmi-emulator's IMDS on loopback
# (bench/dotnet/token). Prints figures; asserts nothing.
# Environment: CALLS (per round, default 20000), ROUNDS (default 7).
# Needs target/release/libazmi.so and azmi-emulator (scripts/build.sh) and the .NET SDK.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

lib="$root/target/release/libazmi.so"
for f in "$lib" "$root/target/release/azmi-emulator"; do
  [ -e "$f" ] || { echo "missing $f: run scripts/build.sh first" >&2; exit 2; }
done
out="$root/target/bench/dotnet-token"
echo "building bench/dotnet/token"
dotnet build -c Release -nologo -v quiet -p:AzMiNativeLib="$lib" -o "$out" \
  "$root/bench/dotnet/token/TokenBench.csproj" >/dev/null

log="$(mktemp)"
target/release/azmi-emulator --port 0 >"$log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log"' EXIT
emulator_wait "$log" AZMI_ARM_ENDPOINT || exit 2
# azmi reads AZMI_IMDS_ENDPOINT, Azure.Identity AZURE_POD_IDENTITY_AUTHORITY_HOST: the same IMDS.
AZMI_IMDS_ENDPOINT="$(emulator_value "$log" AZMI_IMDS_ENDPOINT)"
AZURE_POD_IDENTITY_AUTHORITY_HOST="$(emulator_value "$log" AZURE_POD_IDENTITY_AUTHORITY_HOST)"
export AZMI_IMDS_ENDPOINT AZURE_POD_IDENTITY_AUTHORITY_HOST
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
"$out/TokenBench" "${CALLS:-20000}" "${ROUNDS:-7}"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
