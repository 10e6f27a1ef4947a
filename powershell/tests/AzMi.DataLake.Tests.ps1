#Requires -Version 7.0
# Pester 5 tests of the AzMi Data Lake cmdlets (out/AzMi, from scripts/build-module.sh) against
# azmi-emulator's HTTPS services: Gen1 WebHDFS at https://127.0.0.1:<port>/webhdfs/v1 and Gen2
# DFS at https://127.0.0.1:<port>/fs. Run them with scripts/test-pester.sh.
#
# $env:AZMI_IMDS_ENDPOINT and $env:AZMI_CA_FILE are set here, inside pwsh: on Linux neither
# reaches the native environment, so every passing test also proves that the cmdlets forward
# PowerShell's environment (token endpoint and CA file) to azmi.
#
# The emulator runs with one ACL rule: the user-assigned identity azmi-uami may read but not
# write below /locked (docs/emulator.md, "Authorization").

BeforeDiscovery {
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $script:Generations = @(
        @{ Gen = 'Gen1' }
        @{ Gen = 'Gen2' }
    )
    $script:Cmdlets = @(
        'Get-AzMiDataLakeChildItem', 'Get-AzMiDataLakeItem', 'New-AzMiDataLakeItem', 'Add-AzMiDataLakeItemContent',
        'Get-AzMiDataLakeItemContent', 'Import-AzMiDataLakeItem', 'Export-AzMiDataLakeItem', 'Move-AzMiDataLakeItem',
        'Remove-AzMiDataLakeItem'
    ) | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }

    $script:AclFile = [System.IO.Path]::GetTempFileName()
    @{
        acl = @(
            @{ objectId = $Known.UserAssigned.ObjectId; pathPrefix = '/webhdfs/v1/locked'; read = $true; write = $false }
            @{ objectId = $Known.UserAssigned.ObjectId; pathPrefix = '/fs/locked'; read = $true; write = $false }
        )
    } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $AclFile

    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath -ArgumentList '--config', $AclFile
    $script:SavedEnvironment = @{
        AZMI_IMDS_ENDPOINT                = $env:AZMI_IMDS_ENDPOINT
        AZURE_POD_IDENTITY_AUTHORITY_HOST = $env:AZURE_POD_IDENTITY_AUTHORITY_HOST
        AZMI_CA_FILE                      = $env:AZMI_CA_FILE
    }
    $env:AZURE_POD_IDENTITY_AUTHORITY_HOST = $null
    $env:AZMI_IMDS_ENDPOINT = $Emulator.Endpoint
    $env:AZMI_CA_FILE = $Emulator.CaFile

    # -Account and -Protocol of each generation, splatted into every call.
    $script:Accounts = @{
        Gen1 = @{ Account = "$($Emulator.ServicesBase)/webhdfs/v1" }
        Gen2 = @{ Account = "$($Emulator.ServicesBase)/fs"; Protocol = 'Dfs' }
    }

    # A local 20 MiB file of random bytes, for Import/Export.
    $script:Local = Join-Path ([System.IO.Path]::GetTempPath()) "azmi-datalake-tests-$PID"
    $null = New-Item -ItemType Directory -Path $Local -Force
    $script:BigFile = Join-Path $Local 'big.bin'
    $bytes = [byte[]]::new(20MB)
    [Random]::new(20).NextBytes($bytes)
    [System.IO.File]::WriteAllBytes($BigFile, $bytes)
    $script:BigHash = (Get-FileHash -LiteralPath $BigFile -Algorithm SHA256).Hash

    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }
    Import-Module $ModulePath -Force -ErrorAction Stop

    function Stop-WithinSeconds {
        <# Stops the runspace's pipeline as Ctrl+C does; returns how long Stop() took. #>
        param($Run, [double] $Seconds)
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $stop = $Run.Shell.BeginStop($null, $null)
        $stopped = $stop.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Seconds))
        $watch.Stop()
        $stopped | Should -BeTrue -Because "Stop() took $($watch.Elapsed.TotalSeconds) s"
        $Run.Shell.EndStop($stop)
        $watch.Elapsed
    }

    function Wait-ServiceRequest {
        <# Waits until the services have received $Count requests since the last reset. #>
        param([int] $Count = 1)
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Get-ServiceRequestCount) -lt $Count -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        Start-Sleep -Milliseconds 300
    }
}

AfterAll {
    Remove-Module AzMi -ErrorAction SilentlyContinue
    Stop-AzMiEmulator $script:Emulator
    Remove-Item -LiteralPath $script:AclFile -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:Local -Recurse -Force -ErrorAction SilentlyContinue
    foreach ($name in $script:SavedEnvironment.Keys) {
        Set-Item -Path "env:$name" -Value $script:SavedEnvironment[$name]
    }
}

