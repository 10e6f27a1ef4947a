#Requires -Version 7.0
# Pester 5 tests of AzMi.Extension, AzMi's SecretManagement vault extension, against
# azmi-emulator's Key Vault. Microsoft.PowerShell.SecretManagement is not served here (it is on
# the PowerShell Gallery only), so the tests call the extension exactly as SecretManagement 1.1
# does: in a runspace of their own, through the parent module
# (& $module "AzMi.Extension\<Command>" @Params, SecretManagement's RunCommandScript), with the
# registered vault's name and the AdditionalParameters hashtable. SecretManagement's
# SecretInformation and SecretType are declared here with the same names and constructors.
# Run them with scripts/test-pester.sh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModuleDir = Join-Path $repo 'out/AzMi'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }

    # The system-assigned identity writes; azmi-uami has no role on the vault at all.
    $script:ConfigFile = [System.IO.Path]::GetTempFileName()
    @{
        roleAssignments = @(
            @{ objectId = $Known.SystemAssigned.ObjectId; scope = 'keyvault'; role = 'Key Vault Secrets Officer' }
        )
    } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ConfigFile
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath -ArgumentList '--config', $ConfigFile
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    $script:Vault = $Emulator.KeyVaultUrl
    # The vault's registered name, as Register-SecretVault -Name gives it.
    $script:Registered = 'AzMiVault'

    # SecretManagement 1.1's public types, as its extensions use them.
    if (-not ('Microsoft.PowerShell.SecretManagement.SecretInformation' -as [type])) {
        Add-Type -TypeDefinition @'
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
namespace Microsoft.PowerShell.SecretManagement
{
    public enum SecretType { Unknown = 0, ByteArray, String, SecureString, PSCredential, Hashtable }

    public sealed class SecretInformation
    {
        public string Name { get; }
        public SecretType Type { get; }
        public string VaultName { get; }
        public ReadOnlyDictionary<string, object> Metadata { get; }

        public SecretInformation(string name, SecretType type, string vaultName)
        {
            Name = name;
            Type = type;
            VaultName = vaultName;
        }

        public SecretInformation(string name, SecretType type, string vaultName, ReadOnlyDictionary<string, object> metadata)
            : this(name, type, vaultName)
        {
            Metadata = metadata;
        }

        public SecretInformation(string name, SecretType type, string vaultName, Hashtable metadata)
            : this(name, type, vaultName)
        {
            if (metadata == null) { return; }
            var copy = new Dictionary<string, object>(metadata.Count);
            foreach (var key in metadata.Keys) { copy.Add((string)key, metadata[key]); }
            Metadata = new ReadOnlyDictionary<string, object>(copy);
        }
    }
}
'@
    }
    # An assembly of SecretManagement's name (Add-Type cannot name one): Import-Module AzMi loads
    # the extension only where Microsoft.PowerShell.SecretManagement is loaded in the process.
    $script:SecretManagementAssembly = [System.Reflection.Emit.AssemblyBuilder]::DefineDynamicAssembly(
        [System.Reflection.AssemblyName]::new('Microsoft.PowerShell.SecretManagement'),
        [System.Reflection.Emit.AssemblyBuilderAccess]::Run)

    # SecretManagement's runspace, and its RunCommandScript.
    $script:VaultRunspace = [runspacefactory]::CreateRunspace()
    $VaultRunspace.Open()
    $script:RunCommandScript = @'
