# Helpers for the Pester tests (powershell/tests/*.Tests.ps1): start and stop azmi-emulator (and Azurite), drive
# its admin endpoints, read token claims. Nothing here ever writes token text to the output: a failing assertion prints
# its values, so tests compare tokens with booleans and assert on claims instead.

function Start-AzMiEmulator {
    <#
        Starts azmi-emulator on free ports; returns its process, token endpoint, admin base URL,
        and the HTTPS services' base URL and CA file (docs/emulator.md). -ArgumentList adds
        options (e.g. '--config', 'acl.json').
    #>
    param(
        [Parameter(Mandatory)][string] $Path,
        [string[]] $ArgumentList = @()
    )

    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) {
        throw "azmi-emulator not found at ${Path}: run 'cargo build --release -p azmi-emulator' or set `$env:AZMI_EMULATOR."
    }
    # Its stdout goes to a file, not a pipe: nobody would drain a pipe after the first lines.
    $stdout = [System.IO.Path]::GetTempFileName()
    $stderr = [System.IO.Path]::GetTempFileName()
    $process = Start-Process -FilePath $Path -ArgumentList (@('--port', '0') + $ArgumentList) -PassThru `
        -RedirectStandardOutput $stdout -RedirectStandardError $stderr

    # The banner's seven lines come in one write; the last one names Resource Manager's port.
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    $endpoint = $null
    while (-not $endpoint) {
        $lines = @(Get-Content -LiteralPath $stdout -ErrorAction SilentlyContinue)
        $services = $lines | Where-Object { $_ -like 'azmi-emulator services on *' } | Select-Object -First 1
        $arm = $lines | Where-Object { $_ -like 'export AZMI_ARM_ENDPOINT=*' } | Select-Object -First 1
        if ($services -and $arm) {
            $value = { param($prefix) ($lines | Where-Object { $_ -like "$prefix*" } | Select-Object -First 1).Substring($prefix.Length).Trim() }
            $endpoint = & $value 'export AZMI_IMDS_ENDPOINT='
            $caFile = & $value 'export AZMI_CA_FILE='
            $keyVaultUrl = & $value 'export AZMI_KEYVAULT_URL='
            $armEndpoint = & $value 'export AZMI_ARM_ENDPOINT='
            $servicesBase = $services.Substring('azmi-emulator services on '.Length).Trim()
        }
        elseif ($process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
            $errors = Get-Content -LiteralPath $stderr -Raw -ErrorAction SilentlyContinue
            if (-not $process.HasExited) { $process.Kill() }
            throw "azmi-emulator did not print its endpoint: $errors"
        }
        else {
            Start-Sleep -Milliseconds 50
        }
    }
    $uri = [Uri] $endpoint
    [pscustomobject]@{
        Process      = $process
        Endpoint     = $endpoint
        AdminBase    = "$($uri.Scheme)://$($uri.Authority)"
        ServicesBase = $servicesBase
        CaFile       = $caFile
        KeyVaultUrl  = $keyVaultUrl
        ArmEndpoint  = $armEndpoint
        LogFiles     = @($stdout, $stderr)
    }
}

function Stop-AzMiEmulator {
    param($Emulator)
    if (-not $Emulator) { return }
    if (-not $Emulator.Process.HasExited) {
        $Emulator.Process.Kill()
        $null = $Emulator.Process.WaitForExit(5000)
    }
    Remove-Item -LiteralPath $Emulator.LogFiles -ErrorAction SilentlyContinue
    # The CA folder the emulator made in the temp folder (a killed process cannot remove it).
    if ($Emulator.CaFile) {
        $caFolder = Split-Path -Parent $Emulator.CaFile
        if ((Split-Path -Leaf $caFolder) -like 'azmi-emulator-*') {
            Remove-Item -LiteralPath $caFolder -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

function Set-AzMiEmulatorEnvironment {
    <#
        Points the module at $Emulator: AZMI_IMDS_ENDPOINT, AZMI_CA_FILE (-CaFile, e.g. a bundle that also holds
        Azurite's certificate, else the emulator's CA) and AZMI_ARM_ENDPOINT, with no pod-identity host. Returns the
        environment it replaced, for Restore-AzMiEnvironment.
    #>
    param([Parameter(Mandatory)] $Emulator, [string] $CaFile)
    $replaced = @{}
    foreach ($name in 'AZMI_IMDS_ENDPOINT', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'AZMI_CA_FILE', 'AZMI_ARM_ENDPOINT') {
        $replaced[$name] = [Environment]::GetEnvironmentVariable($name)
    }
    $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $null
    $env:AZMI_IMDS_ENDPOINT = $Emulator.Endpoint
    $env:AZMI_CA_FILE = if ($CaFile) { $CaFile } else { $Emulator.CaFile }
    $env:AZMI_ARM_ENDPOINT = $Emulator.ArmEndpoint
    $replaced
}

function Restore-AzMiEnvironment {
    <# Puts back the environment Set-AzMiEmulatorEnvironment replaced. #>
    param([hashtable] $Replaced)
    if (-not $Replaced) { return }
    foreach ($name in $Replaced.Keys) {
        Set-Item -Path "env:$name" -Value $Replaced[$name]
    }
}

function Start-AzMiStorageTestBed {
    <#
        For the Blob and SAS tests: Azurite (tools/azurite, from scripts/setup.sh) over HTTPS with --oauth basic and a
        fresh certificate for 127.0.0.1 on a free port, azmi-emulator, and the environment that points the module at
        both: AZMI_IMDS_ENDPOINT, AZMI_CA_FILE (the emulator's CA and Azurite's certificate), AZMI_ARM_ENDPOINT. Returns
        Work (a scratch folder, with 'files' in it), Emulator, Azurite (its process), Account (Azurite's account URL)
        and the environment it replaced, which Stop-AzMiStorageTestBed puts back.
        Where Node cannot be started (the tests under Wine), the test script starts one Azurite and names it with
        AZMI_TEST_AZURITE_PORT and AZMI_TEST_AZURITE_CERT: that one is used (the tests name their containers uniquely).
    #>
    param(
        [Parameter(Mandatory)][string] $Repo,
        [Parameter(Mandatory)][string] $EmulatorPath,
        [Parameter(Mandatory)][string] $Name
    )
    $azuriteBin = Join-Path $Repo 'tools/azurite/node_modules/.bin/azurite-blob'
    $external = [bool]$env:AZMI_TEST_AZURITE_PORT
    if (-not $external -and -not (Test-Path -LiteralPath $azuriteBin -PathType Leaf)) {
        throw "Azurite is not installed ($azuriteBin is missing): run scripts/setup.sh"
    }
    $work = Join-Path ([System.IO.Path]::GetTempPath()) "azmi-$Name-tests-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $work, (Join-Path $work 'azurite'), (Join-Path $work 'files')
    if ($external) {
        $cert = $env:AZMI_TEST_AZURITE_CERT
        $port = $env:AZMI_TEST_AZURITE_PORT
        $azurite = $null
    } else {
        $cert = Join-Path $work 'cert.pem'
        $key = Join-Path $work 'key.pem'
        & openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=127.0.0.1' `
            -addext 'subjectAltName=IP:127.0.0.1' -addext 'basicConstraints=critical,CA:FALSE' `
            -keyout $key -out $cert 2>$null >$null
        if ($LASTEXITCODE -ne 0) { throw 'openssl could not make a certificate for Azurite' }

        $port = Get-ClosedLoopbackPort
        $log = Join-Path $work 'azurite.log'
        $errors = Join-Path $work 'azurite.err'
        $azurite = Start-Process -FilePath $azuriteBin -PassThru `
            -ArgumentList '--blobHost', '127.0.0.1', '--blobPort', $port, '--oauth', 'basic', '--silent', '--skipApiVersionCheck',
            '--disableTelemetry', '--cert', $cert, '--key', $key, '--location', (Join-Path $work 'azurite') `
            -RedirectStandardOutput $log -RedirectStandardError $errors
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ($true) {
            $client = [System.Net.Sockets.TcpClient]::new()
            try { $client.Connect('127.0.0.1', $port); break } catch { } finally { $client.Dispose() }
            if ($azurite.HasExited) { throw "Azurite exited: $(Get-Content -Raw $log, $errors -ErrorAction SilentlyContinue)" }
            if ([DateTime]::UtcNow -gt $deadline) { throw 'Azurite did not listen within 60 s' }
            Start-Sleep -Milliseconds 100
        }
    }

    $emulator = Start-AzMiEmulator -Path $EmulatorPath
    $bundle = Join-Path $work 'ca-bundle.pem'
    (Get-Content -Raw $emulator.CaFile) + "`n" + (Get-Content -Raw $cert) | Set-Content -LiteralPath $bundle -NoNewline
    $saved = Set-AzMiEmulatorEnvironment -Emulator $emulator -CaFile $bundle
    [pscustomobject]@{
        Work                = $work
        Emulator            = $emulator
        Azurite             = $azurite
        Account             = "https://127.0.0.1:$port/devstoreaccount1"
        ReplacedEnvironment = $saved
    }
}

