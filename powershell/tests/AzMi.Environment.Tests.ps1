#Requires -Version 7.0
# Pester 5 tests of sovereign clouds by name (-Environment, $env:AZMI_ENVIRONMENT), of "which
# identity am I?" (Get-AzMiManagedIdentity -Resource) and of tab completion, against one
# azmi-emulator per cloud (--environment): each knows only its own cloud's resources and
# accepts only its own audiences, so a call that works proves the module picked that cloud's.
# Run them with scripts/test-pester.sh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    $script:Clouds = [ordered]@{}
    foreach ($cloud in 'AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud') {
        $Clouds[$cloud] = Start-AzMiEmulator -Path $emulatorPath -ArgumentList '--environment', $cloud
    }
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Clouds['AzureCloud']
    $script:SavedCloud = $env:AZMI_ENVIRONMENT
    Import-Module $ModulePath -Force -ErrorAction Stop

    function Use-Cloud([string] $Name) {
        <# Points the module (and the admin helpers) at the emulator playing $Name. #>
        $script:Emulator = $Clouds[$Name]
        $null = Set-AzMiEmulatorEnvironment -Emulator $Emulator
        $Emulator
    }

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        $ErrorActionPreference = 'Stop'
        try { $null = & $Command } catch { return $_ }
        $null
    }

    $script:Expected = @{
        AzureCloud        = @{ Arm = 'https://management.azure.com/'; KeyVault = 'https://vault.azure.net'; Sql = 'https://database.windows.net/'; VaultSuffix = 'vault.azure.net' }
        AzureUSGovernment = @{ Arm = 'https://management.usgovcloudapi.net/'; KeyVault = 'https://vault.usgovcloudapi.net'; Sql = 'https://database.usgovcloudapi.net/'; VaultSuffix = 'vault.usgovcloudapi.net' }
        AzureChinaCloud   = @{ Arm = 'https://management.chinacloudapi.cn/'; KeyVault = 'https://vault.azure.cn'; Sql = 'https://database.chinacloudapi.cn/'; VaultSuffix = 'vault.azure.cn' }
    }
}

AfterAll {
    foreach ($emulator in $script:Clouds.Values) { Stop-AzMiEmulator $emulator }
    Restore-AzMiEnvironment $script:SavedEnvironment
    $env:AZMI_ENVIRONMENT = $script:SavedCloud
}

