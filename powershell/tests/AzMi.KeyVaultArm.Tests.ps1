#Requires -Version 7.0
# Pester 5 tests of the AzMi Key Vault and Resource Manager cmdlets (out/AzMi, from
# scripts/build-module.sh) against azmi-emulator's Key Vault (https://127.0.0.1:<kv-port>) and
# Resource Manager (https://127.0.0.1:<arm-port>). Run them with scripts/test-pester.sh.
#
# $env:AZMI_IMDS_ENDPOINT, $env:AZMI_CA_FILE and $env:AZMI_ARM_ENDPOINT are set here, inside
# pwsh (scripts/test-pester.sh starts pwsh without them): on Linux none reaches the native
# environment, so every passing test also proves that the module forwards them to azmi.
#
# The emulator runs with its default secrets and storage account, five resource groups (three
# pages of two), and roles: the system-assigned identity is Owner of the subscription and Key
# Vault Secrets User on the vault; azmi-uami is Reader of the subscription and Key Vault Secrets
# User on the secret mi-test only (docs/emulator.md, "Roles").

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }

    $script:Subscription = '00000000-0000-0000-0000-000000000000'
    $script:VaultId = "/subscriptions/$Subscription/resourceGroups/azmi-rg/providers/Microsoft.KeyVault/vaults/mi-lab-vault"
    $script:SecretText = 'Hello from Key Vault'
    $script:ConfigFile = [System.IO.Path]::GetTempFileName()
    @{
        resourceGroups  = @(
            @{ name = 'azmi-rg'; location = 'eastus'; tags = @{ environment = 'test'; owner = 'azmi' } }
            @{ name = 'DevTest'; location = 'eastus'; tags = @{ environment = 'dev' } }
            @{ name = 'rg-03'; location = 'westeurope' }
            @{ name = 'rg-04'; location = 'westeurope' }
            @{ name = 'rg-05'; location = 'westeurope' }
        )
        roleAssignments = @(
            @{ objectId = $Known.SystemAssigned.ObjectId; scope = "/subscriptions/$Subscription"; role = 'Owner' }
            @{ objectId = $Known.SystemAssigned.ObjectId; scope = 'keyvault'; role = 'Key Vault Secrets User' }
            @{ objectId = $Known.UserAssigned.ObjectId; scope = "/subscriptions/$Subscription"; role = 'Reader' }
            @{ objectId = $Known.UserAssigned.ObjectId; scope = "$VaultId/secrets/mi-test"; role = 'Key Vault Secrets User' }
        )
        armPageSize     = 2
    } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ConfigFile

    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath -ArgumentList '--config', $ConfigFile
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    $script:Vault = $Emulator.KeyVaultUrl
    $script:Uami = @{ ClientId = $Known.UserAssigned.ClientId }

    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }
    Import-Module $ModulePath -Force -ErrorAction Stop

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        try { $null = & $Command -ErrorAction Stop } catch { return $_ }
        $null
    }
}

AfterAll {
    Stop-AzMiEmulator $script:Emulator
    Restore-AzMiEnvironment $script:SavedEnvironment
    Remove-Item -LiteralPath $script:ConfigFile -ErrorAction SilentlyContinue
}

Describe 'Module' {
    It 'exports the Key Vault and Resource Manager cmdlets, each with help and examples' {
        foreach ($name in 'Get-AzMiKeyVaultSecret', 'Get-AzMiResourceGroup', 'Invoke-AzMiArmRequest', 'New-AzMiStorageSasToken') {
            Get-Command $name -Module AzMi | Should -Not -BeNullOrEmpty
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeLike "$name*"
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 1
            foreach ($identity in 'ClientId', 'ObjectId', 'ResourceId') {
                (Get-Command $name).Parameters.Keys | Should -Contain $identity
            }
        }
    }

    It 'passes Test-ModuleManifest' {
        $manifest = Test-ModuleManifest -Path $ModulePath -ErrorAction Stop
        $manifest.ExportedCmdlets.Keys | Should -Contain 'New-AzMiStorageSasToken'
    }
}