Describe 'Data Lake <Gen>: the tutorial' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
    }

    It 'lists the empty root without error' {
        $items = @(Get-AzMiDataLakeChildItem @A -Path / -ErrorVariable errors)

        $errors | Should -HaveCount 0
        $items.Name | Should -Not -Contain 'TestFolder'
    }

    It 'creates TestFolder with -Folder and returns it' {
        $folder = New-AzMiDataLakeItem @A -Path /TestFolder -Folder

        $folder | Should -BeOfType ([AzMi.DataLakeItem])
        $folder.Name | Should -BeExactly 'TestFolder'
        $folder.Path | Should -BeExactly '/TestFolder'
        $folder.Type | Should -Be ([AzMi.DataLakeItemType]::Directory)
        (Get-AzMiDataLakeChildItem @A -Path /).Name | Should -Contain 'TestFolder'
    }

    It 'creates TestFolder/Test1.txt holding "Test file." and lists it with Length 10' {
        $before = [DateTimeOffset]::UtcNow.AddMinutes(-1)

        $created = New-AzMiDataLakeItem @A -Path /TestFolder/Test1.txt -Value 'Test file.'
        $listed = @(Get-AzMiDataLakeChildItem @A -Path /TestFolder)

        $created.Length | Should -Be 10
        $listed | Should -HaveCount 1
        $listed[0].Name | Should -BeExactly 'Test1.txt'
        $listed[0].Path | Should -BeExactly '/TestFolder/Test1.txt'
        $listed[0].Type | Should -Be 'File'
        $listed[0].Length | Should -Be 10
        $listed[0].LastModified | Should -BeOfType ([DateTimeOffset])
        $listed[0].LastModified.Offset | Should -Be ([TimeSpan]::Zero)
        $listed[0].LastModified | Should -BeGreaterThan $before
        $listed[0].Owner | Should -Be $Known.SystemAssigned.ObjectId
        $listed[0].Permission | Should -Not -BeNullOrEmpty
    }

    It 'reads the text back' {
        Get-AzMiDataLakeItemContent @A -Path /TestFolder/Test1.txt | Should -BeExactly 'Test file.'
    }

    It 'appends with Add-AzMiDataLakeItemContent' {
        Add-AzMiDataLakeItemContent @A -Path /TestFolder/Test1.txt -Value ' more'

        Get-AzMiDataLakeItemContent @A -Path /TestFolder/Test1.txt | Should -BeExactly 'Test file. more'
        (Get-AzMiDataLakeItem @A -Path /TestFolder/Test1.txt).Length | Should -Be 15
    }

    It 'creates the file (and its folder) when Add-AzMiDataLakeItemContent finds none' {
        Add-AzMiDataLakeItemContent @A -Path /TestFolder/new/added.txt -Value 'first'

        Get-AzMiDataLakeItemContent @A -Path /TestFolder/new/added.txt | Should -BeExactly 'first'
    }

    It 'shows Type, Length, LastModified and Name in the table view' {
        $table = Get-AzMiDataLakeChildItem @A -Path /TestFolder | Format-Table | Out-String -Width 200

        $table | Should -Match 'Type\s+Length\s+LastModified\s+Name'
        $table | Should -Match 'File\s+15\s+.+\s+Test1\.txt'
        $table | Should -Match 'Directory\s+.+\s+new'
        $table | Should -Not -Match 'Owner'
    }

    It 'gets one item with every property' {
        $item = Get-AzMiDataLakeItem @A -Path /TestFolder/Test1.txt

        $item.Name | Should -BeExactly 'Test1.txt'
        $item.Type | Should -Be 'File'
        $item.Account | Should -BeExactly $A.Account
        $item.Protocol | Should -Be $(if ($Gen -eq 'Gen1') { 'WebHdfs' } else { 'Dfs' })
        "$item" | Should -BeExactly '/TestFolder/Test1.txt'
    }
}

Describe 'Data Lake <Gen>: creating never silently overwrites' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        $null = New-AzMiDataLakeItem @A -Path /overwrite/file.txt -Value 'original'
    }

    It 'refuses an existing file without -Force: AzMi.Conflict, naming the path, file unchanged' {
        $result = New-AzMiDataLakeItem @A -Path /overwrite/file.txt -Value 'replaced' -ErrorAction SilentlyContinue -ErrorVariable errors

        $result | Should -BeNullOrEmpty
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'AzMi.Conflict,AzMi.Commands.NewAzMiDataLakeItemCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        $errors[0].Exception.Status | Should -BeExactly 'Conflict'
        "$($errors[0])" | Should -BeLike '*/overwrite/file.txt*'
        "$($errors[0])" | Should -BeLike '*-Force*'
        $errors[0].TargetObject | Should -BeExactly '/overwrite/file.txt'
        Get-AzMiDataLakeItemContent @A -Path /overwrite/file.txt | Should -BeExactly 'original'
    }

    It 'replaces it with -Force' {
        $item = New-AzMiDataLakeItem @A -Path /overwrite/file.txt -Value 'replaced' -Force

        $item.Length | Should -Be 8
        Get-AzMiDataLakeItemContent @A -Path /overwrite/file.txt | Should -BeExactly 'replaced'
    }

    It 'throws with -ErrorAction Stop' {
        { New-AzMiDataLakeItem @A -Path /overwrite/file.txt -ErrorAction Stop } | Should -Throw -ErrorId 'AzMi.Conflict,*'
    }
}

Describe 'Data Lake <Gen>: -WhatIf changes nothing' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        $null = New-AzMiDataLakeItem @A -Path /whatif/keep.txt -Value 'keep'
        $script:Snapshot = { Get-AzMiDataLakeChildItem @A -Path /whatif -Recurse | ForEach-Object { "$($_.Path)|$($_.Length)" } | Sort-Object }
        $script:Before = & $Snapshot
    }

    It '<Command> -WhatIf' -ForEach @(
        @{ Command = 'New-AzMiDataLakeItem'; Parameters = @{ Path = '/whatif/new.txt'; Value = 'x' } }
        @{ Command = 'New-AzMiDataLakeItem'; Parameters = @{ Path = '/whatif/keep.txt'; Value = 'changed'; Force = $true } }
        @{ Command = 'New-AzMiDataLakeItem'; Parameters = @{ Path = '/whatif/folder'; Folder = $true } }
        @{ Command = 'Add-AzMiDataLakeItemContent'; Parameters = @{ Path = '/whatif/keep.txt'; Value = 'more' } }
        @{ Command = 'Move-AzMiDataLakeItem'; Parameters = @{ Path = '/whatif/keep.txt'; Destination = '/whatif/moved.txt' } }
        @{ Command = 'Remove-AzMiDataLakeItem'; Parameters = @{ Path = '/whatif'; Recurse = $true } }
        @{ Command = 'Remove-AzMiDataLakeItem'; Parameters = @{ Path = '/whatif/keep.txt'; Force = $true } }
        @{ Command = 'Import-AzMiDataLakeItem'; Parameters = { @{ Path = $BigFile; Destination = '/whatif/big.bin' } } }
    ) {
        # A script block where the values exist only when the tests run (not at discovery).
        $parameters = if ($Parameters -is [scriptblock]) { & $Parameters } else { $Parameters }

        $output = & $Command @A @parameters -WhatIf

        $output | Should -BeNullOrEmpty
        & $Snapshot | Should -Be $Before
        Get-AzMiDataLakeItemContent @A -Path /whatif/keep.txt | Should -BeExactly 'keep'
    }

    It 'Export-AzMiDataLakeItem -WhatIf writes no local file' {
        $target = Join-Path $Local "whatif-$Gen.txt"

        Export-AzMiDataLakeItem @A -Path /whatif/keep.txt -Destination $target -WhatIf

        Test-Path -LiteralPath $target | Should -BeFalse
    }
}

