#!/usr/bin/env bash
# Blob storage figures for BENCHMARKS.md (issue: Key Vault, ARM, SAS, Blob, SQL; performance
# section). Figures, not a test: nothing here passes or fails on a number.
#
# Upload and download of a 1 GiB random file to/from Azurite (HTTPS, --oauth basic, on
# loopback), three clients, one process per transfer:
#   - azmi:  bench/c/blob_bench.c through azmi_blob_upload / azmi_blob_download
#            (8 MiB blocks + Put Block List; one GET), token from azmi-emulator's IMDS;
#   - .NET:  bench/dotnet/blob, Azure.Storage.Blobs 12.30.1 BlobClient.UploadAsync(path) /
#            DownloadToAsync(path) with default transfer options, ManagedIdentityCredential
#            (system-assigned) from the same IMDS;
#   - curl:  one Put Blob of the whole file (x-ms-blob-type: BlockBlob, -T) and one GET, bearer
#            token from the same IMDS (in a header file, never printed or on a command line).
# Seconds (wall time of the client process: start-up and the token request included; the
# azmi/.NET transfer call alone is printed too), MiB/s, peak RSS of the client process (GNU
# time's maxrss). Every download is compared with the source (cmp); curl's upload's remote
# length is checked.
# Note: against azmi-emulator, ManagedIdentityCredential (MSAL) spends ~24 s per .NET process
# probing IMDS v2 (getplatformmetadata, 404, retried) before the token: compare .NET on "call s"
# (BLOB_BENCH_LOG=1 shows the SDK's event log in <BENCH_DIR>/dotnet-*.out with KEEP=1).
#
# Environment (all optional):
#   SIZE_MIB=1024   size of the transfer file
#   RUNS=3          runs per measurement (seconds: median; RSS: the highest)
#   BENCH_DIR=<dir> where the files go (default: a new folder under $TMPDIR or /tmp)
#   KEEP=1          keep that folder
#
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), Azurite
# (bash scripts/setup.sh installs it under tools/azurite), node, openssl, a C compiler, the .NET
# 10 SDK, curl, jq, GNU time at /usr/bin/time (Debian: apt-get install time), ~4×SIZE_MIB of
# free disk.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=lib.sh
source "$root/bench/lib.sh"
cd "$root"

size_mib="${SIZE_MIB:-1024}"
runs="${RUNS:-3}"
x_ms_version=2023-11-03
container=bench

azurite_bin="$root/tools/azurite/node_modules/.bin/azurite-blob"
dotnet_out="$root/target/bench/dotnet-blob"

for tool in curl jq cmp openssl node dotnet; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "error: GNU time is required at /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
[ -x "$azurite_bin" ] || { echo "error: Azurite is not installed ($azurite_bin): run bash scripts/setup.sh" >&2; exit 2; }
bench_c blob_bench
echo "building bench/dotnet/blob"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build -c Release -nologo -v quiet -o "$dotnet_out" "$root/bench/dotnet/blob/BlobBench.csproj" >/dev/null

work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/azmi-blob-bench.XXXXXX")}"
mkdir -p "$work"
emulator_pid="" azurite_pid=""
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  [ -n "$azurite_pid" ] && kill "$azurite_pid" 2>/dev/null && wait "$azurite_pid" 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ---- azmi-emulator (IMDS tokens) ------------------------------------------------------------
"$emulator_bin" --port 0 >"$work/emulator.log" 2>&1 &
emulator_pid=$!
emulator_wait "$work/emulator.log" AZMI_ARM_ENDPOINT || exit 2
eval "$(grep '^export ' "$work/emulator.log")"
for other in IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT MSI_ENDPOINT MSI_SECRET; do
  unset "$other"
done

# ---- Azurite: HTTPS with a fresh certificate for 127.0.0.1, --oauth basic --------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
  -keyout "$work/azurite-key.pem" -out "$work/azurite-cert.pem" >/dev/null 2>&1