Describe 'Get-AzMiKeyVaultSecret' -Tag Arm64 {
    It 'gets the latest version with SecretValue as a read-only SecureString' {
        $secret = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test
        $secret.PSObject.TypeNames | Should -Contain 'AzMi.KeyVaultSecret'
        $secret.Name | Should -Be 'mi-test'
        $secret.Version | Should -Match '^[0-9a-f]{32}$'
        $secret.Id | Should -Be "$Vault/secrets/mi-test/$($secret.Version)"
        $secret.SecretValue | Should -BeOfType [securestring]
        $secret.SecretValue.IsReadOnly() | Should -BeTrue
        ([System.Net.NetworkCredential]::new('', $secret.SecretValue).Password -eq $SecretText) | Should -BeTrue
        $secret.ContentType | Should -Be 'text/plain'
        $secret.Enabled | Should -BeTrue
        $secret.Created | Should -BeOfType [datetime]
        $secret.Created.Kind | Should -Be 'Utc'
        $secret.Tags['purpose'] | Should -Be 'azmi-tests'
        $secret.VaultName | Should -Be $Vault
    }

    It 'returns a String with -AsPlainText' {
        $value = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText
        $value | Should -BeOfType [string]
        ($value -eq $SecretText) | Should -BeTrue
    }

    It 'gets an older version by id' {
        $versions = @(Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -IncludeVersions)
        $latest = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test
        $older = $versions | Where-Object Version -ne $latest.Version | Select-Object -First 1
        $value = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -Version $older.Version -AsPlainText
        ($value -eq "$SecretText (version 1)") | Should -BeTrue
        (Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -Version $older.Version).Version | Should -Be $older.Version
    }

    It 'lists every secret of the vault, over every page, without values' {
        $secrets = @(Get-AzMiKeyVaultSecret -VaultName $Vault)
        $secrets.Count | Should -Be 32 # two pages of at most 25
        $secrets.Name | Should -Contain 'paging-secret-30'
        $secrets.Name | Should -Contain 'mi-disabled'
        $secrets | Where-Object { $null -ne $_.SecretValue } | Should -BeNullOrEmpty
        ($secrets | Where-Object Name -eq 'mi-disabled').Enabled | Should -BeFalse
    }

    It 'lists the versions of a secret with -IncludeVersions' {
        $versions = @(Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -IncludeVersions)
        $versions.Count | Should -Be 2
        $versions.Name | Sort-Object -Unique | Should -Be 'mi-test'
        $versions.Version | ForEach-Object { $_ | Should -Match '^[0-9a-f]{32}$' }
        $versions | Where-Object { $null -ne $_.SecretValue } | Should -BeNullOrEmpty
    }

    It 'reads listed secrets piped back into it' {
        $values = @(Get-AzMiKeyVaultSecret -VaultName $Vault | Where-Object Name -like 'paging-secret-0[12]' | Get-AzMiKeyVaultSecret -AsPlainText)
        $values.Count | Should -Be 2
    }

    It 'reports a missing secret as AzMi.NotFound naming the vault and the secret' {
        $record = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name no-such-secret }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.NotFound,AzMi.Commands.GetAzMiKeyVaultSecretCommand'
        $record.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $record.Exception.Message | Should -BeLike '*no-such-secret*'
        $record.Exception.Message | Should -BeLike "*$(([Uri]$Vault).Authority)*"
        $record.Exception.ServiceErrorCode | Should -Be 'SecretNotFound'
    }

    It 'reports a disabled secret as AzMi.PermissionDenied' {
        $record = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-disabled }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        $record.Exception.Message | Should -BeLike '*mi-disabled*'
    }

    It 'lets the user-assigned identity read mi-test, which its role covers' {
        $value = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText @Uami
        ($value -eq $SecretText) | Should -BeTrue
    }

    It 'refuses the user-assigned identity another secret: AzMi.PermissionDenied naming it' {
        $record = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name paging-secret-01 @Uami }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        $record.CategoryInfo.Category | Should -Be 'PermissionDenied'
        $record.Exception.Message | Should -BeLike '*paging-secret-01*'
        $record.Exception.HttpStatus | Should -Be 403
    }

    It 'refuses the user-assigned identity a listing of the vault' {
        $record = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault @Uami }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
    }

    It 'never shows the secret text in its table and list views' {
        $secret = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test
        foreach ($text in @(
                ($secret | Out-String),
                ($secret | Format-Table | Out-String),
                ($secret | Format-List | Out-String),
                ($secret | Format-List * | Out-String),
                "$secret")) {
            $text.Contains($SecretText) | Should -BeFalse
        }
        ($secret | Format-Table | Out-String) | Should -BeLike '*mi-test*'
    }

    It 'asks the vault for -ApiVersion on every request, for a secret and for listings' {
        Reset-Emulator
        $value = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -ApiVersion 7.4 -AsPlainText
        ($value -eq $SecretText) | Should -BeTrue
        @(Get-AzMiKeyVaultSecret -VaultName $Vault -ApiVersion 7.4).Count | Should -Be 32
        @(Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -IncludeVersions -ApiVersion 7.4).Count | Should -Be 2
        $queries = @(Invoke-EmulatorAdmin -Path '/admin/service-requests' | ForEach-Object { $_ } | ForEach-Object query)
        $queries.Count | Should -BeGreaterOrEqual 4
        $queries | ForEach-Object { $_ | Should -Match '(^|&)api-version=7\.4(&|$)' }
    }

    It 'reports a -ApiVersion the vault does not know as its BadParameter, in every parameter set' {
        foreach ($command in @(
                { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -ApiVersion 7.9 },
                { Get-AzMiKeyVaultSecret -VaultName $Vault -ApiVersion 7.9 },
                { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -IncludeVersions -ApiVersion 7.9 })) {
            $record = Get-ErrorOf $command
            $record.FullyQualifiedErrorId | Should -Be 'AzMi.ServiceError,AzMi.Commands.GetAzMiKeyVaultSecretCommand'
            $record.Exception.HttpStatus | Should -Be 400
            $record.Exception.ServiceErrorCode | Should -Be 'BadParameter'
            $record.Exception.Message | Should -BeLike '*The specified version (7.9) is not recognized*latest supported version (7.5)*'
            $record.ErrorDetails.RecommendedAction | Should -BeLike '*-ApiVersion*'
        }
    }

    It 'refuses a malformed -ApiVersion before any request, saying what form to give' {
        $before = Get-ServiceRequestCount
        foreach ($bad in 'latest', '7.5&x=y', 'v7') {
            $record = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -ApiVersion $bad }
            $record.FullyQualifiedErrorId | Should -Be 'AzMi.InvalidArgument,AzMi.Commands.GetAzMiKeyVaultSecretCommand'
            $record.Exception.Message | Should -BeLike '*like 7.5, 7.6-preview.1*'
        }
        $record = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -ApiVersion latest }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        Get-ServiceRequestCount | Should -Be $before
    }

    It 'never shows the secret text with -Verbose' {
        $verbose = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | Out-String
        $verbose | Should -BeLike '*mi-test*'
        $verbose.Contains($SecretText) | Should -BeFalse
        $all = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -Verbose 4>&1 | Out-String
        $all.Contains($SecretText) | Should -BeFalse
    }
}

