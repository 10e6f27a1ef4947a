# Building a C program against the library in target/release (include/azmi.h and
# libazmi.so), for the scripts that do: tests/c/run.sh and every bench/*.sh with a C harness
# (sourced, not run). The C SDK test (tests/c/sdk_test.sh) builds against the packaged SDK with
# pkg-config instead, as a user would.
#
# c_program_build SOURCE OUTPUT [FLAG...]: compiles SOURCE into OUTPUT with -std=c11 -Wall -Wextra
#   -Werror -pedantic, the FLAGs given (e.g. -O2, or -g -O1 for valgrind) and -lpthread, linked
#   to target/release/libazmi.so with an rpath to it. The library must have been built
#   (scripts/build.sh, or c_program_release below); the SONAME link it is loaded by is made
#   here. CC picks the compiler (default: gcc, which scripts/setup.sh installs).
# c_program_release: builds the release library and azmi-emulator when either is missing (the
#   benchmarks' convenience; CI has run scripts/build.sh first) and makes the SONAME link.

c_program_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
c_program_lib="$c_program_root/target/release"

# c_program_soname_link: target/release/libazmi.so.<abi> -> libazmi.so. Programs linked with
# -lazmi record the SONAME (build.rs sets it; docs/abi.md) and load the library by that name, so
# without the link they fail with "libazmi.so.<abi>: cannot open shared object file".
c_program_soname_link() {
  local abi
  abi="$(bash "$c_program_root/scripts/version.sh" --abi)" || return 1
  ln -sf libazmi.so "$c_program_lib/libazmi.so.$abi"
}

c_program_release() {
  if [ ! -f "$c_program_lib/libazmi.so" ] || [ ! -x "$c_program_lib/azmi-emulator" ]; then
    echo "building the release library and azmi-emulator"
    (cd "$c_program_root" && cargo build --release --locked -p azmi -p azmi-emulator) || return 1
  fi
  c_program_soname_link
}

c_program_build() {
  local source=$1 output=$2
  shift 2
  if [ ! -f "$c_program_lib/libazmi.so" ]; then
    echo "error: $c_program_lib/libazmi.so is missing: run scripts/build.sh first" >&2
    return 2
  fi
  c_program_soname_link || return 1
  mkdir -p "$(dirname "$output")"
  "${CC:-gcc}" -std=c11 -Wall -Wextra -Werror -pedantic "$@" -I "$c_program_root/include" "$source" \
    -L "$c_program_lib" -Wl,-rpath,"$c_program_lib" -lazmi -lpthread -o "$output"
}
