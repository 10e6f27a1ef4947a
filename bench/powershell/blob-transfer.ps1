# PowerShell side of bench/blob-bench.sh: one Set-AzMiBlobContent or Get-AzMiBlobContent of a
# file, as a user calls it (with its progress), in a pwsh of its own. Figures, not a test.
#
#   pwsh -NoProfile -NonInteractive -File blob-transfer.ps1 -ModulePath <AzMi.psd1> -Op upload|download
#        -Account <account-url> -Container <container> -Name <blob> -Local <file> -Warmup <small file>
#
# The identity's token endpoint and the CA bundle come from $env:AZMI_IMDS_ENDPOINT and
# $env:AZMI_CA_FILE, read by the cmdlets. Before the clock: Import-Module and an upload of the
# small file -Warmup (the module's first call, the token and the first connection), as
# blob_bench creates the container first. Prints "<op> <bytes> bytes <seconds> s" for the
# transfer cmdlet alone.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [ValidateSet('upload', 'download')] [string] $Op,
    [Parameter(Mandatory)] [string] $Account,
    [Parameter(Mandatory)] [string] $Container,
    [Parameter(Mandatory)] [string] $Name,
    [Parameter(Mandatory)] [string] $Local,
    [Parameter(Mandatory)] [string] $Warmup
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$null = Set-AzMiBlobContent -File $Warmup -Uri "$Account/$Container/warmup-$Name" -Force

$uri = "$Account/$Container/$Name"
$watch = [Diagnostics.Stopwatch]::StartNew()
if ($Op -eq 'upload') {
    $null = Set-AzMiBlobContent -File $Local -Uri $uri -Force
}
else {
    $null = Get-AzMiBlobContent -Uri $uri -Destination $Local -Force
}
$watch.Stop()
[string]::Format([Globalization.CultureInfo]::InvariantCulture, '{0} {1} bytes {2:F3} s',
    $Op, (Get-Item -LiteralPath $Local).Length, $watch.Elapsed.TotalSeconds)
