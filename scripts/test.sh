#!/usr/bin/env bash
# Runs every test of azmi on this machine, installing what they need first:
#   formatting, clippy, Rust unit and integration tests (with the header drift check),
#   the C tests under valgrind, the instructions of a warm token call from C against their
#   ceilings (bench/token-instructions.sh --check, under callgrind), the packages (the C SDK
#   archive built against with pkg-config; the module's .nupkg installed by PSResourceGet in
#   the Pester stage), the C# consumer tests,
#   the Azure SDK peer tests (Azure.Identity against azmi-emulator), the JavaScript SDK peer
#   tests (Microsoft's npm packages against azmi-emulator), the Pester tests of the AzMi
#   module, and every benchmark run once at a smoke size (scripts/bench-smoke.sh: runs that
#   must complete and print their figures, never timed assertions); for Windows (win-x64), the
#   same C, C SDK, NuGet package and Pester tests under Wine against azmi.dll built in a Debian
#   root (scripts/build-cross.sh); for linux-arm64, the C and C SDK tests under qemu-aarch64 on
#   glibc 2.31; and the Linux libraries' glibc floor (their version needs, and the C tests in a
#   Debian 11 root).
# Every stage runs even after a failure; a summary closes the run and the exit code is non-zero
# if any stage failed.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

names=()
results=()
times=()
failed=0

stage() {
  local name=$1
  shift
  echo
  echo "==================== $name ===================="
  local started=$SECONDS
  if "$@"; then
    results+=("passed")
  else
    results+=("FAILED")
    failed=$((failed + 1))
  fi
  names+=("$name")
  times+=($((SECONDS - started)))
}

summary() {
  echo
  echo "==================== summary ===================="
  local i passed=0
  for i in "${!names[@]}"; do
    printf '  %-32s %-7s %5ss\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
    [ "${results[$i]}" = passed ] && passed=$((passed + 1))
  done
  echo "azmi test stages: $passed passed, $failed failed"
}

stage "setup (tools)" bash scripts/setup.sh
if [ "$failed" -gt 0 ]; then summary; exit 1; fi
stage "build (release + module)" bash scripts/build.sh
if [ "$failed" -gt 0 ]; then summary; exit 1; fi
# Windows and linux-arm64: the libraries (and azmi-emulator.exe) built in the cross root
# (scripts/build-cross.sh), so that the packages carry them; their tests under Wine and qemu
# follow each stage below.
stage "win-x64, linux-arm64: build (build-cross.sh)" bash scripts/build-cross.sh win-x64 linux-arm64

stage "cargo fmt --check" cargo fmt --all -- --check
stage "emulator: no import cycle" python3 scripts/check-emulator-cycles.py
stage "CI scripts: no tool a new machine lacks" python3 scripts/check-ci-tools.py
stage "cargo clippy -D warnings" cargo clippy --locked --workspace --all-targets -- -D warnings
stage "cargo test (unit, integration, header drift)" cargo test --locked --workspace
stage "C tests under valgrind" bash tests/c/run.sh
stage "C warm token: instructions under ceiling" bash bench/token-instructions.sh --check
stage "win-x64: C tests under Wine" bash tests/c/run.sh win-x64
stage "linux-arm64: C tests under qemu (glibc 2.31)" bash tests/c/run.sh linux-arm64
# The packages of out/packages: the C SDK test here, the .NET packages' after the C# tests, the
# module package's in the Pester stage.
stage "packages (scripts/package.sh)" bash scripts/package.sh
stage "C SDK package (pkg-config, nm)" bash tests/c/sdk_test.sh
stage "win-x64: C SDK zip under Wine" bash tests/c/sdk_test_windows.sh
stage "linux-arm64: C SDK archive under qemu" bash tests/c/sdk_test.sh linux-arm64
stage "glibc floor: needs and C tests on Debian 11" bash tests/c/floor_test.sh
stage "C# consumer + Azure SDK peer tests" bash scripts/test-dotnet.sh
stage "C# AzMi NuGet package (local feed)" bash scripts/test-dotnet-package.sh
stage "win-x64: AzMi package under Wine" bash scripts/test-dotnet-package.sh win-x64
stage "JavaScript SDK peer tests" bash scripts/test-js.sh
stage "Pester (AzMi module)" bash scripts/test-pester.sh
stage "win-x64: Pester under Wine" bash scripts/test-pester.sh win-x64
stage "benchmarks (smoke size)" bash scripts/bench-smoke.sh

summary
[ "$failed" -eq 0 ]