Describe 'Data Lake <Gen>: errors' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
    }

    It '<Command> of a missing path is AzMi.NotFound naming the path' -ForEach @(
        @{ Command = 'Get-AzMiDataLakeItem'; Parameters = @{ Path = '/missing/file.txt' } }
        @{ Command = 'Get-AzMiDataLakeChildItem'; Parameters = @{ Path = '/missing/file.txt' } }
        @{ Command = 'Get-AzMiDataLakeItemContent'; Parameters = @{ Path = '/missing/file.txt' } }
        @{ Command = 'Move-AzMiDataLakeItem'; Parameters = @{ Path = '/missing/file.txt'; Destination = '/elsewhere.txt' } }
        @{ Command = 'Remove-AzMiDataLakeItem'; Parameters = @{ Path = '/missing/file.txt'; Force = $true } }
        @{ Command = 'Export-AzMiDataLakeItem'; Parameters = { @{ Path = '/missing/file.txt'; Destination = (Join-Path $Local 'never.bin') } } }
    ) {
        $parameters = if ($Parameters -is [scriptblock]) { & $Parameters } else { $Parameters }

        & $Command @A @parameters -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errors[0].Exception.Message | Should -BeLike '*/missing/file.txt*'
        $errors[0].Exception.Message | Should -BeLike "*$(([Uri]$A.Account).Authority)*" -Because 'the message names the account'
        $errors[0].Exception.HttpStatus | Should -Be 404
        $errors[0].TargetObject | Should -BeExactly '/missing/file.txt'
    }

    It 'goes on with the next path after a non-terminating error' {
        $null = New-AzMiDataLakeItem @A -Path /errors/there.txt -Value 'x'

        $items = Get-AzMiDataLakeItem @A -Path /errors/missing.txt, /errors/there.txt -ErrorAction SilentlyContinue -ErrorVariable errors

        @($items).Path | Should -Be '/errors/there.txt'
        $errors | Should -HaveCount 1
    }

    It 'refuses a path with a .. segment as a terminating AzMi.InvalidArgument' {
        { Get-AzMiDataLakeItem @A -Path '/a/../b' -ErrorAction SilentlyContinue } | Should -Throw -ErrorId 'AzMi.InvalidArgument,*'
    }

    It 'reads no directory as text: AzMi.NotAFile' {
        $null = New-AzMiDataLakeItem @A -Path /errors/dir -Folder

        Get-AzMiDataLakeItemContent @A -Path /errors/dir -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.NotAFile,*'
        "$($errors[0])" | Should -BeLike '*/errors/dir*directory*'
    }

    It 'reports a token the service rejects (HTTP 401) as AzMi.AuthenticationFailed' {
        Set-EmulatorServiceFault @{ status = 401; count = 5 }
        try {
            Get-AzMiDataLakeItem @A -Path / -ErrorAction SilentlyContinue -ErrorVariable errors
        }
        finally { Reset-Emulator }

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.AuthenticationFailed,*'
        $errors[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        $errors[0].Exception.HttpStatus | Should -Be 401
    }

    It 'never removes the root: a terminating AzMi.InvalidArgument' {
        { Remove-AzMiDataLakeItem @A -Path / -Recurse -Force -ErrorAction SilentlyContinue } | Should -Throw -ErrorId 'AzMi.InvalidArgument,*'
    }

    It 'refuses to remove a non-empty directory without -Recurse: AzMi.Conflict' {
        $null = New-AzMiDataLakeItem @A -Path /errors/full/file.txt -Value 'x'

        Remove-AzMiDataLakeItem @A -Path /errors/full -Force -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.Conflict,*'
        (Get-AzMiDataLakeItem @A -Path /errors/full/file.txt).Length | Should -Be 1
    }
}

Describe 'Data Lake <Gen>: names with special characters' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
    }

    It 'creates, lists and reads <Name>' -ForEach @(
        @{ Name = 'with space.txt' }
        @{ Name = 'hash#tag.txt' }
        @{ Name = 'percent%20not-a-space.txt' }
        @{ Name = 'plus+sign.txt' }
        @{ Name = 'ünïcødé-日本語.txt' }
        @{ Name = 'query?a=1&b=2;c.txt' }
    ) {
        $path = "/special/$Name"

        $created = New-AzMiDataLakeItem @A -Path $path -Value $Name
        $listed = Get-AzMiDataLakeChildItem @A -Path /special | Where-Object Name -CEQ $Name

        $created.Name | Should -BeExactly $Name
        $created.Path | Should -BeExactly $path
        $listed.Path | Should -BeExactly $path
        $listed.Length | Should -Be ([System.Text.Encoding]::UTF8.GetByteCount($Name))
        Get-AzMiDataLakeItemContent @A -Path $path | Should -BeExactly $Name
    }

    It 'keeps a folder name with a space and non-ASCII characters through Move' {
        $null = New-AzMiDataLakeItem @A -Path '/special/dossier été/a.txt' -Value 'a'

        Move-AzMiDataLakeItem @A -Path '/special/dossier été' -Destination '/special/folder #2 + 50%'

        (Get-AzMiDataLakeChildItem @A -Path '/special/folder #2 + 50%').Path | Should -BeExactly '/special/folder #2 + 50%/a.txt'
    }
}