param ([string] $ModuleName, [string] $ModulePath, [string] $ImplementingModuleName, [string] $Command, [hashtable] $Params)
$verboseEnabled = $Params.AdditionalParameters.ContainsKey('Verbose') -and ($Params.AdditionalParameters['Verbose'] -eq $true)
$module = Microsoft.PowerShell.Core\Get-Module -Name $ModuleName -ErrorAction Ignore
if ($null -eq $module) {
    $module = Microsoft.PowerShell.Core\Import-Module -Name $ModulePath -PassThru
}
if ($null -eq $module) {
    return
}
Write-Verbose "Invoking command $Command on module $ImplementingModuleName" -Verbose:$verboseEnabled
& $module "$ImplementingModuleName\$Command" @Params
'@

    function Invoke-Vault {
        <#
            Runs an extension command as SecretManagement does; returns its output, the errors it
            wrote, the terminating error it threw (or null), and its verbose records.
        #>
        param([string] $Command, [hashtable] $Params = @{}, [hashtable] $VaultParameters = @{ VaultName = $script:Vault })
        $all = @{ VaultName = $script:Registered; AdditionalParameters = $VaultParameters } + $Params
        $shell = [powershell]::Create()
        $shell.Runspace = $script:VaultRunspace
        try {
            $null = $shell.AddScript($script:RunCommandScript).AddArgument('AzMi').AddArgument($script:ModuleDir).
                AddArgument('AzMi.Extension').AddArgument($Command).AddArgument($all)
            $thrown = $null
            # Assigned, not piped: the pipeline would enumerate a byte[] the extension wrote whole.
            $output = @()
            try { $output = $shell.Invoke() } catch { $thrown = $_.Exception.InnerException ?? $_.Exception }
            [pscustomobject]@{
                # Each object as the extension wrote it (.psobject: a collection's own members
                # would be looked up on its items); SecretManagement takes the first.
                Output  = @(foreach ($item in $output) { if ($null -ne $item) { , $item.psobject.BaseObject } })
                Errors  = @($shell.Streams.Error)
                Thrown  = $thrown
                Verbose = @($shell.Streams.Verbose)
            }
        }
        finally {
            $shell.Dispose()
        }
    }

    function Get-PlainText([securestring] $Secure) { [System.Net.NetworkCredential]::new('', $Secure).Password }

    function Read-AsAzKeyVault {
        <#
            What Az.KeyVault's extension (azure-powershell, Az.KeyVault.Extension.psm1) makes of a
            secret, written here from its code: the content type chooses the conversion.
        #>
        param([string] $Name)
        $secret = Get-AzMiKeyVaultSecret -VaultName $Vault -Name $Name
        $text = Get-PlainText $secret.SecretValue
        switch ($secret.ContentType) {
            'ByteArray' { return , [System.Text.Encoding]::ASCII.GetBytes($text) }
            'String' { return $text }
            'PSCredential' { $h = $text | ConvertFrom-Json; return [pscredential]::new($h.UserName, (ConvertTo-SecureString $h.Password -AsPlainText -Force)) }
            'Hashtable' { $o = $text | ConvertFrom-Json; $h = @{}; $o.PSObject.Properties | ForEach-Object { $h[$_.Name] = $_.Value }; return $h }
            default { return $secret.SecretValue }
        }
    }

    function Write-AsAzKeyVault {
        <# Writes a secret as Az.KeyVault's extension does (its Set-Secret, written here from its code). #>
        param([string] $Name, $Secret)
        switch ($Secret.GetType().Name) {
            'Byte[]' { $type = 'ByteArray'; $text = [System.Text.Encoding]::ASCII.GetString($Secret) }
            'String' { $type = 'String'; $text = $Secret }
            'PSCredential' { $type = 'PSCredential'; $text = ConvertTo-Json @{ UserName = $Secret.UserName; Password = $Secret.GetNetworkCredential().Password } }
            'Hashtable' { $type = 'Hashtable'; $text = ConvertTo-Json $Secret }
        }
        $null = Set-AzMiKeyVaultSecret -VaultName $Vault -Name $Name -SecretValue (ConvertTo-SecureString $text -AsPlainText -Force) -ContentType $type
    }

    Import-Module (Join-Path $ModuleDir 'AzMi.psd1') -Force -ErrorAction Stop
}

AfterAll {
    if ($script:VaultRunspace) { $script:VaultRunspace.Dispose() }
    Stop-AzMiEmulator $script:Emulator
    Restore-AzMiEnvironment $script:SavedEnvironment
    Remove-Item -LiteralPath $script:ConfigFile -ErrorAction SilentlyContinue
}

