#Requires -Version 7.0
# Pester 5 tests: Ctrl+C (PowerShell.Stop, which calls StopProcessing) ends a pending call of the
# Key Vault, Resource Manager, SAS and Blob cmdlets at once, the pipeline reports that it was
# stopped (not an error), and a stopped download leaves the destination as it was. Run them with
# scripts/test-pester.sh.
#
# What keeps a call pending: a service delay fault of azmi-emulator (Key Vault, Resource
# Manager), an IMDS delay fault (the Blob cmdlets' token), or a stalling Blob endpoint served
# here on 127.0.0.1 (Azurite cannot stall): it answers Get Blob Properties, sends half of a Get
# Blob and then nothing, and never answers a Put.
#
# $env:AZMI_IMDS_ENDPOINT, $env:AZMI_CA_FILE and $env:AZMI_ARM_ENDPOINT are set here, inside
# pwsh, as in the other test files; this file's emulator is its own, so its token cache entries
# are too (azmi keys them by endpoint).

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:ModulePath = Join-Path $repo 'out/AzMi/AzMi.psd1'
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $repo 'target/release/azmi-emulator' }
    if (-not (Test-Path -LiteralPath $ModulePath)) {
        throw "$ModulePath not found: run scripts/build-module.sh first."
    }

    $script:Subscription = '00000000-0000-0000-0000-000000000000'
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath
    $script:SavedEnvironment = Set-AzMiEmulatorEnvironment -Emulator $Emulator
    $script:Vault = $Emulator.KeyVaultUrl
    Import-Module $ModulePath -Force -ErrorAction Stop

    # The first contact with an endpoint has a 1 s probe timeout; after one answer a slow
    # endpoint is waited for, so that only the stop can end the calls below early.
    $null = Get-AzMiToken -Resource https://management.azure.com/

    $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) "azmi-cancel-tests-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory -Path $Work

    if (-not ('AzMiTests.StallingBlobEndpoint' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace AzMiTests
{
    /// <summary>
    /// A Blob endpoint on 127.0.0.1 that keeps calls pending: Get Blob Properties is answered
    /// (a blob of BlobLength bytes), Get Blob sends half the blob and then nothing, a Put is
    /// never answered. One request per connection; everything ends on Dispose.
    /// </summary>
    public sealed class StallingBlobEndpoint : IDisposable
    {
        private readonly TcpListener _listener = new TcpListener(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly ConcurrentBag<TcpClient> _clients = new ConcurrentBag<TcpClient>();
        private int _requests;
        private int _gets;
        private int _puts;

        public StallingBlobEndpoint(int blobLength)
        {
            BlobLength = blobLength;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            Task.Run(AcceptAsync);
        }

        public int Port { get; }

        public int BlobLength { get; }

        /// <summary>Requests received, of any kind.</summary>
        public int Requests => Volatile.Read(ref _requests);

        /// <summary>Get Blobs that have sent their half of the blob.</summary>
        public int Gets => Volatile.Read(ref _gets);

        /// <summary>Puts received (never answered).</summary>
        public int Puts => Volatile.Read(ref _puts);

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            foreach (TcpClient client in _clients)
            {
                client.Dispose();
            }
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync();
                }
                catch (Exception)
                {
                    return;
                }

                _clients.Add(client);
                _ = Task.Run(() => ServeAsync(client));
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            try
            {
                NetworkStream stream = client.GetStream();
                string method = await ReadMethodAsync(stream);
                Interlocked.Increment(ref _requests);
                string blob = $"Content-Length: {BlobLength}\r\nETag: \"0x8D1\"\r\nx-ms-blob-type: BlockBlob\r\nConnection: close\r\n\r\n";
                if (method == "HEAD")
                {
                    await WriteAsync(stream, "HTTP/1.1 200 OK\r\n" + blob);
                    return;
                }

                if (method == "GET")
                {
                    await WriteAsync(stream, "HTTP/1.1 200 OK\r\n" + blob);
                    await stream.WriteAsync(new byte[BlobLength / 2], 0, BlobLength / 2, _stop.Token);
                    Interlocked.Increment(ref _gets);
                }
                else
                {
                    Interlocked.Increment(ref _puts);
                }

                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (Exception)
            {
            }
            finally
            {
                client.Dispose();
            }
        }

        /// <summary>Reads the request's head (up to the empty line); returns its method.</summary>
        private async Task<string> ReadMethodAsync(NetworkStream stream)
        {
            var head = new StringBuilder();
            var buffer = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(buffer, 0, 1, _stop.Token) == 0)
                {
                    throw new System.IO.EndOfStreamException();
                }

                head.Append((char)buffer[0]);
            }

            string text = head.ToString();
            return text.Substring(0, text.IndexOf(' '));
        }

        private Task WriteAsync(NetworkStream stream, string text)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(text);
            return stream.WriteAsync(bytes, 0, bytes.Length, _stop.Token);
        }
    }
}
'@
    }

}

