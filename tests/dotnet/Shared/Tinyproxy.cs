using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AzMi.Testing;

/// <summary>
/// Debian's tinyproxy (scripts/setup.sh installs it) on a free loopback port, with a
/// configuration and a log of its own that tests read; killed on dispose. Optionally it asks
/// for Basic credentials (407 without them).
/// </summary>
/// <remarks>
/// Under Wine a Windows test cannot start it: the script starts one open and one asking for
/// alice / s3cret on this machine (scripts/lib/tinyproxy.sh) and names them with
/// <c>AZMI_TEST_TINYPROXY_PORT</c> and <c>_LOG</c> (<c>AZMI_TEST_TINYPROXY_AUTH_PORT</c> and
/// <c>_LOG</c>). Those are shared by the tests, so each sees only the log written since it took
/// the proxy, and none is stopped on dispose.
/// </remarks>
public sealed class Tinyproxy : IDisposable
{
    private readonly Process? _process;
    private readonly string? _dir;
    private readonly string _logPath;
    private readonly long _logStart;

    private Tinyproxy(Process? process, string? dir, string logPath, int port)
    {
        _process = process;
        _dir = dir;
        _logPath = logPath;
        _logStart = File.Exists(logPath) ? new FileInfo(logPath).Length : 0;
        Port = port;
    }

    /// <summary>The port it listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:port</c>.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The log so far.</summary>
    public string Log
    {
        get
        {
            if (!File.Exists(_logPath))
            {
                return "";
            }
            using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Seek(Math.Min(_logStart, stream.Length), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>The <c>host:port</c> of each CONNECT request in the log.</summary>
    public IReadOnlyList<string> Connects =>
        Log.Split('\n')
            .Select(line => line.IndexOf("): CONNECT ", StringComparison.Ordinal) is int i and >= 0
                ? line[(i + "): CONNECT ".Length)..].Split(' ')[0]
                : null)
            .OfType<string>()
            .ToList();

    /// <summary>Whether <c>:port</c> appears anywhere in the log.</summary>
    public bool SawPort(int port) => Log.Contains($":{port}", StringComparison.Ordinal);

    /// <summary>Starts one; <paramref name="user"/> and <paramref name="password"/> make it ask for Basic credentials.</summary>
    public static Tinyproxy Start(string? user = null, string? password = null)
    {
        string prefix = user is null ? "AZMI_TEST_TINYPROXY" : "AZMI_TEST_TINYPROXY_AUTH";
        if (Environment.GetEnvironmentVariable($"{prefix}_PORT") is { Length: > 0 } externalPort)
        {
            if (user is not null && (user, password) != ("alice", "s3cret"))
            {
                throw new InvalidOperationException($"{prefix}_PORT asks for alice / s3cret only");
            }
            string log = Environment.GetEnvironmentVariable($"{prefix}_LOG")
                ?? throw new InvalidOperationException($"{prefix}_PORT is set without {prefix}_LOG");
            return new Tinyproxy(null, null, log, int.Parse(externalPort, System.Globalization.CultureInfo.InvariantCulture));
        }
        string exe = new[] { "/usr/bin/tinyproxy", "/usr/sbin/tinyproxy" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("tinyproxy is not installed: run scripts/setup.sh");
        for (int attempt = 0; attempt < 5; attempt++)
        {
            string dir = Directory.CreateTempSubdirectory("azmi-tinyproxy-").FullName;
            int port = FreePort();
            string conf = $"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Connect\n" +
                $"LogFile \"{Path.Combine(dir, "tinyproxy.log")}\"\nDisableViaHeader Yes\n";
            if (user is not null)
            {
                conf += $"BasicAuth {user} {password}\n";
            }
            if (Environment.UserName == "root")
            {
                // As root, tinyproxy drops to another user unless told to stay (it owns the log).
                conf += "User root\nGroup root\n";
            }
            string confPath = Path.Combine(dir, "tinyproxy.conf");
            File.WriteAllText(confPath, conf);
            var psi = new ProcessStartInfo(exe)
            {
                ArgumentList = { "-d", "-c", confPath },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            Process process = Process.Start(psi) ?? throw new InvalidOperationException("tinyproxy did not start");
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                try
                {
                    using var probe = new TcpClient();
                    probe.Connect(IPAddress.Loopback, port);
                    return new Tinyproxy(process, dir, Path.Combine(dir, "tinyproxy.log"), port);
                }
                catch (SocketException)
                {
                    Thread.Sleep(20);
                }
            }
            // The port was taken meanwhile (another test), or it did not start: try another.
            Stop(process);
            Directory.Delete(dir, recursive: true);
        }
        throw new InvalidOperationException("tinyproxy did not start on a free port in 5 tries");
    }

    /// <summary>A port nothing listens on (bound and released at once).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose()
    {
        if (_process is null || _dir is null)
        {
            return;
        }
        Stop(_process);
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary folder.
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }
}
