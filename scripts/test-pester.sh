#!/usr/bin/env bash
# Runs the Pester tests of the AzMi module (powershell/tests) against azmi-emulator.
# Needs: out/AzMi (scripts/build-module.sh), target/release/azmi-emulator (or $AZMI_EMULATOR),
# pwsh and Pester (scripts/setup-powershell.sh). Test results: out/pester/testResults.xml.
# Ends with the line "Pester: N passed, M failed"; the exit code is non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
pester_version=5.7.1

pwsh="${PWSH:-$HOME/.dotnet/tools/pwsh}"
[ -x "$pwsh" ] || pwsh="$(command -v pwsh || true)"
if [ -z "$pwsh" ] || [ ! -x "$pwsh" ]; then
  echo "test-pester.sh: pwsh not found; run scripts/setup-powershell.sh" >&2
  exit 1
fi
packages="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')"
pester="${packages%/}/pester/$pester_version/tools/Pester.psd1"
if [ ! -f "$pester" ]; then
  echo "test-pester.sh: Pester $pester_version not found at $pester; run scripts/setup-powershell.sh" >&2
  exit 1
fi
if [ ! -f "$root/out/AzMi/AzMi.psd1" ]; then
  echo "test-pester.sh: out/AzMi/AzMi.psd1 not found; run scripts/build-module.sh" >&2
  exit 1
fi
mkdir -p "$root/out/pester"

# The tests point azmi at the emulator with $env:AZMI_IMDS_ENDPOINT (and AZMI_ARM_ENDPOINT) set inside pwsh. Start pwsh
# without either endpoint variable, so that the native environment cannot supply it and the
# tests prove that the module forwards PowerShell's environment.
env -u AZMI_IMDS_ENDPOINT -u AZURE_POD_IDENTITY_AUTHORITY_HOST -u AZMI_ARM_ENDPOINT \
  AZMI_PESTER_MODULE="$pester" AZMI_TEST_ROOT="$root" \
  "$pwsh" -NoProfile -NonInteractive -Command '
    $ErrorActionPreference = "Stop"
    Import-Module $env:AZMI_PESTER_MODULE
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $env:AZMI_TEST_ROOT "powershell/tests"
    $config.Run.PassThru = $true
    $config.Output.Verbosity = "Detailed"
    $config.Output.CIFormat = "Auto"
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputPath = Join-Path $env:AZMI_TEST_ROOT "out/pester/testResults.xml"
    $result = Invoke-Pester -Configuration $config

    # A failure outside any test (BeforeAll, a file that does not parse) fails no test: count it.
    $failed = $result.FailedCount
    if ($result.Result -ne "Passed" -and $failed -eq 0) {
        $failed = [Math]::Max(1, $result.FailedBlocksCount + $result.FailedContainersCount)
    }
    ""
    "Pester: $($result.PassedCount) passed, $failed failed"
    if ($failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
    exit 0
  '