function Stop-AzMiStorageTestBed {
    <# Stops what Start-AzMiStorageTestBed started, puts the environment back and removes the scratch folder. #>
    param($Bed)
    if (-not $Bed) { return }
    Stop-AzMiEmulator $Bed.Emulator
    if ($Bed.Azurite -and -not $Bed.Azurite.HasExited) {
        $Bed.Azurite.Kill($true)
        $null = $Bed.Azurite.WaitForExit(5000)
    }
    Restore-AzMiEnvironment $Bed.ReplacedEnvironment
    Remove-Item -LiteralPath $Bed.Work -Recurse -Force -ErrorAction SilentlyContinue
}

function Invoke-EmulatorAdmin {
    <# GET or POST one of the emulator's /admin endpoints; -Body is sent as JSON. #>
    param(
        [Parameter(Mandatory)][string] $Path,
        [string] $Method = 'Get',
        $Body
    )
    $request = @{ Uri = "$($script:Emulator.AdminBase)$Path"; Method = $Method }
    if ($null -ne $Body) {
        $request.Body = $Body | ConvertTo-Json -Depth 5 -Compress
        $request.ContentType = 'application/json'
    }
    Invoke-RestMethod @request
}

function Set-EmulatorFault {
    <# Replaces the emulator's fault queue, e.g. Set-EmulatorFault @{ status = 410; count = 2 }. #>
    param([Parameter(ValueFromRemainingArguments)][hashtable[]] $Fault)
    $null = Invoke-EmulatorAdmin -Path '/admin/faults' -Method Post -Body @{ faults = @($Fault) }
}

