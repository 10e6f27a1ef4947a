# Per-call cost of AzMi's cmdlets in one PowerShell process, side by side with their floors:
#   - Get-FloorToken: a trivial compiled cmdlet with Get-AzMiToken's parameters returning a
#     cached object (bench/powershell/floor/FloorCmdlets.cs, compiled here with Add-Type, not in the module);
#   - Get-AzMiToken (warm cache), with and without -AsPlainText; ratio to the floor;
#   - Invoke-RestMethod to the endpoint (the tutorials' way, no cache) and, with
#     -AzureIdentityDir, Azure.Identity's ManagedIdentityCredential.GetToken (warm cache);
#   - with $env:AZMI_KEYVAULT_URL: Get-AzMiKeyVaultSecret beside Get-FloorKeyVaultSecret (same
#     parameters) and azmi_keyvault_get timed in C#: the cmdlet's fixed overhead is its time
#     minus the floor cmdlet's minus the native call's. The service cmdlets all share that
#     fixed part (AzMiCmdlet.Invoke), so one of them measures it.
# Every method runs -Rounds times, interleaved; the table gives each one's median round.
# Run by scripts/bench.sh with AZMI_IMDS_ENDPOINT (and AZMI_CA_FILE, AZMI_KEYVAULT_URL) pointing
# at azmi-emulator. Prints figures; asserts nothing.
param(
    [int] $Calls = 5000,
    [int] $ServiceCalls = 500,
    [int] $Rounds = 5,
    [string] $AzureIdentityDir,
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/AzMi/AzMi.psd1'),
    [string] $Label = 'AzMi'
)
$ErrorActionPreference = 'Stop'
if (-not $env:AZMI_IMDS_ENDPOINT) { throw 'Set AZMI_IMDS_ENDPOINT to azmi-emulator''s token URL (scripts/bench.sh does).' }
$ModulePath = (Resolve-Path $ModulePath).Path
$module = Import-Module $ModulePath -PassThru
# This platform's library, as the module loads it: the module folder holds every platform's
# (runtimes/linux-arm64 sorts before linux-x64, so the first match is not this machine's).
$interop = [System.Runtime.InteropServices.RuntimeInformation]
$os = if ($interop::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::Windows)) { 'win' } elseif ($interop::IsOSPlatform([System.Runtime.InteropServices.OSPlatform]::OSX)) { 'osx' } else { 'linux' }
$rid = '{0}-{1}' -f $os, $interop::ProcessArchitecture.ToString().ToLowerInvariant()
$library = Get-ChildItem (Join-Path $module.ModuleBase "runtimes/$rid/native/*azmi*") -ErrorAction SilentlyContinue | Select-Object -First 1
if (-not $library) { throw "The module at $($module.ModuleBase) has no native library for $rid (runtimes/$rid/native): build it first (scripts/build-module.sh)." }
Add-Type -Path (Join-Path $PSScriptRoot 'floor/FloorCmdlets.cs')
Import-Module -Assembly ([AzMiBench.GetFloorTokenCommand].Assembly)
[AzMiBench.NativeFloor]::UseLibrary($library.FullName)

# µs per call, as wall time and as this process's CPU time (all threads): on a shared machine
# the wall time also counts the time waiting for a CPU, the CPU time does not.
$process = [Diagnostics.Process]::GetCurrentProcess()
function Measure-PerCall([int] $n, [scriptblock] $body) {
    $null = & $body; $null = & $body   # warm up (first call fills caches, JIT)
    $process.Refresh(); $cpu = $process.TotalProcessorTime
    $sw = [Diagnostics.Stopwatch]::StartNew()
    for ($i = 0; $i -lt $n; $i++) { $null = & $body }
    $sw.Stop()
    $process.Refresh()
    , @(($sw.Elapsed.TotalMilliseconds * 1000 / $n), (($process.TotalProcessorTime - $cpu).TotalMilliseconds * 1000 / $n))
}

function Get-Median([double[]] $values) {
    $sorted = $values | Sort-Object
    $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)]
}

