#Requires -Version 7.0
# Pester 5 tests of the managed identity sources (App Service, Azure ML, Cloud Shell, Arc,
# Service Fabric, workload identity) against azmi-emulator --source, through the AzMi module.
#
# azmi detects the source from the process's NATIVE environment, which $env: does not reach on
# Linux: every check runs in a fresh pwsh started with the source's variables (and without the
# IMDS endpoint variables). Each fresh pwsh costs about half a second, so one runs several
# checks and prints their results as JSON; the assertions are made here. Results carry names,
# error ids and messages only, never a token.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    if (-not (Test-Path -LiteralPath $script:ModulePath)) {
        throw "$script:ModulePath not found: run scripts/build-module.sh first."
    }

    # Variables each source prints after its banner (docs/emulator.md, "Managed identity sources").
    $expectedCounts = @{
        'app-service' = 2; 'azure-ml' = 3; 'cloud-shell' = 1; 'arc' = 2; 'service-fabric' = 3; 'workload-identity' = 4
    }

    function Start-SourceEmulator {
        <# Starts azmi-emulator --source $Source; adds its Variables (name → value) and, for Arc, TokensDir. #>
        param([Parameter(Mandatory)][string] $Source)
        $emulator = Start-AzMiEmulator -Path $emulatorPath -ArgumentList @('--source', $Source)
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        while ($true) {
            $lines = @(Get-Content -LiteralPath $emulator.LogFiles[0])
            $marker = [array]::FindIndex([string[]] $lines, [Predicate[string]] { param($l) $l -like 'azmi-emulator managed identity source *' })
            $variables = @{}
            $tokensDir = $null
            if ($marker -ge 0) {
                foreach ($line in $lines | Select-Object -Skip ($marker + 1)) {
                    if ($line -match '^export ([A-Z_]+)=(.*)$') { $variables[$Matches[1]] = $Matches[2] }
                    elseif ($line -like 'azmi-emulator arc tokens folder *') { $tokensDir = $line.Substring('azmi-emulator arc tokens folder '.Length).Trim() }
                }
            }
            if ($variables.Count -ge $expectedCounts[$Source]) { break }
            if ([DateTime]::UtcNow -gt $deadline) {
                Stop-AzMiEmulator $emulator
                throw "azmi-emulator --source $Source did not print its variables: $($lines -join "`n")"
            }
            Start-Sleep -Milliseconds 50
        }
        $emulator | Add-Member -NotePropertyName Variables -NotePropertyValue $variables
        $emulator | Add-Member -NotePropertyName TokensDir -NotePropertyValue $tokensDir
        $emulator
    }

    # Variables of every source and of the IMDS endpoint: none may leak from this process into a fresh pwsh.
    $script:SourceVariables = @('AZMI_IMDS_ENDPOINT', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'AZMI_ARM_ENDPOINT', 'AZMI_CA_FILE',
        'IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IDENTITY_SERVER_THUMBPRINT', 'IMDS_ENDPOINT', 'MSI_ENDPOINT', 'MSI_SECRET',
        'DEFAULT_IDENTITY_CLIENT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_AUTHORITY_HOST',
        'AZMI_ARC_TOKENS_DIR')

    function Invoke-SourceChecks {
        <#
            Runs $Checks (name → script block text) in a fresh pwsh with $Environment, the module
            imported. Returns name → @{ Ok; Value } or @{ Ok = $false; ErrorId; Message }.
        #>
        param([Parameter(Mandatory)][hashtable] $Environment, [Parameter(Mandatory)][System.Collections.Specialized.OrderedDictionary] $Checks)
        $body = foreach ($name in $Checks.Keys) { "Test-Check '$name' { $($Checks[$name]) }" }
        $script = @'
$ErrorActionPreference = 'Stop'
Import-Module $env:AZMI_TEST_MODULE
$results = [ordered]@{}
function Test-Check([string] $Name, [scriptblock] $Check) {
    try { $results[$Name] = @{ Ok = $true; Value = (& $Check) } }
    catch { $results[$Name] = @{ Ok = $false; ErrorId = $_.FullyQualifiedErrorId; Message = "$_" } }
}
'@ + "`n" + ($body -join "`n") + "`n" + '$results | ConvertTo-Json -Depth 6 -Compress'
        $commandLine = @(Get-PwshCommandLine)
        $start = [System.Diagnostics.ProcessStartInfo]::new($commandLine[0])
        foreach ($argument in @($commandLine | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)) {
            $start.ArgumentList.Add($argument)
        }
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        foreach ($name in $script:SourceVariables) { $null = $start.Environment.Remove($name) }
        $start.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
        $start.Environment['POWERSHELL_UPDATECHECK'] = 'Off'
        $start.Environment['AZMI_TEST_MODULE'] = $script:ModulePath
        foreach ($name in $Environment.Keys) { $start.Environment[$name] = $Environment[$name] }
        $process = [System.Diagnostics.Process]::Start($start)
        $stderr = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEnd()
        if (-not $process.WaitForExit(120000)) { $process.Kill($true); throw 'the fresh pwsh did not finish within 120 s' }
        if ($process.ExitCode -ne 0 -or -not $stdout.Trim()) { throw "the fresh pwsh failed ($($process.ExitCode)): $($stderr.Result)" }
        $stdout | ConvertFrom-Json -AsHashtable
    }

    $script:Emulators = @{}
    foreach ($source in $expectedCounts.Keys) { $script:Emulators[$source] = Start-SourceEmulator $source }
    $script:CaFile = $script:Emulators['workload-identity'].CaFile

    # The checks most sources share: the detected source, and what Get-AzMiManagedIdentity reports.
    $script:CommonChecks = [ordered]@{
        Token    = '(Get-AzMiToken -ResourceTypeName Arm).Source'
        Identity = 'Get-AzMiManagedIdentity | Select-Object Source, Endpoint, IdentityOptions, Available, Detail'
    }
    function New-Checks([hashtable] $More = @{}) {
        $checks = [ordered]@{}
        foreach ($k in $script:CommonChecks.Keys) { $checks[$k] = $script:CommonChecks[$k] }
        foreach ($k in $More.Keys) { $checks[$k] = $More[$k] }
        $checks
    }
    $uaClientId = $script:Known.UserAssigned.ClientId
    $uaObjectId = $script:Known.UserAssigned.ObjectId

    # Locals here are seen by the It blocks (case-insensitively): none is named like a result below.
    # App Service and Cloud Shell set together: detection order and the -Source override.
    $appService = $script:Emulators['app-service'].Variables
    $cloudShell = $script:Emulators['cloud-shell'].Variables
    $bothVariables = @{} + $appService + $cloudShell
    $script:Both = Invoke-SourceChecks -Environment $bothVariables -Checks (New-Checks @{
            UserAssigned        = "(Get-AzMiToken -ResourceTypeName Arm -ClientId '$uaClientId').Identity"
            UserAssignedSource  = "(Get-AzMiToken -ResourceTypeName Arm -ClientId '$uaClientId').Source"
            Override            = '(Get-AzMiToken -ResourceTypeName Arm -Source CloudShell).Source'
            OverrideIdentity    = 'Get-AzMiManagedIdentity -Source CloudShell | Select-Object Source, Endpoint, Available'
            Formatted           = 'Get-AzMiManagedIdentity | Format-List | Out-String -Width 200'
            OverrideUserAssigned = "Get-AzMiToken -ResourceTypeName Arm -Source CloudShell -ClientId '$uaClientId'"
            SourceNotSet        = 'Get-AzMiToken -ResourceTypeName Arm -Source WorkloadIdentity'
            ServiceCmdlet       = "Get-AzMiKeyVaultSecret -VaultName 'https://127.0.0.1:1' -Name x -Source CloudShell -ClientId '$uaClientId'"
        })
    $script:BothEnvironment = $bothVariables

    $wrongSecretVariables = @{} + $appService
    $wrongSecretVariables['IDENTITY_HEADER'] = 'not-the-secret'
    $script:WrongSecret = Invoke-SourceChecks -Environment $wrongSecretVariables -Checks (New-Checks)

    $script:CloudShellOnly = Invoke-SourceChecks -Environment $cloudShell -Checks (New-Checks @{
            UserAssigned = "Get-AzMiToken -ResourceTypeName Arm -ClientId '$uaClientId'"
        })

    $script:AzureMl = Invoke-SourceChecks -Environment $script:Emulators['azure-ml'].Variables -Checks (New-Checks @{
            UserAssigned = "(Get-AzMiToken -ResourceTypeName Arm -ClientId '$uaClientId').Source"
            ObjectId     = "Get-AzMiToken -ResourceTypeName Arm -ObjectId '$uaObjectId'"
        })

    $arcVariables = @{} + $script:Emulators['arc'].Variables
    $arcVariables['AZMI_ARC_TOKENS_DIR'] = $script:Emulators['arc'].TokensDir
    $script:Arc = Invoke-SourceChecks -Environment $arcVariables -Checks (New-Checks @{
            UserAssigned = "Get-AzMiToken -ResourceTypeName Arm -ClientId '$uaClientId'"
        })

    $script:ServiceFabric = Invoke-SourceChecks -Environment $script:Emulators['service-fabric'].Variables -Checks (New-Checks @{
            UserAssigned = "Get-AzMiToken -ResourceTypeName Arm -ClientId '$uaClientId'"
        })

    # Claims challenges on the two sources that keep a token cache of their own: a plain
    # -ForceRefresh gets the endpoint's cached token again, -Claims a new one (azmi names the
    # token to replace), -ClientCapability cp1 a CAE token cached apart. Results are booleans
    # and claims, never token text.
    $claimsChecks = @{
        EndpointCaches = '$a = Get-AzMiToken -ResourceTypeName Arm -AsPlainText; $b = Get-AzMiToken -ResourceTypeName Arm -AsPlainText -ForceRefresh; $a.Token -eq $b.Token'
        ClaimsRenew    = '$a = Get-AzMiToken -ResourceTypeName Arm -AsPlainText; $c = Get-AzMiToken -ResourceTypeName Arm -AsPlainText -Claims ''{"access_token":{"nbf":{"essential":true,"value":"1"}}}''; $d = Get-AzMiToken -ResourceTypeName Arm -AsPlainText; ($a.Token -ne $c.Token) -and ($c.Token -eq $d.Token)'
        Capability     = '$p = (Get-AzMiToken -ResourceTypeName Arm -AsPlainText -ClientCapability cp1).Token.Split(''.'')[1].Replace(''-'', ''+'').Replace(''_'', ''/''); $p += ''='' * ((4 - $p.Length % 4) % 4); ([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($p)) | ConvertFrom-Json).xms_cc -join '',''; '
    }
    $script:AppServiceClaims = Invoke-SourceChecks -Environment $appService -Checks ([ordered]@{} + $claimsChecks)
    $script:AppServiceRequests = @(Invoke-RestMethod "$($script:Emulators['app-service'].AdminBase)/admin/requests" | ForEach-Object { $_ })
    $script:ServiceFabricClaims = Invoke-SourceChecks -Environment $script:Emulators['service-fabric'].Variables -Checks ([ordered]@{} + $claimsChecks)
    $script:ServiceFabricRequests = @(Invoke-RestMethod "$($script:Emulators['service-fabric'].AdminBase)/admin/requests" | ForEach-Object { $_ })

    $workloadVariables = @{} + $script:Emulators['workload-identity'].Variables
    $workloadVariables['AZMI_CA_FILE'] = $script:CaFile
    $script:Workload = Invoke-SourceChecks -Environment $workloadVariables -Checks (New-Checks)
}

AfterAll {
    foreach ($emulator in $script:Emulators.Values) { Stop-AzMiEmulator $emulator }
}

Describe 'Managed identity sources' {
    Context 'App Service (with Cloud Shell variables set too)' {
        It 'detects App Service before Cloud Shell' {
            $Both.Token.Ok | Should -BeTrue -Because $Both.Token.Message
            $Both.Token.Value | Should -BeExactly 'AppService'
        }

        It 'serves a user-assigned identity by -ClientId' {
            $Both.UserAssignedSource.Ok | Should -BeTrue -Because $Both.UserAssignedSource.Message
            $Both.UserAssignedSource.Value | Should -BeExactly 'AppService'
            $Both.UserAssigned.Value | Should -Match ([regex]::Escape($Known.UserAssigned.ClientId))
        }

        It 'Get-AzMiManagedIdentity reports App Service, its endpoint, every identity option, available' {
            $Both.Identity.Ok | Should -BeTrue -Because $Both.Identity.Message
            $Both.Identity.Value.Source | Should -BeExactly 'AppService'
            $Both.Identity.Value.Endpoint | Should -BeLike "$($BothEnvironment.IDENTITY_ENDPOINT)*"
            $Both.Identity.Value.IdentityOptions | Should -Be @('SystemAssigned', 'ClientId', 'ObjectId', 'ResourceId')
            $Both.Identity.Value.Available | Should -BeTrue
            $Both.Identity.Value.Detail | Should -BeNullOrEmpty
        }

        It 'Get-AzMiManagedIdentity is displayed as a list of its properties' {
            $Both.Formatted.Ok | Should -BeTrue -Because $Both.Formatted.Message
            foreach ($line in 'Source\s*:\s*AppService', 'Endpoint\s*:\s*http://', 'IdentityOptions\s*:\s*\{SystemAssigned, ClientId, ObjectId, ResourceId\}', 'Available\s*:\s*True') {
                $Both.Formatted.Value | Should -Match $line
            }
        }

        It '-Source CloudShell overrides the detection' {
            $Both.Override.Ok | Should -BeTrue -Because $Both.Override.Message
            $Both.Override.Value | Should -BeExactly 'CloudShell'
            $Both.OverrideIdentity.Value.Source | Should -BeExactly 'CloudShell'
            $Both.OverrideIdentity.Value.Endpoint | Should -BeLike "$($BothEnvironment.MSI_ENDPOINT)*"
            $Both.OverrideIdentity.Value.Available | Should -BeTrue
        }

        It '-Source with a user-assigned identity the source cannot serve is AzMi.InvalidArgument naming it' {
            $Both.OverrideUserAssigned.Ok | Should -BeFalse
            $Both.OverrideUserAssigned.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $Both.OverrideUserAssigned.Message | Should -Match 'Cloud ?Shell'
        }

        It 'a service cmdlet takes -Source too, and checks the identity before sending anything' {
            $Both.ServiceCmdlet.Ok | Should -BeFalse
            $Both.ServiceCmdlet.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $Both.ServiceCmdlet.Message | Should -Match 'Cloud ?Shell'
        }

        It '-Source naming a source whose variables are not set is AzMi.InvalidArgument' {
            $Both.SourceNotSet.Ok | Should -BeFalse
            $Both.SourceNotSet.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $Both.SourceNotSet.Message | Should -Match 'workload identity'
        }

        It 'a wrong IDENTITY_HEADER is AzMi.AuthenticationFailed, and Get-AzMiManagedIdentity says why' {
            $WrongSecret.Token.Ok | Should -BeFalse
            $WrongSecret.Token.ErrorId | Should -BeLike 'AzMi.AuthenticationFailed,*'
            $WrongSecret.Identity.Ok | Should -BeTrue -Because $WrongSecret.Identity.Message
            $WrongSecret.Identity.Value.Source | Should -BeExactly 'AppService'
            $WrongSecret.Identity.Value.Available | Should -BeFalse
            $WrongSecret.Identity.Value.Detail | Should -Not -BeNullOrEmpty
        }
    }

    Context 'Cloud Shell' {
        It 'detects Cloud Shell and gets a token' {
            $CloudShellOnly.Token.Ok | Should -BeTrue -Because $CloudShellOnly.Token.Message
            $CloudShellOnly.Token.Value | Should -BeExactly 'CloudShell'
            $CloudShellOnly.Identity.Value.IdentityOptions | Should -Be @('SystemAssigned')
            $CloudShellOnly.Identity.Value.Available | Should -BeTrue
        }

        It 'refuses a user-assigned identity with AzMi.InvalidArgument naming Cloud Shell' {
            $CloudShellOnly.UserAssigned.Ok | Should -BeFalse
            $CloudShellOnly.UserAssigned.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $CloudShellOnly.UserAssigned.Message | Should -Match 'Cloud ?Shell'
        }
    }

    Context 'Azure ML' {
        It 'detects Azure ML; serves the system- and a user-assigned identity by client id' {
            $AzureMl.Token.Ok | Should -BeTrue -Because $AzureMl.Token.Message
            $AzureMl.Token.Value | Should -BeExactly 'AzureML'
            $AzureMl.UserAssigned.Ok | Should -BeTrue -Because $AzureMl.UserAssigned.Message
            $AzureMl.UserAssigned.Value | Should -BeExactly 'AzureML'
            $AzureMl.Identity.Value.Available | Should -BeTrue
        }

        It 'refuses an object id with AzMi.InvalidArgument naming Azure ML' {
            $AzureMl.ObjectId.Ok | Should -BeFalse
            $AzureMl.ObjectId.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $AzureMl.ObjectId.Message | Should -Match 'Azure ?ML'
        }
    }

    Context 'Azure Arc' {
        It 'detects Arc and answers its key challenge (AZMI_ARC_TOKENS_DIR)' {
            $Arc.Token.Ok | Should -BeTrue -Because $Arc.Token.Message
            $Arc.Token.Value | Should -BeExactly 'Arc'
            $Arc.Identity.Value.Source | Should -BeExactly 'Arc'
            $Arc.Identity.Value.Available | Should -BeTrue
        }

        It 'refuses a user-assigned identity with AzMi.InvalidArgument naming Arc' {
            $Arc.UserAssigned.Ok | Should -BeFalse
            $Arc.UserAssigned.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $Arc.UserAssigned.Message | Should -Match 'Arc'
        }
    }

    Context 'Service Fabric' {
        It 'detects Service Fabric and trusts its endpoint by thumbprint' {
            $ServiceFabric.Token.Ok | Should -BeTrue -Because $ServiceFabric.Token.Message
            $ServiceFabric.Token.Value | Should -BeExactly 'ServiceFabric'
            $ServiceFabric.Identity.Value.Available | Should -BeTrue
        }

        It 'refuses a user-assigned identity with AzMi.InvalidArgument naming Service Fabric' {
            $ServiceFabric.UserAssigned.Ok | Should -BeFalse
            $ServiceFabric.UserAssigned.ErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
            $ServiceFabric.UserAssigned.Message | Should -Match 'Service ?Fabric'
        }
    }

    Context 'Workload identity' {
        It 'detects workload identity and gets a token from its https authority' {
            $Workload.Token.Ok | Should -BeTrue -Because $Workload.Token.Message
            $Workload.Token.Value | Should -BeExactly 'WorkloadIdentity'
            $Workload.Identity.Value.Source | Should -BeExactly 'WorkloadIdentity'
            $Workload.Identity.Value.Available | Should -BeTrue
        }
    }

    Context 'Claims challenges on App Service and Service Fabric' {
        It '<Name>: -Claims gets past the endpoint''s cache (token_sha256_to_refresh), -ClientCapability cp1 sends xms_cc' -ForEach @(
            @{ Name = 'App Service'; Results = 'AppServiceClaims'; Requests = 'AppServiceRequests' }
            @{ Name = 'Service Fabric'; Results = 'ServiceFabricClaims'; Requests = 'ServiceFabricRequests' }
        ) {
            $results = Get-Variable -Name $Results -ValueOnly
            foreach ($check in 'EndpointCaches', 'ClaimsRenew', 'Capability') {
                $results[$check].Ok | Should -BeTrue -Because "${check}: $($results[$check].Message)"
            }
            $results.EndpointCaches.Value | Should -BeTrue -Because 'a plain refresh gets the cached token again'
            $results.ClaimsRenew.Value | Should -BeTrue -Because 'claims give a new token, which azmi caches'
            $results.Capability.Value | Should -BeExactly 'cp1'
            $queries = (Get-Variable -Name $Requests -ValueOnly).query
            @($queries | Where-Object { $_ -match '(^|&)token_sha256_to_refresh=[0-9a-f]{64}(&|$)' }).Count | Should -Be 1
            @($queries | Where-Object { $_ -match '(^|&)xms_cc=cp1(&|$)' }).Count | Should -Be 1
        }
    }

    Context 'The module' {
        BeforeAll {
            Import-Module $ModulePath -Force -ErrorAction Stop
        }

        AfterAll {
            Remove-Module AzMi -ErrorAction SilentlyContinue
        }

        It '<_> takes -Source (the seven sources) and its help describes it' -ForEach @(
            'Get-AzMiToken', 'Get-AzMiManagedIdentity', 'Get-AzMiKeyVaultSecret', 'Get-AzMiResourceGroup', 'Invoke-AzMiArmRequest',
            'New-AzMiStorageSasToken', 'New-AzMiStorageAccountSasToken', 'Get-AzMiBlobContent', 'Set-AzMiBlobContent',
            'Get-AzMiDataLakeItem', 'Get-AzMiDataLakeChildItem', 'New-AzMiDataLakeItem', 'Remove-AzMiDataLakeItem',
            'Move-AzMiDataLakeItem', 'Add-AzMiDataLakeItemContent', 'Get-AzMiDataLakeItemContent', 'Import-AzMiDataLakeItem',
            'Export-AzMiDataLakeItem') {
            $parameter = (Get-Command $_ -Module AzMi).Parameters['Source']
            $parameter | Should -Not -BeNullOrEmpty
            $set = $parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] }
            $set.ValidValues | Should -Be @('Imds', 'AppService', 'ServiceFabric', 'AzureML', 'CloudShell', 'Arc', 'WorkloadIdentity')
            $help = Get-Help $_ -Full
            ($help.Parameters.Parameter | Where-Object Name -eq 'Source').Description | Should -Not -BeNullOrEmpty
        }

        It 'Get-AzMiManagedIdentity has help with examples' {
            $help = Get-Help Get-AzMiManagedIdentity -Full
            $help.Synopsis | Should -BeLike '*managed identity source*'
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        }

        It 'an unknown -Source is refused by PowerShell before azmi is called' {
            { Get-AzMiToken -ResourceTypeName Arm -Source Nowhere } | Should -Throw -ErrorId 'ParameterArgumentValidationError,AzMi.Commands.GetAzMiTokenCommand'
        }
    }
}