Describe 'Get-AzMiResourceGroup' {
    It 'gets one group like PSResourceGroup' {
        $group = Get-AzMiResourceGroup -SubscriptionId $Subscription -Name DevTest
        $group.PSObject.TypeNames | Should -Contain 'AzMi.ResourceGroup'
        $group.ResourceGroupName | Should -Be 'DevTest'
        $group.Location | Should -Be 'eastus'
        $group.ProvisioningState | Should -Be 'Succeeded'
        $group.Tags['environment'] | Should -Be 'dev'
        $group.ResourceId | Should -Be "/subscriptions/$Subscription/resourceGroups/DevTest"
    }

    It 'gets it with the user-assigned identity (Reader)' {
        (Get-AzMiResourceGroup -SubscriptionId $Subscription -Name DevTest @Uami).ResourceGroupName | Should -Be 'DevTest'
    }

    It 'lists every group, over every page' {
        $groups = @(Get-AzMiResourceGroup -SubscriptionId $Subscription)
        $groups.Count | Should -Be 5 # three pages of two
        $groups.ResourceGroupName | Should -Be @('azmi-rg', 'DevTest', 'rg-03', 'rg-04', 'rg-05')
    }

    It 'reports ResourceGroupNotFound as AzMi.NotFound with the code and message' {
        $record = Get-ErrorOf { Get-AzMiResourceGroup -SubscriptionId $Subscription -Name NoSuchGroup }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.NotFound,AzMi.Commands.GetAzMiResourceGroupCommand'
        $record.Exception.ServiceErrorCode | Should -Be 'ResourceGroupNotFound'
        $record.Exception.Message | Should -BeLike "*ResourceGroupNotFound*"
        $record.Exception.Message | Should -BeLike "*Resource group 'NoSuchGroup' could not be found*"
    }

    It 'names the table columns and never prints a JSON blob' {
        $text = Get-AzMiResourceGroup -SubscriptionId $Subscription | Format-Table | Out-String
        $text | Should -BeLike '*ResourceGroupName*Location*ProvisioningState*'
    }
}