Describe 'The extension module' {
    It 'is where Register-SecretVault looks, exporting the functions SecretManagement calls' {
        $extension = Get-Module -ListAvailable -Name (Join-Path $ModuleDir 'AzMi.Extension')
        $extension.Name | Should -Be 'AzMi.Extension'
        foreach ($function in 'Get-Secret', 'Get-SecretInfo', 'Set-Secret', 'Remove-Secret', 'Test-SecretVault', 'Set-SecretInfo') {
            $extension.ExportedFunctions.Keys | Should -Contain $function
        }
        $extension.RequiredModules | Should -BeNullOrEmpty -Because 'importing AzMi must not load SecretManagement'
        (Import-PowerShellDataFile (Join-Path $ModuleDir 'AzMi.psd1')).ContainsKey('NestedModules') |
            Should -BeFalse -Because 'a nested module made every Import-Module AzMi 65 ms slower'
    }

    It 'takes -Metadata in Set-Secret (SecretManagement then passes it)' {
        $extension = Get-Module AzMi.Extension
        $extension | Should -Not -BeNullOrEmpty -Because 'Import-Module AzMi loads it where SecretManagement is loaded'
        $extension.ExportedFunctions['Set-Secret'].Parameters.Keys | Should -Contain 'Metadata'
    }

    It 'hides its functions where SecretManagement is loaded: Get-Secret stays SecretManagement''s' {
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript('param($m) $module = Import-Module $m -PassThru; [pscustomobject]@{
                    Loaded     = [bool](Get-Module AzMi.Extension)
                    GetSecret  = [bool](Get-Command Get-Secret -ErrorAction Ignore)
                    Qualified  = (& $module { (Get-Command AzMi.Extension\Test-SecretVault).CommandType.ToString() })
                }').AddArgument((Join-Path $ModuleDir 'AzMi.psd1'))
            $session = $shell.Invoke()[0]
            $shell.Streams.Error | Should -BeNullOrEmpty
        }
        finally { $shell.Dispose() }
        $session.Loaded | Should -BeTrue
        $session.GetSecret | Should -BeFalse -Because 'a function named Get-Secret would win over SecretManagement''s cmdlet'
        $session.Qualified | Should -Be 'Function'
    }

    It 'is not loaded, and adds nothing to a session, where SecretManagement is not loaded' {
        # A process of its own: this one holds SecretManagement's stand-in assembly.
        $script = "Import-Module '$(Join-Path $ModuleDir 'AzMi.psd1')'; " + '[pscustomobject]@{
                Modules    = @((Get-Module).Name)
                Commands   = @((Get-Command -Module AzMi).Name)
                GetSecret  = [bool](Get-Command Get-Secret -ErrorAction Ignore)
                Assemblies = @([AppDomain]::CurrentDomain.GetAssemblies().GetName().Name -match "SecretManagement|^Azure\.")
            } | ConvertTo-Json -Compress'
        $pwsh = @(Get-PwshCommandLine)
        $json = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script
        $LASTEXITCODE | Should -Be 0
        $session = $json | ConvertFrom-Json
        $session.Modules | Should -Be @('AzMi')
        $session.Commands.Count | Should -BeGreaterThan 0
        $session.Commands | ForEach-Object { $_ | Should -BeLike '*-AzMi*' }
        $session.GetSecret | Should -BeFalse
        $session.Assemblies | Should -BeNullOrEmpty
    }
}