$resource = 'https://management.azure.com/'
$methods = [ordered]@{
    'Get-FloorToken (trivial compiled cmdlet, same parameters)' = @{ N = $Calls; Body = { Get-FloorToken -Resource $resource } }
    'Get-AzMiToken (warm cache)'                                = @{ N = $Calls; Body = { Get-AzMiToken -Resource $resource } }
    'Get-FloorToken -AsPlainText (the same, one switch more)'   = @{ N = $Calls; Body = { Get-FloorToken -Resource $resource -AsPlainText } }
    'Get-AzMiToken -AsPlainText (warm cache)'                   = @{ N = $Calls; Body = { Get-AzMiToken -Resource $resource -AsPlainText } }
    'azmi_get_token alone (C# loop, no cmdlet)'                 = @{ N = $Calls; Native = { [AzMiBench.NativeFloor]::TokenMicroseconds($env:AZMI_IMDS_ENDPOINT, $resource, $Calls) } }
}

$uri = "$($env:AZMI_IMDS_ENDPOINT)?api-version=2018-02-01&resource=$([uri]::EscapeDataString($resource))"
$methods['Invoke-RestMethod to the endpoint (tutorial way)'] = @{ N = [math]::Min($Calls, 500); Body = { Invoke-RestMethod -Uri $uri -Headers @{ Metadata = 'true' } } }

if ($AzureIdentityDir) {
    foreach ($dll in Get-ChildItem $AzureIdentityDir -Filter *.dll) {
        try { $null = [Reflection.Assembly]::LoadFrom($dll.FullName) } catch { }
    }
    $cred = [Azure.Identity.ManagedIdentityCredential]::new([Azure.Identity.ManagedIdentityId]::SystemAssigned)
    $ctx = [Azure.Core.TokenRequestContext]::new([string[]]@("$resource.default"))
    $none = [Threading.CancellationToken]::None
    $methods['Azure.Identity ManagedIdentityCredential.GetToken (warm cache)'] = @{ N = $Calls; Body = { $cred.GetToken($ctx, $none) } }
}

$vault = $env:AZMI_KEYVAULT_URL
$secret = 'mi-test'
if ($vault) {
    $methods['Get-FloorKeyVaultSecret (trivial compiled cmdlet, same parameters)'] = @{ N = $ServiceCalls; Body = { Get-FloorKeyVaultSecret -VaultName $vault -Name $secret } }
    $methods['Get-AzMiKeyVaultSecret'] = @{ N = $ServiceCalls; Body = { Get-AzMiKeyVaultSecret -VaultName $vault -Name $secret } }
    $methods['azmi_keyvault_get alone (C# loop, no cmdlet)'] = @{ N = $ServiceCalls; Native = { [AzMiBench.NativeFloor]::KeyVaultGetMicroseconds($env:AZMI_IMDS_ENDPOINT, $vault, $secret, $ServiceCalls) } }
    [AzMiBench.NativeFloor]::PrepareKeyVaultGet($env:AZMI_IMDS_ENDPOINT, $vault, $secret)
    $methods['azmi_keyvault_get once per loop iteration (a .NET method call)'] = @{ N = $ServiceCalls; Body = { [AzMiBench.NativeFloor]::KeyVaultGetOnce() } }
    $methods['empty .NET method call (subtracted from the one above)'] = @{ N = $ServiceCalls; Body = { [AzMiBench.NativeFloor]::Nothing() } }
    $null = Get-AzMiKeyVaultSecret -VaultName $vault -Name $secret   # applies $env:AZMI_CA_FILE for the C# loop too
}

