# Manifest of the AzMi module: Entra ID access tokens from an Azure machine's managed identity,
# and Data Lake Storage (Gen1 WebHDFS, Gen2 DFS), Blob storage, Key Vault secrets and Resource Manager (resource
# groups, any request, storage SAS) with them, through the native azmi library. Built into out/AzMi/ by scripts/build-module.sh.
@{
    RootModule           = 'AzMi.dll'
    # Stamped by scripts/build-module.sh with the version of Cargo.toml (scripts/version.sh), as
    # are ProjectUri, LicenseUri and ReleaseNotes below: change them there, not here.
    ModuleVersion        = '0.0.0'
    # Fixed for good: PowerShell identifies the module by name and GUID.
    GUID                 = '4735cae5-b844-4531-b7f9-086512390dce'
    Author               = 'azmi contributors'
    CompanyName          = 'azmi contributors'
    Copyright            = '(c) azmi contributors. MIT License.'
    Description          = 'Gets Entra ID access tokens from the managed identity of the Azure machine it runs on (IMDS), and works with Azure Data Lake Storage (Gen1 and Gen2: list, read, write, upload, download, move, remove), Blob storage (upload, download, read), Key Vault secrets and Resource Manager (resource groups, any request, storage SAS tokens) with them, without the Az modules or an Azure SDK. A small native library (azmi) does the work; tokens are cached, retried as Microsoft recommends and never logged.'

    # One AzMi.dll (netstandard2.0) serves Windows PowerShell 5.1 and PowerShell 7.
    CompatiblePSEditions = @('Desktop', 'Core')
    PowerShellVersion    = '5.1'

    # No FormatsToProcess: the views (AzMi.format.ps1xml) come with the first AzMi command of a
    # session, through Format/AzMi.Format.psd1, which keeps Import-Module fast (see that file).

    # No NestedModules: the SecretManagement vault extension (AzMi.Extension/) is imported by
    # AzMi.dll on import only when SecretManagement is loaded in the process, where
    # Register-SecretVault and the vault calls look for it (SecretVaultExtension.cs). Nested, it
    # made every Import-Module AzMi 65 ms slower.

    # Explicit lists: PowerShell then knows the commands without loading the module.
    CmdletsToExport      = @(
        'Get-AzMiToken'
        'Get-AzMiManagedIdentity'
        'Set-AzMiProxy'
        'Get-AzMiProxy'
        'Get-AzMiDataLakeChildItem'
        'Get-AzMiDataLakeItem'
        'New-AzMiDataLakeItem'
        'Add-AzMiDataLakeItemContent'
        'Get-AzMiDataLakeItemContent'
        'Import-AzMiDataLakeItem'
        'Export-AzMiDataLakeItem'
        'Move-AzMiDataLakeItem'
        'Remove-AzMiDataLakeItem'
        'Get-AzMiKeyVaultSecret'
        'Set-AzMiKeyVaultSecret'
        'Remove-AzMiKeyVaultSecret'
        'Get-AzMiResourceGroup'
        'Invoke-AzMiArmRequest'
        'New-AzMiStorageSasToken'
        'New-AzMiStorageAccountSasToken'
        'Set-AzMiBlobContent'
        'Get-AzMiBlobContent'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()

    PrivateData          = @{
        PSData = @{
            Tags = @('Azure', 'ManagedIdentity', 'EntraID', 'Token', 'IMDS', 'DataLake', 'ADLS', 'WebHDFS', 'KeyVault', 'ResourceManager', 'SAS', 'Blob', 'SecretManagement',
                     'PSEdition_Desktop', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            ProjectUri   = ''
            LicenseUri   = ''
            ReleaseNotes = ''
        }
    }
}
