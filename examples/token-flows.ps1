# The managed-identity token flows of Microsoft's VM tutorials, with the AzMi module.
# Run by scripts/demo.sh against azmi-emulator; on an Azure VM it runs as it is (without
# AZMI_IMDS_ENDPOINT set, azmi asks the real IMDS endpoint).
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../out/AzMi/AzMi.psd1')

# Shows what a token says about itself, never the token.
function Show-Claims([string] $jwt) {
    $part = $jwt.Split('.')[1].Replace('-', '+').Replace('_', '/')
    $part += '=' * ((4 - $part.Length % 4) % 4)
    $claims = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($part)) | ConvertFrom-Json
    "    aud=$($claims.aud) oid=$($claims.oid) appid=$($claims.appid) (token of $($jwt.Length) chars, not shown)"
}

Write-Host "`n1. Resource Manager token, system-assigned identity"
$t = Get-AzMiToken -Resource https://management.azure.com/
$t | Format-Table Type, Resource, Identity, ExpiresOn -AutoSize | Out-String -Stream | Where-Object { $_ }
"    Token is a $($t.Token.GetType().Name)"

Write-Host "`n2. Key Vault token for a user-assigned identity (client id), as plain text"
$t = Get-AzMiToken -ResourceTypeName KeyVault -ClientId 00001111-aaaa-2222-bbbb-3333cccc4444 -AsPlainText
Show-Claims $t.Token

Write-Host "`n3. Scope form with an object id"
$t = Get-AzMiToken -Resource https://vault.azure.net/.default -ObjectId aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb -AsPlainText
"    resource asked: https://vault.azure.net/.default -> token for $($t.Resource)"

Write-Host "`n4. Azure SQL token (for SqlConnection.AccessToken)"
$t = Get-AzMiToken -ResourceTypeName Sql -AsPlainText
Show-Claims $t.Token

Write-Host "`n5. Cached: 1000 more calls"
$elapsed = Measure-Command { foreach ($i in 1..1000) { $null = Get-AzMiToken -ResourceTypeName Arm } }
"    {0:N1} µs per call" -f ($elapsed.TotalMilliseconds * 1000 / 1000)
$counters = Invoke-RestMethod "$($env:AZMI_IMDS_ENDPOINT -replace '/metadata/.*$', '')/admin/counters"
"    the endpoint served $($counters.token_requests) token requests in all"

Write-Host "`n6. A clear error for an identity this machine does not have"
try {
    Get-AzMiToken -ResourceTypeName Arm -ClientId 99999999-9999-9999-9999-999999999999
} catch {
    "    $($_.FullyQualifiedErrorId): $($_.Exception.Message)"
}
