#!/usr/bin/env bash
# Blob storage figures for BENCHMARKS.md (issue 19): upload and download of random files of
# several sizes to and from Azurite (HTTPS, --oauth basic, on loopback), azmi beside curl doing
# the same transfer, paired, and beside them azmi through its .NET package and its PowerShell
# module, and Azure.Storage.Blobs. Figures, not a test: nothing here passes or fails on a
# number.
#
#   - azmi:  bench/c/blob_bench.c through azmi_blob_upload / azmi_blob_download (default
#            settings, overwrite), token from azmi-emulator's IMDS;
#   - curl:  one Put Blob of the whole file (x-ms-blob-type: BlockBlob, -T, no
#            Expect: 100-continue) and one GET, bearer token from the same IMDS (in a header
#            file read with -K, never printed or on a command line);
#   - azmi from .NET: bench/dotnet/blob azmi-upload / azmi-download, the AzMi package's
#            AzMiBlobClient.UploadFromAsync / DownloadToAsync (built from dotnet/AzMi with
#            target/release/libazmi.so);
#   - azmi from PowerShell: bench/powershell/blob-transfer.ps1, Set-AzMiBlobContent /
#            Get-AzMiBlobContent -Force of out/AzMi (with its progress), one pwsh per transfer;
#   - Azure.Storage.Blobs: bench/dotnet/blob, BlobClient.UploadAsync(path) /
#            DownloadToAsync(path) with default transfer options, ManagedIdentityCredential
#            (system-assigned) from a second azmi-emulator as App Service's endpoint
#            (IDENTITY_ENDPOINT, IDENTITY_HEADER): through IMDS, MSAL first probes IMDS v2 and
#            retries its 404 for about 24 s per process.
#   - with CONCURRENCY (e.g. "1 2 4 8"), for the sizes over the single-request size (256 MiB;
#            every size with SWEEP_BLOCK): bench/rust/upload_concurrency.rs, the upload in
#            blocks with that many in flight (Blob::with_concurrency), for the choice of
#            UPLOAD_CONCURRENCY.
#   - curl, verified: for uploads, the file's MD5 (md5sum), then curl's Put Blob with
#            it as Content-MD5 (the service checks it and keeps it: what azmi's upload does);
#            for downloads, curl's GET, then `md5sum` of the file and `sync` of it (an fsync):
#            what azmi's download guarantees (the blob's Content-MD5 checked, the data on disk).
#            Done the way a curl user would; process wall time of the whole, run third in
#            every run. The like-for-like comparison the issue 19 note asks about.
#   The last four are timed around the transfer call alone ("call s": no process start-up,
#   token or first connection), after azmi and curl in each run.
#
# Paired: in every run azmi and curl do the same transfer one right after the other, azmi first
# in odd runs and curl first in even ones, so that both meet the same load of a shared machine;
# "azmi/curl" is the median over the runs of curl's seconds / azmi's seconds in that run (azmi's
# throughput as a share of curl's). Seconds: wall time of the client process (start-up, token
# and first connection included: a few ms), median over the runs; CPU: the process's user +
# system seconds, median (on a busy machine less disturbed than wall time); peak RSS: the
# process's highest over the runs (bench/c/measure.c, what GNU time measures). Every download is compared with the source
# (cmp), curl's upload's remote length is checked, the blobs are deleted after each run, and
# `sync` runs before every measurement. azmi's download ends with an fsync of the file before
# its rename (curl does not sync): that is azmi's to pay.
#
# Environment (all optional):
#   SIZES_MIB="64 256 1024"  sizes of the transfer files
#   RUNS=5                   paired runs per size
#   DOTNET=1                 0 leaves Azure.Storage.Blobs out
#   WRAPPERS=1               0 leaves azmi's .NET package and PowerShell module out
#   CONCURRENCY=             blocks in flight to compare, e.g. "1 2 4 8" (none by default)
#   SWEEP_BLOCK=default      the block size of those uploads in bytes (also their largest
#                            single request, so that small files go in blocks too)
#   SMOKE=1                  builds the Rust harness in the debug build (the CI smoke stage)
#   BENCH_DIR=<dir>          where the files go (default: a new folder under $TMPDIR or /tmp)
#   KEEP=1                   keep that folder
#
# Needs: target/release/libazmi.so and azmi-emulator (built when missing), Azurite (bash
# scripts/setup.sh installs it under tools/azurite), node, openssl, gcc, curl, python3, the
# .NET 10 SDK and pwsh (with DOTNET=1 or WRAPPERS=1; scripts/setup.sh installs pwsh), the AzMi
# module out/AzMi (built when missing), free disk of about 4 × the largest size. Nothing a new machine
# lacks: the CI smoke stage (scripts/bench-smoke.sh) runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../scripts/lib/emulator.sh
source "$root/scripts/lib/emulator.sh"
# shellcheck source=../scripts/lib/c-program.sh
source "$root/scripts/lib/c-program.sh"
# shellcheck source=../scripts/lib/azurite.sh
source "$root/scripts/lib/azurite.sh"
# shellcheck source=lib/bench.sh
source "$root/bench/lib/bench.sh"
cd "$root"

