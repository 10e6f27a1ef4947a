#Requires -Version 7.0
# Pester 5 tests of Set-AzMiBlobContent and Get-AzMiBlobContent (out/AzMi, from
# scripts/build-module.sh) against Azurite (npm azurite under tools/azurite, installed by
# scripts/setup.sh), started here over HTTPS with --oauth basic and a fresh certificate for
# 127.0.0.1 on a free port, and azmi-emulator (IMDS tokens that Azurite checks, listServiceSas
# SAS tokens that Azurite verifies). Run them with scripts/test-pester.sh.
#
# $env:AZMI_IMDS_ENDPOINT, $env:AZMI_CA_FILE (the emulator's CA and Azurite's certificate) and
# $env:AZMI_ARM_ENDPOINT are set here, inside pwsh, as in the other test files.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }
    $script:Subscription = '00000000-0000-0000-0000-000000000000'
    $script:Bed = Start-AzMiStorageTestBed -Repo $repo -EmulatorPath $emulatorPath -Name blob
    $script:Work = $Bed.Work
    $script:Emulator = $Bed.Emulator
    Import-Module $ModulePath -Force -ErrorAction Stop

    $script:Account = $Bed.Account

    # The container, with the identity's token (Azurite checks its claims).
    $token = (Get-AzMiToken -ResourceTypeName Storage -AsPlainText).Token
    $null = Invoke-RestMethod -Method Put -Uri "$Account/tutorial?restype=container" -SkipCertificateCheck `
        -Headers @{ Authorization = "Bearer $token"; 'x-ms-version' = '2021-08-06' }
    Remove-Variable token

    $script:Files = Join-Path $Work 'files'
    Push-Location $Files
    [System.IO.File]::WriteAllText((Join-Path $Files 'hello_world.txt'), 'Hello world! :)')
    $null = Set-AzMiBlobContent -File (Join-Path $Files 'hello_world.txt') -StorageAccountName $Account -Container tutorial -ErrorAction Stop

    function Get-ErrorOf {
        <# The ErrorRecord a command writes or throws (null when it succeeds). #>
        param([scriptblock] $Command)
        $ErrorActionPreference = 'Stop'
        try { $null = & $Command } catch { return $_ }
        $null
    }

    function New-Sas {
        New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 `
            -Container tutorial -Permission rcw -ErrorAction Stop
    }

    function New-TestFile([string] $Name, [int] $Length, [int] $Seed = 1) {
        $bytes = [byte[]]::new($Length)
        [System.Random]::new($Seed).NextBytes($bytes)
        $path = Join-Path $Files $Name
        [System.IO.File]::WriteAllBytes($path, $bytes)
        $path
    }
}

AfterAll {
    Pop-Location
    Stop-AzMiStorageTestBed $script:Bed
}

Describe 'Blob cmdlets' {
    It 'are exported with help and the tutorial examples' {
        foreach ($name in 'Set-AzMiBlobContent', 'Get-AzMiBlobContent') {
            Get-Command $name -Module AzMi | Should -Not -BeNullOrEmpty
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        }
        (Get-Help Set-AzMiBlobContent -Examples | Out-String) | Should -BeLike '*-SasToken $sas*'
        (Get-Help Get-AzMiBlobContent -Examples | Out-String) | Should -BeLike '*hello_world.txt*'
        (Get-Command Set-AzMiBlobContent).Parameters['File'].Aliases | Should -Contain 'FullName'
    }
}

Describe 'Get-AzMiBlobContent' {
    It 'reads hello_world.txt with the identity''s token through -Uri' {
        Get-AzMiBlobContent -Uri "$Account/tutorial/hello_world.txt" | Should -BeExactly 'Hello world! :)'
    }

    It 'reads by account, container and blob, and as bytes with -AsByteStream' {
        Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob hello_world.txt | Should -BeExactly 'Hello world! :)'
        $bytes = Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob hello_world.txt -AsByteStream
        $bytes.GetType().FullName | Should -Be 'System.Byte[]'
        [System.Text.Encoding]::UTF8.GetString($bytes) | Should -BeExactly 'Hello world! :)'
    }

    It 'names a missing blob in AzMi.NotFound' {
        $record = Get-ErrorOf { Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob no-such-blob.txt }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.NotFound,AzMi.Commands.GetAzMiBlobContentCommand'
        $record.ToString() | Should -BeLike '*no-such-blob.txt*'
    }

    It 'refuses an existing destination without -Force and leaves it untouched' {
        $existing = Join-Path $Files 'existing.txt'
        Set-Content -LiteralPath $existing -Value 'keep me' -NoNewline
        $record = Get-ErrorOf { Get-AzMiBlobContent -Uri "$Account/tutorial/hello_world.txt" -Destination $existing }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.Conflict,AzMi.Commands.GetAzMiBlobContentCommand'
        $record.ToString() | Should -BeLike '*-Force*'
        Get-Content -Raw -LiteralPath $existing | Should -BeExactly 'keep me'

        $file = Get-AzMiBlobContent -Uri "$Account/tutorial/hello_world.txt" -Destination $existing -Force
        $file | Should -BeOfType [System.IO.FileInfo]
        Get-Content -Raw -LiteralPath $existing | Should -BeExactly 'Hello world! :)'
    }

    It 'refuses an unsplittable -Uri' {
        $record = Get-ErrorOf { Get-AzMiBlobContent -Uri "https://127.0.0.1:1/devstoreaccount1" }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
    }
}

