# PowerShell 7 for another platform (sourced): tests/pwsh-host published self-contained for a
# runtime identifier, with the built-in modules (Microsoft.PowerShell.Utility, Management,
# Security, PSResourceGet, ...) of the PowerShell 7 that scripts/setup-powershell.sh installs as
# a dotnet tool, which carries them for Windows and for Unix. Needs $root and $cross_dir.
#
# pwsh_host_publish RID: publishes into $cross_dir/pwsh-RID (dotnet publish is incremental) and
# sets pwsh_host_dir.
pwsh_host_publish() {
  local rid=$1 platform modules
  case $rid in
    win-*) platform=win ;;
    *) platform=unix ;;
  esac
  modules="$(find "$HOME/.dotnet/tools/.store/powershell" -path "*/any/$platform/Modules" -type d 2>/dev/null | head -n 1)"
  [ -n "$modules" ] || { echo "PowerShell's $platform modules not found: run scripts/setup-powershell.sh" >&2; return 1; }
  pwsh_host_dir="$cross_dir/pwsh-$rid"
  echo "==> pwsh for $rid (tests/pwsh-host, Microsoft.PowerShell.SDK) in $pwsh_host_dir"
  dotnet publish "$root/tests/pwsh-host/PwshHost.csproj" -c Release -r "$rid" -o "$pwsh_host_dir" \
    --nologo -v quiet
  rm -rf "$pwsh_host_dir/Modules"
  cp -r "$modules" "$pwsh_host_dir/Modules"
}
