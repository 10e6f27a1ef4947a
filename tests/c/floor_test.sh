#!/usr/bin/env bash
# The glibc floor of the Linux libraries that ship (out/AzMi/runtimes/linux-*/native/libazmi.so,
# the files every package carries): none may need a glibc symbol version above $ceiling, the
# glibc of RHEL 8 and its rebuilds (build.rs links against Debian 11's glibc 2.31, and
# native/glibc_floor.c keeps pow and gettid off 2.29 and 2.30). ld.so refuses a library that
# needs a version its glibc lacks, weak symbols included, so the version-needs section is what
# is checked (readelf reads any architecture's). Then, unless told `--check-only`, the C tests
# are built and run in the Debian 11 root against the x64 library (tests/c/run.sh floor): it
# loads there and gets tokens from azmi-emulator.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ceiling=2.28

status=0
checked=0
for lib in "$root"/out/AzMi/runtimes/linux-*/native/libazmi.so; do
  [ -e "$lib" ] || continue
  checked=$((checked + 1))
  rid=$(basename "$(dirname "$(dirname "$lib")")")
  # Every GLIBC_x.y the library needs, and the highest.
  needs=$(readelf -V -W "$lib" | sed -n 's/.*Name: GLIBC_\([0-9.]*\).*/\1/p' | sort -uV)
  highest=$(echo "$needs" | tail -n 1)
  if [ -z "$highest" ]; then
    echo "FAIL $rid: readelf found no GLIBC version needed by $lib" >&2; status=1; continue
  fi
  over=$(echo "$needs" | while read -r v; do
    [ "$(printf '%s\n%s\n' "$v" "$ceiling" | sort -V | tail -n 1)" = "$ceiling" ] || echo "$v"
  done)
  if [ -n "$over" ]; then
    echo "FAIL $rid: libazmi.so needs glibc $highest, above the floor $ceiling; the symbols:" >&2
    for v in $over; do
      readelf --dyn-syms -W "$lib" | grep -F "@GLIBC_$v" | awk '{print "  " $8}' >&2
    done
    status=1
  else
    echo "ok   $rid: libazmi.so needs glibc $highest at most (floor $ceiling)"
  fi
done
[ "$checked" -gt 0 ] || { echo "FAIL: no Linux library under out/AzMi/runtimes: run scripts/build.sh" >&2; exit 1; }
[ "${1:-}" = --check-only ] && exit "$status"

bash "$root/tests/c/run.sh" floor || status=1
exit "$status"
