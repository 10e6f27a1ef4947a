# The service flows of Microsoft's managed-identity tutorials, with the AzMi module, against
# azmi-emulator (scripts/demo.sh sets the variables below from the emulator's banner). On an
# Azure machine the same cmdlets run with account names, vault names and subscription ids.
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../out/AzMi/AzMi.psd1')
$services = $env:AZMI_SERVICES_URL
$sub = '00000000-0000-0000-0000-000000000000'

foreach ($lake in @(
        @{ Name = 'Data Lake Storage Gen1 (WebHDFS)'; Account = "$services/webhdfs/v1"; Protocol = 'WebHdfs' }
        @{ Name = 'Data Lake Storage Gen2 (DFS)'; Account = "$services/fs"; Protocol = 'Dfs' })) {
    Write-Host "`n$($lake.Name): list, create a folder, upload Test1.txt, read it back"
    $a = @{ Account = $lake.Account; Protocol = $lake.Protocol }
    $null = New-AzMiDataLakeItem @a -Path /TestFolder -Folder -Force
    $null = New-AzMiDataLakeItem @a -Path /TestFolder/Test1.txt -Value 'Test file.' -Force
    Get-AzMiDataLakeChildItem @a -Path /TestFolder | Format-Table Type, Length, Name -AutoSize |
        Out-String -Stream | Where-Object { $_ }
    "    content: $(Get-AzMiDataLakeItemContent @a -Path /TestFolder/Test1.txt)"
}

Write-Host "`nKey Vault: a secret as a SecureString, then as plain text"
$secret = Get-AzMiKeyVaultSecret -VaultName $env:AZMI_KEYVAULT_URL -Name mi-test
"    $($secret.Name) version $($secret.Version): SecretValue is a $($secret.SecretValue.GetType().Name)"
$plain = Get-AzMiKeyVaultSecret -VaultName $env:AZMI_KEYVAULT_URL -Name mi-test -AsPlainText
"    with -AsPlainText: a $($plain.GetType().Name) of $($plain.Length) characters (not shown)"

Write-Host "`nResource Manager: a resource group with the system-assigned and a user-assigned identity"
Get-AzMiResourceGroup -SubscriptionId $sub -Name DevTest | Format-Table ResourceGroupName, Location, ProvisioningState -AutoSize |
    Out-String -Stream | Where-Object { $_ }
$rg = Get-AzMiResourceGroup -SubscriptionId $sub -Name DevTest -ClientId 00001111-aaaa-2222-bbbb-3333cccc4444
"    user-assigned identity sees $($rg.ResourceGroupName) in $($rg.Location)"

Write-Host "`nSAS from Resource Manager (listServiceSas) for the storage account devstoreaccount1"
$sas = New-AzMiStorageSasToken -SubscriptionId $sub -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
    -Container c -Permission rcw -ExpiryTime (Get-Date).AddHours(1)
"    a SAS of $($sas.Length) characters with permissions $([regex]::Match($sas, 'sp=([a-z]+)').Groups[1].Value) (signature not shown)"

Write-Host "`nAn error that says what is wrong"
try {
    Get-AzMiKeyVaultSecret -VaultName $env:AZMI_KEYVAULT_URL -Name no-such-secret
} catch {
    "    $($_.FullyQualifiedErrorId): $($_.Exception.Message)"
}
