#Requires -Version 7.0
# Pester 5 tests of Set-AzMiKeyVaultSecret and Remove-AzMiKeyVaultSecret (out/AzMi, from
# scripts/build-module.sh) against azmi-emulator's Key Vault, with its default roles: the
# system-assigned identity is Key Vault Secrets Officer (it writes), azmi-uami Key Vault Secrets
# User (it only reads). Run them with scripts/test-pester.sh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    $script:Vault = $Emulator.KeyVaultUrl
    Import-Module $ModulePath -Force -ErrorAction Stop

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        # The block runs in a child scope of this one: its commands see this preference.
        $ErrorActionPreference = 'Stop'
        try { $null = & $Command } catch { return $_ }
        $null
    }

    function Get-PlainText([securestring] $Secure) { [System.Net.NetworkCredential]::new('', $Secure).Password }
}

AfterAll {
    Stop-AzMiEmulator $script:Emulator
    Restore-AzMiEnvironment $script:SavedEnvironment
}

Describe 'Module' {
    It '<_> is exported, supports -WhatIf and -Confirm, and has help for every parameter' -ForEach 'Set-AzMiKeyVaultSecret', 'Remove-AzMiKeyVaultSecret' {
        $command = Get-Command $_ -Module AzMi
        $command.Parameters.Keys | Should -Contain 'WhatIf'
        $command.Parameters.Keys | Should -Contain 'Confirm'
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeLike "*$_*[[]*"
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($parameter in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
            ((Get-Help $_ -Parameter $parameter).description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$parameter needs help"
        }
    }

    It 'takes the value of Set-AzMiKeyVaultSecret only as a SecureString' {
        (Get-Command Set-AzMiKeyVaultSecret).Parameters['SecretValue'].ParameterType | Should -Be ([securestring])
    }
}

Describe 'Set-AzMiKeyVaultSecret' -Tag Arm64 {
    It 'writes a new version from a SecureString, with content type, tags, times, and returns it' {
        $value = ConvertTo-SecureString 'first value é' -AsPlainText -Force
        $expires = [datetime]::new(2100, 1, 2, 3, 4, 5, [DateTimeKind]::Utc)
        $notBefore = [datetime]::new(2024, 6, 1, 0, 0, 0, [DateTimeKind]::Utc)
        $secret = Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-written -SecretValue $value -ContentType text/plain `
            -Tag @{ owner = 'ops'; count = 3 } -Expires $expires -NotBefore $notBefore
        $secret.PSObject.TypeNames | Should -Contain 'AzMi.KeyVaultSecret'
        $secret.Name | Should -Be 'ps-written'
        $secret.Version | Should -Match '^[0-9a-f]{32}$'
        $secret.SecretValue | Should -BeOfType [securestring]
        ((Get-PlainText $secret.SecretValue) -eq 'first value é') | Should -BeTrue
        $secret.ContentType | Should -Be 'text/plain'
        $secret.Tags['owner'] | Should -Be 'ops'
        $secret.Tags['count'] | Should -Be '3'
        $secret.Expires | Should -Be $expires
        $secret.NotBefore | Should -Be $notBefore
        $secret.Enabled | Should -BeTrue
        ((Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-written -AsPlainText) -eq 'first value é') | Should -BeTrue
    }

    It 'adds a version each time, inheriting nothing; -Disable writes a disabled one' {
        $first = Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-written
        $second = Set-AzMiKeyVaultSecret $Vault ps-written (ConvertTo-SecureString 'second' -AsPlainText -Force) -Disable
        $second.Version | Should -Not -Be $first.Version
        $second.Enabled | Should -BeFalse
        $second.Tags.Count | Should -Be 0
        $second.ContentType | Should -Be ''
        @(Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-written -IncludeVersions).Count | Should -Be 2
        (Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-written }).FullyQualifiedErrorId |
            Should -BeLike 'AzMi.PermissionDenied,*'
    }

    It 'writes an empty value' {
        $secret = Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-empty -SecretValue ([securestring]::new())
        $secret.SecretValue.Length | Should -Be 0
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-empty -AsPlainText | Should -Be ''
    }

    It 'changes nothing with -WhatIf; the operation names the secret and the vault' {
        Reset-Emulator $Emulator
        $value = ConvertTo-SecureString 'x' -AsPlainText -Force
        Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-whatif -SecretValue $value -WhatIf | Should -BeNullOrEmpty
        Get-ServiceRequestCount $Emulator | Should -Be 0
        # ShouldProcess says the same target in -WhatIf's "What if:" line and in -Verbose's.
        $said = Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-verbose -SecretValue $value -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        "$said" | Should -BeLike "*Set (a new version)*secret 'ps-verbose' in vault $Vault*"
        (Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-whatif }).FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
    }

    It 'takes its parameters from the pipeline by property name' {
        $written = [pscustomobject]@{ VaultName = $Vault; Name = 'ps-piped'; SecretValue = (ConvertTo-SecureString 'p' -AsPlainText -Force); ContentType = 'x/y' } |
            Set-AzMiKeyVaultSecret
        $written.ContentType | Should -Be 'x/y'
    }

    It 'never shows the value in verbose output or errors' {
        $value = ConvertTo-SecureString 'do-not-show-me' -AsPlainText -Force
        $verbose = Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-quiet -SecretValue $value -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose -join "`n") | Should -Not -BeLike '*do-not-show-me*'
        ($verbose -join "`n") | Should -BeLike "*Wrote version * of secret 'ps-quiet'*"
        $e = Get-ErrorOf { Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-quiet -SecretValue $value -ClientId $Known.UserAssigned.ClientId }
        "$e" | Should -Not -BeLike '*do-not-show-me*'
    }

    It 'is refused for an identity that may only read (AzMi.PermissionDenied)' {
        $e = Get-ErrorOf { Set-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -SecretValue (ConvertTo-SecureString 'x' -AsPlainText -Force) -ClientId $Known.UserAssigned.ClientId }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        $e.CategoryInfo.Category | Should -Be 'PermissionDenied'
        "$e" | Should -BeLike '*setSecret*'
    }

    It 'refuses what Key Vault would refuse before sending anything' {
        Reset-Emulator $Emulator
        $value = ConvertTo-SecureString 'v' -AsPlainText -Force
        $tags = @{}; 1..16 | ForEach-Object { $tags["t$_"] = 'v' }
        $big = ConvertTo-SecureString ('x' * (25 * 1024 + 1)) -AsPlainText -Force
        foreach ($call in @(
                { Set-AzMiKeyVaultSecret -VaultName $Vault -Name 'bad_name' -SecretValue $value },
                { Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-bad -SecretValue $value -Tag $tags },
                { Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-bad -SecretValue $big },
                { Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-bad -SecretValue $value -NotBefore '2030-01-01' -Expires '2029-01-01' })) {
            $e = Get-ErrorOf $call
            $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        }
        Get-ServiceRequestCount $Emulator | Should -Be 0
    }
}

Describe 'Remove-AzMiKeyVaultSecret' {
    It 'asks first: -WhatIf and -Confirm:$false decide, nothing is deleted on -WhatIf' {
        $null = Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -SecretValue (ConvertTo-SecureString 'r' -AsPlainText -Force)
        Remove-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -WhatIf | Should -BeNullOrEmpty
        Remove-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -Force -WhatIf | Should -BeNullOrEmpty
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -AsPlainText | Should -Be 'r'
        (Get-Command Remove-AzMiKeyVaultSecret).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact |
            Should -Be 'High'
    }

    It 'deletes with -Force, writing the deleted secret with -PassThru' {
        $version = (Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove).Version
        $deleted = Remove-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -Force -PassThru
        $deleted.PSObject.TypeNames | Should -Contain 'AzMi.DeletedKeyVaultSecret'
        $deleted.Name | Should -Be 'ps-remove'
        $deleted.Version | Should -Be $version
        $deleted.RecoveryId | Should -Be "$Vault/deletedsecrets/ps-remove"
        $deleted.DeletedDate | Should -BeOfType [datetime]
        $deleted.ScheduledPurgeDate | Should -Be $deleted.DeletedDate.AddDays(90)
        (Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove }).FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
        Remove-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -Force -ErrorAction SilentlyContinue -ErrorVariable gone
        $gone[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
    }

    It 'writes nothing without -PassThru, and deletes with -Confirm:$false' {
        $null = Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove-2 -SecretValue (ConvertTo-SecureString 'r' -AsPlainText -Force)
        Remove-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove-2 -Confirm:$false | Should -BeNullOrEmpty
        (Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove-2 }).FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
    }

    It 'leaves the name taken: setting it is AzMi.Conflict with advice' {
        $e = Get-ErrorOf { Set-AzMiKeyVaultSecret -VaultName $Vault -Name ps-remove -SecretValue (ConvertTo-SecureString 'held-name-value' -AsPlainText -Force) }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.Conflict,*'
        $e.Exception.HttpStatus | Should -Be 409
        $e.Exception.ServiceErrorCode | Should -Be 'Conflict'
        $e.ErrorDetails.RecommendedAction | Should -BeLike '*recover it*purge it*another name*'
        "$e" | Should -Not -BeLike '*held-name-value*'
    }

    It 'is refused for an identity that may only read' {
        $e = Get-ErrorOf { Remove-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -Force -ClientId $Known.UserAssigned.ClientId }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        (Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText) -eq 'Hello from Key Vault' | Should -BeTrue
    }
}