AfterAll {
    Remove-Module AzMi -ErrorAction SilentlyContinue
    Stop-AzMiEmulator $script:Emulator
    Restore-AzMiEnvironment $script:SavedEnvironment
    Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Ctrl+C on a pending Key Vault, Resource Manager or SAS call' {
    BeforeAll {
        # Tokens (and the vault's challenge) cached now, so that the pending part is the service.
        $null = Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test -ErrorAction Stop
        $null = Get-AzMiResourceGroup -SubscriptionId $Subscription -Name azmi-rg -ErrorAction Stop
        Reset-Emulator
    }
    AfterEach { Reset-Emulator }

    It 'stops <Name> within 5 s' -ForEach @(
        @{ Name = 'Get-AzMiKeyVaultSecret -Name'; Call = { param($Vault, $Subscription) Get-AzMiKeyVaultSecret -VaultName $Vault -Name mi-test } }
        @{ Name = 'Get-AzMiKeyVaultSecret (listing)'; Call = { param($Vault, $Subscription) Get-AzMiKeyVaultSecret -VaultName $Vault } }
        @{ Name = 'Get-AzMiResourceGroup -Name'; Call = { param($Vault, $Subscription) Get-AzMiResourceGroup -SubscriptionId $Subscription -Name azmi-rg } }
        @{ Name = 'Get-AzMiResourceGroup (listing)'; Call = { param($Vault, $Subscription) Get-AzMiResourceGroup -SubscriptionId $Subscription } }
        @{ Name = 'Invoke-AzMiArmRequest'; Call = { param($Vault, $Subscription) Invoke-AzMiArmRequest -Path "/subscriptions/$Subscription/resourceGroups/DevTest" -ApiVersion 2021-04-01 } }
        @{ Name = 'New-AzMiStorageSasToken'; Call = {
                param($Vault, $Subscription)
                New-AzMiStorageSasToken -SubscriptionId $Subscription -ResourceGroupName azmi-rg -StorageAccountName devstoreaccount1 -Container c -Permission r
            }
        }
    ) {
        Set-EmulatorServiceFault @{ delay_ms = 30000; count = 50 }
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script $Call -Arguments $Vault, $Subscription
        try {
            Wait-Until { (Get-ServiceRequestCount) -ge 1 } | Should -BeTrue -Because 'the request reaches the service'
            Start-Sleep -Milliseconds 300

            Assert-StopsPromptly $run
        }
        finally { $run.Shell.Dispose() }
    }
}

