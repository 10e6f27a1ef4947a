# The SecretManagement vault extension of AzMi: Microsoft.PowerShell.SecretManagement (1.1) finds
# it by this folder's name (<Module>.Extension), and calls its functions in its own runspace:
#   Register-SecretVault -Name Secrets -ModuleName AzMi -VaultParameters @{ VaultName = 'mi-lab-vault' }
# AzMi.psd1 lists it in NestedModules, where SecretManagement needs it; it only defines
# functions, which nothing but SecretManagement calls (AzMi exports none of them).
@{
    RootModule        = 'AzMi.Extension.psm1'
    ModuleVersion     = '1.0'
    GUID              = '9d6b0c3e-3f57-4a7e-8b1f-2c4d5e6f7a80'
    Author            = 'azmi contributors'
    Copyright         = '(c) azmi contributors. MIT License.'
    Description       = 'SecretManagement vault extension of AzMi: Azure Key Vault with the managed identity.'
    PowerShellVersion = '5.1'
    FunctionsToExport = @('Get-Secret', 'Get-SecretInfo', 'Set-Secret', 'Set-SecretInfo', 'Remove-Secret', 'Test-SecretVault')
    CmdletsToExport   = @()
    VariablesToExport = @()
    AliasesToExport   = @()
}
