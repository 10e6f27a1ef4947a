#Requires -Version 7.0
# Pester 5 tests of claims challenges (continuous access evaluation) through the AzMi module
# (out/AzMi, from scripts/build-module.sh) against azmi-emulator: Get-AzMiToken -Claims (JSON or
# the challenge's base64) and -ClientCapability, claims in bad forms, a service cmdlet after the
# emulator revoked the identity's tokens (one challenge, one new token), the error record of a
# challenge that comes again (AzMi.ClaimsChallenge, with the claims), and Ctrl+C while the token
# that answers a challenge is awaited. Run them with scripts/test-pester.sh. App Service's and
# Service Fabric's token_sha256_to_refresh and xms_cc are checked in AzMi.Sources.Tests.ps1.
# Token text is compared, never written.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    Import-Module $ModulePath -Force -ErrorAction Stop

    $script:Vault = $Emulator.KeyVaultUrl
    $script:ClaimsJson = '{"access_token":{"nbf":{"essential":true,"value":"1767225600"}}}'
    $script:ClaimsBase64 = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($ClaimsJson))

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        try { $null = & $Command -ErrorAction Stop } catch { return $_ }
        $null
    }

    function Get-ServiceCounter([string] $Name) { (Invoke-EmulatorAdmin -Path '/admin/service-counters').$Name }
    function Get-TokensIssued { (Invoke-EmulatorAdmin -Path '/admin/counters').tokens_issued }
}

AfterAll {
    Remove-Module AzMi -ErrorAction SilentlyContinue
    Restore-AzMiEnvironment $SavedEnvironment
    Stop-AzMiEmulator $Emulator
}

Describe 'Get-AzMiToken -Claims and -ClientCapability' {
    It 'a token with claims, as JSON or base64, is a new one that replaces the cached one' {
        $first = Get-AzMiToken -ResourceTypeName Arm -AsPlainText
        $requests = Get-TokenRequestCount
        foreach ($claims in $ClaimsJson, $ClaimsBase64) {
            $renewed = Get-AzMiToken -ResourceTypeName Arm -AsPlainText -Claims $claims
            ($renewed.Token -ne $first.Token) | Should -BeTrue -Because 'a new token (not printed)'
        }
        Get-TokenRequestCount | Should -Be ($requests + 2)
        $cached = Get-AzMiToken -ResourceTypeName Arm -AsPlainText
        ($cached.Token -eq $renewed.Token) | Should -BeTrue -Because 'the new token replaced the cached one'
        Get-TokenRequestCount | Should -Be ($requests + 2)
    }

    It 'claims in a bad form (<_>) are AzMi.InvalidArgument, and nothing is sent' -ForEach @('not claims', '[1]', 'WzFd', '{"a":') {
        $requests = Get-TokenRequestCount
        $err = Get-ErrorOf { Get-AzMiToken -ResourceTypeName Arm -Claims $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        "$err" | Should -Match 'claims'
        Get-TokenRequestCount | Should -Be $requests
    }

    It '-ClientCapability cp1 on IMDS (which takes none) shares the cached token' {
        $plain = Get-AzMiToken -ResourceTypeName KeyVault -AsPlainText
        $requests = Get-TokenRequestCount
        $cae = Get-AzMiToken -ResourceTypeName KeyVault -AsPlainText -ClientCapability cp1
        ($cae.Token -eq $plain.Token) | Should -BeTrue
        Get-TokenRequestCount | Should -Be $requests
    }

    It 'a malformed capability (<_>) is AzMi.InvalidArgument' -ForEach @('cp 1', 'cp1,cp2') {
        $err = Get-ErrorOf { Get-AzMiToken -ResourceTypeName Arm -ClientCapability $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
    }

    It 'the help describes -Claims and -ClientCapability' {
        $help = Get-Help Get-AzMiToken -Full
        foreach ($name in 'Claims', 'ClientCapability') {
            ($help.Parameters.Parameter | Where-Object Name -eq $name).Description | Should -Not -BeNullOrEmpty
        }
    }
}

Describe 'Service cmdlets and claims challenges' {
    AfterEach { Reset-Emulator }

    It 'Get-AzMiKeyVaultSecret after a revocation answers the challenge with exactly one new token' {
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        $issued = Get-TokensIssued
        $challenges = Get-ServiceCounter claims_challenges
        $null = Invoke-EmulatorAdmin -Path '/admin/revoke' -Method Post -Body @{}

        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        Get-TokensIssued | Should -Be ($issued + 1)
        Get-ServiceCounter claims_challenges | Should -Be ($challenges + 1)
    }

    It 'a challenge that comes again is AzMi.ClaimsChallenge after two requests, with the claims in the error record' {
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        $sent = Get-ServiceRequestCount
        Set-EmulatorServiceFault @{ claims_challenge = $true; count = 5 }

        $err = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText }

        $err.FullyQualifiedErrorId | Should -BeExactly 'AzMi.ClaimsChallenge,AzMi.Commands.GetAzMiKeyVaultSecretCommand'
        $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
        $err.Exception.Status | Should -BeExactly 'ClaimsChallenge'
        $err.Exception.HttpStatus | Should -Be 401
        ($err.Exception.Claims | ConvertFrom-Json).access_token.nbf.essential | Should -BeTrue
        $err.ErrorDetails.RecommendedAction | Should -Match 'revoked'
        "$err" | Should -Match 'second claims challenge'
        Get-ServiceRequestCount | Should -Be ($sent + 2) -Because 'one request and one retry: no loop'

        # The error's claims are what Get-AzMiToken -Claims takes.
        (Get-AzMiToken -ResourceTypeName KeyVault -Claims $err.Exception.Claims).Resource | Should -BeExactly 'https://vault.azure.net'
    }

    It 'Ctrl+C stops Get-AzMiKeyVaultSecret while the token that answers a challenge is awaited' {
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        $null = Invoke-EmulatorAdmin -Path '/admin/revoke' -Method Post -Body @{}
        Set-EmulatorFault @{ delay_ms = 30000 }
        $challenges = Get-ServiceCounter claims_challenges
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Vault)
            Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText
        } -Arguments $Vault
        try {
            Wait-Until { (Get-ServiceCounter claims_challenges) -gt $challenges } | Should -BeTrue -Because 'the challenge came'
            Start-Sleep -Milliseconds 300
            Assert-StopsPromptly $run
        }
        finally { $run.Shell.Dispose() }
        Reset-Emulator
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
    }
}