Describe 'Data Lake <Gen>: content' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
    }

    It 'writes and reads bytes (-Value byte[], -AsByteStream)' {
        [byte[]] $bytes = 0, 1, 2, 127, 128, 254, 255

        $null = New-AzMiDataLakeItem @A -Path /content/bytes.bin -Value $bytes
        $read = Get-AzMiDataLakeItemContent @A -Path /content/bytes.bin -AsByteStream

        $read | Should -BeOfType ([byte])
        , $read | Should -BeOfType ([byte[]])
        $read | Should -Be $bytes
    }

    It 'reads a part with -Offset and -Length' {
        $null = New-AzMiDataLakeItem @A -Path /content/digits.txt -Value '0123456789'

        Get-AzMiDataLakeItemContent @A -Path /content/digits.txt -Offset 3 -Length 4 | Should -BeExactly '3456'
        Get-AzMiDataLakeItemContent @A -Path /content/digits.txt -Offset 8 | Should -BeExactly '89'
    }

    # azmi.h: "reading at or past the end gives 0 bytes, on both protocols" (WebHDFS itself
    # answers 400 past the end; azmi hides that difference).
    It 'reads nothing (no error) at or past the end' {
        $null = New-AzMiDataLakeItem @A -Path /content/end.txt -Value '0123456789' -Force

        Get-AzMiDataLakeItemContent @A -Path /content/end.txt -Offset 10 -ErrorVariable atEnd | Should -BeExactly ''
        Get-AzMiDataLakeItemContent @A -Path /content/end.txt -Offset 20 -ErrorVariable pastEnd | Should -BeExactly ''
        $atEnd | Should -HaveCount 0
        $pastEnd | Should -HaveCount 0
    }

    It 'writes UTF-8 without BOM by default, and -Encoding <Encoding> with its byte order mark' -ForEach @(
        @{ Encoding = 'unicode'; Bom = [byte[]](0xFF, 0xFE) }
        @{ Encoding = 'utf8BOM'; Bom = [byte[]](0xEF, 0xBB, 0xBF) }
        @{ Encoding = 'bigendianunicode'; Bom = [byte[]](0xFE, 0xFF) }
    ) {
        $text = 'Grüße, 世界'

        $null = New-AzMiDataLakeItem @A -Path /content/default.txt -Value $text -Force
        $null = New-AzMiDataLakeItem @A -Path "/content/$Encoding.txt" -Value $text -Encoding $Encoding -Force
        $defaultBytes = Get-AzMiDataLakeItemContent @A -Path /content/default.txt -AsByteStream
        $encodedBytes = Get-AzMiDataLakeItemContent @A -Path "/content/$Encoding.txt" -AsByteStream

        $defaultBytes | Should -Be ([System.Text.Encoding]::UTF8.GetBytes($text))
        $encodedBytes[0..($Bom.Length - 1)] | Should -Be $Bom
        Get-AzMiDataLakeItemContent @A -Path "/content/$Encoding.txt" | Should -BeExactly $text -Because 'the byte order mark tells the encoding'
        Get-AzMiDataLakeItemContent @A -Path "/content/$Encoding.txt" -Encoding $Encoding | Should -BeExactly $text
    }

    It 'rejects an unknown -Encoding at binding' {
        { New-AzMiDataLakeItem @A -Path /content/x.txt -Value 'x' -Encoding 'no-such-encoding' } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,*'
    }

    It 'refuses a file over 64 MiB without -Length, suggesting Export-AzMiDataLakeItem; reads a part with -Length' {
        $large = Join-Path $Local "large-$Gen.bin"
        $stream = [System.IO.File]::Create($large)
        try { $stream.SetLength(64MB + 1) } finally { $stream.Dispose() }
        $null = Import-AzMiDataLakeItem @A -Path $large -Destination /content/large.bin
        Remove-Item -LiteralPath $large

        $text = Get-AzMiDataLakeItemContent @A -Path /content/large.bin -ErrorAction SilentlyContinue -ErrorVariable errors
        $part = Get-AzMiDataLakeItemContent @A -Path /content/large.bin -Offset 64MB -Length 16 -AsByteStream
        Remove-AzMiDataLakeItem @A -Path /content/large.bin -Force

        $text | Should -BeNullOrEmpty
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.FileTooLarge,*'
        "$($errors[0])" | Should -BeLike '*/content/large.bin*Export-AzMiDataLakeItem*-Length*'
        $part | Should -HaveCount 1
        $part[0] | Should -Be 0
    }
}