Describe 'Ctrl+C on a pending Blob transfer' {
    BeforeAll {
        $script:Stall = [AzMiTests.StallingBlobEndpoint]::new(1MB)
        $script:Account = "http://127.0.0.1:$($Stall.Port)/devstoreaccount1"
        # Any SAS: the endpoint checks nothing, and a SAS needs no token.
        $script:Sas = 'sv=2023-11-03&sr=c&sp=rcw&sig=c3RhbGw%3D'
        $script:Upload = Join-Path $Work 'upload.bin'
        [System.IO.File]::WriteAllBytes($Upload, [byte[]]::new(100KB))
    }
    AfterAll { $script:Stall.Dispose() }
    AfterEach { Reset-Emulator }

    It 'stops Get-AzMiBlobContent in the middle of the data, keeping the existing file and removing the partial one' {
        $folder = Join-Path $Work 'download'
        $null = New-Item -ItemType Directory -Path $folder
        $target = Join-Path $folder 'target.bin'
        Set-Content -LiteralPath $target -Value 'precious' -NoNewline
        $gets = $Stall.Gets
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account, $Sas, $Target)
            Get-AzMiBlobContent -StorageAccountName $Account -Container ctr -Blob data.bin -SasToken $Sas -Destination $Target -Force
        } -Arguments $Account, $Sas, $target
        try {
            # Half the blob has arrived and some of it is in the temporary file next to the target.
            Wait-Until {
                $Stall.Gets -gt $gets -and
                @(Get-ChildItem -LiteralPath $folder -Force -Filter '*.azmi-partial' | Where-Object Length -gt 0).Count -eq 1
            } | Should -BeTrue -Because 'the download is under way, into a temporary file'

            Assert-StopsPromptly $run
        }
        finally { $run.Shell.Dispose() }
        Get-Content -LiteralPath $target -Raw | Should -BeExactly 'precious'
        @(Get-ChildItem -LiteralPath $folder -Force).Name | Should -Be @('target.bin') -Because 'no temporary file is left behind'
    }

    It 'stops Set-AzMiBlobContent while the service does not answer' {
        $puts = $Stall.Puts
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script {
            param($Account, $Sas, $File)
            Set-AzMiBlobContent -File $File -StorageAccountName $Account -Container ctr -Blob upload.bin -SasToken $Sas -Force
        } -Arguments $Account, $Sas, $Upload
        try {
            Wait-Until { $Stall.Puts -gt $puts } | Should -BeTrue -Because 'the upload reaches the endpoint'
            Start-Sleep -Milliseconds 300

            Assert-StopsPromptly $run
        }
        finally { $run.Shell.Dispose() }
    }

    It 'stops <Name> while its token is pending at IMDS' -ForEach @(
        # Each with a user-assigned identity of its own, so that no cached storage token skips IMDS.
        @{ Name = 'Set-AzMiBlobContent'; Call = {
                param($Account, $File, $Target, $Known)
                Set-AzMiBlobContent -File $File -StorageAccountName $Account -Container ctr -Blob upload.bin -Force -ClientId $Known.UserAssigned.ClientId
            }
        }
        @{ Name = 'Get-AzMiBlobContent'; Call = {
                param($Account, $File, $Target, $Known)
                Get-AzMiBlobContent -StorageAccountName $Account -Container ctr -Blob data.bin -Destination $Target -Force -ObjectId $Known.UserAssigned.ObjectId
            }
        }
    ) {
        $target = Join-Path $Work "token-$($Name).bin"
        Set-Content -LiteralPath $target -Value 'precious' -NoNewline
        $before = @(Get-ChildItem -LiteralPath $Work -Force).Name
        $requests = $Stall.Requests
        Reset-Emulator
        Set-EmulatorFault @{ delay_ms = 30000 }
        $run = Invoke-InNewRunspace -ModulePath $ModulePath -Script $Call -Arguments $Account, $Upload, $target, $Known
        try {
            Wait-Until { (Get-TokenRequestCount) -ge 1 } | Should -BeTrue -Because 'the cmdlet asks IMDS for a storage token'
            Start-Sleep -Milliseconds 300

            Assert-StopsPromptly $run
        }
        finally { $run.Shell.Dispose() }
        $Stall.Requests | Should -Be $requests -Because 'nothing reaches the blob endpoint without a token'
        Get-Content -LiteralPath $target -Raw | Should -BeExactly 'precious'
        @(Get-ChildItem -LiteralPath $Work -Force).Name | Should -Be $before
    }
}
