#Requires -Version 7.0
# Pester 5 tests of Resource Manager long-running operations through Invoke-AzMiArmRequest
# (out/AzMi, from scripts/build-module.sh) against azmi-emulator, whose resource group DELETE
# and storage account PUT answer 202 + Location as the live services do (docs/emulator.md):
# the cmdlet returns once the operation has ended, and Ctrl+C (StopProcessing) while it waits
# ends the command at once. Run them with scripts/test-pester.sh.
#
# $env:AZMI_IMDS_ENDPOINT, $env:AZMI_CA_FILE and $env:AZMI_ARM_ENDPOINT are set here, inside
# pwsh, as in the other test files. This file's emulator is its own: the tests delete groups.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }

    $script:Subscription = '00000000-0000-0000-0000-000000000000'
    $script:Groups = "/subscriptions/$Subscription/resourceGroups"
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    Import-Module $ModulePath -Force -ErrorAction Stop

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        try { $null = & $Command -ErrorAction Stop } catch { return $_ }
        $null
    }

    function Get-ServiceRequest {
        <# The emulator's log of service requests, one object each. #>
        Invoke-EmulatorAdmin -Path '/admin/service-requests' | ForEach-Object { $_ }
    }

    function Set-ArmOperationPacing {
        <# How many polls answer 202, and the Retry-After of each 202 (docs/emulator.md). #>
        param([int] $Polls, [int] $RetryAfterSeconds)
        $null = Invoke-EmulatorAdmin -Path '/admin/config' -Method Post -Body @{
            arm_operation_polls = $Polls; arm_retry_after_seconds = $RetryAfterSeconds
        }
    }
}

AfterAll {
    Stop-AzMiEmulator $script:Emulator
    Restore-AzMiEnvironment $script:SavedEnvironment
}

Describe 'Invoke-AzMiArmRequest waits for long-running operations' {
    BeforeEach { Reset-Emulator }

    It 'returns after a resource group DELETE has finished, and the group is then not found' {
        Set-ArmOperationPacing -Polls 2 -RetryAfterSeconds 0

        $answer = Invoke-AzMiArmRequest -Method Delete -Path "$Groups/DevTest" -ApiVersion 2021-04-01 -Confirm:$false

        $answer | Should -BeNullOrEmpty
        $requests = @(Get-ServiceRequest)
        @($requests | Where-Object method -EQ 'DELETE').Count | Should -Be 1
        @($requests | Where-Object path -Like '*/operationresults/*').Count | Should -Be 3 -Because 'two polls answer 202, the third 200'
        $record = Get-ErrorOf { Get-AzMiResourceGroup -SubscriptionId $Subscription -Name DevTest }
        $record | Should -Not -BeNullOrEmpty
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
        $record.Exception.ServiceErrorCode | Should -Be 'ResourceGroupNotFound'
    }

    It 'returns the storage account a PUT created, provisioned' {
        Set-ArmOperationPacing -Polls 1 -RetryAfterSeconds 0
        $body = @{ sku = @{ name = 'Standard_LRS' }; kind = 'StorageV2'; location = 'eastus'; tags = @{ purpose = 'pester' } }

        $account = Invoke-AzMiArmRequest -Method Put -Path "$Groups/azmi-rg/providers/Microsoft.Storage/storageAccounts/pesteracct" -ApiVersion 2023-05-01 -Body $body -Confirm:$false

        $account.name | Should -Be 'pesteracct'
        $account.properties.provisioningState | Should -Be 'Succeeded'
        $account.tags.purpose | Should -Be 'pester'
    }
}

Describe 'Invoke-AzMiArmRequest help' {
    It 'says that long-running operations are waited for and shows a DELETE' {
        $help = Get-Help Invoke-AzMiArmRequest -Full
        ($help.description | Out-String -Width 400) | Should -BeLike '*Long-running operations are waited for*Ctrl+C stops waiting*'
        $codes = @($help.Examples.Example | ForEach-Object code) -join "`n"
        $codes | Should -BeLike '*-Method DELETE*'
    }
}

Describe 'Invoke-AzMiArmRequest cancellation while waiting' {
    AfterEach {
        Set-ArmOperationPacing -Polls 1 -RetryAfterSeconds 1
        Reset-Emulator
    }

    It 'stops waiting at once when the pipeline is stopped (Ctrl+C); the operation goes on' {
        # Each 202 asks for 30 s before the next poll: only the stop can end the call early.
        Set-ArmOperationPacing -Polls 1 -RetryAfterSeconds 30
        $null = Get-AzMiResourceGroup -SubscriptionId $Subscription -Name azmi-rg
        Reset-Emulator

        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Path)
            Invoke-AzMiArmRequest -Method Delete -Path $Path -ApiVersion 2021-04-01 -Confirm:$false
        } -Arguments "$Groups/azmi-rg"
        try {
            # Wait until the DELETE was accepted, so that Stop meets azmi waiting to poll.
            $null = Wait-Until { Get-ServiceRequest | Where-Object method -EQ 'DELETE' }
            Start-Sleep -Milliseconds 500
            # The operation asks for 30 s before the first poll: only the stop can end the call early.
            Assert-StopsPromptly $run -WithinSeconds 3
        }
        finally {
            $run.Shell.Dispose()
        }

        @(Get-ServiceRequest | Where-Object path -Like '*/operationresults/*').Count | Should -Be 0 -Because 'no poll was due yet'
        # Cancelling stopped the waiting, not the deletion Resource Manager accepted.
        $group = Invoke-AzMiArmRequest -Path "$Groups/azmi-rg" -ApiVersion 2021-04-01
        $group.properties.provisioningState | Should -Be 'Deleting'
    }
}