Describe 'Data Lake <Gen>: Import and Export' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        Reset-Emulator
    }
    AfterEach { Reset-Emulator }

    It 'uploads 20 MiB with progress and returns the new item' {
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account, $File)
            Import-AzMiDataLakeItem @Account -Path $File -Destination /transfer/big.bin
        } -Arguments $A, $BigFile
        try {
            $item = $run.Shell.EndInvoke($run.Invocation)
            $progress = @($run.Shell.Streams.Progress)
            $run.Shell.Streams.Error | Should -HaveCount 0
        }
        finally { $run.Shell.Dispose() }

        $item.Path | Should -BeExactly '/transfer/big.bin'
        $item.Length | Should -Be 20MB
        $progress.Count | Should -BeGreaterOrEqual 2
        $progress | ForEach-Object { $_.Activity | Should -BeLike "Uploading*big.bin" }
        $processing = @($progress | Where-Object RecordType -EQ 'Processing')
        $processing | Should -Not -BeNullOrEmpty
        $processing[-1].PercentComplete | Should -Be 100
        $processing[-1].StatusDescription | Should -BeExactly '20.0 MB of 20.0 MB'
        $progress[-1].RecordType | Should -Be 'Completed'
    }

    It 'downloads it byte-identical with progress, returning the local file' {
        $target = Join-Path $Local "copy-$Gen.bin"
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account, $Target)
            Export-AzMiDataLakeItem @Account -Path /transfer/big.bin -Destination $Target
        } -Arguments $A, $target
        try {
            $file = $run.Shell.EndInvoke($run.Invocation)
            $progress = @($run.Shell.Streams.Progress)
            $run.Shell.Streams.Error | Should -HaveCount 0
        }
        finally { $run.Shell.Dispose() }

        $file.FullName | Should -BeExactly $target
        (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash | Should -BeExactly $BigHash
        $progress | Where-Object { $_.RecordType -eq 'Processing' -and $_.PercentComplete -eq 100 } | Should -Not -BeNullOrEmpty
        $progress[-1].RecordType | Should -Be 'Completed'
        $progress[-1].Activity | Should -BeLike 'Downloading*/transfer/big.bin'
    }

    It 'refuses to download onto an existing file without -Force, leaving it intact' {
        $target = Join-Path $Local "existing-$Gen.txt"
        Set-Content -LiteralPath $target -Value 'precious' -NoNewline

        Export-AzMiDataLakeItem @A -Path /transfer/big.bin -Destination $target -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.Conflict,*'
        "$($errors[0])" | Should -BeLike "*$target*-Force*"
        Get-Content -LiteralPath $target -Raw | Should -BeExactly 'precious'
    }

    It 'replaces an existing file with -Force' {
        $target = Join-Path $Local "existing-$Gen.txt"

        $null = Export-AzMiDataLakeItem @A -Path /transfer/big.bin -Destination $target -Force

        (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash | Should -BeExactly $BigHash
    }

    It 'downloads into an existing folder under the remote name' {
        $folder = Join-Path $Local "into-$Gen"
        $null = New-Item -ItemType Directory -Path $folder

        $file = Export-AzMiDataLakeItem @A -Path /transfer/big.bin -Destination $folder

        $file.FullName | Should -BeExactly (Join-Path $folder 'big.bin')
        $file.Length | Should -Be 20MB
    }

    It 'leaves an existing file intact when a download fails (-Force, the service answers 403)' {
        $target = Join-Path $Local "intact-$Gen.txt"
        Set-Content -LiteralPath $target -Value 'precious' -NoNewline
        $before = @(Get-ChildItem -LiteralPath $Local -Force).Name
        # The first request (the properties) passes; the transfer's requests are refused.
        Set-EmulatorServiceFault @{ delay_ms = 1; count = 1 } @{ status = 403; count = 10 }

        Export-AzMiDataLakeItem @A -Path /transfer/big.bin -Destination $target -Force -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        Get-Content -LiteralPath $target -Raw | Should -BeExactly 'precious'
        @(Get-ChildItem -LiteralPath $Local -Force).Name | Should -Be $before -Because 'no temporary file is left behind'
    }

    It 'reports a failed upload as an error saying how many bytes were sent' {
        # Two requests pass, then the service refuses what follows: Gen1's CREATE with the first
        # 4 MiB goes, an APPEND is refused; Gen2's create and its one append streamed from the
        # file go, the flush that would commit them is refused.
        Set-EmulatorServiceFault @{ delay_ms = 1; count = 2 } @{ status = 403; count = 10 }

        $item = Import-AzMiDataLakeItem @A -Path $BigFile -Destination /transfer/failed.bin -ErrorAction SilentlyContinue -ErrorVariable errors

        $item | Should -BeNullOrEmpty
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        "$($errors[0])" | Should -Match "after [1-9][0-9]* of $(20MB) bytes"
        "$($errors[0])" | Should -BeLike '*/transfer/failed.bin*'
    }

    It 'refuses to upload onto an existing file without -Force (AzMi.Conflict), and replaces it with -Force' {
        $small = Join-Path $Local "small-$Gen.txt"
        Set-Content -LiteralPath $small -Value 'small' -NoNewline

        Import-AzMiDataLakeItem @A -Path $small -Destination /transfer/big.bin -ErrorAction SilentlyContinue -ErrorVariable errors
        $lengthAfterRefusal = (Get-AzMiDataLakeItem @A -Path /transfer/big.bin).Length
        $replaced = Import-AzMiDataLakeItem @A -Path $small -Destination /transfer/big.bin -Force

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.Conflict,*'
        $lengthAfterRefusal | Should -Be 20MB
        $replaced.Length | Should -Be 5
    }

    It 'uploads piped files into a folder given with a trailing /, resolving PowerShell paths' {
        $folder = Join-Path $Local "pipe-$Gen"
        $null = New-Item -ItemType Directory -Path $folder
        'a', 'b', 'c' | ForEach-Object { Set-Content -LiteralPath (Join-Path $folder "$_.txt") -Value $_ -NoNewline }

        Push-Location $folder
        try {
            $relative = Import-AzMiDataLakeItem @A -Path ./a.txt -Destination /piped/relative.txt
            $items = Get-ChildItem -LiteralPath $folder -Filter *.txt | Import-AzMiDataLakeItem @A -Destination /piped/
        }
        finally { Pop-Location }

        $relative.Length | Should -Be 1
        @($items).Path | Sort-Object | Should -Be '/piped/a.txt', '/piped/b.txt', '/piped/c.txt'
    }

    It 'refuses a local folder as -Path' {
        Import-AzMiDataLakeItem @A -Path $Local -Destination /transfer/folder -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.NotAFile,*'
    }

    It 'reports a missing local file as AzMi.IoError naming it' {
        $missing = Join-Path $Local 'missing.bin'

        Import-AzMiDataLakeItem @A -Path $missing -Destination /transfer/missing.bin -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.IoError,*'
        "$($errors[0])" | Should -BeLike "*$missing*"
    }
}

