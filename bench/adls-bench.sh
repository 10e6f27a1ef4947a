#!/usr/bin/env bash
# Data Lake Storage figures for BENCHMARKS.md (issue: ADLS, performance section). Figures, not
# a test: nothing here passes or fails on a number.
#
#   - upload and download of a 1 GiB random file against azmi-emulator on loopback (HTTPS), for
#     Gen2 (DFS) and Gen1 (WebHDFS): azmi (bench/c/adls_bench.c through azmi_adls_upload /
#     azmi_adls_download) beside curl doing the same transfer to the same endpoint with the same
#     requests; seconds, MiB/s and the peak RSS of the client process (GNU time's maxrss);
#     every download is compared with the source (cmp);
#   - listing a folder of 100,000 entries with azmi_adls_list: seconds and peak RSS.
#
# The emulator runs with --data-dir, so file contents live on disk, not in its memory.
#
# Environment (all optional):
#   SIZE_MIB=1024        size of the transfer file
#   ENTRIES=100000       entries in the listed folder
#   RUNS=3               runs per measurement (seconds: median; RSS: the highest)
#   POPULATE_THREADS=8   threads creating the entries (set-up, not measured)
#   BENCH_DIR=<dir>      where the files go (default: a new folder under $TMPDIR or /tmp)
#   KEEP=1               keep that folder
#
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), a C compiler, curl,
# jq, GNU time at /usr/bin/time (Debian: apt-get install time), ~3×SIZE_MIB of free disk.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=lib.sh
source "$root/bench/lib.sh"
cd "$root"

size_mib="${SIZE_MIB:-1024}"
entries="${ENTRIES:-100000}"
runs="${RUNS:-3}"
populate_threads="${POPULATE_THREADS:-8}"
gen1_chunk=4194304 # WebHDFS: at most 4 MiB per CREATE/APPEND request (docs/emulator.md)
x_ms_version=2023-11-03

for tool in curl jq cmp split; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "error: GNU time is required at /usr/bin/time (Debian: apt-get install time)" >&2; exit 2; }
bench_c adls_bench -lpthread

work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/azmi-adls-bench.XXXXXX")}"
mkdir -p "$work"
emulator_pid=""
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null && wait "$emulator_pid" 2>/dev/null
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ---- emulator -----------------------------------------------------------------------------
mkdir -p "$work/emulator-data"
"$emulator_bin" --port 0 --data-dir "$work/emulator-data" >"$work/emulator.log" 2>&1 &
emulator_pid=$!
emulator_wait "$work/emulator.log" AZMI_ARM_ENDPOINT || exit 2
# The exports: AZMI_IMDS_ENDPOINT, AZURE_POD_IDENTITY_AUTHORITY_HOST, AZMI_CA_FILE (read by
# adls_bench through azmi, as by any C program).
eval "$(grep '^export ' "$work/emulator.log")"
services="$(sed -n 's/^azmi-emulator services on //p' "$work/emulator.log")"
admin="$AZURE_POD_IDENTITY_AUTHORITY_HOST"
gen1_url="$services/webhdfs/v1"
gen2_url="$services/fs"

# ---- tokens for curl (never printed: written to header files only this user can read) --------
umask 077
token_header() { # <resource> <file>
  curl -sS --fail -H Metadata:true "$AZMI_IMDS_ENDPOINT?api-version=2018-02-01&resource=$1" \
    | jq -j '"Authorization: Bearer " + .access_token + "\n"' >"$2"
}
token_header "https://storage.azure.com/" "$work/gen2.hdr"
token_header "https://datalake.azure.net/" "$work/gen1.hdr"
umask 022

# ---- source file ---------------------------------------------------------------------------
size=$((size_mib * 1024 * 1024))
source_file="$work/source.bin"
download_file="$work/download.bin"
echo "creating a ${size_mib} MiB random file in $work"
head -c "$size" /dev/urandom >"$source_file"
# curl sends a WebHDFS upload as azmi does, in 4 MiB requests: from pieces cut beforehand.
mkdir -p "$work/pieces"
split -b "$gen1_chunk" -d -a 6 "$source_file" "$work/pieces/p"

# ---- measuring -----------------------------------------------------------------------------
# measure <result-name> <command…>: runs it under GNU time; sets last_secs (wall, from the
# shell's clock in ns) and last_rss_kib (the process's peak RSS). azmi's download ends with an
# fsync of the file (before its rename); curl's does not: with the sync before every run that
# costs little here, but it is azmi's to pay.
measure() {
  local name=$1 start end
  shift
  # Write back what earlier runs left in the page cache first, so that no run pays for another.
  sync
  start=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$work/time.out" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "error: $name failed:" >&2; cat "$work/$name.err" "$work/$name.out" >&2; exit 1; }
  end=$(date +%s%N)
  last_secs=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }')
  last_rss_kib=$(tail -n 1 "$work/time.out")
}


