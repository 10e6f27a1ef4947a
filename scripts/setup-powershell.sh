#!/usr/bin/env bash
# Installs what the AzMi module's tests need, on a fresh machine too; safe to run again:
#   - PowerShell 7.6.9 as a .NET global tool (~/.dotnet/tools/pwsh), unless already there;
#   - Pester 5.7.1 from NuGet (the PowerShell Gallery is not reachable from every machine),
#     by restoring powershell/tools/PesterRestore.csproj into the NuGet package folder.
# Prints where pwsh and Pester are. Needs the .NET SDK and access to nuget.org.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pwsh_version=7.6.9
pester_version=5.7.1

command -v dotnet >/dev/null || { echo "setup-powershell.sh: the .NET SDK (dotnet) is required" >&2; exit 1; }

pwsh="$HOME/.dotnet/tools/pwsh"
if [ ! -x "$pwsh" ]; then
  echo "==> installing PowerShell $pwsh_version (dotnet tool install --global PowerShell)"
  dotnet tool install --global PowerShell --version "$pwsh_version"
fi
echo "pwsh: $pwsh ($("$pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()'))"

# The restore project needs a target framework this SDK knows; take the SDK's own.
sdk_major="$(dotnet --version | cut -d. -f1)"
packages="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')"
pester="${packages%/}/pester/$pester_version/tools/Pester.psd1"
if [ ! -f "$pester" ]; then
  echo "==> restoring Pester $pester_version from NuGet"
  dotnet restore "$root/powershell/tools/PesterRestore.csproj" -p:TargetFramework="net$sdk_major.0" --nologo -v quiet
fi
[ -f "$pester" ] || { echo "setup-powershell.sh: Pester was restored but $pester is missing" >&2; exit 1; }
echo "Pester: $pester"