Describe 'Data Lake <Gen>: Move and Remove' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
    }

    It 'moves a folder with its files (-PassThru returns the item at its new path)' {
        $null = New-AzMiDataLakeItem @A -Path /move/src/one.txt -Value '1'
        $null = New-AzMiDataLakeItem @A -Path /move/src/sub/two.txt -Value '22'

        $moved = Move-AzMiDataLakeItem @A -Path /move/src -Destination /move/dst -PassThru

        $moved.Path | Should -BeExactly '/move/dst'
        $moved.Type | Should -Be 'Directory'
        Get-AzMiDataLakeItemContent @A -Path /move/dst/sub/two.txt | Should -BeExactly '22'
        Get-AzMiDataLakeItem @A -Path /move/src -ErrorAction SilentlyContinue -ErrorVariable errors
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.NotFound,*'
    }

    It 'renames a file and returns nothing without -PassThru' {
        $null = New-AzMiDataLakeItem @A -Path /move/file.txt -Value 'f'

        $output = Move-AzMiDataLakeItem @A -Path /move/file.txt -Destination /move/renamed.txt

        $output | Should -BeNullOrEmpty
        Get-AzMiDataLakeItemContent @A -Path /move/renamed.txt | Should -BeExactly 'f'
    }

    It 'removes a file (-Force: no prompt, even at ConfirmImpact High)' {
        $null = New-AzMiDataLakeItem @A -Path /remove/file.txt -Value 'x'

        Remove-AzMiDataLakeItem @A -Path /remove/file.txt -Force

        @(Get-AzMiDataLakeChildItem @A -Path /remove) | Should -HaveCount 0
    }

    It 'removes a tree with -Recurse -Confirm:$false' {
        1..3 | ForEach-Object { $null = New-AzMiDataLakeItem @A -Path "/remove/tree/d$_/f.txt" -Value "$_" }

        Remove-AzMiDataLakeItem @A -Path /remove/tree -Recurse -Confirm:$false

        (Get-AzMiDataLakeChildItem @A -Path /remove).Name | Should -Not -Contain 'tree'
    }

    It 'removes items piped from Get-AzMiDataLakeChildItem (Account, Protocol and Path bind by property name)' {
        1..3 | ForEach-Object { $null = New-AzMiDataLakeItem @A -Path "/remove/piped/f$_.txt" -Value "$_" }
        $null = New-AzMiDataLakeItem @A -Path /remove/piped/keep.log -Value 'k'

        Get-AzMiDataLakeChildItem @A -Path /remove/piped | Where-Object Name -Like '*.txt' | Remove-AzMiDataLakeItem -Force

        (Get-AzMiDataLakeChildItem @A -Path /remove/piped).Name | Should -Be 'keep.log'
    }

    It 'declares ConfirmImpact High' {
        $attribute = [AzMi.Commands.RemoveAzMiDataLakeItemCommand].GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]

        $attribute.ConfirmImpact | Should -Be 'High'
        $attribute.SupportsShouldProcess | Should -BeTrue
    }
}

Describe 'Data Lake <Gen>: listing' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        1..50 | ForEach-Object { $null = New-AzMiDataLakeItem @A -Path ('/list/f{0:d2}.txt' -f $_) -Value "$_" }
        $null = New-AzMiDataLakeItem @A -Path /list/sub/deep.txt -Value 'deep'
    }

    It 'lists a folder of 51 items' {
        $items = @(Get-AzMiDataLakeChildItem @A -Path /list)

        $items | Should -HaveCount 51
        $names = @($items.Name | Sort-Object)
        $names[0] | Should -BeExactly 'f01.txt'
        $names[49] | Should -BeExactly 'f50.txt'
        @($items | Where-Object Type -EQ 'Directory').Name | Should -Be 'sub'
    }

    It 'lists everything below with -Recurse, and filters with -File and -Directory' {
        @(Get-AzMiDataLakeChildItem @A -Path /list -Recurse) | Should -HaveCount 52
        @(Get-AzMiDataLakeChildItem @A -Path /list -Recurse -File) | Should -HaveCount 51
        @(Get-AzMiDataLakeChildItem @A -Path /list -Directory).Path | Should -Be '/list/sub'
    }

    It 'stops cleanly when Select-Object -First 2 has enough' {
        $errorsBefore = $Error.Count

        $first = @(Get-AzMiDataLakeChildItem @A -Path /list -ErrorVariable errors | Select-Object -First 2)

        $first | Should -HaveCount 2
        $first | ForEach-Object { $_ | Should -BeOfType ([AzMi.DataLakeItem]) }
        $errors | Should -HaveCount 0
        $Error.Count | Should -Be $errorsBefore -Because 'stopping the listing early is not an error'
    }

    It 'hands items downstream as they arrive: Select-Object -First 1 of a recursive listing does not wait for the rest' {
        Reset-Emulator
        # The first request answers at once; any later one would take 30 s.
        Set-EmulatorServiceFault @{ delay_ms = 1; count = 1 } @{ delay_ms = 30000; count = 50 }
        try {
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $first = @(Get-AzMiDataLakeChildItem @A -Path /list -Recurse | Select-Object -First 1)
            $watch.Stop()
        }
        finally { Reset-Emulator }

        $first | Should -HaveCount 1
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
    }

    It 'lists a file as itself' {
        @(Get-AzMiDataLakeChildItem @A -Path /list/f01.txt).Path | Should -Be '/list/f01.txt'
    }

    It 'takes the account and path positionally' {
        @(Get-AzMiDataLakeChildItem $A.Account /list/sub -Protocol $(if ($A.Protocol) { $A.Protocol } else { 'Auto' })).Name | Should -Be 'deep.txt'
    }
}

