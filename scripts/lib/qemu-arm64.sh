# .NET programs for linux-arm64 under qemu-user (sourced after cross-root.sh): the AzMi package
# tests (scripts/test-dotnet-package.sh linux-arm64) and PowerShell 7 (scripts/test-pester.sh
# linux-arm64). Nothing here runs an arm64 program by itself (no binfmt_misc), so each program
# is started through a script that runs it under qemu-aarch64, and a program that starts
# another arm64 program (a fresh pwsh) is given that script to start.

# qemu_arm64_script FILE GLIBC PROGRAM: writes FILE, an executable script to run in the trixie
# root (cross_run trixie FILE ARGS...) that runs the arm64 PROGRAM with its arguments under
# qemu-aarch64, on
#   bullseye  glibc 2.31, the floor the library is linked against, with bullseye's arm64
#             libstdc++, OpenSSL 1.1 and ICU 67 (the root's multiarch packages);
#   trixie    trixie's arm64 glibc 2.41 and libstdc++ (the cross compiler's) with bullseye's
#             OpenSSL and ICU: PowerShell 7.6's own arm64 libpsl-native needs glibc 2.33.
# .NET's tiered PGO and W^X double mappings are off: both only cost time under emulation.
qemu_arm64_script() {
  local file=$1 glibc=$2 program=$3 bullseye libs prefix
  bullseye="$(cross_root_path bullseye)"
  case $glibc in
    bullseye)
      prefix="$bullseye/usr/aarch64-linux-gnu"
      libs="$bullseye/usr/lib/aarch64-linux-gnu"
      ;;
    trixie)
      prefix=/usr/aarch64-linux-gnu
      # Only OpenSSL and ICU from bullseye: its glibc must not come first.
      libs="$cross_dir/arm64-libs"
      rm -rf "$libs" && mkdir -p "$libs"
      local name
      for name in libssl.so.1.1 libcrypto.so.1.1 libicuuc.so.67 libicui18n.so.67 libicudata.so.67; do
        [ -e "$bullseye/usr/lib/aarch64-linux-gnu/$name" ] || {
          echo "the bullseye root has no arm64 $name: run scripts/setup.sh" >&2; return 2; }
        ln -s "$bullseye/usr/lib/aarch64-linux-gnu/$name" "$libs/$name"
      done
      ;;
    *) echo "qemu_arm64_script: unknown glibc '$glibc' (bullseye or trixie)" >&2; return 2 ;;
  esac
  [ -e "$bullseye/usr/lib/aarch64-linux-gnu/libssl.so.1.1" ] || {
    echo "the bullseye root has no arm64 OpenSSL: run scripts/setup.sh" >&2; return 2; }
  cat >"$file" <<EOF
#!/bin/sh
# Runs $program under qemu-aarch64 on $glibc's glibc (scripts/lib/qemu-arm64.sh).
export DOTNET_TieredPGO=0 DOTNET_EnableWriteXorExecute=0
exec qemu-aarch64 -L '$prefix' -E 'LD_LIBRARY_PATH=$libs' '$program' "\$@"
EOF
  chmod +x "$file"
}

# qemu_arm64_limit LABEL LOG RC STARTED: after a program run under qemu-aarch64 failed (exit
# code RC, its output in LOG), whether the .NET runtime ever ran it. When LOG matches STARTED
# (a pattern the program prints once its managed code runs), the program ran and its output
# tells what failed: returns 1, saying nothing. Otherwise the runtime never came up: returns 77
# when it failed the way an emulator limit fails (a signal, or what coreclr and qemu print when
# memory, signals or syscalls are refused), after saying so and showing what it printed; else 1,
# after showing what it printed.
qemu_arm64_limit() {
  local label=$1 log=$2 rc=$3 started=$4 limit=false
  grep -q "$started" "$log" && return 1
  if ! grep -q 'Unhandled exception\|   at ' "$log"; then
    if [ "$rc" -gt 128 ] || grep -qi 'qemu\|Failed to create CoreCLR\|GC heap\|reserve\|W^X\|unsupported syscall\|Illegal instruction\|cannot allocate memory' "$log"; then
      limit=true
    fi
  fi
  echo
  if $limit; then
    echo "$label: the .NET runtime does not run under qemu-aarch64 here (exit code $rc), an"
    echo "emulator limit and not a test failure; these tests were NOT run. It printed:"
  else
    echo "$label: the program failed before any test (exit code $rc); it printed:"
  fi
  sed 's/^/    /' "$log" | tail -n 40
  $limit && return 77
  return 1
}