sizes_mib="${SIZES_MIB:-64 256 1024}"
runs="${RUNS:-5}"
dotnet_too="${DOTNET:-1}"
wrappers="${WRAPPERS:-1}"
pwsh="${PWSH:-$HOME/.dotnet/tools/pwsh}"
module="$root/out/AzMi/AzMi.psd1"
concurrency="${CONCURRENCY:-}"
sweep_block="${SWEEP_BLOCK:-default}"
single_mib=256 # blob::SINGLE_UPLOAD_SIZE
if [ "${SMOKE:-0}" = 1 ]; then
  sweep=(cargo test --locked --quiet --bench upload_concurrency --)
else
  sweep=(cargo bench --locked --quiet --bench upload_concurrency --)
fi
x_ms_version=2023-11-03
container=bench

emulator_bin="$root/target/release/azmi-emulator"
bench_bin="$root/target/bench/blob_bench"
dotnet_out="$root/target/bench/dotnet-blob"

for tool in curl cmp openssl node python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 2; }
done
c_program_release
c_program_build "$root/bench/c/blob_bench.c" "$bench_bin" -O2
bench_measure_build
# The clients beside azmi (C) and curl, in the order each run measures them.
others=()
[ "$wrappers" = 1 ] && others+=(dotnet pwsh)
[ "$dotnet_too" = 1 ] && others+=(sdk)
if [ ${#others[@]} -gt 0 ]; then
  command -v dotnet >/dev/null || { echo "error: dotnet is required (or DOTNET=0 WRAPPERS=0)" >&2; exit 2; }
  echo "building bench/dotnet/blob"
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
  dotnet build -c Release -nologo -v quiet -o "$dotnet_out" -p:AzMiNativeLib="$root/target/release/libazmi.so" \
    "$root/bench/dotnet/blob/BlobBench.csproj" >/dev/null
fi
if [ -n "$concurrency" ]; then
  echo "building bench/rust/upload_concurrency.rs"
  "${sweep[@]:0:6}" --no-run >/dev/null
fi
if [ "$wrappers" = 1 ]; then
  [ -x "$pwsh" ] || { echo "error: pwsh is required at $pwsh (scripts/setup.sh; or WRAPPERS=0)" >&2; exit 2; }
  [ -f "$module" ] || bash "$root/scripts/build-module.sh" >/dev/null
fi

work="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/azmi-blob-bench.XXXXXX")}"
mkdir -p "$work"
emulator_pid="" dotnet_emulator_pid="" azurite_pid=""
cleanup() {
  local pid
  for pid in $emulator_pid $dotnet_emulator_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  azurite_stop
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

# ---- azmi-emulator (IMDS tokens) and Azurite -------------------------------------------------
"$emulator_bin" --port 0 >"$work/emulator.log" 2>&1 &
emulator_pid=$!
emulator_wait "$work/emulator.log" AZMI_ARM_ENDPOINT || exit 2
eval "$(grep '^export ' "$work/emulator.log")"
for other in IDENTITY_ENDPOINT IDENTITY_HEADER IDENTITY_SERVER_THUMBPRINT IMDS_ENDPOINT MSI_ENDPOINT MSI_SECRET; do
  unset "$other"
done
if [ "$dotnet_too" = 1 ]; then
  # For the .NET client: another azmi-emulator as App Service's endpoint (its variables go in
  # that client's environment only, never on a command line).
  "$emulator_bin" --port 0 --source app-service >"$work/emulator-app-service.log" 2>&1 &
  dotnet_emulator_pid=$!
  emulator_wait "$work/emulator-app-service.log" "$(emulator_source_last app-service)" || exit 2
  dotnet_endpoint="$(emulator_value "$work/emulator-app-service.log" IDENTITY_ENDPOINT)"
  dotnet_header="$(emulator_value "$work/emulator-app-service.log" IDENTITY_HEADER)"
fi
azurite_start "$work/azurite" || exit 2
# The bundle every client trusts: azmi-emulator's CA and Azurite's certificate.
cat "$AZMI_CA_FILE" "$azurite_cert" >"$work/ca-bundle.pem"
export AZMI_CA_FILE="$work/ca-bundle.pem"
account="$azurite_url"
url="$account/$container"

bench_token_header "$AZMI_IMDS_ENDPOINT" "https://storage.azure.com/" "$work/storage.hdr"
"$bench_bin" "$account" container "$container" >/dev/null
printf 'warm-up\n' >"$work/warmup.txt"

# ---- curl -----------------------------------------------------------------------------------
curl_common() {
  printf 'silent\nshow-error\nfail-with-body\ncacert = "%s"\nheader = "@%s"\nheader = "x-ms-version: %s"\n' \
    "$AZMI_CA_FILE" "$work/storage.hdr" "$x_ms_version"
  printf 'header = "Expect:"\n' # no 100-continue round trip (azmi sends none either)
}
remote_length() { # <name>
  curl -sS --fail -I -K <(curl_common) "$url/$1" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" { print $2 }'
}
remote_delete() { # <name>: frees Azurite's disk between runs
  curl -sS -X DELETE -K <(curl_common) -o /dev/null "$url/$1" || true
}

# ---- the other clients ----------------------------------------------------------------------
# run_other <dotnet|pwsh|sdk> <up|down> <source file> <download file>: one transfer of that
# client (to or from the blob <client>.bin); sets last_call (the call's seconds, as it printed
# them) besides bench_measure's figures.
run_other() {
  local client=$1 dir=$2 src=$3 dst=$4
  case "$client-$dir" in
    dotnet-up) bench_measure "$work" "$client-$dir" "$dotnet_out/BlobBench" azmi-upload "$account" "$AZMI_CA_FILE" "$src" "$container" dotnet.bin ;;
    dotnet-down) bench_measure "$work" "$client-$dir" "$dotnet_out/BlobBench" azmi-download "$account" "$AZMI_CA_FILE" "$container" dotnet.bin "$dst" ;;
    pwsh-up | pwsh-down)
      bench_measure "$work" "$client-$dir" "$pwsh" -NoProfile -NonInteractive -File "$root/bench/powershell/blob-transfer.ps1" \
        -ModulePath "$module" -Op "$([ "$dir" = up ] && echo upload || echo download)" -Account "$account" \
        -Container "$container" -Name pwsh.bin -Local "$([ "$dir" = up ] && echo "$src" || echo "$dst")" -Warmup "$work/warmup.txt" ;;
    # Azure.Storage.Blobs: App Service's endpoint, in this client's environment only.
    sdk-up) IDENTITY_ENDPOINT=$dotnet_endpoint IDENTITY_HEADER=$dotnet_header \
      bench_measure "$work" "$client-$dir" "$dotnet_out/BlobBench" upload "$account" "$AZMI_CA_FILE" "$src" "$container" sdk.bin ;;
    sdk-down) IDENTITY_ENDPOINT=$dotnet_endpoint IDENTITY_HEADER=$dotnet_header \
      bench_measure "$work" "$client-$dir" "$dotnet_out/BlobBench" download "$account" "$AZMI_CA_FILE" "$container" sdk.bin "$dst" ;;
  esac
  last_call=$(awk '$3 == "bytes" && $5 == "s" { print $4 }' "$work/$client-$dir.out")
  [ -n "$last_call" ] || { echo "error: $client $dir printed no figure:" >&2; cat "$work/$client-$dir.out" "$work/$client-$dir.err" >&2; exit 1; }
}
label() {
  case "$1" in
    c[0-9]*) echo "azmi, ${1#c} in flight" ;;
    dotnet) echo "azmi (.NET package)" ;;
    pwsh) echo "azmi (PowerShell)" ;;
    sdk) echo "Azure.Storage.Blobs" ;;
  esac
}