Describe 'Set-AzMiBlobContent' {
    It 'uploads test.txt with a SAS and downloads the same bytes to test2.txt (the tutorial)' {
        $sas = New-Sas
        $sas | Should -Not -BeNullOrEmpty
        Set-Content -LiteralPath (Join-Path $Files 'test.txt') -Value "a line`nanother line" -NoNewline
        $blob = Set-AzMiBlobContent -File ./test.txt -StorageAccountName $Account -Container tutorial -Blob testblob -SasToken $sas
        $blob.Name | Should -BeExactly 'testblob'
        $blob.Container | Should -BeExactly 'tutorial'
        $blob.Length | Should -Be (Get-Item ./test.txt).Length
        $blob.Account | Should -BeExactly $Account
        $blob.PSObject.TypeNames[0] | Should -Be 'AzMi.StorageBlob'

        $file = Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob testblob -SasToken "?$sas" -Destination ./test2.txt
        $file | Should -BeOfType [System.IO.FileInfo]
        $file.FullName | Should -Be (Join-Path $Files 'test2.txt')
        (Get-FileHash ./test2.txt).Hash | Should -Be (Get-FileHash ./test.txt).Hash
    }

    It 'uploads each file piped from Get-ChildItem (FullName)' {
        $folder = Join-Path $Files 'many'
        $null = New-Item -ItemType Directory -Path $folder
        foreach ($n in 1..3) { Set-Content -LiteralPath (Join-Path $folder "f$n.txt") -Value "file $n" -NoNewline }
        $blobs = @(Get-ChildItem (Join-Path $folder '*.txt') | Set-AzMiBlobContent -StorageAccountName $Account -Container tutorial)
        @($blobs.Name | Sort-Object) -join ',' | Should -BeExactly 'f1.txt,f2.txt,f3.txt'
        foreach ($n in 1..3) {
            Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob "f$n.txt" | Should -BeExactly "file $n"
        }
    }

    It 'round-trips a 20 MB file (one Put Blob streamed from the file), with progress' {
        $big = New-TestFile -Name big.bin -Length 20000000 -Seed 7
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($ModulePath, $Account, $Big, $Copy)
                    $ProgressPreference = 'Continue'
                    Import-Module $ModulePath
                    Set-AzMiBlobContent -File $Big -Uri "$Account/tutorial/dir/big.bin" -ErrorAction Stop
                    Get-AzMiBlobContent -Uri "$Account/tutorial/dir/big.bin" -Destination $Copy -ErrorAction Stop
                }).AddArgument($ModulePath).AddArgument($Account).AddArgument($big).AddArgument((Join-Path $Files 'big-copy.bin'))
            $out = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $out[0].Name | Should -BeExactly 'dir/big.bin'
            $out[0].Length | Should -Be 20000000
            $progress = @($ps.Streams.Progress)
            @($progress | Where-Object { $_.Activity -like 'Uploading*' -and $_.PercentComplete -gt 0 -and $_.PercentComplete -lt 100 }).Count | Should -BeGreaterThan 0
            @($progress | Where-Object { $_.Activity -like 'Downloading*' }).Count | Should -BeGreaterThan 0
            @($progress | Where-Object RecordType -eq 'Completed').Count | Should -BeGreaterOrEqual 2
        }
        finally {
            $ps.Dispose()
        }
        (Get-FileHash (Join-Path $Files 'big-copy.bin')).Hash | Should -Be (Get-FileHash $big).Hash
    }

    It 'refuses to overwrite without -Force (AzMi.Conflict) and overwrites with it' {
        $one = Join-Path $Files 'one.txt'
        Set-Content -LiteralPath $one -Value 'first' -NoNewline
        $null = Set-AzMiBlobContent -File $one -StorageAccountName $Account -Container tutorial -Blob overwrite.txt
        Set-Content -LiteralPath $one -Value 'second' -NoNewline
        $record = Get-ErrorOf { Set-AzMiBlobContent -File $one -StorageAccountName $Account -Container tutorial -Blob overwrite.txt }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.Conflict,AzMi.Commands.SetAzMiBlobContentCommand'
        $record.ToString() | Should -BeLike '*-Force*'
        Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob overwrite.txt | Should -BeExactly 'first'

        $null = Set-AzMiBlobContent -File $one -StorageAccountName $Account -Container tutorial -Blob overwrite.txt -Force
        Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob overwrite.txt | Should -BeExactly 'second'
    }

    It 'uploads nothing with -WhatIf' {
        $whatIf = Join-Path $Files 'whatif.txt'
        Set-Content -LiteralPath $whatIf -Value 'no' -NoNewline
        $out = Set-AzMiBlobContent -File $whatIf -StorageAccountName $Account -Container tutorial -WhatIf
        $out | Should -BeNullOrEmpty
        $record = Get-ErrorOf { Get-AzMiBlobContent -StorageAccountName $Account -Container tutorial -Blob whatif.txt }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
    }

    It 'never shows the SAS in -Verbose, table or list output' {
        $sas = New-Sas
        $signature = ($sas -split '&' | Where-Object { $_ -like 'sig=*' }).Substring(4)
        $signature | Should -Not -BeNullOrEmpty
        $verbose = Set-AzMiBlobContent -File ./test.txt -Uri "$Account/tutorial/verbose.txt?$sas" -Verbose 4>&1 | Out-String
        $verbose | Should -BeLike '*with a SAS*'
        $blob = Set-AzMiBlobContent -File ./test.txt -StorageAccountName $Account -Container tutorial -Blob verbose2.txt -SasToken $sas -Verbose 4>&1
        $text = ($verbose + ($blob | Format-Table | Out-String) + ($blob | Format-List * | Out-String) + ($blob | Out-String))
        foreach ($shown in $signature, [Uri]::UnescapeDataString($signature), 'sig=') {
            $text.Contains($shown) | Should -BeFalse
        }
        $record = Get-ErrorOf { Get-AzMiBlobContent -Uri "$Account/tutorial/missing.txt?$sas" }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
        $record.ToString().Contains([Uri]::UnescapeDataString($signature)) | Should -BeFalse
        $record.ToString().Contains($signature) | Should -BeFalse
    }
}