function Set-EmulatorServiceFault {
    <# Replaces the fault queue of the HTTPS services, e.g. Set-EmulatorServiceFault @{ delay_ms = 30000 }. #>
    param([Parameter(ValueFromRemainingArguments)][hashtable[]] $Fault)
    $null = Invoke-EmulatorAdmin -Path '/admin/service-faults' -Method Post -Body @{ faults = @($Fault) }
}

function Get-ServiceRequestCount {
    (Invoke-EmulatorAdmin -Path '/admin/service-counters').requests
}

function Reset-Emulator {
    <# Clears counters, request logs and faults of IMDS and the services (not the tokens azmi has cached). #>
    $null = Invoke-EmulatorAdmin -Path '/admin/reset' -Method Post
}

function Get-TokenRequestCount {
    (Invoke-EmulatorAdmin -Path '/admin/counters').token_requests
}

function Get-LastRequestedResource {
    <# The resource query parameter of the last token request the emulator received. #>
    # Piped, so that the JSON array is enumerated whether or not Invoke-RestMethod unrolled it.
    $last = Invoke-EmulatorAdmin -Path '/admin/requests' | ForEach-Object { $_ } | Select-Object -Last 1
    foreach ($pair in $last.query -split '&') {
        $name, $value = $pair -split '=', 2
        if ($name -eq 'resource') { return [Uri]::UnescapeDataString($value.Replace('+', ' ')) }
    }
}