# The bundle every client trusts: azmi-emulator's CA (IMDS is plain HTTP; kept for symmetry
# with the tests) and Azurite's certificate.
cat "$AZMI_CA_FILE" "$work/azurite-cert.pem" >"$work/ca-bundle.pem"
export AZMI_CA_FILE="$work/ca-bundle.pem"
azurite_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
mkdir -p "$work/azurite"
"$azurite_bin" --blobHost 127.0.0.1 --blobPort "$azurite_port" --oauth basic --silent --skipApiVersionCheck \
  --disableTelemetry --cert "$work/azurite-cert.pem" --key "$work/azurite-key.pem" --location "$work/azurite" \
  >"$work/azurite.log" 2>&1 &
azurite_pid=$!
for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null && break
  kill -0 "$azurite_pid" 2>/dev/null || { echo "error: Azurite exited:" >&2; cat "$work/azurite.log" >&2; exit 2; }
  sleep 0.1
done
account="https://127.0.0.1:$azurite_port/devstoreaccount1"
url="$account/$container"

# ---- token for curl (never printed: in a header file only this user can read) ----------------
umask 077
curl -sS --fail -H Metadata:true "$AZMI_IMDS_ENDPOINT?api-version=2018-02-01&resource=https://storage.azure.com/" \
  | jq -j '"Authorization: Bearer " + .access_token + "\n"' >"$work/storage.hdr"
umask 022

"$bench_bin" "$account" container "$container"

# ---- source file ---------------------------------------------------------------------------
size=$((size_mib * 1024 * 1024))
source_file="$work/source.bin"
download_file="$work/download.bin"
echo "creating a ${size_mib} MiB random file in $work"
head -c "$size" /dev/urandom >"$source_file"

# ---- measuring -----------------------------------------------------------------------------
# measure <result-name> <command…>: runs it under GNU time; sets last_secs (wall, the shell's
# clock), last_call (the transfer call's own seconds when the client prints them) and
# last_rss_kib. azmi's download ends with an fsync of the file (before its rename); the others'
# do not: with the sync before every run that costs little, but it is azmi's to pay.
measure() {
  local name=$1 start end
  shift
  sync
  start=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$work/time.out" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "error: $name failed:" >&2; cat "$work/$name.err" "$work/$name.out" >&2; exit 1; }
  end=$(date +%s%N)
  last_secs=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
  last_rss_kib=$(tail -n 1 "$work/time.out")
  last_call=$(awk '$3 == "bytes" && $5 == "s" { print $4 }' "$work/$name.out")
  [ -n "$last_call" ] || last_call="-"
}


rows=()
record() { # <operation> <tool> <seconds list> <call seconds list> <rss list (KiB)>
  local op=$1 tool=$2 secs call rss mibs
  secs=$(tr ' ' '\n' <<<"$3" | grep . | median)
  if grep -q '[0-9]' <<<"$4"; then call=$(tr ' ' '\n' <<<"$4" | grep '[0-9]' | median); else call="-"; fi
  rss=$(tr ' ' '\n' <<<"$5" | grep . | sort -g | tail -n 1)
  mibs=$(awk -v b="$size" -v s="$secs" 'BEGIN { printf "%.0f", b / 1048576 / s }')
  rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
  local callmibs="-"
  [ "$call" = "-" ] || callmibs=$(awk -v b="$size" -v s="$call" 'BEGIN { printf "%.0f", b / 1048576 / s }')
  rows+=("$(printf '| %-20s | %-22s | %8.3f | %7s | %8s | %10s | %12s |' "$op" "$tool" "$secs" "$mibs" "$call" "$callmibs" "$rss")")
  printf '  %-20s %-22s %8.3f s  %5s MiB/s  call %6s s  peak RSS %6s MiB  (runs: %s)\n' "$op" "$tool" "$secs" "$mibs" "$call" "$rss" "$3"
}

check_download() { # <what>
  cmp -s "$source_file" "$download_file" || { echo "error: $1: the downloaded bytes differ from the source" >&2; exit 1; }
  rm -f "$download_file"
}

curl_common() {
  printf 'silent\nshow-error\nfail-with-body\ncacert = "%s"\nheader = "@%s"\nheader = "x-ms-version: %s"\n' \
    "$AZMI_CA_FILE" "$work/storage.hdr" "$x_ms_version"
  printf 'header = "Expect:"\n' # no 100-continue round trip (azmi sends none either)
}
{ curl_common; printf 'output = "/dev/null"\nheader = "x-ms-blob-type: BlockBlob"\nrequest = "PUT"\nupload-file = "%s"\nurl = "%s/curl.bin"\n' \
    "$source_file" "$url"; } >"$work/curl-upload.cfg"
{ curl_common; printf 'output = "%s"\nurl = "%s/curl.bin"\n' "$download_file" "$url"; } >"$work/curl-download.cfg"

