# Per-call cost of getting a Resource Manager token in one PowerShell process, side by side:
#   Get-AzMiToken (warm cache), Invoke-RestMethod to the endpoint (the tutorials' way, no cache)
#   and Azure.Identity's ManagedIdentityCredential.GetToken (warm cache).
# Run by scripts/bench.sh with AZMI_IMDS_ENDPOINT / AZURE_POD_IDENTITY_AUTHORITY_HOST pointing
# at azmi-emulator. Prints figures; asserts nothing.
param([int] $Calls = 5000, [string] $AzureIdentityDir)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../out/AzMi/AzMi.psd1')

function Measure-PerCall([string] $name, [int] $n, [scriptblock] $body) {
    $null = & $body; $null = & $body   # warm up (first call fills caches, JIT)
    $sw = [Diagnostics.Stopwatch]::StartNew()
    for ($i = 0; $i -lt $n; $i++) { $null = & $body }
    $sw.Stop()
    [pscustomobject]@{ Method = $name; Calls = $n; 'µs per call' = [math]::Round($sw.Elapsed.TotalMilliseconds * 1000 / $n, 1) }
}

$resource = 'https://management.azure.com/'
$results = @()
$results += Measure-PerCall 'Get-AzMiToken (AzMi, warm cache)' $Calls { Get-AzMiToken -Resource $resource }
$results += Measure-PerCall 'Get-AzMiToken -AsPlainText (warm cache)' $Calls { Get-AzMiToken -Resource $resource -AsPlainText }

$uri = "$($env:AZMI_IMDS_ENDPOINT)?api-version=2018-02-01&resource=$([uri]::EscapeDataString($resource))"
$results += Measure-PerCall 'Invoke-RestMethod to the endpoint (tutorial way)' ([math]::Min($Calls, 500)) {
    Invoke-RestMethod -Uri $uri -Headers @{ Metadata = 'true' }
}

if ($AzureIdentityDir) {
    foreach ($dll in Get-ChildItem $AzureIdentityDir -Filter *.dll) {
        try { $null = [Reflection.Assembly]::LoadFrom($dll.FullName) } catch { }
    }
    $cred = [Azure.Identity.ManagedIdentityCredential]::new([Azure.Identity.ManagedIdentityId]::SystemAssigned)
    $ctx = [Azure.Core.TokenRequestContext]::new([string[]]@("$resource.default"))
    $none = [Threading.CancellationToken]::None
    $results += Measure-PerCall 'Azure.Identity ManagedIdentityCredential.GetToken (warm cache)' $Calls {
        $cred.GetToken($ctx, $none)
    }
}
$results | Format-Table -AutoSize | Out-String -Width 200
