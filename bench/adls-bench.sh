#!/usr/bin/env bash
# Data Lake Storage figures for BENCHMARKS.md (issues: ADLS, performance section; 19). Figures,
# not a test: nothing here passes or fails on a number.
#
#   - upload and download of random files of several sizes against azmi-emulator on loopback
#     (HTTPS), for Gen2 (DFS) and Gen1 (WebHDFS): azmi (bench/c/adls_bench.c through
#     azmi_adls_upload / azmi_adls_download, default settings) beside curl doing the same
#     transfer to the same endpoint, paired as in bench/blob-bench.sh (azmi and curl one right
#     after the other in every run, the order alternating; "azmi/curl" is the median over the
#     runs of curl's seconds / azmi's); seconds, MiB/s, CPU seconds and peak RSS of the client
#     process (bench/c/measure.c); every download is compared with the source (cmp). curl sends
#     Gen2 as create, one append of the whole file, flush; Gen1 as the WebHDFS two-step per
#     4 MiB (the limit per request of the service and the emulator). Each download also runs
#     beside curl followed by `sync` of the file (third in every run): azmi fsyncs the file
#     before renaming it into place, curl does not, and the issue keeps the fsync;
#   - listing a folder of ENTRIES entries with azmi_adls_list: seconds and peak RSS.
#
# The emulator runs with --data-dir, so file contents live on disk, not in its memory.
#
# Environment (all optional):
#   SIZES_MIB="64 256 1024"  sizes of the transfer files
#   PROTOCOLS="gen2 gen1"    which protocols
#   ENTRIES=100000           entries in the listed folder (0: no listing)
#   RUNS=5                   paired runs per measurement (seconds: median; RSS: the highest)
#   POPULATE_THREADS=8       threads creating the entries (set-up, not measured)
#   BENCH_DIR=<dir>          where the files go (default: a new folder under $TMPDIR or /tmp)
#   KEEP=1                   keep that folder
#
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), gcc, curl, python3,
# free disk of about 3 × the largest size. Nothing a new machine lacks: the CI smoke stage
# (scripts/bench-smoke.sh) runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=lib/bench.sh
source "$root/bench/lib/bench.sh"
cd "$root"

sizes_mib="${SIZES_MIB:-64 256 1024}"
protocols="${PROTOCOLS:-gen2 gen1}"
entries="${ENTRIES:-100000}"
runs="${RUNS:-5}"
populate_threads="${POPULATE_THREADS:-8}"
gen1_chunk=4194304 # WebHDFS: at most 4 MiB per CREATE/APPEND request (docs/emulator.md)
x_ms_version=2023-11-03

emulator_bin="$root/target/release/azmi-emulator"
bench_bin="$root/target/bench/adls_bench"

for tool in curl cmp split python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 2; }
done
c_program_release
c_program_build "$root/bench/c/adls_bench.c" "$bench_bin" -O2
bench_measure_build

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
bench_token_header "$AZMI_IMDS_ENDPOINT" "https://storage.azure.com/" "$work/gen2.hdr"
bench_token_header "$AZMI_IMDS_ENDPOINT" "https://datalake.azure.net/" "$work/gen1.hdr"

# ---- figures -------------------------------------------------------------------------------
rows=()
# record <operation> <azmi seconds> <curl seconds> <ratios> <azmi cpu> <curl cpu> <azmi rss> <curl rss> <bytes>
record() {
  local op=$1 a c
  a=$(bench_words_median "$2") c=$(bench_words_median "$3")
  rows+=("$(printf '| %-24s | %7.3f | %5s | %7.3f | %5s | %5.0f %% | %6.2f | %6.2f | %6.1f | %6.1f |' "$op" \
    "$a" "$(bench_mib_per_s "$9" "$a")" "$c" "$(bench_mib_per_s "$9" "$c")" \
    "$(awk -v r="$(bench_words_median "$4")" 'BEGIN { print r * 100 }')" \
    "$(bench_words_median "$5")" "$(bench_words_median "$6")" \
    "$(tr ' ' '\n' <<<"$7" | grep . | bench_max | awk '{ print $1 / 1024 }')" \
    "$(tr ' ' '\n' <<<"$8" | grep . | bench_max | awk '{ print $1 / 1024 }')")")
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
    curl -sS --fail --cacert "$AZMI_CA_FILE" -H @"$work/gen1.hdr" "$gen1_url$2?op=GETFILESTATUS" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["FileStatus"]["length"])'
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

