using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AzMi.Testing;

/// <summary>
/// Azurite's blob service (npm <c>azurite</c>, installed under tools/azurite by scripts/setup.sh),
/// started like tests/common/mod.rs does: HTTPS with a fresh certificate for 127.0.0.1 (openssl),
/// <c>--oauth basic</c> (it checks the emulator's bearer tokens), a free port and an empty
/// workspace; killed and removed on dispose. The test class adds <see cref="CertFile"/> to the
/// CA bundle azmi trusts (each project has its own way). One per test class
/// (IClassFixture), shared by every class that needs blobs.
/// Where Node cannot be started (the tests under Wine), the test script starts one Azurite and
/// names it with <c>AZMI_TEST_AZURITE_PORT</c> and <c>AZMI_TEST_AZURITE_CERT</c>; every fixture
/// then uses it (the tests name their containers uniquely) and stops nothing.
/// </summary>
public sealed class AzuriteFixture : IDisposable
{
    /// <summary>Azurite's well-known account, also in azmi-emulator as <c>devstoreaccount1</c> in <c>azmi-rg</c>.</summary>
    public const string Account = "devstoreaccount1";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process? _process;
    private readonly StringBuilder _output = new();

    public AzuriteFixture()
    {
        string? externalPort = Environment.GetEnvironmentVariable("AZMI_TEST_AZURITE_PORT");
        if (!string.IsNullOrEmpty(externalPort))
        {
            Port = int.Parse(externalPort, System.Globalization.CultureInfo.InvariantCulture);
            CertFile = Environment.GetEnvironmentVariable("AZMI_TEST_AZURITE_CERT")
                ?? throw new InvalidOperationException("AZMI_TEST_AZURITE_PORT is set without AZMI_TEST_AZURITE_CERT");
            return;
        }

        string bin = Path.Combine(RepoPaths.Root, "tools", "azurite", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(bin))
        {
            throw new FileNotFoundException($"Azurite is not installed ({bin} is missing): run scripts/setup.sh", bin);
        }

        Directory.CreateDirectory(Folder);
        CertFile = Path.Combine(Folder, "cert.pem");
        string key = Path.Combine(Folder, "key.pem");
        Run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE",
            "-keyout", key, "-out", CertFile);
        string data = Path.Combine(Folder, "data");
        Directory.CreateDirectory(data);
        Port = FreePort();

        var psi = new ProcessStartInfo(bin)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--oauth", "basic", "--silent", "--skipApiVersionCheck", "--disableTelemetry",
            "--cert", CertFile, "--key", key, "--location", data,
        })
        {
            psi.ArgumentList.Add(arg);
        }
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {bin}");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        try
        {
            WaitUntilListening();
        }
        catch
        {
            Dispose();
            throw;
        }
        
    }

    /// <summary>The blob service's port.</summary>
    public int Port { get; }

    /// <summary>The account's blob URL, path-style: <c>https://127.0.0.1:port/devstoreaccount1</c>.</summary>
    public string Url => $"https://127.0.0.1:{Port}/{Account}";

    /// <summary>Azurite's certificate (PEM), trusted by azmi through the process's bundle.</summary>
    public string CertFile { get; }

    /// <summary>The fixture's folder (certificate, workspace); removed on dispose.</summary>
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "azmi-azurite-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>What Azurite printed so far, for failure messages.</summary>
    public string Output
    {
        get { lock (_output) { return _output.ToString(); } }
    }

    public void Dispose()
    {
        if (_process is null)
        {
            return; // The script's Azurite: it stops it.
        }
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort; the CA bundle keeps its own copy of the certificate.
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output) { _output.AppendLine(line); }
        }
    }

    private void WaitUntilListening()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited ({_process.ExitCode}) before listening:\n{Output}");
            }
            try
            {
                using var client = new TcpClient();
                client.Connect("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (clock.Elapsed < StartTimeout)
            {
                Thread.Sleep(100);
            }
            catch (SocketException)
            {
                throw new TimeoutException($"Azurite did not listen on port {Port} within {StartTimeout.TotalSeconds} s:\n{Output}");
            }
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _ = stdout.Result;
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{exe} failed ({p.ExitCode}): {stderr}");
        }
    }
}
