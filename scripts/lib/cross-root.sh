# The Debian roots that azmi's cross builds and their tests run in (../shared/windows.md),
# sourced by scripts/build-cross.sh, scripts/build.sh and the cross test scripts.
#
# - trixie: Rust 1.96 with its standard library's source (-Zbuild-std), MinGW-w64, Wine, the
#   aarch64 cross compiler and qemu-user. The host's Rust has no other target's std.
# - bullseye: glibc 2.31, the C library the released Linux libraries are linked against (the
#   glibc floor), with gcc to build and run the old-image test in it.
#
# Each root is made once under $AZMI_CROSS_ROOTS (default target/cross, outside git), and made
# again when its package list changes (a stamp file records it); checkouts on one machine may
# share them by pointing AZMI_CROSS_ROOTS at one folder. What a checkout builds and runs in them
# (cargo's target folder, the Wine prefix, published test programs) stays in its own
# $cross_dir, target/cross.
#
# Commands run in a root through cross_run (or cross_exec), in a private mount namespace: the
# binds vanish with the command, whatever happens, and two runs never unmount each other's.

cross_dir="$root/target/cross"
cross_roots="${AZMI_CROSS_ROOTS:-$cross_dir}"
shared_dir="$(cd "${AZMI_SHARED_DIR:-$root/../shared}" && pwd)"

# The rustc the standard library crates in shared/crates were locked for (windows.md).
cross_rust_version="1.96.0"

trixie_packages=(
  rustc-web cargo-web rust-web-src
  gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev
  wine64 wine
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)
bullseye_packages=(gcc libc6-dev libc6-dev-arm64-cross libgcc-s1-arm64-cross)

cross_root_path() { echo "$cross_roots/$1"; }

# cross_root_ensure NAME: makes root NAME (trixie or bullseye) unless it is there with the same
# packages. Needs root and debootstrap (scripts/setup.sh installs it).
cross_root_ensure() {
  local name=$1 suite packages dir stamp want
  case $name in
    trixie) suite=trixie; packages=("${trixie_packages[@]}") ;;
    bullseye) suite=bullseye; packages=("${bullseye_packages[@]}") ;;
    *) echo "cross_root_ensure: unknown root '$name'" >&2; return 2 ;;
  esac
  dir="$(cross_root_path "$name")"
  stamp="$dir/.azmi-root"
  want="$suite ${packages[*]}"
  if [ -f "$stamp" ] && cross_root_holds "$(cat "$stamp")" "$want"; then return 0; fi
  [ "$(id -u)" = 0 ] || { echo "making the $name root needs root (debootstrap, chroot)" >&2; return 1; }
  command -v debootstrap >/dev/null || { echo "debootstrap is missing: run scripts/setup.sh" >&2; return 1; }
  mkdir -p "$cross_roots"
  # One maker at a time: checkouts sharing $AZMI_CROSS_ROOTS wait for the one making the root
  # (and then find it made) instead of deleting its half-made root.
  (
    flock 9
    if [ -f "$stamp" ] && cross_root_holds "$(cat "$stamp")" "$want"; then exit 0; fi
    echo "==> making the Debian $suite root at $dir (once; about two minutes)"
    rm -rf "$dir.new"
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$dir.new" >"$cross_roots/$name.debootstrap.log" 2>&1 || {
      echo "debootstrap $suite failed; the end of its log:" >&2; tail -n 20 "$cross_roots/$name.debootstrap.log" >&2; exit 1; }
    rm -rf "$dir"
    mv "$dir.new" "$dir"
    cross_run "$name" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages[*]} >/dev/null && apt-get clean" || {
      echo "installing packages in the $name root failed" >&2; exit 1; }
    if [ "$name" = bullseye ]; then cross_relative_links "$dir"; fi
    echo "$want" >"$stamp"
  ) 9>"$cross_roots/$name.lock"
}

# cross_root_holds STAMP WANT: the root a stamp describes (suite, then packages) is of the wanted
# suite and has every wanted package; it may have more (a checkout that needs more added them).
cross_root_holds() {
  local have=($1) want=($2) package
  [ "${have[0]:-}" = "${want[0]}" ] || return 1
  for package in "${want[@]:1}"; do
    [[ " ${have[*]:1} " == *" $package "* ]] || return 1
  done
}

# bullseye's libc6-dev has absolute symlinks (libc.so.6 -> /lib/...); made relative, the
# linker stays inside the sysroot instead of following them to the build machine's own files.
cross_relative_links() {
  local dir=$1 link target
  for sub in lib64 lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
    [ -d "$dir/$sub" ] || continue
    while IFS= read -r link; do
      target="$(readlink "$link")"
      case $target in
        /*) ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$dir$target")" "$link" ;;
      esac
    done < <(find -H "$dir/$sub" -maxdepth 1 -type l)
  done
}

# The variables a command in a root gets from the caller's environment (cross_run starts it
# with no other): azmi's and the managed identity hosts', proxies and trust, Wine's and the
# Windows folders a test may point elsewhere.
cross_passed_variables='^(AZMI_|AZURE_|IDENTITY_|MSI_|IMDS_|DEFAULT_IDENTITY_CLIENT_ID$|WINE|SSL_CERT_|XDG_RUNTIME_DIR$|[Hh][Tt][Tt][Pp][Ss]?_[Pp][Rr][Oo][Xx][Yy]$|[Nn][Oo]_[Pp][Rr][Oo][Xx][Yy]$|[Aa][Ll][Ll]_[Pp][Rr][Oo][Xx][Yy]$|ProgramData$|ProgramFiles$)'

# cross_exec NAME CMD...: replaces this shell with CMD run in root NAME as root, with /proc,
# /dev, /tmp, the checkout, shared/ and the roots' folder (bullseye's glibc, linked against from
# trixie) at their own paths (so paths are the same inside and out), the host's DNS, and the variables above. In the background (`cross_exec ... &`), $! is
# then CMD's own process: killing it stops CMD.
cross_exec() {
  local name=$1 dir var
  shift
  dir="$(cross_root_path "$name")"
  [ -d "$dir" ] || [ -d "$dir.new" ] || { echo "no $name root at $dir" >&2; return 1; }
  [ -d "$dir" ] || dir="$dir.new"
  local passed=()
  while IFS= read -r var; do
    [[ $var =~ $cross_passed_variables ]] && passed+=("$var=${!var}")
  done < <(compgen -e)
  exec unshare --mount --propagation private -- bash -c '
    set -e
    dir=$1; checkout=$2; shared=$3; roots=$4; shift 4
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
    mount -t proc proc "$dir/proc"
    mount --rbind /dev "$dir/dev"
    mount --bind /tmp "$dir/tmp"
    for path in "$checkout" "$shared" "$roots"; do
      mkdir -p "$dir$path"
      mount --bind "$path" "$dir$path"
    done
    exec chroot "$dir" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      LANG=C.UTF-8 TERM=dumb "$@"
  ' cross-run "$dir" "$root" "$shared_dir" "$(cd "$cross_roots" && pwd)" "${passed[@]}" "$@"
}

# cross_run NAME CMD...: runs CMD in root NAME (as cross_exec) and returns its status.
cross_run() {
  (cross_exec "$@")
}