Describe 'Sovereign clouds by name: <_>' -ForEach 'AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud' {
    BeforeAll {
        $script:Cloud = $_
        $script:Want = $Expected[$Cloud]
        $script:CloudEmulator = Use-Cloud $Cloud
    }
    AfterEach { $env:AZMI_ENVIRONMENT = $null }

    It 'Get-AzMiToken -ResourceTypeName gets the cloud''s resources with -Environment' {
        foreach ($type in 'Arm', 'KeyVault', 'Sql', 'Storage') {
            $token = Get-AzMiToken -ResourceTypeName $type -Environment $Cloud
            $resource = if ($type -eq 'Storage') { 'https://storage.azure.com/' } else { $Want[$type] }
            $token.Resource | Should -Be $resource
            (ConvertFrom-JwtPayload $token.Token).aud | Should -Be $resource
        }
    }

    It 'reads $env:AZMI_ENVIRONMENT when -Environment is not given, and -Environment wins' {
        $env:AZMI_ENVIRONMENT = $Cloud
        (Get-AzMiToken -ResourceTypeName Arm).Resource | Should -Be $Want.Arm
        $other = if ($Cloud -eq 'AzureCloud') { 'AzureChinaCloud' } else { 'AzureCloud' }
        $env:AZMI_ENVIRONMENT = $other
        (Get-AzMiToken -ResourceTypeName KeyVault -Environment $Cloud).Resource | Should -Be $Want.KeyVault
    }

    It 'another cloud''s resource is refused by this cloud''s Entra ID (AzMi.InvalidResource)' {
        $other = if ($Cloud -eq 'AzureUSGovernment') { 'AzureChinaCloud' } else { 'AzureUSGovernment' }
        $e = Get-ErrorOf { Get-AzMiToken -ResourceTypeName Arm -Environment $other -ForceRefresh }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidResource,*'
        "$e" | Should -BeLike '*AADSTS50001*'
    }

    It 'Resource Manager at an explicit endpoint uses the cloud''s token resource' {
        $group = Get-AzMiResourceGroup -SubscriptionId '00000000-0000-0000-0000-000000000000' -Name azmi-rg -Environment $Cloud
        $group.ResourceGroupName | Should -Be 'azmi-rg'
    }

    It 'Key Vault at its URL answers whatever the name suffix; the challenge names the cloud''s resource' {
        $value = Get-AzMiKeyVaultSecret -VaultName $CloudEmulator.KeyVaultUrl -Name mi-test -AsPlainText -Environment $Cloud
        ($value -eq 'Hello from Key Vault') | Should -BeTrue
    }

    It 'a vault name stands for the cloud''s vault host, as -WhatIf and -Confirm name it' {
        $value = ConvertTo-SecureString 'x' -AsPlainText -Force
        # ShouldProcess's target is also in -Verbose; two identity options then end the command
        # before anything is sent (a vault host of another cloud is not reachable from here).
        $refused = $null
        $said = try {
            Set-AzMiKeyVaultSecret -VaultName mi-lab-vault -Name s -SecretValue $value -Environment $Cloud -Verbose -Confirm:$false `
                -ClientId $Known.UserAssigned.ClientId -ObjectId $Known.UserAssigned.ObjectId 4>&1
        }
        catch { $refused = $_ }
        $refused.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        $verbose = $said | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ("$verbose" -replace '\s+', ' ') | Should -BeLike "*secret 's' in vault https://mi-lab-vault.$($Want.VaultSuffix)*"
        Set-AzMiKeyVaultSecret -VaultName mi-lab-vault -Name s -SecretValue $value -Environment $Cloud -WhatIf | Should -BeNullOrEmpty
    }

    It 'Get-AzMiManagedIdentity says which identity answered, with claims read and not verified' {
        $info = Get-AzMiManagedIdentity -Environment $Cloud
        $info.Available | Should -BeTrue
        $info.Environment | Should -Be $Cloud
        $info.Resource | Should -Be $Want.Arm
        $info.ObjectId | Should -Be $Known.SystemAssigned.ObjectId
        $info.ClientId | Should -Be $Known.SystemAssigned.ClientId
        $info.IdentityResourceId | Should -Be $Known.SystemAssigned.ResourceId
        $info.TenantId | Should -Match '^[0-9a-f-]{36}$'
        $info.ClaimsVerified | Should -BeFalse
        ($info | Format-List | Out-String) | Should -BeLike '*ClientId (read, not verified)*'

        $uami = Get-AzMiManagedIdentity -Resource $Want.KeyVault -ClientId $Known.UserAssigned.ClientId -Environment $Cloud
        $uami.Resource | Should -Be $Want.KeyVault
        $uami.ObjectId | Should -Be $Known.UserAssigned.ObjectId
        $uami.IdentityResourceId | Should -Be $Known.UserAssigned.ResourceId
    }
}

Describe 'Environment errors' {
    BeforeAll { $null = Use-Cloud 'AzureCloud' }
    AfterEach { $env:AZMI_ENVIRONMENT = $null }

    It 'an unknown -Environment is refused by PowerShell before azmi is called' {
        { Get-AzMiToken -ResourceTypeName Arm -Environment Mars } | Should -Throw -ErrorId 'ParameterArgumentValidationError,AzMi.Commands.GetAzMiTokenCommand'
    }

    It 'an unknown $env:AZMI_ENVIRONMENT is AzMi.InvalidArgument naming the clouds' {
        $env:AZMI_ENVIRONMENT = 'Mars'
        $e = Get-ErrorOf { Get-AzMiToken -ResourceTypeName Arm }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        "$e" | Should -BeLike '*AzureUSGovernment*'
    }

    It 'the Instance Metadata Service''s names work in $env:AZMI_ENVIRONMENT' {
        $env:AZMI_ENVIRONMENT = 'AzurePublicCloud'
        (Get-AzMiToken -ResourceTypeName Arm).Resource | Should -Be 'https://management.azure.com/'
    }

    It 'Data Lake Storage Gen1 exists only in AzureCloud' {
        $e = Get-ErrorOf { Get-AzMiToken -ResourceTypeName DataLake -Environment AzureUSGovernment }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        "$e" | Should -BeLike '*only AzureCloud had*'
        $e = Get-ErrorOf { Get-AzMiDataLakeChildItem -Account contoso -Path / -Environment AzureChinaCloud }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        "$e" | Should -BeLike '*dfs.core.chinacloudapi.cn*'
    }

    It 'every cmdlet that calls a service takes -Environment, described in its help' {
        $commands = Get-Command -Module AzMi -CommandType Cmdlet | Where-Object { $_.Parameters.ContainsKey('Source') }
        @($commands).Count | Should -BeGreaterOrEqual 20
        foreach ($command in $commands) {
            $command.Parameters.Keys | Should -Contain 'Environment' -Because "$($command.Name) needs -Environment"
            ((Get-Help $command.Name -Parameter Environment).description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-Environment of $($command.Name) needs help"
        }
    }
}

Describe 'Tab completion' {
    BeforeAll {
        function Complete([string] $Line) {
            (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
        }
    }

    It 'completes -Environment with the three clouds, each with a tooltip' {
        $matches = Complete 'Get-AzMiToken -ResourceTypeName Arm -Environment '
        $matches.CompletionText | Should -Be 'AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'
        ($matches | Where-Object CompletionText -eq 'AzureUSGovernment').ToolTip | Should -BeLike '*usgovcloudapi.net*'
        (Complete 'Get-AzMiKeyVaultSecret -VaultName v -Environment azurec').CompletionText | Should -Be 'AzureCloud', 'AzureChinaCloud'
    }

    It 'completes -Source with the seven sources and what detects them' {
        $matches = Complete 'Get-AzMiBlobContent -Source '
        @($matches).Count | Should -Be 7
        (Complete 'Get-AzMiToken -Resource x -Source App').CompletionText | Should -Be 'AppService'
        (Complete 'Get-AzMiToken -Resource x -Source App').ToolTip | Should -BeLike '*IDENTITY_HEADER*'
    }

    It 'completes -ResourceTypeName with the resource of the cloud on the command line' {
        $matches = Complete 'Get-AzMiToken -Environment AzureChinaCloud -ResourceTypeName '
        $matches.CompletionText | Should -Be 'Arm', 'KeyVault', 'Storage', 'DataLake', 'Sql'
        ($matches | Where-Object CompletionText -eq 'KeyVault').ToolTip | Should -Be 'https://vault.azure.cn (AzureChinaCloud)'
        ((Complete 'Get-AzMiToken -ResourceTypeName K') | Select-Object -First 1).ToolTip | Should -Be 'https://vault.azure.net (AzureCloud)'
    }

    It 'calls no endpoint while completing, even with none reachable' {
        # The completers are fixed lists: no identity is built, no token asked for.
        $saved = $env:AZMI_IMDS_ENDPOINT
        try {
            $env:AZMI_IMDS_ENDPOINT = "http://127.0.0.1:$(Get-ClosedLoopbackPort)/metadata/identity/oauth2/token"
            $script:Emulator = $Clouds['AzureCloud']
            $before = Get-TokenRequestCount
            foreach ($line in 'Get-AzMiToken -ResourceTypeName ', 'Get-AzMiToken -Source ', 'Get-AzMiToken -Environment ') {
                @(Complete $line).Count | Should -BeGreaterThan 0
            }
            Get-TokenRequestCount | Should -Be $before
        }
        finally {
            $env:AZMI_IMDS_ENDPOINT = $saved
        }
    }
}
