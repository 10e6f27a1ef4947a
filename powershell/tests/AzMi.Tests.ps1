#Requires -Version 7.0
# Pester 5 tests of the AzMi module (out/AzMi, from scripts/build-module.sh) against
# azmi-emulator. Run them with scripts/test-pester.sh.
#
# The emulator is reached through $env:AZMI_IMDS_ENDPOINT set here, inside pwsh: on Linux that
# never reaches the native environment, so every passing token test also proves that the
# cmdlet forwards PowerShell's environment to azmi.
#
# Token text is never given to Should (a failure would print it): tests compare tokens with
# booleans and check the claims instead.

BeforeDiscovery {
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }

    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath
    $script:SavedEnvironment = @{
        AZMI_IMDS_ENDPOINT                = $env:AZMI_IMDS_ENDPOINT
        AZURE_POD_IDENTITY_AUTHORITY_HOST = $env:AZURE_POD_IDENTITY_AUTHORITY_HOST
    }
    $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $null
    $env:AZMI_IMDS_ENDPOINT = $script:Emulator.Endpoint

    if (-not (Test-Path -LiteralPath $script:ModulePath)) {
        throw "$script:ModulePath not found: run scripts/build-module.sh first."
    }
    Import-Module $script:ModulePath -Force -ErrorAction Stop
}

AfterAll {
    Remove-Module AzMi -ErrorAction SilentlyContinue
    Stop-AzMiEmulator $script:Emulator
    foreach ($name in $script:SavedEnvironment.Keys) {
        Set-Item -Path "env:$name" -Value $script:SavedEnvironment[$name]
    }
}

Describe 'Get-AzMiToken with the system-assigned identity' -Tag Arm64 {
    It 'returns Token as a read-only SecureString holding a JWT for the resource and identity' {
        $token = Get-AzMiToken -Resource https://management.azure.com/

        $token | Should -BeOfType ([AzMi.AccessToken])
        $token.Token | Should -BeOfType ([securestring])
        $token.Token.IsReadOnly() | Should -BeTrue
        $claims = ConvertFrom-JwtPayload $token.Token
        $claims.aud | Should -BeExactly 'https://management.azure.com/'
        $claims.oid | Should -Be $Known.SystemAssigned.ObjectId
    }

    It 'returns Token as a String with -AsPlainText, whose claims are the resource and the system identity' {
        $token = Get-AzMiToken -Resource https://management.azure.com/ -AsPlainText

        $token.Token | Should -BeOfType ([string])
        $claims = ConvertFrom-JwtPayload $token.Token
        $claims.aud | Should -BeExactly 'https://management.azure.com/'
        $claims.oid | Should -Be $Known.SystemAssigned.ObjectId
        $claims.appid | Should -Be $Known.SystemAssigned.ClientId
        $claims.tid | Should -Be $Known.TenantId
    }

    It 'gives the same token text as SecureString and as String (from the cache)' {
        $secure = Get-AzMiToken -Resource https://management.azure.com/
        $plain = Get-AzMiToken -Resource https://management.azure.com/ -AsPlainText

        $same = [System.Net.NetworkCredential]::new('', $secure.Token).Password -ceq $plain.Token
        $same | Should -BeTrue -Because 'both calls are served by the same cached token'
    }

    It 'sets ExpiresOn to a DateTimeOffset about the token lifetime (3600 s) away' {
        $token = Get-AzMiToken -Resource https://management.azure.com/ -ForceRefresh

        $token.ExpiresOn | Should -BeOfType ([DateTimeOffset])
        $secondsLeft = ($token.ExpiresOn - [DateTimeOffset]::UtcNow).TotalSeconds
        $secondsLeft | Should -BeGreaterThan 3480
        $secondsLeft | Should -BeLessThan 3660
    }

    It 'sets Type to Bearer, Identity to the system-assigned identity and Source to Imds' {
        $token = Get-AzMiToken -Resource https://management.azure.com/

        $token.Type | Should -BeExactly 'Bearer'
        $token.Identity | Should -Match 'system-assigned'
        $token.Source | Should -BeExactly 'Imds'
        ($token | Format-List | Out-String) | Should -Match 'Source\s*:\s*Imds'
    }

    It 'echoes the resource exactly: <Resource>' -ForEach @(
        @{ Resource = 'https://management.azure.com/' }
        @{ Resource = 'https://management.azure.com' }
    ) {
        $token = Get-AzMiToken -Resource $Resource -AsPlainText

        $token.Resource | Should -BeExactly $Resource
        (ConvertFrom-JwtPayload $token.Token).aud | Should -BeExactly $Resource
    }

    It 'takes the resource as the first positional parameter and by property name from the pipeline' {
        $positional = Get-AzMiToken https://vault.azure.net
        $piped = $positional | Get-AzMiToken -ForceRefresh -AsPlainText

        $positional.Resource | Should -BeExactly 'https://vault.azure.net'
        $piped.Resource | Should -BeExactly 'https://vault.azure.net'
        (ConvertFrom-JwtPayload $piped.Token).aud | Should -BeExactly 'https://vault.azure.net'
    }
}