Describe 'Data Lake <Gen>: listing across pages' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        # More entries than one page of the emulator's listing holds (Gen1 listSize 4000 by
        # default, Gen2 maxResults at most 5000: docs/emulator.md), so that azmi must follow the
        # continuation; azmi.h sets no page size of its own.
        $script:Count = 5001
        1..$Count | ForEach-Object { $null = New-AzMiDataLakeItem @A -Path ('/pages/f{0:d4}' -f $_) }
    }

    It 'lists 5001 entries, each exactly once' {
        $names = @(Get-AzMiDataLakeChildItem @A -Path /pages | ForEach-Object Name)

        $names | Should -HaveCount $Count
        @($names | Sort-Object -Unique) | Should -HaveCount $Count -Because 'no entry may repeat at a page boundary'
        ($names | Sort-Object)[-1] | Should -BeExactly ('f{0:d4}' -f $Count)
    }

    It 'stops cleanly in the second page (Select-Object -First 4500)' {
        $errorsBefore = $Error.Count

        $first = @(Get-AzMiDataLakeChildItem @A -Path /pages | Select-Object -First 4500)

        $first | Should -HaveCount 4500
        $Error.Count | Should -Be $errorsBefore
    }

    AfterAll {
        Remove-AzMiDataLakeItem @A -Path /pages -Recurse -Force
    }
}

Describe 'Data Lake <Gen>: identity and authorization' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        $null = New-AzMiDataLakeItem @A -Path /locked/readable.txt -Value 'readable'
    }

    It 'uses the identity chosen by -<Parameter> (it owns what it creates)' -ForEach @(
        @{ Parameter = 'ClientId'; Value = $Known.UserAssigned.ClientId }
        @{ Parameter = 'ObjectId'; Value = $Known.UserAssigned.ObjectId }
        @{ Parameter = 'ResourceId'; Value = $Known.UserAssigned.ResourceId }
    ) {
        $identity = @{ $Parameter = $Value }

        $item = New-AzMiDataLakeItem @A @identity -Path "/identity/by-$Parameter.txt" -Value 'x'

        $item.Owner | Should -Be $Known.UserAssigned.ObjectId
    }

    It 'reports a write the ACL denies as AzMi.PermissionDenied (HTTP 403), naming the path' {
        New-AzMiDataLakeItem @A -ClientId $Known.UserAssigned.ClientId -Path /locked/new.txt -Value 'x' -ErrorAction SilentlyContinue -ErrorVariable errors

        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.PermissionDenied,*'
        $errors[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $errors[0].Exception.HttpStatus | Should -Be 403
        "$($errors[0])" | Should -BeLike '*/locked/new.txt*'
    }

    It 'lets the same identity read there' {
        Get-AzMiDataLakeItemContent @A -ClientId $Known.UserAssigned.ClientId -Path /locked/readable.txt | Should -BeExactly 'readable'
    }

    It 'rejects two identity ids as a terminating AzMi.InvalidArgument' {
        { Get-AzMiDataLakeChildItem @A -ClientId $Known.UserAssigned.ClientId -ObjectId $Known.UserAssigned.ObjectId -ErrorAction SilentlyContinue } |
            Should -Throw -ErrorId 'AzMi.InvalidArgument,*'
    }

    It 'names the token endpoint, the identity and the account with -Verbose' {
        $verbose = (Get-AzMiDataLakeItem @A -Path /locked/readable.txt -ClientId $Known.UserAssigned.ClientId -Verbose 4>&1 |
                Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"

        $verbose | Should -BeLike "*$($Emulator.Endpoint)*"
        $verbose | Should -BeLike "*$($Known.UserAssigned.ClientId)*"
        $verbose | Should -BeLike "*$($A.Account)*"
    }
}

Describe 'Data Lake <Gen>: Ctrl+C' -ForEach $Generations {
    BeforeAll {
        $script:A = $Accounts[$Gen]
        # Tokens cached now, so that the slow part below is the service alone.
        $null = Get-AzMiDataLakeChildItem @A -Path /
        Reset-Emulator
    }
    AfterEach { Reset-Emulator }

    It 'stops a slow upload within 3 s' {
        Set-EmulatorServiceFault @{ delay_ms = 30000; count = 50 }
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account, $File)
            Import-AzMiDataLakeItem @Account -Path $File -Destination /ctrlc/slow.bin
        } -Arguments $A, $BigFile
        try {
            Wait-ServiceRequest
            $run.Invocation.IsCompleted | Should -BeFalse -Because 'the service delays every answer by 30 s'

            $elapsed = Stop-WithinSeconds $run 3

            $elapsed.TotalSeconds | Should -BeLessThan 3
            $run.Shell.InvocationStateInfo.State | Should -Be 'Stopped'
            $run.Shell.Streams.Error | Should -HaveCount 0 -Because 'a stop is not an error'
        }
        finally { $run.Shell.Dispose() }
    }

    It 'stops a slow download within 3 s and leaves the existing file intact' {
        $target = Join-Path $Local "ctrlc-$Gen.txt"
        Set-Content -LiteralPath $target -Value 'precious' -NoNewline
        $null = New-AzMiDataLakeItem @A -Path /ctrlc/source.txt -Value 'new content' -Force
        $before = @(Get-ChildItem -LiteralPath $Local -Force).Name
        Set-EmulatorServiceFault @{ delay_ms = 1; count = 1 } @{ delay_ms = 30000; count = 50 }
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account, $Target)
            Export-AzMiDataLakeItem @Account -Path /ctrlc/source.txt -Destination $Target -Force
        } -Arguments $A, $target
        try {
            Wait-ServiceRequest -Count 2
            $run.Invocation.IsCompleted | Should -BeFalse

            $elapsed = Stop-WithinSeconds $run 3

            $elapsed.TotalSeconds | Should -BeLessThan 3
            $run.Shell.Streams.Error | Should -HaveCount 0
        }
        finally { $run.Shell.Dispose() }
        Get-Content -LiteralPath $target -Raw | Should -BeExactly 'precious'
        @(Get-ChildItem -LiteralPath $Local -Force).Name | Should -Be $before -Because 'no temporary file is left behind'
    }

    It 'stops a slow listing within 3 s' {
        Set-EmulatorServiceFault @{ delay_ms = 30000; count = 50 }
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account)
            Get-AzMiDataLakeChildItem @Account -Path / -Recurse
        } -Arguments $A
        try {
            Wait-ServiceRequest

            $elapsed = Stop-WithinSeconds $run 3

            $elapsed.TotalSeconds | Should -BeLessThan 3
            $run.Shell.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $run.Shell.Dispose() }
    }
}