remote_length() { # <name>
  curl -sS --fail -I -K <(curl_common) "$url/$1" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" { print $2 }'
}
remote_delete() { # <name>: frees Azurite's disk between runs
  curl -sS -X DELETE -K <(curl_common) -o /dev/null "$url/$1" || true
}

load_start=$(loadavg)
echo "azmi $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1), Azurite $(node -p "require('$root/tools/azurite/node_modules/azurite/package.json').version") at $account, $(nproc) CPUs, load average $load_start"

declare -A S C R
for i in $(seq 1 "$runs"); do
  echo "run $i of $runs"
  measure azmi-upload "$bench_bin" "$account" upload "$source_file" "$container" azmi.bin
  S[azmi-up]+=" $last_secs" C[azmi-up]+=" $last_call" R[azmi-up]+=" $last_rss_kib"
  measure azmi-download "$bench_bin" "$account" download "$container" azmi.bin "$download_file"
  S[azmi-down]+=" $last_secs" C[azmi-down]+=" $last_call" R[azmi-down]+=" $last_rss_kib"
  check_download "azmi download"

  measure dotnet-upload "$dotnet_out/BlobBench" upload "$account" "$AZMI_CA_FILE" "$source_file" "$container" dotnet.bin
  S[dotnet-up]+=" $last_secs" C[dotnet-up]+=" $last_call" R[dotnet-up]+=" $last_rss_kib"
  measure dotnet-download "$dotnet_out/BlobBench" download "$account" "$AZMI_CA_FILE" "$container" dotnet.bin "$download_file"
  S[dotnet-down]+=" $last_secs" C[dotnet-down]+=" $last_call" R[dotnet-down]+=" $last_rss_kib"
  check_download "Azure.Storage.Blobs download"

  measure curl-upload curl -K "$work/curl-upload.cfg"
  S[curl-up]+=" $last_secs" R[curl-up]+=" $last_rss_kib"
  [ "$(remote_length curl.bin)" = "$size" ] || { echo "error: curl upload: wrong remote length" >&2; exit 1; }
  measure curl-download curl -K "$work/curl-download.cfg"
  S[curl-down]+=" $last_secs" R[curl-down]+=" $last_rss_kib"
  check_download "curl download"

  remote_delete azmi.bin; remote_delete dotnet.bin; remote_delete curl.bin
done
record "upload ${size_mib} MiB" "azmi (C)" "${S[azmi-up]}" "${C[azmi-up]}" "${R[azmi-up]}"
record "upload ${size_mib} MiB" "Azure.Storage.Blobs" "${S[dotnet-up]}" "${C[dotnet-up]}" "${R[dotnet-up]}"
record "upload ${size_mib} MiB" "curl (one Put Blob)" "${S[curl-up]}" "" "${R[curl-up]}"
record "download ${size_mib} MiB" "azmi (C)" "${S[azmi-down]}" "${C[azmi-down]}" "${R[azmi-down]}"
record "download ${size_mib} MiB" "Azure.Storage.Blobs" "${S[dotnet-down]}" "${C[dotnet-down]}" "${R[dotnet-down]}"
record "download ${size_mib} MiB" "curl (one GET)" "${S[curl-down]}" "" "${R[curl-down]}"

azurite_hwm=$(awk '/^VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$azurite_pid/status")

echo
echo "| operation            | client                 |  seconds |   MiB/s |   call s | call MiB/s | peak RSS MiB |"
echo "|----------------------|------------------------|---------:|--------:|---------:|-----------:|-------------:|"
printf '%s\n' "${rows[@]}"
echo
echo "seconds: median of $runs runs, wall time of the client process; MiB/s from it. call s: the transfer"
echo "call alone (median), as the client measures it. peak RSS: the highest of the runs (GNU time maxrss)."
echo "Azurite's (node) peak RSS over the run: $azurite_hwm."
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(loadavg)."