Describe 'Get-AzMiToken with a user-assigned identity' -Tag Arm64 {
    It 'gets the token of azmi-uami selected by -<Parameter>' -ForEach @(
        @{ Parameter = 'ClientId'; Value = $Known.UserAssigned.ClientId }
        @{ Parameter = 'ObjectId'; Value = $Known.UserAssigned.ObjectId }
        @{ Parameter = 'ResourceId'; Value = $Known.UserAssigned.ResourceId }
    ) {
        $selection = @{ $Parameter = $Value }
        $token = Get-AzMiToken -Resource https://vault.azure.net -AsPlainText @selection

        $claims = ConvertFrom-JwtPayload $token.Token
        $claims.oid | Should -Be $Known.UserAssigned.ObjectId
        $claims.appid | Should -Be $Known.UserAssigned.ClientId
        $claims.xms_mirid | Should -Be $Known.UserAssigned.ResourceId
        $token.Identity | Should -Match 'user-assigned'
    }
}

Describe 'Get-AzMiToken -ResourceTypeName' {
    BeforeAll { Reset-Emulator }

    It 'maps <Name> to <Resource>' -ForEach @(
        @{ Name = 'Arm'; Resource = 'https://management.azure.com/' }
        @{ Name = 'KeyVault'; Resource = 'https://vault.azure.net' }
        @{ Name = 'Storage'; Resource = 'https://storage.azure.com/' }
        @{ Name = 'DataLake'; Resource = 'https://datalake.azure.net/' }
        @{ Name = 'Sql'; Resource = 'https://database.windows.net/' }
    ) {
        $token = Get-AzMiToken -ResourceTypeName $Name -ForceRefresh -AsPlainText

        Get-LastRequestedResource | Should -BeExactly $Resource
        (ConvertFrom-JwtPayload $token.Token).aud | Should -BeExactly $Resource
        $token.Resource | Should -BeExactly $Resource
    }
}

Describe 'Get-AzMiToken with a scope' {
    It 'removes /.default: https://vault.azure.net/.default is https://vault.azure.net' {
        $token = Get-AzMiToken -Resource https://vault.azure.net/.default -ForceRefresh -AsPlainText

        $token.Resource | Should -BeExactly 'https://vault.azure.net'
        (ConvertFrom-JwtPayload $token.Token).aud | Should -BeExactly 'https://vault.azure.net'
        Get-LastRequestedResource | Should -BeExactly 'https://vault.azure.net'
    }
}