Describe 'Blob cmdlets refuse what would go wrong' {
    BeforeAll {
        # A loopback endpoint that answers every request with a redirect to another host, as a
        # misconfigured or hostile endpoint would.
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $script:RedirectPort = $listener.LocalEndpoint.Port
        $script:Redirector = Start-ThreadJob -ArgumentList $listener -ScriptBlock {
            param($listener)
            $answer = [System.Text.Encoding]::ASCII.GetBytes(
                "HTTP/1.1 302 Found`r`nLocation: https://elsewhere.example/devstoreaccount1/ctr/x`r`nContent-Length: 0`r`nConnection: close`r`n`r`n")
            while ($true) {
                $client = $listener.AcceptTcpClient()
                try {
                    $stream = $client.GetStream()
                    $buffer = [byte[]]::new(65536)
                    $head = ''
                    while (-not $head.Contains("`r`n`r`n")) {
                        $n = $stream.Read($buffer, 0, $buffer.Length)
                        if ($n -le 0) { break }
                        $head += [System.Text.Encoding]::ASCII.GetString($buffer, 0, $n)
                    }
                    $stream.Write($answer, 0, $answer.Length)
                    $stream.Flush()
                } finally { $client.Close() }
            }
        }
        $script:RedirectListener = $listener
        $script:RedirectAccount = "http://127.0.0.1:$RedirectPort/devstoreaccount1"
    }

    AfterAll {
        $script:RedirectListener.Stop()
        $script:Redirector | Stop-Job -PassThru | Remove-Job -Force
    }

    It 'reports a redirect on upload as AzMi.ProtocolError and does not follow it' {
        $record = Get-ErrorOf {
            Set-AzMiBlobContent -File ./test.txt -StorageAccountName $RedirectAccount -Container ctr -Blob x -SasToken 'sv=2023-11-03&sig=c2VjcmV0' -Force
        }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.ProtocolError,AzMi.Commands.SetAzMiBlobContentCommand'
        $record.ToString() | Should -BeLike '*redirected*elsewhere.example*does not follow redirects*'
        $record.ToString() | Should -Not -BeLike '*c2VjcmV0*'
    }

    It 'reports a redirect on download as AzMi.ProtocolError and leaves the destination as it was' {
        $existing = Join-Path $Files 'redirected.txt'
        Set-Content -LiteralPath $existing -Value 'keep me' -NoNewline
        $record = Get-ErrorOf {
            Get-AzMiBlobContent -StorageAccountName $RedirectAccount -Container ctr -Blob x -SasToken 'sv=2023-11-03&sig=c2VjcmV0' -Destination $existing -Force
        }
        $record.FullyQualifiedErrorId | Should -Be 'AzMi.ProtocolError,AzMi.Commands.GetAzMiBlobContentCommand'
        Get-Content -Raw -LiteralPath $existing | Should -BeExactly 'keep me'
    }

    It 'refuses names that would leave the container before sending anything (<Container>/<Blob>)' -TestCases @(
        @{ Container = 'tutorial'; Blob = '../../x' }
        @{ Container = 'tutorial'; Blob = 'a/./b' }
        @{ Container = '..'; Blob = 'x' }
        @{ Container = 'Tutorial'; Blob = 'x' }
        @{ Container = 'ab'; Blob = 'x' }
    ) {
        param($Container, $Blob)
        $record = Get-ErrorOf { Set-AzMiBlobContent -File ./test.txt -StorageAccountName $RedirectAccount -Container $Container -Blob $Blob -SasToken 'sv=1&sig=x' -Force }
        $record.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
    }
}