rows=()
# record <operation> <tool> <seconds list> <rss list (KiB)> <bytes or empty>
record() {
  local op=$1 tool=$2 secs rss mibs
  secs=$(tr ' ' '\n' <<<"$3" | grep . | median)
  rss=$(tr ' ' '\n' <<<"$4" | grep . | sort -g | tail -n 1)
  if [ -n "$5" ]; then
    mibs=$(awk -v b="$5" -v s="$secs" 'BEGIN { printf "%.0f", b / 1048576 / s }')
  else
    mibs="-"
  fi
  rows+=("$(printf '| %-28s | %-5s | %8.3f | %7s | %13.1f |' "$op" "$tool" "$secs" "$mibs" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')")")
  printf '  %-28s %-5s %8.3f s  %7s MiB/s  peak RSS %6.1f MiB  (runs: %s)\n' "$op" "$tool" "$secs" "$mibs" \
    "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$3"
}

check_download() { # <what>
  cmp -s "$source_file" "$download_file" || { echo "error: $1: the downloaded bytes differ from the source" >&2; exit 1; }
  rm -f "$download_file"
}

admin_delete() { # <gen1|gen2> <remote path>: remove a remote file between runs (frees emulator disk)
  if [ "$1" = gen2 ]; then
    curl -sS --cacert "$AZMI_CA_FILE" -H @"$work/gen2.hdr" -H "x-ms-version: $x_ms_version" -X DELETE \
      "$gen2_url$2" -o /dev/null || true
  else
    curl -sS --cacert "$AZMI_CA_FILE" -H @"$work/gen1.hdr" -X DELETE "$gen1_url$2?op=DELETE" -o /dev/null || true
  fi
}

remote_length() { # <gen1|gen2> <remote path>
  if [ "$1" = gen2 ]; then
    curl -sS --fail -I --cacert "$AZMI_CA_FILE" -H @"$work/gen2.hdr" -H "x-ms-version: $x_ms_version" "$gen2_url$2" \
      | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" { print $2 }'
  else
    curl -sS --fail --cacert "$AZMI_CA_FILE" -H @"$work/gen1.hdr" "$gen1_url$2?op=GETFILESTATUS" | jq -r .FileStatus.length
  fi
}

# curl configs (read with -K, so the token stays off the command line). Every operation
# repeats its options: --next resets them.
curl_common() { # <header file>
  printf 'silent\nshow-error\nfail-with-body\ncacert = "%s"\nheader = "@%s"\noutput = "/dev/null"\n' "$AZMI_CA_FILE" "$1"
  # No "Expect: 100-continue" round trip before each body: azmi does not send one either.
  printf 'header = "Expect:"\n'
}

write_gen2_upload_config() { # <remote path> <file>
  {
    curl_common "$work/gen2.hdr"
    printf 'header = "x-ms-version: %s"\nheader = "Content-Length: 0"\nrequest = "PUT"\nurl = "%s%s?resource=file"\nnext\n' \
      "$x_ms_version" "$gen2_url" "$1"
    curl_common "$work/gen2.hdr"
    printf 'header = "x-ms-version: %s"\nrequest = "PATCH"\nupload-file = "%s"\nurl = "%s%s?action=append&position=0"\nnext\n' \
      "$x_ms_version" "$source_file" "$gen2_url" "$1"
    curl_common "$work/gen2.hdr"
    printf 'header = "x-ms-version: %s"\nheader = "Content-Length: 0"\nrequest = "PATCH"\nurl = "%s%s?action=flush&position=%s"\n' \
      "$x_ms_version" "$gen2_url" "$1" "$size"
  } >"$2"
}

# WebHDFS as azmi speaks it (and the service wants it): per 4 MiB chunk, the request without a
# body (answered 307 with a Location that adds write=true / append=true), then the data to that
# Location. (curl -L would send each body twice: the emulator reads and drops the first copy.)
write_gen1_upload_config() { # <remote path> <file>
  local piece offset=0 first=1
  {
    for piece in "$work"/pieces/p*; do
      if [ "$first" = 1 ]; then
        curl_common "$work/gen1.hdr"
        printf 'request = "PUT"\nurl = "%s%s?op=CREATE&overwrite=true"\nnext\n' "$gen1_url" "$1"
        curl_common "$work/gen1.hdr"
        printf 'request = "PUT"\nupload-file = "%s"\nurl = "%s%s?op=CREATE&overwrite=true&write=true"\nnext\n' "$piece" "$gen1_url" "$1"
        first=0
      else
        curl_common "$work/gen1.hdr"
        printf 'request = "POST"\nurl = "%s%s?op=APPEND&offset=%s"\nnext\n' "$gen1_url" "$1" "$offset"
        curl_common "$work/gen1.hdr"
        printf 'request = "POST"\nupload-file = "%s"\nurl = "%s%s?op=APPEND&offset=%s&append=true"\nnext\n' "$piece" "$gen1_url" "$1" "$offset"
      fi
      offset=$((offset + $(stat -c %s "$piece")))
    done
  } | sed '$ d' >"$2" # drop the last "next"
}

