# What the benchmark scripts (bench/*.sh) share: timing a client process, medians, the bearer
# token for curl, the machine's load (sourced, not run).
# Only bash, coreutils, gcc and python3: nothing a new machine lacks (the CI smoke stage runs
# them). Source scripts/lib/c-program.sh first.

bench_lib_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench_measure_bin="$bench_lib_root/target/bench/measure"

# bench_measure_build: builds bench/c/measure.c (what GNU time does) for bench_measure.
bench_measure_build() {
  c_program_build "$bench_lib_root/bench/c/measure.c" "$bench_measure_bin" -O2
}

# bench_measure DIR NAME COMMAND…: runs COMMAND (stdout to DIR/NAME.out, stderr to DIR/NAME.err)
# and sets last_secs (wall seconds of the process), last_rss_kib (its peak RSS) and last_cpu
# (its user + system seconds), measured by bench/c/measure.c. Write-back of what earlier runs
# left in the page cache is done first (sync), so that no run pays for another's. A failing
# command ends the script with its output.
bench_measure() {
  local dir=$1 name=$2 figures user sys
  shift 2
  sync
  if ! figures=$("$bench_measure_bin" "$dir/$name.out" "$dir/$name.err" -- "$@"); then
    echo "error: $name failed:" >&2
    cat "$dir/$name.err" "$dir/$name.out" >&2
    exit 1
  fi
  read -r last_secs last_rss_kib user sys <<<"$figures"
  last_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
}

# bench_median: the median of the numbers on stdin, one per line (the lower middle one of an
# even count).
bench_median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# bench_max: the largest of the numbers on stdin.
bench_max() { sort -g | tail -n 1; }

# bench_words_median "1 2 3": the median of a list of words.
bench_words_median() { tr ' ' '\n' <<<"$1" | grep . | bench_median; }

# bench_mib_per_s BYTES SECONDS
bench_mib_per_s() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }

# bench_token_header IMDS_URL RESOURCE FILE: writes "Authorization: Bearer <token>" for RESOURCE,
# from the emulator's IMDS, to FILE (mode 600). The token is never printed or on a command line:
# curl reads the header from the file (-H @file or a -K config).
bench_token_header() {
  local imds=$1 resource=$2 file=$3
  (
    umask 077
    curl -sS --fail -H Metadata:true "$imds?api-version=2018-02-01&resource=$resource" |
      python3 -c 'import json, sys; print("Authorization: Bearer " + json.load(sys.stdin)["access_token"])' >"$file"
  )
}

# bench_loadavg: the 1, 5 and 15 minute load averages.
bench_loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_hwm PID: a process's peak RSS so far, in MiB ("?" when it is gone).
bench_hwm() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# bench_proc_cpu PID: the user + system seconds a running process has used so far ("0" when it
# is gone), from /proc (clock ticks at getconf CLK_TCK).
bench_proc_cpu() {
  local tck
  tck=$(getconf CLK_TCK)
  awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat" 2>/dev/null || echo 0
}