# ---- one size -------------------------------------------------------------------------------
rows=()
other_rows=()
verified_rows=()
bench_size() { # <MiB>
  local mib=$1 size source_file download_file i tool first second
  size=$((mib * 1024 * 1024))
  source_file="$work/source.bin" download_file="$work/download.bin"
  echo "${mib} MiB: creating the file; $runs paired runs"
  head -c "$size" /dev/urandom >"$source_file"
  { curl_common; printf 'output = "/dev/null"\nheader = "x-ms-blob-type: BlockBlob"\nrequest = "PUT"\nupload-file = "%s"\nurl = "%s/curl.bin"\n' \
      "$source_file" "$url"; } >"$work/curl-upload.cfg"
  { curl_common; printf 'output = "%s"\nurl = "%s/curl.bin"\n' "$download_file" "$url"; } >"$work/curl-download.cfg"

  local -A secs=() rss=() call=() cpu=() shares=() server=()
  local server_before
  local up_ratios="" down_ratios="" ratios client dir
  local -A verified_ratios=([up]="" [down]="")
  for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) = 1 ]; then first=azmi second=curl; else first=curl second=azmi; fi
    for tool in $first $second; do
      server_before=$(bench_proc_cpu "$azurite_pid")
      if [ "$tool" = azmi ]; then
        bench_measure "$work" azmi-upload "$bench_bin" "$account" upload "$source_file" "$container" azmi.bin
      else
        bench_measure "$work" curl-upload curl -K "$work/curl-upload.cfg"
        [ "$(remote_length curl.bin)" = "$size" ] || { echo "error: curl upload: wrong remote length" >&2; exit 1; }
      fi
      secs[$tool-up]+=" $last_secs" rss[$tool-up]+=" $last_rss_kib" cpu[$tool-up]+=" $last_cpu"
      server[$tool-up]+=" $(awk -v a="$server_before" -v b="$(bench_proc_cpu "$azurite_pid")" 'BEGIN { print b - a }')"
    done
    # curl, with what azmi's upload also sends: the data's MD5, for the service to check.
    bench_measure "$work" curl-verified-up bash -c \
      'md5=$(printf "%b" "$(md5sum "$1" | cut -c1-32 | sed "s/../\\\\x&/g")" | base64) && curl -K "$2" -H "Content-MD5: $md5"' \
      bash "$source_file" "$work/curl-upload.cfg"
    [ "$(remote_length curl.bin)" = "$size" ] || { echo "error: curl, verified: wrong remote length" >&2; exit 1; }
    secs[verified-up]+=" $last_secs" cpu[verified-up]+=" $last_cpu"
    verified_ratios[up]+=" $(awk -v a="${secs[azmi-up]##* }" -v c="$last_secs" 'BEGIN { print c / a }')"
    for tool in $first $second; do
      server_before=$(bench_proc_cpu "$azurite_pid")
      if [ "$tool" = azmi ]; then
        bench_measure "$work" azmi-download "$bench_bin" "$account" download "$container" azmi.bin "$download_file"
      else
        bench_measure "$work" curl-download curl -K "$work/curl-download.cfg"
      fi
      cmp -s "$source_file" "$download_file" || { echo "error: $tool download: the bytes differ from the source" >&2; exit 1; }
      rm -f "$download_file"
      secs[$tool-down]+=" $last_secs" rss[$tool-down]+=" $last_rss_kib" cpu[$tool-down]+=" $last_cpu"
      server[$tool-down]+=" $(awk -v a="$server_before" -v b="$(bench_proc_cpu "$azurite_pid")" 'BEGIN { print b - a }')"
    done
    # curl, then what azmi's download also does: the MD5 of the data, and the file on disk.
    bench_measure "$work" curl-verified-down sh -c 'curl -K "$1" && md5sum "$2" >/dev/null && sync "$2"' \
      sh "$work/curl-download.cfg" "$download_file"
    cmp -s "$source_file" "$download_file" || { echo "error: curl, verified: the bytes differ from the source" >&2; exit 1; }
    rm -f "$download_file"
    secs[verified-down]+=" $last_secs" cpu[verified-down]+=" $last_cpu"
    verified_ratios[down]+=" $(awk -v a="${secs[azmi-down]##* }" -v c="$last_secs" 'BEGIN { print c / a }')"
    up_ratios+=" $(awk -v a="${secs[azmi-up]##* }" -v c="${secs[curl-up]##* }" 'BEGIN { print c / a }')"
    down_ratios+=" $(awk -v a="${secs[azmi-down]##* }" -v c="${secs[curl-down]##* }" 'BEGIN { print c / a }')"
    for client in "${others[@]}"; do
      for dir in up down; do
        run_other "$client" "$dir" "$source_file" "$download_file"
        call[$client-$dir]+=" $last_call" rss[$client-$dir]+=" $last_rss_kib"
        shares[$client-$dir]+=" $(awk -v a="$last_call" -v c="${secs[curl-$dir]##* }" 'BEGIN { print c / a }')"
      done
      cmp -s "$source_file" "$download_file" || { echo "error: $(label "$client") download: the bytes differ from the source" >&2; exit 1; }
      rm -f "$download_file"
      remote_delete "$client.bin"
    done
    [ "$wrappers" = 1 ] && remote_delete warmup-pwsh.bin
    if [ -n "$concurrency" ] && { [ "$mib" -gt "$single_mib" ] || [ "$sweep_block" != default ]; }; then
      bench_measure "$work" sweep "${sweep[@]}" "$account" "$container" "$source_file" "$sweep_block" $concurrency
      local n
      for n in $concurrency; do
        last_call=$(awk -v n="$n" '$1 == "concurrency" && $2 == n && $7 == "s" { print $6 }' "$work/sweep.out")
        [ -n "$last_call" ] || { echo "error: no figure at concurrency $n:" >&2; cat "$work/sweep.out" "$work/sweep.err" >&2; exit 1; }
        call[c$n-up]+=" $last_call"
        shares[c$n-up]+=" $(awk -v a="$last_call" -v c="${secs[curl-up]##* }" 'BEGIN { print c / a }')"
        remote_delete "concurrency-$n.bin"
      done
    fi
    remote_delete azmi.bin
    remote_delete curl.bin
    echo "  run $i: upload azmi ${secs[azmi-up]##* } s, curl ${secs[curl-up]##* } s; download azmi ${secs[azmi-down]##* } s, curl ${secs[curl-down]##* } s"
  done
  rm -f "$source_file"

  local op dir a c
  for dir in up down; do
    if [ $dir = up ]; then op=upload ratios=$up_ratios; else op=download ratios=$down_ratios; fi
    a=$(bench_words_median "${secs[azmi-$dir]}") c=$(bench_words_median "${secs[curl-$dir]}")
    rows+=("$(printf '| %-8s | %5s MiB | %7.3f | %5s | %7.3f | %5s | %5.0f %% | %6.2f | %6.2f | %6.2f | %6.2f | %6.1f | %6.1f |' "$op" "$mib" \
      "$a" "$(bench_mib_per_s "$size" "$a")" "$c" "$(bench_mib_per_s "$size" "$c")" \
      "$(awk -v r="$(bench_words_median "$ratios")" 'BEGIN { print r * 100 }')" \
      "$(bench_words_median "${cpu[azmi-$dir]}")" "$(bench_words_median "${cpu[curl-$dir]}")" \
      "$(bench_words_median "${server[azmi-$dir]}")" "$(bench_words_median "${server[curl-$dir]}")" \
      "$(tr ' ' '\n' <<<"${rss[azmi-$dir]}" | grep . | bench_max | awk '{ print $1 / 1024 }')" \
      "$(tr ' ' '\n' <<<"${rss[curl-$dir]}" | grep . | bench_max | awk '{ print $1 / 1024 }')")")
    for client in "${others[@]}"; do
      local d
      d=$(bench_words_median "${call[$client-$dir]}")
      other_rows+=("$(printf '| %-20s | %-8s | %5s MiB | %7.3f | %5s | %5.0f %% | %6.1f |' "$(label "$client")" "$op" "$mib" \
        "$d" "$(bench_mib_per_s "$size" "$d")" "$(awk -v r="$(bench_words_median "${shares[$client-$dir]}")" 'BEGIN { print r * 100 }')" \
        "$(tr ' ' '\n' <<<"${rss[$client-$dir]}" | grep . | bench_max | awk '{ print $1 / 1024 }')")")
    done
  done
  for dir in up down; do
    if [ $dir = up ]; then op=upload; else op=download; fi
    a=$(bench_words_median "${secs[azmi-$dir]}") c=$(bench_words_median "${secs[verified-$dir]}")
    verified_rows+=("$(printf '| %-8s | %5s MiB | %7.3f | %5s | %7.3f | %5s | %5.0f %% | %6.2f | %6.2f |' "$op" "$mib" \
      "$a" "$(bench_mib_per_s "$size" "$a")" "$c" "$(bench_mib_per_s "$size" "$c")" \
      "$(awk -v r="$(bench_words_median "${verified_ratios[$dir]}")" 'BEGIN { print r * 100 }')" \
      "$(bench_words_median "${cpu[azmi-$dir]}")" "$(bench_words_median "${cpu[verified-$dir]}")")")
  done
  local n d
  for n in $concurrency; do
    [ -n "${call[c$n-up]:-}" ] || continue
    d=$(bench_words_median "${call[c$n-up]}")
    other_rows+=("$(printf '| %-20s | %-8s | %5s MiB | %7.3f | %5s | %5.0f %% | %6s |' "$(label "c$n")" upload "$mib" \
      "$d" "$(bench_mib_per_s "$size" "$d")" "$(awk -v r="$(bench_words_median "${shares[c$n-up]}")" 'BEGIN { print r * 100 }')" -)")
  done
}

load_start=$(bench_loadavg)
echo "azmi $(bash scripts/version.sh), Azurite $(node -p "require('$root/tools/azurite/node_modules/azurite/package.json').version"), $(curl --version | head -n 1 | cut -d' ' -f1-2), $(nproc) CPUs, load average $load_start"
for mib in $sizes_mib; do
  bench_size "$mib"
done

echo
echo "| transfer | size      | azmi s  | MiB/s | curl s  | MiB/s | azmi/curl | azmi CPU s | curl CPU s | Azurite CPU s (azmi's) | Azurite CPU s (curl's) | azmi peak RSS MiB | curl peak RSS MiB |"
echo "|----------|-----------|--------:|------:|--------:|------:|----------:|-------:|-------:|-------:|-------:|-------:|-------:|"
printf '%s\n' "${rows[@]}"
echo
echo "Beside curl doing what azmi guarantees: uploads with the data's Content-MD5 (computed first),"
echo "downloads followed by md5sum and sync of the file:"
echo
echo "| transfer | size      | azmi s  | MiB/s | curl, verified s | MiB/s | azmi/that | azmi CPU s | its CPU s |"
echo "|----------|-----------|--------:|------:|--------:|------:|----------:|-------:|-------:|"
printf '%s\n' "${verified_rows[@]}"
if [ ${#other_rows[@]} -gt 0 ]; then
  echo
  echo "| client               | transfer | size      | call s  | MiB/s | of curl's | peak RSS MiB |"
  echo "|----------------------|----------|-----------|--------:|------:|----------:|-------:|"
  printf '%s\n' "${other_rows[@]}"
fi
echo
echo "seconds: median of $runs runs (azmi and curl: wall time of the client process; the others: the"
echo "transfer call alone, without process start-up, token and first connection);"
echo "CPU s: user + system seconds of the client process, median; Azurite CPU s: what the server used"
echo "during that client's transfer, median (on loopback both share the machine's $(nproc) CPUs);"
echo "azmi/curl, of curl's: median over the runs of the client's throughput as a share of curl's in the same run;"
echo "peak RSS: the highest of the runs. Azurite's (node) own peak RSS: $(bench_hwm "$azurite_pid") MiB."
echo "load average (1, 5, 15 min) at the start: $load_start; at the end: $(bench_loadavg)."