bench_transfer() { # <gen1|gen2>
  local gen=$1 url proto i up_s="" up_r="" down_s="" down_r="" cup_s="" cup_r="" cdown_s="" cdown_r=""
  if [ "$gen" = gen2 ]; then url=$gen2_url proto=dfs; else url=$gen1_url proto=webhdfs; fi
  local label="${gen^}"
  echo "$label: $runs runs of each transfer"
  if [ "$gen" = gen2 ]; then
    write_gen2_upload_config /bench/curl.bin "$work/curl-upload.cfg"
  else
    write_gen1_upload_config /bench/curl.bin "$work/curl-upload.cfg"
  fi
  for i in $(seq 1 "$runs"); do
    measure "$gen-azmi-upload" "$bench_bin" "$url" "$proto" upload "$source_file" /bench/azmi.bin
    up_s+=" $last_secs" up_r+=" $last_rss_kib"
    measure "$gen-azmi-download" "$bench_bin" "$url" "$proto" download /bench/azmi.bin "$download_file"
    down_s+=" $last_secs" down_r+=" $last_rss_kib"
    check_download "$label azmi download"

    measure "$gen-curl-upload" curl -K "$work/curl-upload.cfg"
    cup_s+=" $last_secs" cup_r+=" $last_rss_kib"
    [ "$(remote_length "$gen" /bench/curl.bin)" = "$size" ] || { echo "error: $label curl upload: wrong remote length" >&2; exit 1; }
    if [ "$gen" = gen2 ]; then
      measure "$gen-curl-download" curl -K <(curl_common "$work/gen2.hdr" | sed '/^output/d') \
        -H "x-ms-version: $x_ms_version" -o "$download_file" "$url/bench/curl.bin"
    else
      # OPEN answers 307 (to …&read=true); the data then comes chunked. -L follows it (no body
      # to resend on a GET).
      measure "$gen-curl-download" curl -K <(curl_common "$work/gen1.hdr" | sed '/^output/d') \
        -L -o "$download_file" "$url/bench/curl.bin?op=OPEN"
    fi
    cdown_s+=" $last_secs" cdown_r+=" $last_rss_kib"
    check_download "$label curl download (of curl's upload)"
    admin_delete "$gen" /bench/azmi.bin
    admin_delete "$gen" /bench/curl.bin
  done
  record "$label upload ${size_mib} MiB" azmi "$up_s" "$up_r" "$size"
  record "$label upload ${size_mib} MiB" curl "$cup_s" "$cup_r" "$size"
  record "$label download ${size_mib} MiB" azmi "$down_s" "$down_r" "$size"
  record "$label download ${size_mib} MiB" curl "$cdown_s" "$cdown_r" "$size"
}

bench_list() { # <gen1|gen2>
  local gen=$1 url proto i secs="" rss="" items
  if [ "$gen" = gen2 ]; then url=$gen2_url proto=dfs; else url=$gen1_url proto=webhdfs; fi
  local label="${gen^}"
  echo "$label: creating $entries entries ($populate_threads threads; not measured)"
  "$bench_bin" "$url" "$proto" populate "/list-$gen" "$entries" "$populate_threads" >"$work/$gen-populate.out"
  cat "$work/$gen-populate.out"
  for i in $(seq 1 "$runs"); do
    measure "$gen-azmi-list" "$bench_bin" "$url" "$proto" list "/list-$gen"
    items=$(awk '{ print $2 }' "$work/$gen-azmi-list.out")
    [ "$items" = "$entries" ] || { echo "error: $label list saw $items entries, expected $entries" >&2; exit 1; }
    # The listing's own time (adls_bench's clock around azmi_adls_list), not process start-up.
    secs+=" $(awk '{ print $4 }' "$work/$gen-azmi-list.out")" rss+=" $last_rss_kib"
  done
  record "$label list $entries entries" azmi "$secs" "$rss" ""
}

load_start=$(loadavg)
echo "azmi $(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1), emulator at $services, $(nproc) CPUs, load average $load_start"
bench_transfer gen2
bench_transfer gen1
bench_list gen2
bench_list gen1

emulator_hwm=$(awk '/^VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$emulator_pid/status")

echo
echo "| operation                    | tool  |  seconds |   MiB/s | peak RSS MiB |"
echo "|------------------------------|-------|---------:|--------:|-------------:|"
printf '%s\n' "${rows[@]}"
echo
echo "seconds: median of $runs runs; transfers: wall time of the client process; list: the azmi_adls_list call."
echo "peak RSS: the highest of the runs (GNU time maxrss). azmi-emulator's own peak RSS: $emulator_hwm."
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(loadavg). The client and the"
echo "emulator share the machine's CPUs: figures from a busy machine are low and noisy."