Describe 'Set-Secret and Get-Secret, each type' {
    It 'round-trips a <Type>' -ForEach @(
        @{ Type = 'String'; Make = { 'plain text é' } }
        @{ Type = 'SecureString'; Make = { ConvertTo-SecureString 'secure text' -AsPlainText -Force } }
        @{ Type = 'ByteArray'; Make = { , [byte[]](0, 1, 65, 127) } }
        @{ Type = 'PSCredential'; Make = { [pscredential]::new('alice', (ConvertTo-SecureString 'p@ss"word' -AsPlainText -Force)) } }
        @{ Type = 'Hashtable'; Make = { @{ user = 'bob'; port = 5432; tls = $true; nested = @{ a = 1 }; list = @('x', 'y') } } }
    ) {
        $secret = & $Make
        $name = "sm-$($Type.ToLowerInvariant())"
        $set = Invoke-Vault Set-Secret @{ Name = $name; Secret = $secret }
        $set.Thrown | Should -BeNullOrEmpty
        $set.Errors | Should -BeNullOrEmpty
        $set.Output | Should -BeNullOrEmpty
        (Get-AzMiKeyVaultSecret -VaultName $Vault -Name $name).ContentType | Should -Be $Type

        $got = Invoke-Vault Get-Secret @{ Name = $name }
        $got.Errors | Should -BeNullOrEmpty
        $got.Output.Count | Should -Be 1
        $value = $got.Output[0]
        switch ($Type) {
            'String' { $value | Should -BeOfType [string]; ($value -eq 'plain text é') | Should -BeTrue }
            'SecureString' { $value | Should -BeOfType [securestring]; ((Get-PlainText $value) -eq 'secure text') | Should -BeTrue }
            'ByteArray' { , $value | Should -BeOfType [byte[]]; ($value -join ',') | Should -Be '0,1,65,127' }
            'PSCredential' {
                $value | Should -BeOfType [pscredential]
                $value.UserName | Should -Be 'alice'
                ($value.GetNetworkCredential().Password -eq 'p@ss"word') | Should -BeTrue
            }
            'Hashtable' {
                $value | Should -BeOfType [hashtable]
                $value.user | Should -Be 'bob'
                $value.port | Should -Be 5432
                $value.tls | Should -BeTrue
                $value.nested.a | Should -Be 1
                $value.list | Should -Be @('x', 'y')
            }
        }
    }

    It 'returns nothing, and no error, for a secret the vault does not have' {
        foreach ($name in 'sm-never-written', 'not_a_key_vault_name') {
            $got = Invoke-Vault Get-Secret @{ Name = $name }
            $got.Output | Should -BeNullOrEmpty
            $got.Errors | Should -BeNullOrEmpty
            $got.Thrown | Should -BeNullOrEmpty
        }
    }

    It 'reads a secret of another tool (no content type) as a SecureString' {
        $null = Set-AzMiKeyVaultSecret -VaultName $Vault -Name sm-foreign -SecretValue (ConvertTo-SecureString 'foreign' -AsPlainText -Force)
        $value = (Invoke-Vault Get-Secret @{ Name = 'sm-foreign' }).Output[0]
        $value | Should -BeOfType [securestring]
        ((Get-PlainText $value) -eq 'foreign') | Should -BeTrue
    }

    It 'refuses what it could not keep, before writing: <Why>' -ForEach @(
        @{ Why = 'bytes above 0x7F'; Secret = { , [byte[]](0x41, 0xFF) }; Says = '*Base64*' }
        @{ Why = 'a SecureString inside a hashtable'; Secret = { @{ password = (ConvertTo-SecureString 'x' -AsPlainText -Force) } }; Says = "*'password' is a SecureString*" }
        @{ Why = 'a hashtable too deep for JSON'; Secret = { $h = @{ v = 1 }; 1..11 | ForEach-Object { $h = @{ n = $h } }; $h }; Says = '*deeper than 10 levels*' }
        @{ Why = 'an unsupported type'; Secret = { 42 }; Says = '*types supported are byte`[`], string, SecureString, PSCredential and Hashtable*' }
    ) {
        Reset-Emulator
        $set = Invoke-Vault Set-Secret @{ Name = 'sm-refused'; Secret = (& $Secret) }
        "$($set.Thrown.Message)" | Should -BeLike $Says
        Get-ServiceRequestCount | Should -Be 0
    }

    It 'refuses a name Key Vault cannot hold' {
        $set = Invoke-Vault Set-Secret @{ Name = 'my_secret'; Secret = 'x' }
        "$($set.Thrown.Message)" | Should -BeLike '*letters, digits and hyphens*'
    }
}

Describe 'Metadata, Get-SecretInfo and Set-SecretInfo' {
    BeforeAll {
        $when = [datetime]::new(2030, 1, 2, 3, 4, 5, [DateTimeKind]::Utc)
        $null = Invoke-Vault Set-Secret @{ Name = 'sm-info-a'; Secret = 'a'; Metadata = @{ owner = 'ops'; rotate = $when; tier = 2 } }
        $null = Invoke-Vault Set-Secret @{ Name = 'sm-info-b'; Secret = [pscredential]::new('u', (ConvertTo-SecureString 'p' -AsPlainText -Force)) }
    }

    It 'lists SecretInformation with the type and the metadata from tags, filtered by wildcard' {
        $info = (Invoke-Vault Get-SecretInfo @{ Filter = 'SM-INFO-*' }).Output
        $info.Name | Sort-Object | Should -Be 'sm-info-a', 'sm-info-b'
        $info | ForEach-Object { $_ | Should -BeOfType ([Microsoft.PowerShell.SecretManagement.SecretInformation]) }
        $a = $info | Where-Object Name -eq 'sm-info-a'
        $a.Type | Should -Be ([Microsoft.PowerShell.SecretManagement.SecretType]::String)
        $a.VaultName | Should -Be $Registered
        $a.Metadata['owner'] | Should -Be 'ops'
        $a.Metadata['rotate'] | Should -Be '2030-01-02T03:04:05.0000000Z'
        $a.Metadata['tier'] | Should -Be '2'
        ($info | Where-Object Name -eq 'sm-info-b').Type | Should -Be ([Microsoft.PowerShell.SecretManagement.SecretType]::PSCredential)
        $all = (Invoke-Vault Get-SecretInfo @{ Filter = '' }).Output
        $all.Name | Should -Contain 'mi-test'
        ($all | Where-Object Name -eq 'mi-test').Type | Should -Be ([Microsoft.PowerShell.SecretManagement.SecretType]::Unknown)
    }

    It 'Set-SecretInfo replaces the tags with a new version of the same value' {
        $before = @(Get-AzMiKeyVaultSecret -VaultName $Vault -Name sm-info-a -IncludeVersions).Count
        $set = Invoke-Vault Set-SecretInfo @{ Name = 'sm-info-a'; Metadata = @{ owner = 'dev' } }
        $set.Thrown | Should -BeNullOrEmpty
        $secret = Get-AzMiKeyVaultSecret -VaultName $Vault -Name sm-info-a
        $secret.Tags.Keys | Should -Be 'owner'
        $secret.Tags['owner'] | Should -Be 'dev'
        $secret.ContentType | Should -Be 'String'
        ((Invoke-Vault Get-Secret @{ Name = 'sm-info-a' }).Output[0] -eq 'a') | Should -BeTrue
        @(Get-AzMiKeyVaultSecret -VaultName $Vault -Name sm-info-a -IncludeVersions).Count | Should -Be ($before + 1)
    }

    It 'refuses metadata Key Vault tags cannot hold' {
        $set = Invoke-Vault Set-Secret @{ Name = 'sm-info-c'; Secret = 'c'; Metadata = @{ bad = @(1, 2) } }
        "$($set.Thrown.Message)" | Should -BeLike "*metadata 'bad'*tags hold text*"
    }
}

