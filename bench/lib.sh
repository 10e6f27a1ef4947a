# What the benchmark scripts share (sourced after setting $root): the release library and
# azmi-emulator (built when missing) and a C benchmark compiled against them.
#
# bench_c NAME [LDFLAGS...]: compiles bench/c/NAME.c with -O2 against target/release/libazmi.so
# into target/bench/NAME; sets lib, emulator_bin and bench_bin.
bench_c() {
  local name=$1
  shift
  lib="$root/target/release/libazmi.so"
  emulator_bin="$root/target/release/azmi-emulator"
  bench_bin="$root/target/bench/$name"
  if [ ! -f "$lib" ] || [ ! -x "$emulator_bin" ]; then
    echo "building the release library and emulator"
    cargo build --release -p azmi -p azmi-emulator
  fi
  # Programs linked with -lazmi load libazmi.so by its SONAME, libazmi.so.<abi> (docs/abi.md).
  ln -sf libazmi.so "$root/target/release/libazmi.so.$(bash "$root/scripts/version.sh" --abi)"
  mkdir -p "$(dirname "$bench_bin")"
  "${CC:-cc}" -std=c11 -O2 -Wall -Wextra -Werror -pedantic -I "$root/include" "$root/bench/c/$name.c" \
    -L "$root/target/release" -Wl,-rpath,"$root/target/release" -lazmi "$@" -o "$bench_bin"
}

# median: the median of the numbers on standard input, one a line.
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# loadavg: the load averages over 1, 5 and 15 minutes.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench_rounds ROUNDS RESULTS RUN LABEL...: ROUNDS rounds of `RUN LABEL` for each LABEL in turn
# (interleaved, so that a busy moment spreads over all), each line shown and kept in RESULTS.
bench_rounds() {
  local rounds=$1 results=$2 run=$3 round label line
  shift 3
  for round in $(seq 1 "$rounds"); do
    for label in "$@"; do
      line=$("$run" "$label")
      echo "  round $round: $line"
      echo "$line" >>"$results"
    done
  done
}