function ConvertFrom-JwtPayload {
    <# The claims of a JWT (String or SecureString); the token text is not returned. #>
    param([Parameter(Mandatory)] $Token)
    if ($Token -is [securestring]) {
        $Token = [System.Net.NetworkCredential]::new('', $Token).Password
    }
    $parts = $Token.Split('.')
    if ($parts.Count -ne 3) { throw "not a JWT: $($parts.Count) parts instead of 3" }
    $payload = $parts[1].Replace('-', '+').Replace('_', '/')
    $payload += '=' * ((4 - $payload.Length % 4) % 4)
    [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($payload)) | ConvertFrom-Json
}

function Get-ClosedLoopbackPort {
    <# A loopback port nothing listens on: bound by us a moment ago, then released. #>
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Get-PwshCommandLine {
    <#
        How to start another pwsh like this one (a dotnet global tool runs as 'dotnet pwsh.dll').
        A pwsh that cannot start itself (linux-arm64 under qemu-user, where nothing runs an arm64
        program by itself) is started through $env:AZMI_TEST_PWSH, the script that started it
        (scripts/test-pester.sh linux-arm64).
    #>
    if ($env:AZMI_TEST_PWSH) { return @($env:AZMI_TEST_PWSH) }
    $process = [Environment]::ProcessPath
    if ([System.IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, (Join-Path $PSHOME 'pwsh.dll'))
    }
    @($process)
}

function Test-ShowsToken {
    <#
        Whether $Text shows any part of the JWT $Token (header, payload or signature), also when
        the console wrapped it over lines. Returns a boolean only, never the token.
    #>
    param([string] $Text, [Parameter(Mandatory)][string] $Token)
    $flat = $Text -replace '\s', ''
    foreach ($part in $Token.Split('.')) {
        if ($part.Length -ge 16 -and $flat.Contains($part)) { return $true }
    }
    $false
}

# Ctrl+C tests: a cmdlet pending in another runspace, stopped as Ctrl+C stops it.

function Invoke-InNewRunspace {
    <#
        Starts $Script (with $Arguments) in a new runspace of this process that has the
        module at $ModulePath loaded; returns the [powershell] and its async result. The caller
        disposes it.
    #>
    param([Parameter(Mandatory)][string] $ModulePath, [scriptblock] $Script, [object[]] $Arguments = @())
    $shell = [powershell]::Create()
    # Imported in an invocation of its own: a stopped pipeline of several statements would
    # report "The pipeline has been stopped" as an error, whatever the command.
    $null = $shell.AddCommand('Import-Module').AddParameter('Name', $ModulePath).Invoke()
    $shell.Commands.Clear()
    $null = $shell.AddScript($Script)
    foreach ($argument in $Arguments) { $null = $shell.AddArgument($argument) }
    [pscustomobject]@{ Shell = $shell; Invocation = $shell.BeginInvoke() }
}

function Wait-Until {
    <# Waits until $Condition is true (at most 10 s); returns whether it became true. #>
    param([scriptblock] $Condition)
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { return $false }
        Start-Sleep -Milliseconds 50
    }
    $true
}

function Assert-StopsPromptly {
    <#
        Stops the runspace's pending pipeline as Ctrl+C does and checks that it ends within
        -WithinSeconds (5 by default), in the Stopped state, without an error record.
    #>
    param($Run, [int] $WithinSeconds = 5)
    $Run.Invocation.IsCompleted | Should -BeFalse -Because 'the call must still be pending when the stop comes'
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $stop = $Run.Shell.BeginStop($null, $null)
    $stopped = $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($WithinSeconds))
    $watch.Stop()
    $stopped | Should -BeTrue -Because "Stop() took $($watch.Elapsed.TotalSeconds) s"
    $Run.Shell.EndStop($stop)
    $Run.Shell.InvocationStateInfo.State | Should -Be 'Stopped'
    { $Run.Shell.EndInvoke($Run.Invocation) } | Should -Throw '*stopped*'
    $Run.Shell.Streams.Error | Should -HaveCount 0 -Because 'a stop is not an error'
}

# Proxy tests: Debian's tinyproxy (scripts/setup.sh installs it) on a free loopback port.