$load = { (Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -replace '^(\S+ \S+ \S+).*', '$1' }
$loadStart = & $load
$wall = @{}; $cpu = @{}
foreach ($name in $methods.Keys) { $wall[$name] = [System.Collections.Generic.List[double]]::new(); $cpu[$name] = [System.Collections.Generic.List[double]]::new() }
for ($round = 0; $round -lt $Rounds; $round++) {
    foreach ($name in $methods.Keys) {
        $m = $methods[$name]
        $us = if ($m.Native) { & $m.Native } else { Measure-PerCall $m.N $m.Body }
        $wall[$name].Add($us[0]); $cpu[$name].Add($us[1])
    }
}
$loadEnd = & $load

$median = @{}; $cpuMedian = @{}
foreach ($name in $methods.Keys) { $median[$name] = Get-Median $wall[$name]; $cpuMedian[$name] = Get-Median $cpu[$name] }
"$Label ($ModulePath), PowerShell $($PSVersionTable.PSVersion), $Rounds rounds; load average $loadStart at the start, $loadEnd at the end"
$methods.Keys | ForEach-Object {
    [pscustomobject]@{
        Method             = $_
        Calls              = $methods[$_].N
        'µs per call'      = [math]::Round($median[$_], 1)
        'wall min..max'    = '{0:0.0}..{1:0.0}' -f ($wall[$_] | Measure-Object -Minimum).Minimum, ($wall[$_] | Measure-Object -Maximum).Maximum
        'CPU µs per call'  = [math]::Round($cpuMedian[$_], 1)
        'CPU min'          = [math]::Round(($cpu[$_] | Measure-Object -Minimum).Minimum, 1)
    }
} | Format-Table -AutoSize | Out-String -Width 200

# Ratios on wall time and on CPU time (the one to trust when the load average is high; the
# fastest round's CPU time is the least disturbed by other work).
$floorName = 'Get-FloorToken (trivial compiled cmdlet, same parameters)'
$cpuMin = @{}
foreach ($name in $methods.Keys) { $cpuMin[$name] = ($cpu[$name] | Measure-Object -Minimum).Minimum }
# Paired: each round's ratio to the floor measured just before it, then the median of those.
function Get-PairedRatio($samples, [string] $name, [string] $floor) {
    Get-Median @(for ($r = 0; $r -lt $samples[$name].Count; $r++) { $samples[$name][$r] / $samples[$floor][$r] })
}
# Each command beside the floor called with the same parameters (binding a switch costs too).
$floors = @{
    'Get-AzMiToken (warm cache)'              = $floorName
    'Get-AzMiToken -AsPlainText (warm cache)' = 'Get-FloorToken -AsPlainText (the same, one switch more)'
}
foreach ($name in 'Get-AzMiToken (warm cache)', 'Get-AzMiToken -AsPlainText (warm cache)') {
    $floorName = $floors[$name]
    '{0}: {1:0.00}× the floor cmdlet ({2:+0.0;-0.0} µs) by wall time, {3:0.00}× ({4:+0.0;-0.0} µs) by CPU time; paired per round: {5:0.00}× wall, {6:0.00}× CPU; fastest rounds'' CPU: {7:0.00}×. Target ≤ 1.10×' -f $name,
        ($median[$name] / $median[$floorName]), ($median[$name] - $median[$floorName]),
        ($cpuMedian[$name] / $cpuMedian[$floorName]), ($cpuMedian[$name] - $cpuMedian[$floorName]),
        (Get-PairedRatio $wall $name $floorName), (Get-PairedRatio $cpu $name $floorName),
        ($cpuMin[$name] / $cpuMin[$floorName])
}
if ($vault) {
    # The native call's own cost, two ways: back to back in C# (azmi's worker threads stay hot),
    # and one per PowerShell loop iteration minus an empty method call (spaced like the cmdlet's
    # calls, so each one wakes azmi's threads as the cmdlet's do). The second is the fair floor.
    $kvFloorName = 'Get-FloorKeyVaultSecret (trivial compiled cmdlet, same parameters)'
    $kvWall = $median['Get-AzMiKeyVaultSecret']; $kvCpu = $cpuMedian['Get-AzMiKeyVaultSecret']
    $spacedWall = $median['azmi_keyvault_get once per loop iteration (a .NET method call)'] - $median['empty .NET method call (subtracted from the one above)']
    $spacedCpu = $cpuMedian['azmi_keyvault_get once per loop iteration (a .NET method call)'] - $cpuMedian['empty .NET method call (subtracted from the one above)']
    foreach ($native in @(
            @{ Name = 'native call back to back'; Wall = $median['azmi_keyvault_get alone (C# loop, no cmdlet)']; Cpu = $cpuMedian['azmi_keyvault_get alone (C# loop, no cmdlet)'] }
            @{ Name = 'native call spaced like the cmdlet''s'; Wall = $spacedWall; Cpu = $spacedCpu })) {
        $floorWall = $median[$kvFloorName] + $native.Wall
        $floorCpu = $cpuMedian[$kvFloorName] + $native.Cpu
        'Get-AzMiKeyVaultSecret: {0:0.00}× floor cmdlet + {1} (fixed overhead {2:+0.0;-0.0} µs) by wall time, {3:0.00}× ({4:+0.0;-0.0} µs) by CPU time' -f
            ($kvWall / $floorWall), $native.Name, ($kvWall - $floorWall), ($kvCpu / $floorCpu), ($kvCpu - $floorCpu)
    }
}