Describe 'Get-AzMiToken endpoint from the environment' {
    BeforeEach {
        $saved = $env:AZMI_IMDS_ENDPOINT
    }
    AfterEach {
        $env:AZMI_IMDS_ENDPOINT = $saved
        $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $null
    }

    It 'uses $env:AZURE_POD_IDENTITY_AUTHORITY_HOST (a host, trailing slash allowed) when AZMI_IMDS_ENDPOINT is unset' {
        $env:AZMI_IMDS_ENDPOINT = $null
        $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = "$($Emulator.AdminBase)/"

        $output = Get-AzMiToken -Resource https://management.azure.com/ -ForceRefresh -Verbose 4>&1
        $verbose = ($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"

        @($output | Where-Object { $_ -is [AzMi.AccessToken] }) | Should -HaveCount 1
        $verbose | Should -BeLike "*$($Emulator.Endpoint)*AZURE_POD_IDENTITY_AUTHORITY_HOST*"
    }
}

Describe 'Get-AzMiToken errors' -Tag Arm64 {
    BeforeEach { Reset-Emulator }
    AfterAll { Reset-Emulator }

    It 'reports an unknown client id as AzMi.IdentityNotFound, naming the client id' {
        $unknown = '11111111-2222-3333-4444-555555555555'
        $token = Get-AzMiToken -Resource https://vault.azure.net -ClientId $unknown -ErrorAction SilentlyContinue -ErrorVariable errors

        $token | Should -BeNullOrEmpty
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.IdentityNotFound,*'
        $errors[0].Exception.Message | Should -BeLike "*$unknown*"
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].Exception | Should -BeOfType ([AzMi.AzMiException])
        $errors[0].Exception.Status | Should -BeExactly 'IdentityNotFound'
        $errors[0].Exception.HttpStatus | Should -Be 400
        $errors[0].Exception.ServiceErrorCode | Should -BeExactly 'invalid_request'
    }

    It 'reports two identity ids as a terminating AzMi.InvalidArgument with azmi''s message' {
        $thrown = { Get-AzMiToken -Resource https://vault.azure.net -ClientId $Known.UserAssigned.ClientId -ObjectId $Known.UserAssigned.ObjectId -ErrorAction SilentlyContinue } |
            Should -Throw -PassThru

        $thrown.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        $thrown.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $thrown.Exception.Message | Should -Match 'at most one'
        Get-TokenRequestCount | Should -Be 0
    }

    It 'reports a malformed GUID as AzMi.InvalidArgument, naming it' {
        $thrown = { Get-AzMiToken -Resource https://vault.azure.net -ObjectId 'not-a-guid' } | Should -Throw -PassThru

        $thrown.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        $thrown.Exception.Message | Should -BeLike '*not-a-guid*'
    }

    It 'reports an unknown resource as AzMi.InvalidResource' {
        Get-AzMiToken -Resource https://unknown.example.com/ -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidResource,*'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].Exception.Message | Should -BeLike '*https://unknown.example.com/*'
    }

    It 'reports a closed endpoint as AzMi.ManagedIdentityUnavailable within about 2 s' {
        $saved = $env:AZMI_IMDS_ENDPOINT
        $env:AZMI_IMDS_ENDPOINT = "http://127.0.0.1:$(Get-ClosedLoopbackPort)/metadata/identity/oauth2/token"
        try {
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            Get-AzMiToken -Resource https://management.azure.com/ -ErrorAction SilentlyContinue -ErrorVariable errors
            $watch.Stop()
        }
        finally {
            $env:AZMI_IMDS_ENDPOINT = $saved
        }

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.ManagedIdentityUnavailable,*'
        $errors[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 2.5
    }

    It 'retries HTTP 410 and succeeds on the third request' {
        Set-EmulatorFault @{ status = 410; count = 2 }

        $token = Get-AzMiToken -Resource https://management.azure.com/ -ForceRefresh

        $token.Type | Should -BeExactly 'Bearer'
        Get-TokenRequestCount | Should -Be 3
    }

    It 'reports a malformed 200 answer as AzMi.ProtocolError' {
        Set-EmulatorFault @{ malformed = $true }

        Get-AzMiToken -Resource https://management.azure.com/ -ForceRefresh -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.ProtocolError,*'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'throws with -ErrorAction Stop, and only then' {
        { Get-AzMiToken -Resource https://unknown.example.com/ -ErrorAction SilentlyContinue } | Should -Not -Throw

        $thrown = { Get-AzMiToken -Resource https://unknown.example.com/ -ErrorAction Stop } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidResource,*'
    }

    It 'goes on with the next pipeline input after a non-terminating error' {
        $inputs = [pscustomobject]@{ Resource = 'https://unknown.example.com/' }, [pscustomobject]@{ Resource = 'https://vault.azure.net' }

        $tokens = $inputs | Get-AzMiToken -ErrorAction SilentlyContinue -ErrorVariable errors

        @($tokens) | Should -HaveCount 1
        $tokens.Resource | Should -BeExactly 'https://vault.azure.net'
        $errors | Should -HaveCount 1
    }
}

Describe 'Get-AzMiToken cache' {
    It 'answers 50 calls for one resource with one request' {
        $before = Get-TokenRequestCount

        1..50 | ForEach-Object { $null = Get-AzMiToken -Resource https://storage.azure.com }

        (Get-TokenRequestCount) - $before | Should -Be 1
    }

    It 'asks again with -ForceRefresh and returns a different token' {
        $cached = Get-AzMiToken -Resource https://storage.azure.com -AsPlainText
        $before = Get-TokenRequestCount

        $fresh = Get-AzMiToken -Resource https://storage.azure.com -AsPlainText -ForceRefresh

        (Get-TokenRequestCount) - $before | Should -Be 1
        ($cached.Token -ceq $fresh.Token) | Should -BeFalse -Because 'a forced refresh must not return the cached token'
        (ConvertFrom-JwtPayload $fresh.Token).uti | Should -Not -Be (ConvertFrom-JwtPayload $cached.Token).uti
    }
}

Describe 'Get-AzMiToken cancellation' -Tag Arm64 {
    AfterEach { Reset-Emulator }

    It 'stops a pending request at once when the pipeline is stopped (Ctrl+C)' {
        # The first contact with an endpoint has a 1 s probe timeout; after one answer, a slow
        # endpoint is waited for, so only cancellation can end the call early.
        $null = Get-AzMiToken -Resource https://management.azure.com/
        Reset-Emulator
        Set-EmulatorFault @{ delay_ms = 30000 }

        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            Get-AzMiToken -Resource https://management.azure.com/ -ForceRefresh
        }
        try {
            # Wait until the request is pending at the emulator, so that Stop meets azmi's wait.
            $null = Wait-Until { (Get-TokenRequestCount) -ge 1 }
            Start-Sleep -Milliseconds 500
            # The emulator delays its answer by 30 s: only the stop can end the call early.
            Assert-StopsPromptly $run -WithinSeconds 3
        }
        finally {
            Reset-Emulator
            $run.Shell.Dispose()
        }
    }
}

Describe 'Get-AzMiToken -Verbose' {
    It 'names the endpoint, the identity and the cache, and never the token' {
        $first = Get-AzMiToken -Resource https://datalake.azure.net/ -ClientId $Known.UserAssigned.ClientId -AsPlainText -ForceRefresh -Verbose 4>&1
        $second = Get-AzMiToken -Resource https://datalake.azure.net/ -ClientId $Known.UserAssigned.ClientId -AsPlainText -Verbose 4>&1
        $token = $first | Where-Object { $_ -is [AzMi.AccessToken] }
        $firstVerbose = ($first | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        $secondVerbose = ($second | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"

        $firstVerbose | Should -BeLike "*$($Emulator.Endpoint)*"
        $firstVerbose | Should -BeLike "*$($Known.UserAssigned.ClientId)*"
        $firstVerbose | Should -Match 'issued by the endpoint'
        $secondVerbose | Should -Match 'from azmi''s cache'
        Test-ShowsToken $firstVerbose $token.Token | Should -BeFalse -Because 'verbose output must never hold the token'
        Test-ShowsToken $secondVerbose $token.Token | Should -BeFalse -Because 'verbose output must never hold the token'
    }
}

Describe 'Get-AzMiToken identity cache (one native identity per identity and endpoint, reused)' {
    It 'gives each of two identities used in turn its own token' {
        $tokens = foreach ($round in 1..3) {
            Get-AzMiToken -Resource https://vault.azure.net -AsPlainText
            Get-AzMiToken -Resource https://vault.azure.net -AsPlainText -ClientId $Known.UserAssigned.ClientId
        }

        $objectIds = @($tokens | ForEach-Object { (ConvertFrom-JwtPayload $_.Token).oid })
        $objectIds | Should -Be @(
            $Known.SystemAssigned.ObjectId, $Known.UserAssigned.ObjectId
            $Known.SystemAssigned.ObjectId, $Known.UserAssigned.ObjectId
            $Known.SystemAssigned.ObjectId, $Known.UserAssigned.ObjectId
        )
        @($tokens.Identity | Select-Object -Unique) | Should -HaveCount 2
    }

    It 'gives every runspace calling at once the token of the identity it asked for' {
        $module = $ModulePath
        $clientId = $Known.UserAssigned.ClientId
        $results = 1..8 | ForEach-Object -ThrottleLimit 4 -Parallel {
            Import-Module $using:module
            $userAssigned = $_ % 2 -eq 0
            foreach ($call in 1..25) {
                $selection = if ($userAssigned) { @{ ClientId = $using:clientId } } else { @{} }
                $token = Get-AzMiToken -Resource https://storage.azure.com/ -AsPlainText @selection
                [pscustomobject]@{ UserAssigned = $userAssigned; Token = $token.Token }
            }
        }

        $results | Should -HaveCount 200
        $wrong = @($results | Where-Object {
                $expected = if ($_.UserAssigned) { $Known.UserAssigned.ObjectId } else { $Known.SystemAssigned.ObjectId }
                (ConvertFrom-JwtPayload $_.Token).oid -ne $expected
            })
        $wrong.Count | Should -Be 0 -Because 'a token must never come from another runspace''s identity'
    }

    It 'sends to the new endpoint at once when $env:AZMI_IMDS_ENDPOINT changes after a call' {
        $saved = $env:AZMI_IMDS_ENDPOINT
        $null = Get-AzMiToken -Resource https://management.azure.com/   # the identity for the emulator is cached now
        try {
            $env:AZMI_IMDS_ENDPOINT = "http://127.0.0.1:$(Get-ClosedLoopbackPort)/metadata/identity/oauth2/token"
            $output = Get-AzMiToken -Resource https://management.azure.com/ -Verbose -ErrorAction SilentlyContinue -ErrorVariable errors 4>&1
        }
        finally {
            $env:AZMI_IMDS_ENDPOINT = $saved
        }
        $verbose = ($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        $again = Get-AzMiToken -Resource https://management.azure.com/

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.ManagedIdentityUnavailable,*'
        $verbose | Should -BeLike '*127.0.0.1*' -Because 'the verbose endpoint is the new one'
        $verbose | Should -Not -BeLike "*$($Emulator.Endpoint)*"
        $again.Type | Should -BeExactly 'Bearer' -Because 'back on the first endpoint, its cached identity serves again'
    }

    It 'works again after Remove-Module and Import-Module in the same session' {
        $null = Get-AzMiToken -Resource https://management.azure.com/ -ClientId $Known.UserAssigned.ClientId

        Remove-Module AzMi
        Import-Module $ModulePath -Force -ErrorAction Stop
        $token = Get-AzMiToken -Resource https://management.azure.com/ -ClientId $Known.UserAssigned.ClientId -AsPlainText

        (ConvertFrom-JwtPayload $token.Token).oid | Should -Be $Known.UserAssigned.ObjectId
    }
}

Describe 'Get-AzMiToken verbose output follows the verbose preference' {
    It 'names the endpoint and identity with $VerbosePreference = Continue and no -Verbose' {
        $VerbosePreference = 'Continue'
        $output = Get-AzMiToken -Resource https://management.azure.com/ 4>&1
        $VerbosePreference = 'SilentlyContinue'
        $verbose = ($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"

        $verbose | Should -BeLike "*Token endpoint: $($Emulator.Endpoint)*AZMI_IMDS_ENDPOINT*"
        $verbose | Should -BeLike '*Identity: the system-assigned identity*'
        $verbose | Should -Match 'from azmi''s cache'
    }

    It 'writes no verbose record without -Verbose, nor with -Verbose:$false under $VerbosePreference = Continue' {
        $quiet = Get-AzMiToken -Resource https://management.azure.com/ 4>&1
        $VerbosePreference = 'Continue'
        $off = Get-AzMiToken -Resource https://management.azure.com/ -Verbose:$false 4>&1
        $VerbosePreference = 'SilentlyContinue'

        @($quiet | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -HaveCount 0
        @($off | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -HaveCount 0
        @($quiet | Where-Object { $_ -is [AzMi.AccessToken] }) | Should -HaveCount 1
    }

    It 'names the endpoint in a service cmdlet''s verbose output too (the shared identity step)' {
        $replaced = Set-AzMiEmulatorEnvironment $Emulator
        try {
            $quiet = Get-AzMiKeyVaultSecret -VaultName $Emulator.KeyVaultUrl -Name mi-test 4>&1
            $output = Get-AzMiKeyVaultSecret -VaultName $Emulator.KeyVaultUrl -Name mi-test -Verbose 4>&1
        }
        finally {
            Restore-AzMiEnvironment $replaced
        }
        $verbose = ($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"

        $verbose | Should -BeLike "*Token endpoint: $($Emulator.Endpoint)*"
        $verbose | Should -BeLike '*Identity: the system-assigned identity*'
        $verbose | Should -BeLike "*Read version * of secret 'mi-test'*"
        @($quiet | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -HaveCount 0
        @($output | Where-Object { $_ -is [AzMi.KeyVaultSecret] }) | Should -HaveCount 1
    }
}

Describe 'AzMi.AccessToken display' {
    BeforeAll {
        $script:Plain = Get-AzMiToken -Resource https://management.azure.com/ -AsPlainText
        $script:Secure = Get-AzMiToken -Resource https://management.azure.com/
    }

    It 'shows the resource but not the token in <View>' -ForEach @(
        @{ View = 'Format-Table'; Render = { param($t) $t | Format-Table | Out-String -Width 300 } }
        @{ View = 'Format-List'; Render = { param($t) $t | Format-List | Out-String -Width 300 } }
        @{ View = 'the default view'; Render = { param($t) $t | Out-String -Width 300 } }
        @{ View = 'ToString()'; Render = { param($t) "$t" } }
    ) {
        $plainText = & $Render $Plain
        $secureText = & $Render $Secure

        $plainText | Should -BeLike '*https://management.azure.com/*'
        $secureText | Should -BeLike '*https://management.azure.com/*'
        Test-ShowsToken $plainText $Plain.Token | Should -BeFalse -Because "$View must not show the token"
        Test-ShowsToken $secureText $Plain.Token | Should -BeFalse -Because "$View must not show the token"
    }

    It 'would notice a token in the output (self-check: Format-List * does show it)' {
        $all = $Plain | Format-List * | Out-String -Width 80

        Test-ShowsToken $all $Plain.Token | Should -BeTrue
    }

    It 'shows Type, Resource, Identity and ExpiresOn in the table' {
        $table = $Secure | Format-Table | Out-String -Width 300

        $table | Should -Match 'Type\s+Resource\s+Identity\s+ExpiresOn'
        $table | Should -Match 'Bearer'
        $table | Should -Not -Match 'Token'
    }
}

Describe 'AzMi format views, loaded by the first command' {
    BeforeAll {
        # Runs $script in a new session (runspace) of this process and returns its output.
        function Invoke-InNewSession([string] $script) {
            $ps = [powershell]::Create([System.Management.Automation.RunspaceMode]::NewRunspace)
            try {
                $ps.AddScript($script).AddArgument($ModulePath).Invoke()
                if ($ps.HadErrors) { throw "session failed: $($ps.Streams.Error -join '; ')" }
            }
            finally {
                $ps.Runspace.Dispose()
                $ps.Dispose()
            }
        }
        # What a user sees of each kind of object, rendered in a session, and the views.
        $script:Render = {
            param($module, $eager)
            Import-Module $module
            if ($eager) {
                # The views as Import-Module loaded them before: from the format file at once.
                Update-FormatData -AppendPath (Join-Path (Split-Path $module) 'AzMi.format.ps1xml')
            }
            $token = Get-AzMiToken -Resource https://management.azure.com/
            $identity = Get-AzMiManagedIdentity
            foreach ($o in $token, $identity) {
                $o | Out-String -Width 200
                $o | Format-Table | Out-String -Width 200
                $o | Format-List | Out-String -Width 200
            }
            $file = [System.IO.Path]::GetTempFileName()
            Get-FormatData -TypeName 'AzMi.*' | Sort-Object TypeName | Export-FormatData -Path $file -Force -IncludeScriptBlock
            Get-Content -Raw $file
            Remove-Item $file
        }
    }

    It 'are not loaded by Import-Module, come with the first command, and again after Remove-Module' {
        $counts = Invoke-InNewSession {
            param($module)
            foreach ($round in 1, 2) {
                Import-Module $module
                @(Get-FormatData -TypeName AzMi.AccessToken).Count
                $null = Get-AzMiToken -Resource https://management.azure.com/
                @(Get-FormatData -TypeName AzMi.AccessToken).Count
                Remove-Module AzMi, AzMi.Format
            }
        }

        $counts | Should -Be @(0, 1, 0, 1)
    }

    It 'make every view and every output the same as when Import-Module loaded them' {
        $lazy = Invoke-InNewSession "param(`$m) & { $Render } `$m `$false"
        $eager = Invoke-InNewSession "param(`$m) & { $Render } `$m `$true"

        $lazy.Count | Should -Be 7
        $lazy[-1] | Should -Match 'AzMi.KeyVaultSecret'
        $lazy[-1] | Should -Match 'AzMi.StorageBlob'
        for ($i = 0; $i -lt $eager.Count; $i++) {
            # Expiry times may tick over between the sessions; everything else is the same. In
            # any culture's long time: 20:26:08 (invariant), 8:26:08 PM (en-US, as on Windows).
            $time = '\d{1,2}:\d\d:\d\d'
            ($lazy[$i] -replace $time, 'h:mm:ss') | Should -BeExactly ($eager[$i] -replace $time, 'h:mm:ss')
        }
    }
}

Describe 'AzMi module' -Tag Arm64 {
    BeforeAll {
        $script:ExpectedCmdlets = @(
            'Add-AzMiDataLakeItemContent', 'Export-AzMiDataLakeItem', 'Get-AzMiBlobContent', 'Get-AzMiDataLakeChildItem',
            'Get-AzMiDataLakeItem', 'Get-AzMiDataLakeItemContent', 'Get-AzMiKeyVaultSecret', 'Get-AzMiManagedIdentity', 'Get-AzMiProxy', 'Get-AzMiResourceGroup', 'Get-AzMiToken',
            'Import-AzMiDataLakeItem', 'Invoke-AzMiArmRequest', 'Move-AzMiDataLakeItem', 'New-AzMiDataLakeItem',
            'New-AzMiStorageAccountSasToken', 'New-AzMiStorageSasToken', 'Remove-AzMiDataLakeItem', 'Remove-AzMiKeyVaultSecret',
            'Set-AzMiBlobContent', 'Set-AzMiKeyVaultSecret', 'Set-AzMiProxy'
        )
    }

    It 'has a valid manifest listing every cmdlet explicitly' {
        $manifest = Test-ModuleManifest -Path $ModulePath -ErrorAction Stop

        $manifest.Version | Should -Be '0.1.0'
        $manifest.CompatiblePSEditions -join ', ' | Should -BeExactly 'Desktop, Core'
        @($manifest.ExportedCmdlets.Keys | Sort-Object) -join ', ' | Should -BeExactly ($ExpectedCmdlets -join ', ')
        $manifest.RootModule | Should -BeExactly 'AzMi.dll'
        (Import-PowerShellDataFile $ModulePath).CmdletsToExport | Should -Not -Contain '*'
    }

    It 'exports exactly its cmdlets' {
        @(Get-Command -Module AzMi | Sort-Object Name).Name -join ', ' | Should -BeExactly ($ExpectedCmdlets -join ', ')
    }

    It 'declares AzMi.AccessToken as the output type' {
        (Get-Command Get-AzMiToken).OutputType.Name | Should -Be 'AzMi.AccessToken'
    }

    It 'has help with examples' {
        $examples = @((Get-Help Get-AzMiToken -Examples).examples.example)
        $text = Get-Help Get-AzMiToken -Examples | Out-String -Width 200

        $examples.Count | Should -BeGreaterOrEqual 4
        $text | Should -BeLike '*Example 1*'
        $code = ($examples.code) -join "`n"
        $code | Should -BeLike '*-ClientId*'
        $code | Should -BeLike '*-ObjectId*'
        $code | Should -BeLike '*/.default*'
        $code | Should -BeLike '*Invoke-RestMethod*-AsPlainText*'
        $code | Should -BeLike '*.AccessToken*'
    }

    It 'has help for every parameter, <Name>' -ForEach @(
        @{ Name = 'Resource' }, @{ Name = 'ResourceTypeName' }, @{ Name = 'ClientId' }, @{ Name = 'ObjectId' },
        @{ Name = 'ResourceId' }, @{ Name = 'AsPlainText' }, @{ Name = 'ForceRefresh' }
    ) {
        (Get-Command Get-AzMiToken).Parameters.ContainsKey($Name) | Should -BeTrue
        ((Get-Help Get-AzMiToken -Parameter $Name).description.Text -join ' ') | Should -Not -BeNullOrEmpty
    }

    It 'fails with a clear error naming the path when the native library is missing' {
        $copy = Join-Path $TestDrive 'AzMi'
        $null = New-Item -ItemType Directory -Path $copy
        Get-ChildItem -Path (Split-Path $ModulePath) -Exclude runtimes | Copy-Item -Destination $copy -Recurse
        $script = "Import-Module '$copy/AzMi.psd1'; try { Get-AzMiToken https://management.azure.com/ } catch { `$_.FullyQualifiedErrorId; `$_.Exception.Message }"
        $pwsh = @(Get-PwshCommandLine)

        $output = (& $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script) -join "`n"

        $output | Should -BeLike 'AzMi.NativeLibraryNotLoaded,*'
        $native = Join-Path (Join-Path $copy 'runtimes') '*' | Join-Path -ChildPath 'native' | Join-Path -ChildPath '*azmi*'
        $output | Should -BeLike "*$native does not exist*"
    }
}
