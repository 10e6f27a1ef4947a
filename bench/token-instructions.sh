#!/usr/bin/env bash
# Instructions per warm token call from C (issue 21): azmi_get_token + azmi_token_free with a
# warm cache and a TOKEN_BYTES-byte token (default 1733, the size of a real Entra ID token),
# once with an identity from azmi_identity_new ("explicit") and once with a NULL identity.
#
# bench/c/warm_token.c serves the token from a loopback endpoint of its own and runs under
# `valgrind --tool=callgrind` twice per identity kind, making 2,000 and then 22,000 warm calls;
# the difference of the two totals divided by 20,000 is what one warm call costs (the process's
# start, the first request and the engine's start cancel out). Instruction counts do not depend
# on the machine's load: the same library and inputs give the same count, so a ceiling on them
# is a check, not a timed assertion.
#
# Usage: bench/token-instructions.sh [--check] [--scaling]
#   (none)     prints "<kind>: <n> instructions per warm call (ceiling <c>)" for both kinds
#   --check    also fails (exit 1) when a count is above its ceiling: the CI stage of
#              scripts/test.sh, so that the warm path cannot grow unnoticed
#   --scaling  also prints warm calls per second with 1 and 2 threads (natively, no valgrind;
#              a figure, not checked)
# Environment: TOKEN_BYTES=1733 (the runs themselves get a fixed environment, see below). Needs target/release/libazmi.so (scripts/build.sh), gcc and
# valgrind.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
check=0

# Ceilings, in instructions per warm call with a 1,733-byte token, on x86-64 (the copy and the
# wipe are the C library's memcpy and memset, whose instructions depend on the vector width:
# these are glibc's AVX2 versions, what valgrind offers on every x86-64 CPU of the last ten
# years). Keep them a little above what the library does now (BENCHMARKS.md, "Warm token calls
# from C"); lower them when the path gets cheaper, and raise one only with the reason in the
# commit message. Issue 21's targets: 1,500 (explicit) and 2,000 (NULL).
declare -A ceiling=([explicit]=1220 [null]=1820)

scaling=0
for arg in "$@"; do
  case $arg in
    --check) check=1 ;;
    --scaling) scaling=1 ;;
    *) echo "usage: $0 [--check] [--scaling]" >&2; exit 2 ;;
  esac
done
if [ "$(uname -m)" != x86_64 ]; then
  echo "note: the ceilings are x86-64's; on $(uname -m) the counts are printed, not checked"
  check=0
fi

lib="$root/target/release/libazmi.so"
[ -e "$lib" ] || { echo "missing $lib: run scripts/build.sh first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed (scripts/setup.sh)" >&2; exit 2; }
# Programs linked with -lazmi load libazmi.so by its SONAME, libazmi.so.<abi> (docs/abi.md).
ln -sf libazmi.so "$root/target/release/libazmi.so.$(bash "$root/scripts/version.sh" --abi)"
bin="$root/target/bench/warm_token"
mkdir -p "$(dirname "$bin")"
"${CC:-gcc}" -std=c11 -O2 -Wall -Wextra -Werror -pedantic -I "$root/include" \
  "$root/bench/c/warm_token.c" -L "$root/target/release" -Wl,-rpath,"$root/target/release" \
  -lazmi -lpthread -o "$bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/azmi-token-instructions.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The environment of the runs: fixed, so that the count is the same on every machine. With a
# NULL identity every call reads AZMI_IMDS_ENDPOINT (getenv scans the environment: about 7
# instructions per variable before it), which warm_token adds last; 48 variables of 20 to 40
# bytes before it are an ordinary shell's.
fixed_env=(PATH="$PATH" HOME="${HOME:-/}" LANG=C.UTF-8)
for i in $(seq 11 55); do fixed_env+=("BENCH_VARIABLE_$i=/usr/local/share/bench/value/$i"); done

# The total instruction count of one run of warm_token under callgrind.
instructions() {
  local kind=$1 calls=$2 out="$work/callgrind.$1.$2"
  env -i "${fixed_env[@]}" TOKEN_BYTES="${TOKEN_BYTES:-1733}" \
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$kind" "$calls" \
    >/dev/null 2>"$work/valgrind.log" || { cat "$work/valgrind.log" >&2; return 1; }
  python3 - "$out" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
print(m.group(1))
EOF
}

over=0
for kind in explicit null; do
  a=$(instructions "$kind" 2000)
  b=$(instructions "$kind" 22000)
  per_call=$(( (b - a + 10000) / 20000 ))
  echo "$kind: $per_call instructions per warm call (ceiling ${ceiling[$kind]})"
  if [ "$per_call" -gt "${ceiling[$kind]}" ]; then
    over=1
    echo "  above the ceiling: the warm token path got more expensive (see bench/README.md)" >&2
  fi
done

if [ "$scaling" = 1 ]; then
  for kind in explicit null; do
    for threads in 1 2; do "$bin" "$kind" 2000000 "$threads"; done
  done
fi

if [ "$check" = 1 ] && [ "$over" = 1 ]; then exit 1; fi
exit 0
