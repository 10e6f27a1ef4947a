#Requires -Version 7.0
# Pester 5 tests of New-AzMiStorageAccountSasToken (out/AzMi, from scripts/build-module.sh):
# account SAS tokens minted by azmi-emulator's listAccountSas (signed with Azurite's well-known
# key) and used against Azurite (npm azurite under tools/azurite, installed by scripts/setup.sh),
# started here over HTTPS with --oauth basic and a fresh certificate for 127.0.0.1 on a free
# port, as AzMi.Blob.Tests.ps1 does. Run them with scripts/test-pester.sh.
#
# $env:AZMI_IMDS_ENDPOINT, $env:AZMI_CA_FILE (the emulator's CA and Azurite's certificate) and
# $env:AZMI_ARM_ENDPOINT are set here, inside pwsh, as in the other test files. The emulator
# runs with its defaults: the system-assigned identity is Owner of the subscription (it may call
# listAccountSas), azmi-uami is Reader (it may not).

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }
    $script:Subscription = '00000000-0000-0000-0000-000000000000'
    $script:Bed = Start-AzMiStorageTestBed -Repo $repo -EmulatorPath $emulatorPath -Name account-sas
    $script:Work = $Bed.Work
    $script:Emulator = $Bed.Emulator
    Import-Module $ModulePath -Force -ErrorAction Stop

    $script:Account = $Bed.Account

    # The container, with the identity's token (Azurite checks its claims).
    $token = (Get-AzMiToken -ResourceTypeName Storage -AsPlainText).Token
    $null = Invoke-RestMethod -Method Put -Uri "$Account/accountsas?restype=container" -SkipCertificateCheck `
        -Headers @{ Authorization = "Bearer $token"; 'x-ms-version' = '2021-08-06' }
    Remove-Variable token

    $script:Files = Join-Path $Work 'files'
    Push-Location $Files

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        $ErrorActionPreference = 'Stop'
        try { $null = & $Command } catch { return $_ }
        $null
    }

    function New-AccountSas {
        <# An account SAS of devstoreaccount1 from the emulator's listAccountSas; -Rest overrides or adds parameters. #>
        param([hashtable] $Rest = @{})
        $arguments = @{
            SubscriptionId     = $Subscription
            ResourceGroupName  = 'azmi-rg'
            StorageAccountName = 'devstoreaccount1'
            Service            = 'Blob'
            ResourceType       = 'Container', 'Object'
            Permission         = 'rwc'
        }
        foreach ($name in $Rest.Keys) { $arguments[$name] = $Rest[$name] }
        New-AzMiStorageAccountSasToken @arguments -ErrorAction Stop
    }

    function Get-SasField([string] $Sas, [string] $Name) {
        <# One field of a SAS token, decoded. #>
        foreach ($pair in $Sas -split '&') {
            $field, $value = $pair -split '=', 2
            if ($field -eq $Name) { return [Uri]::UnescapeDataString($value) }
        }
        $null
    }
}

AfterAll {
    Pop-Location
    Stop-AzMiStorageTestBed $script:Bed
}

Describe 'New-AzMiStorageAccountSasToken' {
    It 'is exported, in the manifest, with help, examples and the identity parameters' {
        Get-Command New-AzMiStorageAccountSasToken -Module AzMi | Should -Not -BeNullOrEmpty
        (Test-ModuleManifest -Path $ModulePath -ErrorAction Stop).ExportedCmdlets.Keys | Should -Contain 'New-AzMiStorageAccountSasToken'
        $help = Get-Help New-AzMiStorageAccountSasToken -Full
        $help.Synopsis | Should -BeLike '*account SAS*'
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        $parameters = (Get-Command New-AzMiStorageAccountSasToken).Parameters
        foreach ($name in 'SubscriptionId', 'ResourceGroupName', 'StorageAccountName', 'Service', 'ResourceType', 'Permission',
            'Protocol', 'IPAddressOrRange', 'StartTime', 'ExpiryTime', 'ClientId', 'ObjectId', 'ResourceId') {
            $parameters.Keys | Should -Contain $name
            ($help.Parameters.Parameter | Where-Object Name -eq $name).Description | Should -Not -BeNullOrEmpty
        }
    }

    It 'mints an account SAS that Azurite accepts: a blob written with it reads back the same' {
        $sas = New-AccountSas
        $sas | Should -BeOfType [string]
        $sas.StartsWith('?') | Should -BeFalse
        Get-SasField $sas 'ss' | Should -BeExactly 'b'
        Get-SasField $sas 'srt' | Should -BeExactly 'co'
        Get-SasField $sas 'sp' | Should -BeExactly 'rwc'
        Get-SasField $sas 'spr' | Should -BeExactly 'https'
        Get-SasField $sas 'sig' | Should -Not -BeNullOrEmpty

        Set-Content -LiteralPath (Join-Path $Files 'account.txt') -Value 'written with an account SAS' -NoNewline
        $blob = Set-AzMiBlobContent -File ./account.txt -StorageAccountName $Account -Container accountsas -Blob written.txt -SasToken $sas
        $blob.Name | Should -BeExactly 'written.txt'
        Get-AzMiBlobContent -StorageAccountName $Account -Container accountsas -Blob written.txt -SasToken $sas |
            Should -BeExactly 'written with an account SAS'
    }

    It 'refuses a write with a read-only SAS: Azurite''s 403 reaches the user as AzMi.PermissionDenied' {
        $readOnly = New-AccountSas -Rest @{ Permission = 'rl' }
        Get-SasField $readOnly 'sp' | Should -BeExactly 'rl'
        Set-Content -LiteralPath (Join-Path $Files 'denied.txt') -Value 'must not arrive' -NoNewline
        $record = Get-ErrorOf {
            Set-AzMiBlobContent -File ./denied.txt -StorageAccountName $Account -Container accountsas -Blob denied.txt -SasToken $readOnly
        }
        $record | Should -Not -BeNullOrEmpty
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.PermissionDenied,AzMi.Commands.SetAzMiBlobContentCommand'
        $record.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $record.Exception.HttpStatus | Should -Be 403
        $record.Exception.ServiceErrorCode | Should -Be 'AuthorizationPermissionMismatch'
        $record.Exception.Message | Should -BeLike '*denied.txt*not authorized to perform this operation using this permission*'
        $record.Exception.Message.Contains((Get-SasField $readOnly 'sig')) | Should -BeFalse

        # The same token reads: it is valid, only not for writing; and nothing was written.
        Get-AzMiBlobContent -StorageAccountName $Account -Container accountsas -Blob written.txt -SasToken $readOnly |
            Should -BeExactly 'written with an account SAS'
        $missing = Get-ErrorOf { Get-AzMiBlobContent -StorageAccountName $Account -Container accountsas -Blob denied.txt -SasToken $readOnly }
        $missing.FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
    }

    It 'takes -Service and -ResourceType as Az does, and permission letters in any order' {
        $sas = New-AccountSas -Rest @{ Service = 'Blob,Queue'; ResourceType = 'Service', 'Container', 'Object'; Permission = 'racwdlup' }
        Get-SasField $sas 'ss' | Should -BeExactly 'bq'
        Get-SasField $sas 'srt' | Should -BeExactly 'sco'
        Get-SasField $sas 'sp' | Should -BeExactly 'rwdlacup'

        $sas = New-AccountSas -Rest @{ Service = 'File', 'Table'; ResourceType = 'Object'; Permission = 'lr'; Protocol = 'HttpsOrHttp' }
        Get-SasField $sas 'ss' | Should -BeExactly 'tf'
        Get-SasField $sas 'srt' | Should -BeExactly 'o'
        Get-SasField $sas 'sp' | Should -BeExactly 'rl'
        Get-SasField $sas 'spr' | Should -BeExactly 'https,http'
    }

    It 'sends the start, expiry and address range it is given' {
        $start = [DateTime]::new(2098, 12, 31, 23, 0, 0, [DateTimeKind]::Utc)
        $expiry = [DateTime]::new(2099, 1, 2, 3, 4, 5, [DateTimeKind]::Utc)
        $sas = New-AccountSas -Rest @{ StartTime = $start; ExpiryTime = $expiry; IPAddressOrRange = '168.1.5.60-168.1.5.70' }
        Get-SasField $sas 'st' | Should -BeLike '2098-12-31T23:00:00*Z'
        Get-SasField $sas 'se' | Should -BeLike '2099-01-02T03:04:05*Z'
        Get-SasField $sas 'sip' | Should -BeExactly '168.1.5.60-168.1.5.70'
    }

    It 'refuses <Case> before any request, with AzMi.InvalidArgument saying what to give' -ForEach @(
        @{ Case = 'unknown permission letters'; Rest = @{ Permission = 'rxw' }; Expected = "*-Permission 'rxw'*letters rwdlacup*at most once*" }
        @{ Case = 'a repeated permission letter'; Rest = @{ Permission = 'rwr' }; Expected = "*-Permission 'rwr'*at most once*" }
        @{ Case = 'an upper-case permission letter'; Rest = @{ Permission = 'R' }; Expected = "*-Permission 'R'*rwdlacup*" }
        @{ Case = 'an expiry in the past'; Rest = @{ ExpiryTime = (Get-Date).AddHours(-1) }; Expected = '*-ExpiryTime*not in the future*give a later time*' }
        @{ Case = 'a start after the expiry'; Rest = @{ StartTime = (Get-Date).AddHours(3); ExpiryTime = (Get-Date).AddHours(2) }; Expected = '*-StartTime*not before -ExpiryTime*' }
        @{ Case = 'no service'; Rest = @{ Service = 'None' }; Expected = '*-Service names no service*Blob, File, Queue and Table*' }
        @{ Case = 'no resource type'; Rest = @{ ResourceType = 'None' }; Expected = '*-ResourceType names no resource type*Service, Container and Object*' }
    ) {
        $before = Get-ServiceRequestCount
        $record = Get-ErrorOf { New-AccountSas -Rest $Rest }
        $record | Should -Not -BeNullOrEmpty
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.InvalidArgument,AzMi.Commands.NewAzMiStorageAccountSasTokenCommand'
        $record.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $record.Exception.HttpStatus | Should -Be 0
        $record.Exception.Message | Should -BeLike $Expected
        Get-ServiceRequestCount | Should -Be $before
    }

    It 'refuses a service name Az does not have at parameter binding' {
        $before = Get-ServiceRequestCount
        $record = Get-ErrorOf { New-AccountSas -Rest @{ Service = 'Blobs' } }
        $record.Exception | Should -BeOfType [System.Management.Automation.ParameterBindingException]
        $record.Exception.Message | Should -BeLike '*Blobs*Blob*File*Queue*Table*'
        Get-ServiceRequestCount | Should -Be $before
    }

    It 'gives the user-assigned identity (Reader) AuthorizationFailed naming listAccountSas' {
        $record = Get-ErrorOf { New-AccountSas -Rest @{ ClientId = $Known.UserAssigned.ClientId } }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.PermissionDenied,AzMi.Commands.NewAzMiStorageAccountSasTokenCommand'
        $record.Exception.ServiceErrorCode | Should -Be 'AuthorizationFailed'
        $record.Exception.Message | Should -BeLike '*ListAccountSas/action*'
    }

    It 'never shows the token with -Verbose' {
        $out = New-AccountSas -Rest @{ Verbose = $true } 4>&1
        $sas = $out | Where-Object { $_ -is [string] }
        $signature = Get-SasField $sas 'sig'
        $signature | Should -Not -BeNullOrEmpty
        $verbose = $out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | Out-String
        $verbose | Should -BeLike '*Account SAS for devstoreaccount1*permissions rwc*'
        $verbose.Contains($signature) | Should -BeFalse
        $verbose.Contains([Uri]::EscapeDataString($signature)) | Should -BeFalse
        $verbose.Contains('sig=') | Should -BeFalse
    }
}
