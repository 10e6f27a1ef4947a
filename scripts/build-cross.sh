#!/usr/bin/env bash
# Builds azmi's native library for other platforms, from the same sources, Cargo.lock and
# release profile, in a Debian trixie root made once under target/cross (scripts/lib/cross-root.sh;
# ../shared/windows.md): Rust 1.96 with -Zbuild-std (the host's Rust has no other target's std),
# MinGW-w64 for Windows, the aarch64 cross compiler, and glibc 2.31 (bullseye) to link the
# Linux library against, so that it loads on older images (the glibc floor).
#
#   win-x64      x86_64-pc-windows-gnu     out/AzMi/runtimes/win-x64/native/libazmi.dll
#                                          (+ libazmi.dll.a, libazmi.a and azmi-emulator.exe in
#                                          target/cross/build/x86_64-pc-windows-gnu/release/)
#   linux-arm64  aarch64-unknown-linux-gnu out/AzMi/runtimes/linux-arm64/native/libazmi.so
#
# Usage: scripts/build-cross.sh [rid...]      (no rid: all of them)
# Needs root (debootstrap, chroot, mount namespaces) and debootstrap (scripts/setup.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# shellcheck source=lib/cross-root.sh
source "$root/scripts/lib/cross-root.sh"

all_rids=(win-x64 linux-arm64)
rids=("$@")
case "${1:-}" in
  -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
esac
[ ${#rids[@]} -gt 0 ] || rids=("${all_rids[@]}")

# The target table: rid -> Rust target, C compiler/linker, the library cargo makes, its name in
# the module's runtimes/<rid>/native/.
target_of() {
  case $1 in
    win-x64) echo x86_64-pc-windows-gnu ;;
    linux-arm64) echo aarch64-unknown-linux-gnu ;;
    *) echo "build-cross.sh: unknown rid '$1' (known: ${all_rids[*]})" >&2; return 2 ;;
  esac
}
cc_of() {
  case $1 in
    win-x64) echo x86_64-w64-mingw32-gcc ;;
    linux-arm64) echo aarch64-linux-gnu-gcc ;;
  esac
}
# The packages built: the library, and for Windows also azmi-emulator.exe, which the tests under
# Wine start the way the Linux tests start azmi-emulator (it names its files as Windows does).
packages_of() {
  case $1 in
    win-x64) echo "-p azmi -p azmi-emulator" ;;
    *) echo "-p azmi" ;;
  esac
}
# The library cargo makes, and its name in the module's and NuGet package's runtimes/<rid>/native/
# (on Windows libazmi.dll, not azmi.dll: dotnet/AzMi/Native/RuntimePlatform.cs says why).
library_of() {
  case $1 in
    win-x64) echo azmi.dll ;;
    linux-arm64) echo libazmi.so ;;
  esac
}
packaged_as() {
  case $1 in
    win-x64) echo libazmi.dll ;;
    linux-arm64) echo libazmi.so ;;
  esac
}
for rid in "${rids[@]}"; do target_of "$rid" >/dev/null || exit 2; done

cross_root_ensure trixie
for rid in "${rids[@]}"; do
  case $rid in linux-*) cross_root_ensure bullseye ;; esac
done

# The standard library crates in shared/crates are those of one rustc's library/Cargo.lock:
# any other rustc would stop with "failed to select a version" deep in the build.
have="$(cross_run trixie rustc --version)"
case "$have" in
  "rustc $cross_rust_version "*) ;;
  *)
    echo "build-cross.sh: the trixie root has '$have', not rustc $cross_rust_version." >&2
    echo "  Debian moved rustc-web; the standard library's crates for it must be added to" >&2
    echo "  ../shared/crates (its library/Cargo.lock) before this build can work offline." >&2
    exit 1 ;;
esac

target_dir="$cross_dir/build"
for rid in "${rids[@]}"; do
  target="$(target_of "$rid")"
  cc="$(cc_of "$rid")"
  upper="$(echo "$target" | tr 'a-z-' 'A-Z_')"
  lower="$(echo "$target" | tr '-' '_')"
  # linux-arm64 is linked against bullseye's glibc 2.31 and libgcc_s, not trixie's (2.41), by
  # build.rs (the glibc floor, as for linux-x64): the roots' folder is bound into the root.
  echo "==> building azmi for $rid ($target) in the trixie root"
  started=$SECONDS
  cross_run trixie env CARGO_HOME=/root/.cargo bash "$shared_dir/cargo-offline.sh" >/dev/null
  cross_run trixie env \
    CARGO_HOME=/root/.cargo CARGO_NET_OFFLINE=true RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_DIR="$target_dir" \
    "CARGO_TARGET_${upper}_LINKER=$cc" "CC_${lower}=$cc" "AR_${lower}=${cc%-gcc}-ar" \
    bash -c 'cd "$1" && shift && exec cargo "$@"' build "$root" \
    build -Zbuild-std=std,panic_unwind --target "$target" --release $(packages_of "$rid") --locked
  built="$target_dir/$target/release/$(library_of "$rid")"
  dest="$root/out/AzMi/runtimes/$rid/native"
  mkdir -p "$dest"
  # Copy then rename, as build-module.sh does: a process using the old file keeps it. The copy
  # that ships loses its symbol table (its exports stay; azmi.dll: 9.9 MB -> 6.9 MB); the
  # unstripped one stays in target/cross/build for debugging.
  file="$dest/$(packaged_as "$rid")"
  cp "$built" "$file.new"
  cross_run trixie "${cc%-gcc}-strip" --strip-unneeded "$file.new"
  mv -f "$file.new" "$file"
  echo "    $rid: $file ($(du -h "$file" | cut -f1), $((SECONDS - started)) s)"
done
