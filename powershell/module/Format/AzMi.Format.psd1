# The AzMi module's format views (AzMi.format.ps1xml), as a module of their own: AzMi imports
# it into a session with its first command there, not at Import-Module AzMi. Loading any format
# file makes PowerShell rebuild the session's whole format table (its own views included),
# which cost more than everything else Import-Module AzMi does; AzMi's objects come only from
# its commands, so the views are in place before any of them is shown. In a folder of its own:
# the module folder holds one manifest, AzMi's (Compress-PSResource packs the one it finds).
@{
    ModuleVersion     = '1.0.0'
    GUID              = '89e7660e-3e5c-4af8-9a6f-093752e2eadb'
    Author            = 'azmi contributors'
    CompanyName       = 'azmi contributors'
    Copyright         = '(c) azmi contributors. MIT License.'
    Description       = 'The format views of the AzMi module (imported by AzMi itself).'
    PowerShellVersion = '5.1'
    FormatsToProcess  = @('../AzMi.format.ps1xml')
    CmdletsToExport   = @()
    FunctionsToExport = @()
    AliasesToExport   = @()
    VariablesToExport = @()
}