Describe 'Remove-Secret' {
    It 'deletes (soft): Get-Secret finds nothing, and the name stays taken' {
        $null = Invoke-Vault Set-Secret @{ Name = 'sm-remove'; Secret = 'r' }
        $removed = Invoke-Vault Remove-Secret @{ Name = 'sm-remove' }
        $removed.Thrown | Should -BeNullOrEmpty
        $removed.Output | Should -BeNullOrEmpty
        (Invoke-Vault Get-Secret @{ Name = 'sm-remove' }).Output | Should -BeNullOrEmpty
        $again = Invoke-Vault Set-Secret @{ Name = 'sm-remove'; Secret = 'r2' }
        "$($again.Thrown.Message)" | Should -BeLike '*deleted but recoverable*'
        $gone = Invoke-Vault Remove-Secret @{ Name = 'sm-remove' }
        "$($gone.Thrown.Message)" | Should -BeLike '*SecretNotFound*'
    }
}

Describe 'The token cache' {
    It 'is the process''s: SecretManagement''s runspace reuses the token this one got' {
        $null = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test
        Reset-Emulator
        $got = Invoke-Vault Get-Secret @{ Name = 'mi-test' }
        $got.Output.Count | Should -Be 1
        Get-TokenRequestCount | Should -Be 0
        Get-ServiceRequestCount | Should -BeGreaterThan 0
    }
}

Describe 'Vault parameters' {
    It 'needs VaultName' {
        $got = Invoke-Vault Get-Secret @{ Name = 'x' } -VaultParameters @{}
        "$($got.Thrown.Message)" | Should -BeLike "*'$Registered' names no Key Vault*VaultName*"
    }

    It 'refuses a parameter it does not know, naming the ones it does' {
        $got = Invoke-Vault Get-Secret @{ Name = 'x' } -VaultParameters @{ VaultName = $Vault; Client = 'x' }
        "$($got.Thrown.Message)" | Should -BeLike "*'Client'*VaultName, ClientId, ObjectId, ResourceId, Source, Environment*"
    }

    It 'uses the identity it names, and honours SecretManagement''s Verbose' {
        $got = Invoke-Vault Get-Secret @{ Name = 'mi-test' } -VaultParameters @{ VaultName = $Vault; ClientId = $Known.UserAssigned.ClientId; Verbose = $true }
        $got.Thrown.Message | Should -BeLike '*Caller is not authorized*'
        ($got.Verbose.Message -join "`n") | Should -BeLike "*Identity: the user-assigned identity with client id $($Known.UserAssigned.ClientId)*"
    }
}