bench_transfer() { # <gen1|gen2> <MiB>
  local gen=$1 mib=$2 url proto i tool first second label="${1^}"
  local up_a="" up_c="" down_a="" down_c="" down_v="" up_r="" down_r=""
  local -A cpu=() rss=()
  if [ "$gen" = gen2 ]; then url=$gen2_url proto=dfs; else url=$gen1_url proto=webhdfs; fi
  echo "$label ${mib} MiB: $runs paired runs"
  if [ "$gen" = gen2 ]; then
    write_gen2_upload_config /bench/curl.bin "$work/curl-upload.cfg"
  else
    write_gen1_upload_config /bench/curl.bin "$work/curl-upload.cfg"
  fi
  for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) = 1 ]; then first=azmi second=curl; else first=curl second=azmi; fi
    for tool in $first $second; do
      if [ "$tool" = azmi ]; then
        bench_measure "$work" "$gen-azmi-upload" "$bench_bin" "$url" "$proto" upload "$source_file" /bench/azmi.bin
        up_a+=" $last_secs"
      else
        bench_measure "$work" "$gen-curl-upload" curl -K "$work/curl-upload.cfg"
        up_c+=" $last_secs"
        [ "$(remote_length "$gen" /bench/curl.bin)" = "$size" ] || { echo "error: $label curl upload: wrong remote length" >&2; exit 1; }
      fi
      cpu[$tool-up]+=" $last_cpu" rss[$tool-up]+=" $last_rss_kib"
    done
    for tool in $first $second; do
      if [ "$tool" = azmi ]; then
        bench_measure "$work" "$gen-azmi-download" "$bench_bin" "$url" "$proto" download /bench/azmi.bin "$download_file"
        down_a+=" $last_secs"
      elif [ "$gen" = gen2 ]; then
        bench_measure "$work" "$gen-curl-download" curl -K "$work/curl-download.cfg" -o "$download_file" "$url/bench/curl.bin"
        down_c+=" $last_secs"
      else
        # OPEN answers 307 (to …&read=true); the data then comes chunked. -L follows it (no body
        # to resend on a GET).
        bench_measure "$work" "$gen-curl-download" curl -K "$work/curl-download.cfg" -L -o "$download_file" "$url/bench/curl.bin?op=OPEN"
        down_c+=" $last_secs"
      fi
      cpu[$tool-down]+=" $last_cpu" rss[$tool-down]+=" $last_rss_kib"
      check_download "$label $tool download"
    done
    # curl, then the fsync that azmi's download does before it renames the file into place.
    if [ "$gen" = gen2 ]; then
      bench_measure "$work" "$gen-curl-synced" sh -c 'curl -K "$1" -o "$2" "$3" && sync "$2"' sh \
        "$work/curl-download.cfg" "$download_file" "$url/bench/curl.bin"
    else
      bench_measure "$work" "$gen-curl-synced" sh -c 'curl -K "$1" -L -o "$2" "$3" && sync "$2"' sh \
        "$work/curl-download.cfg" "$download_file" "$url/bench/curl.bin?op=OPEN"
    fi
    down_v+=" $last_secs" cpu[synced]+=" $last_cpu" rss[synced]+=" $last_rss_kib"
    check_download "$label curl download with sync"
    admin_delete "$gen" /bench/azmi.bin
    admin_delete "$gen" /bench/curl.bin
    echo "  run $i: upload azmi ${up_a##* } s, curl ${up_c##* } s; download azmi ${down_a##* } s, curl ${down_c##* } s"
  done
  local up_ratios="" down_ratios=""
  up_ratios=$(paste -d' ' <(tr ' ' '\n' <<<"$up_a" | grep .) <(tr ' ' '\n' <<<"$up_c" | grep .) | awk '{ printf " %s", $2 / $1 }')
  down_ratios=$(paste -d' ' <(tr ' ' '\n' <<<"$down_a" | grep .) <(tr ' ' '\n' <<<"$down_c" | grep .) | awk '{ printf " %s", $2 / $1 }')
  record "$label upload ${mib} MiB" "$up_a" "$up_c" "$up_ratios" "${cpu[azmi-up]}" "${cpu[curl-up]}" "${rss[azmi-up]}" "${rss[curl-up]}" "$size"
  record "$label download ${mib} MiB" "$down_a" "$down_c" "$down_ratios" "${cpu[azmi-down]}" "${cpu[curl-down]}" "${rss[azmi-down]}" "${rss[curl-down]}" "$size"
  local synced_ratios
  synced_ratios=$(paste -d' ' <(tr ' ' '\n' <<<"$down_a" | grep .) <(tr ' ' '\n' <<<"$down_v" | grep .) | awk '{ printf " %s", $2 / $1 }')
  record "$label download ${mib} MiB beside curl + fsync" "$down_a" "$down_v" "$synced_ratios" "${cpu[azmi-down]}" "${cpu[synced]}" "${rss[azmi-down]}" "${rss[synced]}" "$size"
}