Describe 'Invoke-AzMiArmRequest' {
    It 'returns the parsed answer of a GET' {
        $group = Invoke-AzMiArmRequest -Path "/subscriptions/$Subscription/resourceGroups/DevTest" -ApiVersion 2021-04-01
        $group | Should -BeOfType [pscustomobject]
        $group.name | Should -Be 'DevTest'
        $group.properties.provisioningState | Should -Be 'Succeeded'
        $group.tags.environment | Should -Be 'dev'
    }

    It 'follows every nextLink of a list' {
        $list = Invoke-AzMiArmRequest -Path "/subscriptions/$Subscription/resourcegroups?api-version=2021-04-01"
        @($list.value).Count | Should -Be 5
    }

    It 'sends a POST body given as an object, and reaches a storage account action' {
        $body = @{ canonicalizedResource = '/blob/devstoreaccount1/c'; signedResource = 'c'; signedPermission = 'r'; signedExpiry = '2099-01-01T00:00:00Z' }
        $answer = Invoke-AzMiArmRequest -Method POST -Body $body -ApiVersion 2023-05-01 `
            -Path "/subscriptions/$Subscription/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1/listServiceSas"
        $answer.serviceSasToken | Should -Match 'sig='
    }

    It 'gives AuthorizationFailed with its message to the user-assigned identity on a write' {
        $record = Get-ErrorOf {
            Invoke-AzMiArmRequest -Method POST -ApiVersion 2023-05-01 @Uami `
                -Path "/subscriptions/$Subscription/resourceGroups/azmi-rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1/listKeys"
        }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        $record.Exception.ServiceErrorCode | Should -Be 'AuthorizationFailed'
        $record.Exception.Message | Should -BeLike '*AuthorizationFailed*'
        $record.Exception.Message | Should -BeLike "*$($Known.UserAssigned.ClientId)*listKeys/action*"
    }

    It 'supports -WhatIf for anything but GET' {
        $before = Get-ServiceRequestCount
        Invoke-AzMiArmRequest -Method DELETE -Path "/subscriptions/$Subscription/resourceGroups/DevTest" -ApiVersion 2021-04-01 -WhatIf
        Get-ServiceRequestCount | Should -Be $before
    }
}

Describe 'New-AzMiStorageSasToken' {
    It 'mints a container SAS with listServiceSas' {
        $sas = New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
            -Container c -Permission rcw -ExpiryTime (Get-Date).AddHours(1)
        $sas | Should -BeOfType [string]
        $sas | Should -Match '(^|&)sv='
        $sas | Should -Match '(^|&)sig='
        $sas | Should -Match '(^|&)sp=rcw(&|$)'
        $sas | Should -Match '(^|&)sr=c(&|$)'
        $sas.StartsWith('?') | Should -BeFalse
    }

    It 'puts the permission letters in the service order and sends the expiry in UTC' {
        $expiry = [DateTime]::new(2099, 1, 2, 3, 4, 5, [DateTimeKind]::Utc)
        $sas = New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
            -Container c -Blob 'dir/file.txt' -Permission wr -ExpiryTime $expiry
        $sas | Should -Match '(^|&)sp=rw(&|$)'
        $sas | Should -Match '(^|&)sr=b(&|$)'
        [Uri]::UnescapeDataString($sas) | Should -BeLike '*se=2099-01-02T03:04:05*'
    }

    It 'refuses an invalid permission before any request' {
        $before = Get-ServiceRequestCount
        $record = Get-ErrorOf {
            New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
                -Container c -Permission rxw -ExpiryTime (Get-Date).AddHours(1)
        }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.InvalidArgument,AzMi.Commands.NewAzMiStorageSasTokenCommand'
        $record.Exception.Message | Should -BeLike '*rxw*'
        Get-ServiceRequestCount | Should -Be $before
    }

    It 'refuses an expiry in the past before any request' {
        $before = Get-ServiceRequestCount
        $record = Get-ErrorOf {
            New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
                -Container c -Permission r -ExpiryTime (Get-Date).AddHours(-1)
        }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        Get-ServiceRequestCount | Should -Be $before
    }

    It 'gives the user-assigned identity (Reader) AuthorizationFailed' {
        $record = Get-ErrorOf {
            New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
                -Container c -Permission r @Uami
        }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        $record.Exception.ServiceErrorCode | Should -Be 'AuthorizationFailed'
        $record.Exception.Message | Should -BeLike '*ListServiceSas/action*'
    }

    It 'never shows the token with -Verbose' {
        $out = New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
            -Container c -Permission r -Verbose 4>&1
        $sas = $out | Where-Object { $_ -is [string] }
        $sig = ($sas -split '&' | Where-Object { $_ -like 'sig=*' }).Substring(4)
        $verbose = $out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | Out-String
        $verbose.Contains($sig) | Should -BeFalse
        $verbose | Should -BeLike '*SAS for /blob/devstoreaccount1/c*'
    }
}

Describe 'Get-AzMiToken -ResourceTypeName Sql' {
    It 'returns a token for Azure SQL as plain text, for SqlConnection.AccessToken' {
        $token = Get-AzMiToken -ResourceTypeName Sql -AsPlainText
        $token.Token | Should -BeOfType [string]
        (ConvertFrom-JwtPayload $token.Token).aud | Should -BeLike 'https://database.windows.net*'
    }
}