Describe 'Test-SecretVault' {
    It 'is true when the vault answers the identity, which may read it' {
        $test = Invoke-Vault Test-SecretVault -VaultParameters @{ VaultName = $Vault; Verbose = $true }
        $test.Output | Should -Be $true
        $test.Errors | Should -BeNullOrEmpty
        ($test.Verbose.Message -join "`n") | Should -BeLike "*answers, and the system-assigned identity (client id $($Known.SystemAssigned.ClientId)*may read it*"
    }

    It 'is false, naming the identity and the role it lacks, when it may not read the vault' {
        $test = Invoke-Vault Test-SecretVault -VaultParameters @{ VaultName = $Vault; ClientId = $Known.UserAssigned.ClientId }
        $test.Output | Should -Be $false
        $message = $test.Errors[0].Exception.Message
        $message | Should -BeLike "*client id $($Known.UserAssigned.ClientId), object id $($Known.UserAssigned.ObjectId)*read, not verified*"
        $message | Should -BeLike '*may not read it*Key Vault Secrets User*'
        $test.Errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.Extension.PermissionDenied*'
    }

    It 'is false, saying why, without an identity or a vault' {
        $test = Invoke-Vault Test-SecretVault -VaultParameters @{ VaultName = $Vault; ClientId = '11111111-2222-3333-4444-555555555555' }
        $test.Output | Should -Be $false
        $test.Errors[0].Exception.Message | Should -BeLike '*no managed identity token*'

        $closed = "https://127.0.0.1:$(Get-ClosedLoopbackPort)"
        $test = Invoke-Vault Test-SecretVault -VaultParameters @{ VaultName = $closed }
        $test.Output | Should -Be $false
        $test.Errors[0].Exception.Message | Should -BeLike "*Key Vault $closed does not answer*"

        $test = Invoke-Vault Test-SecretVault -VaultParameters @{ ClientId = 'x' }
        $test.Output | Should -Be $false
        $test.Errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.Extension.VaultParameters*'
    }
}

Describe 'A vault shared with Az.KeyVault' {
    It 'reads the <Type> secrets Az.KeyVault''s extension writes' -ForEach @(
        @{ Type = 'String'; Make = { 'az text' } }
        @{ Type = 'ByteArray'; Make = { , [byte[]](72, 105) } }
        @{ Type = 'PSCredential'; Make = { [pscredential]::new('az-user', (ConvertTo-SecureString 'az-pass' -AsPlainText -Force)) } }
        @{ Type = 'Hashtable'; Make = { @{ region = 'eastus'; replicas = 3 } } }
    ) {
        $name = "az-wrote-$($Type.ToLowerInvariant())"
        $secret = & $Make
        Write-AsAzKeyVault $name $secret
        $value = (Invoke-Vault Get-Secret @{ Name = $name }).Output[0]
        switch ($Type) {
            'String' { ($value -eq 'az text') | Should -BeTrue }
            'ByteArray' { ($value -join ',') | Should -Be '72,105' }
            'PSCredential' { $value.UserName | Should -Be 'az-user'; ($value.GetNetworkCredential().Password -eq 'az-pass') | Should -BeTrue }
            'Hashtable' { $value.region | Should -Be 'eastus'; $value.replicas | Should -Be 3 }
        }
        ((Invoke-Vault Get-SecretInfo @{ Filter = $name }).Output[0].Type) | Should -Be $Type
    }

    It 'writes secrets Az.KeyVault''s extension reads back as the same <Type>' -ForEach @(
        @{ Type = 'String'; Make = { 'ours' }; Check = { param($v) $v -eq 'ours' } }
        @{ Type = 'ByteArray'; Make = { , [byte[]](79, 75) }; Check = { param($v) ($v -join ',') -eq '79,75' } }
        @{ Type = 'PSCredential'; Make = { [pscredential]::new('our-user', (ConvertTo-SecureString 'our-pass' -AsPlainText -Force)) }; Check = { param($v) $v.UserName -eq 'our-user' -and $v.GetNetworkCredential().Password -eq 'our-pass' } }
        @{ Type = 'Hashtable'; Make = { @{ k = 'v'; n = 7 } }; Check = { param($v) $v.k -eq 'v' -and $v.n -eq 7 } }
    ) {
        $name = "ours-$($Type.ToLowerInvariant())"
        $null = Invoke-Vault Set-Secret @{ Name = $name; Secret = (& $Make) }
        $read = Read-AsAzKeyVault $name
        (& $Check $read) | Should -BeTrue
        # Az.KeyVault's Get-SecretInfo parses the content type as a SecretType.
        [System.Enum]::Parse([Microsoft.PowerShell.SecretManagement.SecretType], (Get-AzMiKeyVaultSecret -VaultName $Vault -Name $name).ContentType) |
            Should -Be $Type
    }
}