function Start-Tinyproxy {
    <#
        Starts tinyproxy on a free loopback port with a configuration and a log of its own
        (-User and -Password: it asks for Basic credentials, 407 without them). Returns its
        process, Url (http://127.0.0.1:port), Port and Log (the log file).
        Under Wine (a Windows pwsh cannot start it) scripts/test-pester.sh starts one open and one
        asking for alice / s3cret (scripts/lib/tinyproxy.sh) and names them with
        AZMI_TEST_TINYPROXY_PORT and _LOG (AZMI_TEST_TINYPROXY_AUTH_PORT and _LOG): those are
        returned, with no process (Stop-Tinyproxy leaves them running).
    #>
    param([string] $User, [string] $Password)
    $prefix = if ($User) { 'AZMI_TEST_TINYPROXY_AUTH' } else { 'AZMI_TEST_TINYPROXY' }
    $externalPort = [Environment]::GetEnvironmentVariable("${prefix}_PORT")
    if ($externalPort) {
        if ($User -and ($User -ne 'alice' -or $Password -ne 's3cret')) { throw "${prefix}_PORT asks for alice / s3cret only" }
        $log = [Environment]::GetEnvironmentVariable("${prefix}_LOG")
        if (-not $log) { throw "${prefix}_PORT is set without ${prefix}_LOG" }
        return [pscustomobject]@{ Process = $null; Url = "http://127.0.0.1:$externalPort"; Port = [int] $externalPort; Log = $log; Folder = $null }
    }
    $exe = @('/usr/bin/tinyproxy', '/usr/sbin/tinyproxy') | Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
    if (-not $exe) { throw 'tinyproxy is not installed: run scripts/setup.sh' }
    foreach ($attempt in 1..5) {
        $dir = Join-Path ([System.IO.Path]::GetTempPath()) "azmi-tinyproxy-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $dir
        $port = Get-ClosedLoopbackPort
        $log = Join-Path $dir 'tinyproxy.log'
        $conf = @("Port $port", 'Listen 127.0.0.1', 'Timeout 30', 'LogLevel Connect', "LogFile `"$log`"", 'DisableViaHeader Yes')
        if ($User) { $conf += "BasicAuth $User $Password" }
        # As root, tinyproxy drops to another user unless told to stay (the log is this user's).
        if ([Environment]::UserName -eq 'root') { $conf += 'User root', 'Group root' }
        $confPath = Join-Path $dir 'tinyproxy.conf'
        Set-Content -LiteralPath $confPath -Value $conf
        $process = Start-Process -FilePath $exe -ArgumentList '-d', '-c', $confPath -PassThru `
            -RedirectStandardOutput (Join-Path $dir 'out.txt') -RedirectStandardError (Join-Path $dir 'err.txt')
        $listening = Wait-Until {
            if ($process.HasExited) { return $true }
            $client = [System.Net.Sockets.TcpClient]::new()
            try { $client.Connect([System.Net.IPAddress]::Loopback, $port); $true } catch { $false } finally { $client.Dispose() }
        }
        if ($listening -and -not $process.HasExited) {
            return [pscustomobject]@{ Process = $process; Url = "http://127.0.0.1:$port"; Port = $port; Log = $log; Folder = $dir }
        }
        if (-not $process.HasExited) { $process.Kill() }
        Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue
    }
    throw 'tinyproxy did not start on a free port in 5 tries'
}

function Stop-Tinyproxy {
    param($Proxy)
    if (-not $Proxy -or -not $Proxy.Process) { return }
    if (-not $Proxy.Process.HasExited) {
        $Proxy.Process.Kill()
        $null = $Proxy.Process.WaitForExit(5000)
    }
    Remove-Item -LiteralPath $Proxy.Folder -Recurse -Force -ErrorAction SilentlyContinue
}

function Get-TinyproxyConnect {
    <# The host:port of every CONNECT request in the proxy's log. #>
    param([Parameter(Mandatory)] $Proxy)
    if (-not (Test-Path -LiteralPath $Proxy.Log)) { return @() }
    @(Get-Content -LiteralPath $Proxy.Log | ForEach-Object {
            if ($_ -match '\): CONNECT (\S+) ') { $Matches[1] }
        })
}