Describe 'Data Lake HTTPS trust follows $env:AZMI_CA_FILE' {
    AfterEach { $env:AZMI_CA_FILE = $Emulator.CaFile }

    It 'fails to connect once the variable is removed, and works again when it is back' {
        $gen2 = $Accounts.Gen2
        $env:AZMI_CA_FILE = $null
        Get-AzMiDataLakeChildItem @gen2 -Path / -ErrorAction SilentlyContinue -ErrorVariable errors
        $env:AZMI_CA_FILE = $Emulator.CaFile
        $again = Get-AzMiDataLakeChildItem @gen2 -Path / -ErrorVariable errorsAgain

        $errors | Should -HaveCount 1
        # An untrusted certificate: azmi sends no token there, and its message names AZMI_CA_FILE.
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'AzMi.InsecureRequest,*'
        $errors[0].Exception.Message | Should -BeLike '*AZMI_CA_FILE*'
        $errorsAgain | Should -HaveCount 0
        $again | Should -Not -BeNullOrEmpty
    }

    It 'reports an unusable CA file as a terminating AzMi.InvalidArgument naming it' {
        $bad = Join-Path $Local 'not-a-ca.pem'
        Set-Content -LiteralPath $bad -Value 'not a certificate'
        $env:AZMI_CA_FILE = $bad

        $gen1 = $Accounts.Gen1
        $thrown = { Get-AzMiDataLakeChildItem @gen1 -Path / } | Should -Throw -PassThru

        $thrown.FullyQualifiedErrorId | Should -BeLike 'AzMi.InvalidArgument,*'
        $thrown.Exception.Message | Should -BeLike "*$bad*"
    }
}

Describe 'Data Lake cmdlets in the module' {
    It '<Name> has -Account, -Protocol, -ClientId, -ObjectId and -ResourceId' -ForEach $Cmdlets {
        $parameters = (Get-Command $Name).Parameters

        foreach ($parameter in 'Account', 'Protocol', 'ClientId', 'ObjectId', 'ResourceId') {
            $parameters.ContainsKey($parameter) | Should -BeTrue -Because "$Name needs -$parameter"
        }
        $parameters.Protocol.ParameterType | Should -Be ([AzMi.DataLakeProtocol])
        [enum]::GetNames([AzMi.DataLakeProtocol]) | Should -Be 'Auto', 'WebHdfs', 'Dfs'
    }

    It '<Name> supports -WhatIf when it writes or removes' -ForEach $Cmdlets {
        $writes = $Name -notlike 'Get-*'

        (Get-Command $Name).Parameters.ContainsKey('WhatIf') | Should -Be $writes
        (Get-Command $Name).Parameters.ContainsKey('Confirm') | Should -Be $writes
    }

    It '<Name> has help: synopsis, description, 2+ examples, every parameter described' -ForEach $Cmdlets {
        $help = Get-Help $Name -Full

        $help.Synopsis | Should -Not -BeLike "*$Name*[[]*" -Because 'a synopsis, not the generated syntax line'
        ($help.description.Text -join ' ') | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($parameter in (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }) {
            ((Get-Help $Name -Parameter $parameter).description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$parameter of $Name needs help"
        }
    }

    It 'documents the tutorial flow in the examples' {
        $code = (@('Get-AzMiDataLakeChildItem', 'New-AzMiDataLakeItem', 'Get-AzMiDataLakeItemContent') |
                ForEach-Object { (Get-Help $_ -Examples).examples.example.code }) -join "`n"

        $code | Should -BeLike '*-Path /TestFolder -Folder*'
        $code | Should -BeLike '*-Path /TestFolder/Test1.txt -Value "Test file."*'
    }

    It 'declares AzMi.DataLakeItem as the output type of <Name>' -ForEach @(
        @{ Name = 'Get-AzMiDataLakeChildItem' }, @{ Name = 'Get-AzMiDataLakeItem' }, @{ Name = 'New-AzMiDataLakeItem' },
        @{ Name = 'Import-AzMiDataLakeItem' }, @{ Name = 'Move-AzMiDataLakeItem' }
    ) {
        (Get-Command $Name).OutputType.Name | Should -Contain 'AzMi.DataLakeItem'
    }
}