list_rows=()
bench_list() { # <gen1|gen2>
  local gen=$1 url proto i secs="" rss="" items label="${1^}"
  if [ "$gen" = gen2 ]; then url=$gen2_url proto=dfs; else url=$gen1_url proto=webhdfs; fi
  echo "$label: creating $entries entries ($populate_threads threads; not measured)"
  "$bench_bin" "$url" "$proto" populate "/list-$gen" "$entries" "$populate_threads" >"$work/$gen-populate.out"
  cat "$work/$gen-populate.out"
  for i in $(seq 1 "$runs"); do
    bench_measure "$work" "$gen-azmi-list" "$bench_bin" "$url" "$proto" list "/list-$gen"
    items=$(awk '{ print $2 }' "$work/$gen-azmi-list.out")
    [ "$items" = "$entries" ] || { echo "error: $label list saw $items entries, expected $entries" >&2; exit 1; }
    # The listing's own time (adls_bench's clock around azmi_adls_list), not process start-up.
    secs+=" $(awk '{ print $4 }' "$work/$gen-azmi-list.out")" rss+=" $last_rss_kib"
  done
  list_rows+=("$(printf '| %-24s | %7.3f | %6.1f |' "$label list $entries entries" "$(bench_words_median "$secs")" \
    "$(tr ' ' '\n' <<<"$rss" | grep . | bench_max | awk '{ print $1 / 1024 }')")")
}

load_start=$(bench_loadavg)
echo "azmi $(bash scripts/version.sh), emulator at $services, $(curl --version | head -n 1 | cut -d' ' -f1-2), $(nproc) CPUs, load average $load_start"
for mib in $sizes_mib; do
  size=$((mib * 1024 * 1024))
  source_file="$work/source.bin" download_file="$work/download.bin"
  echo "creating a ${mib} MiB random file in $work"
  head -c "$size" /dev/urandom >"$source_file"
  # curl sends a WebHDFS upload as azmi does, in 4 MiB requests: from pieces cut beforehand.
  rm -rf "$work/pieces"
  mkdir -p "$work/pieces"
  split -b "$gen1_chunk" -d -a 6 "$source_file" "$work/pieces/p"
  for gen in $protocols; do
    curl_common "$work/$gen.hdr" | sed '/^output/d' >"$work/curl-download.cfg"
    [ "$gen" = gen2 ] && printf 'header = "x-ms-version: %s"\n' "$x_ms_version" >>"$work/curl-download.cfg"
    bench_transfer "$gen" "$mib"
  done
  rm -rf "$source_file" "$work/pieces"
done
if [ "$entries" -gt 0 ]; then
  for gen in $protocols; do bench_list "$gen"; done
fi

echo
echo "| transfer                 | azmi s  | MiB/s | curl s  | MiB/s | azmi/curl | azmi CPU s | curl CPU s | azmi peak RSS MiB | curl peak RSS MiB |"
echo "|--------------------------|--------:|------:|--------:|------:|----------:|-------:|-------:|-------:|-------:|"
printf '%s\n' "${rows[@]}"
if [ ${#list_rows[@]} -gt 0 ]; then
  echo
  echo "| listing                  | azmi s  | azmi peak RSS MiB |"
  echo "|--------------------------|--------:|-------:|"
  printf '%s\n' "${list_rows[@]}"
fi
echo
echo "seconds: median of $runs runs; transfers: wall time of the client process; list: the azmi_adls_list call."
echo "azmi/curl: median over the runs of azmi's throughput as a share of curl's in the same run;"
echo "CPU s: user + system seconds of the client process, median; peak RSS: the highest of the runs."
echo "azmi-emulator's own peak RSS: $(bench_hwm "$emulator_pid") MiB."
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(bench_loadavg). The client and the"
echo "emulator share the machine's CPUs: figures from a busy machine are low and noisy."
