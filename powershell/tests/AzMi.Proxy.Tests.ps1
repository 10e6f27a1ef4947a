#Requires -Version 7.0
# Pester 5 tests of Set-AzMiProxy and Get-AzMiProxy (out/AzMi, from scripts/build-module.sh)
# against azmi-emulator's Key Vault (HTTPS on loopback) and real tinyproxy instances whose logs
# are read: a CONNECT tunnel for Key Vault, never the token endpoint, PowerShell's lowercase
# variables and NO_PROXY read with -FromEnvironment, -Credential, the 407 and proxy-down
# errors, the explicit setting over the environment, and -Verbose saying which way requests go.
# Run them with scripts/test-pester.sh.
#
# The proxy setting is process-wide: AfterAll puts back the environment's (with the proxy
# variables this file set removed).

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    $script:ProxyVariables = 'https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY'
    $script:SavedProxyVariables = @{}
    foreach ($name in $ProxyVariables) { $SavedProxyVariables[$name] = [Environment]::GetEnvironmentVariable($name) }
    $script:Vault = $Emulator.KeyVaultUrl
    $script:VaultPort = ([Uri] $Vault).Port
    $script:ImdsPort = ([Uri] $Emulator.Endpoint).Port
    $script:Proxy = Start-Tinyproxy
    $script:AuthProxy = Start-Tinyproxy -User alice -Password s3cret

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

    function Clear-ProxyVariables {
        foreach ($name in $ProxyVariables) { Remove-Item -Path "env:$name" -ErrorAction SilentlyContinue }
    }
}

AfterAll {
    Clear-ProxyVariables
    foreach ($name in $SavedProxyVariables.Keys) {
        if ($null -ne $SavedProxyVariables[$name]) { Set-Item -Path "env:$name" -Value $SavedProxyVariables[$name] }
    }
    Set-AzMiProxy -FromEnvironment
    Stop-Tinyproxy $script:Proxy
    Stop-Tinyproxy $script:AuthProxy
    Stop-AzMiEmulator $script:Emulator
    Restore-AzMiEnvironment $script:SavedEnvironment
}

Describe 'Set-AzMiProxy and Get-AzMiProxy' -Tag Arm64 {
    AfterEach {
        Clear-ProxyVariables
        Set-AzMiProxy -FromEnvironment
    }

    It 'tunnels a Key Vault secret through the proxy, and never the token request' {
        $before = @(Get-TinyproxyConnect $Proxy).Count
        Set-AzMiProxy -Uri $Proxy.Url

        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'

        $connects = @(Get-TinyproxyConnect $Proxy)
        $connects.Count | Should -BeGreaterThan $before
        $connects | Select-Object -Skip $before | Should -Be "127.0.0.1:$VaultPort"
        Get-Content -LiteralPath $Proxy.Log -Raw | Should -Not -Match ":$ImdsPort\b"
    }

    It 'says with -Verbose which way token and service requests go' {
        Set-AzMiProxy -Uri $Proxy.Url
        $verbose = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        $verbose | Should -Contain "Requests to Key Vault $Vault go through the proxy $($Proxy.Url) (from the explicit setting)."
        $verbose | Should -Contain "Token requests to $($Emulator.Endpoint) go direct: managed identity endpoints never go through a proxy."
        $identity = Get-AzMiManagedIdentity
        $identity.TokenRoute | Should -BeExactly 'direct: managed identity endpoints never go through a proxy'
        $identity.ServiceProxy | Should -BeLike "HTTPS requests go through $($Proxy.Url) (from the explicit setting)*"
    }

    It 'reads PowerShell''s lowercase variables with -FromEnvironment' {
        $env:HTTPS_PROXY = 'http://127.0.0.1:1'
        $env:https_proxy = $Proxy.Url
        Set-AzMiProxy -FromEnvironment
        $setting = Get-AzMiProxy
        $setting.Source | Should -Be 'Environment'
        $setting.HttpsProxy | Should -BeExactly $Proxy.Url
        if (-not $IsWindows) { $setting.HttpsProxyFrom | Should -BeExactly 'https_proxy' }
        $before = @(Get-TinyproxyConnect $Proxy).Count
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        @(Get-TinyproxyConnect $Proxy).Count | Should -BeGreaterThan $before
    }

    It 'honours NO_PROXY, and says which entry sent a host direct' {
        $env:HTTPS_PROXY = $Proxy.Url
        $env:NO_PROXY = 'localhost, 127.0.0.1'
        Set-AzMiProxy -FromEnvironment
        (Get-AzMiProxy).NoProxy | Should -Be 'localhost', '127.0.0.1'
        # On Windows variable names ignore case: NO_PROXY is no_proxy, which is read first.
        (Get-AzMiProxy -Uri $Vault).Route | Should -BeExactly "direct: $(if ($IsWindows) { 'no_proxy' } else { 'NO_PROXY' }) names '127.0.0.1'"
        $before = @(Get-TinyproxyConnect $Proxy).Count
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        @(Get-TinyproxyConnect $Proxy).Count | Should -Be $before

        Set-AzMiProxy -Uri $Proxy.Url -NoProxy '.vault.example', '127.0.0.0/8'
        $routes = Get-AzMiProxy -Uri $Vault, 'https://x.vault.example', 'https://example.com'
        $routes.ThroughProxy | Should -Be $false, $false, $true
        $routes[0].Route | Should -BeExactly "direct: the no-proxy list given names '127.0.0.0/8'"
    }

    It 'sends -Credential to the proxy, and never shows it' {
        $password = ConvertTo-SecureString 's3cret' -AsPlainText -Force
        $credential = [pscredential]::new('alice', $password)
        $setting = Set-AzMiProxy -Uri $AuthProxy.Url -Credential $credential -PassThru
        $setting.HasCredentials | Should -BeTrue
        ($setting | Format-List * | Out-String) | Should -Not -Match 's3cret|alice'
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        @(Get-TinyproxyConnect $AuthProxy) | Should -Contain "127.0.0.1:$VaultPort"
    }

    It 'says what a 407 means and how to give credentials' {
        Set-AzMiProxy -Uri $AuthProxy.Url
        $e = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.ProxyError,*'
        $e.CategoryInfo.Category | Should -Be 'ConnectionError'
        $e.Exception.HttpStatus | Should -Be 407
        $e.Exception.Message | Should -BeLike "*the proxy $($AuthProxy.Url) (from the explicit setting) asked for credentials (HTTP 407 Proxy Authentication Required*"
        $e.Exception.Message | Should -BeLike '*Set-AzMiProxy -Credential*'
    }

    It 'names a proxy that is down, with its host and port' {
        $down = "http://127.0.0.1:$(Get-ClosedLoopbackPort)"
        Set-AzMiProxy -Uri $down
        $e = Get-ErrorOf { Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText -ErrorAction Stop }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.ProxyError,*'
        $e.Exception.Message | Should -BeLike "*the proxy $down (from the explicit setting) could not be reached*"
    }

    It 'lets the explicit setting win over the environment, -None go direct, and refuses a bad proxy without change' {
        $env:HTTPS_PROXY = 'http://127.0.0.1:1'
        Set-AzMiProxy -FromEnvironment
        (Get-AzMiProxy -Uri $Vault).Route | Should -BeLike 'through the proxy http://127.0.0.1:1 (from HTTPS_PROXY)'
        Set-AzMiProxy -Uri $Proxy.Url
        (Get-AzMiProxy).Source | Should -Be 'Explicit'
        Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
        Set-AzMiProxy -None
        (Get-AzMiProxy).Source | Should -Be 'None'
        (Get-AzMiProxy -Uri $Vault).Route | Should -BeExactly 'direct: the proxy is turned off'

        $e = Get-ErrorOf { Set-AzMiProxy -Uri 'socks5://127.0.0.1:1080' }
        $e.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        (Get-AzMiProxy).Source | Should -Be 'None'
        Set-AzMiProxy -Uri $Proxy.Url -WhatIf
        (Get-AzMiProxy).Source | Should -Be 'None'
    }

    It 'uses the Windows system proxy (Internet Options) when no variable is set' -Skip:(-not $IsWindows) {
        # Internet Options as Windows keeps them and WinHTTP reads them: DefaultConnectionSettings
        # (magic 0x46, a counter, flags 3 = direct | proxy, then each string after its length).
        # <-loopback> lets the loopback vault use the proxy. The user's own value is put back.
        $key = [Microsoft.Win32.Registry]::CurrentUser.CreateSubKey('Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections')
        $saved = $key.GetValue('DefaultConnectionSettings')
        try {
            $settings = [System.Collections.Generic.List[byte]]::new()
            foreach ($number in 0x46, 0, 3) { $settings.AddRange([BitConverter]::GetBytes([int] $number)) }
            foreach ($text in "127.0.0.1:$($Proxy.Port)", '<-loopback>', '') {
                $settings.AddRange([BitConverter]::GetBytes([int] $text.Length))
                $settings.AddRange([System.Text.Encoding]::ASCII.GetBytes($text))
            }
            $key.SetValue('DefaultConnectionSettings', $settings.ToArray(), [Microsoft.Win32.RegistryValueKind]::Binary)
            Clear-ProxyVariables
            Set-AzMiProxy -FromEnvironment

            $setting = Get-AzMiProxy
            $setting.Source | Should -Be 'System'
            $setting.HttpsProxy | Should -BeExactly $Proxy.Url
            $setting.HttpsProxyFrom | Should -BeExactly 'the Windows proxy settings (Internet Options)'
            (Get-AzMiProxy -Uri $Vault).Route | Should -BeExactly "through the proxy $($Proxy.Url) (from the Windows proxy settings (Internet Options))"
            $before = @(Get-TinyproxyConnect $Proxy).Count
            Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -AsPlainText | Should -BeExactly 'Hello from Key Vault'
            @(Get-TinyproxyConnect $Proxy).Count | Should -BeGreaterThan $before
            Get-Content -LiteralPath $Proxy.Log -Raw | Should -Not -Match ":$ImdsPort\b"
        } finally {
            if ($null -ne $saved) { $key.SetValue('DefaultConnectionSettings', $saved, [Microsoft.Win32.RegistryValueKind]::Binary) }
            else { $key.DeleteValue('DefaultConnectionSettings', $false) }
            $key.Dispose()
        }
    }

    It 'has help with examples for every parameter' {
        foreach ($name in 'Set-AzMiProxy', 'Get-AzMiProxy') {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeLike "$name*"
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
            foreach ($parameter in (Get-Command $name).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters }) {
                ((Get-Help $name -Parameter $parameter).description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$parameter of $name needs help"
            }
        }
    }
}
