using System.Diagnostics;
using System.Security.Cryptography;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// Makes azmi trust the CAs of the emulators the Data Lake tests start.
/// </summary>
/// <remarks>
/// azmi_set_ca_file is process-wide and names one file, while every emulator generates its own
/// CA and test classes run in parallel. So each emulator's CA is appended to one bundle for this
/// process and azmi is pointed at the whole bundle again: a class that trusts its emulator never
/// takes the trust away from another class in mid-test. (Not through AZMI_CA_FILE: .NET's
/// Environment.SetEnvironmentVariable does not reach the native environment on Linux.)
/// </remarks>
internal static class EmulatorCa
{
    private static readonly object s_lock = new();
    private static readonly HashSet<string> s_trusted = new(StringComparer.Ordinal);
    private static readonly string s_bundle = Path.Combine(Path.GetTempPath(), $"azmi-dotnet-tests-{Environment.ProcessId}-ca.pem");

    static EmulatorCa() => AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(s_bundle);

    public static void Trust(EmulatorFixture emulator) => Trust(emulator.CaFile);

    /// <summary>Adds the certificates of a PEM file (an emulator's CA, Azurite's certificate) to the bundle.</summary>
    public static void Trust(string pemFile)
    {
        lock (s_lock)
        {
            if (!s_trusted.Add(pemFile))
            {
                return;
            }
            File.AppendAllText(s_bundle, File.ReadAllText(pemFile).TrimEnd() + "\n");
            AzMiLibrary.SetCaFile(s_bundle);
        }
    }
}

/// <summary>
/// An <see cref="IProgress{T}"/> that records every report synchronously, on the thread azmi
/// calls it from. (<see cref="Progress{T}"/> would post the reports to the thread pool, where
/// they arrive late and in any order, so monotonicity could not be checked.)
/// </summary>
internal sealed class ProgressLog(Action<long>? onReport = null) : IProgress<long>
{
    private readonly List<(long Value, int Thread)> _reports = [];

    public IReadOnlyList<long> Values => _reports.Select(r => r.Value).ToList();

    public IReadOnlyCollection<int> Threads => _reports.Select(r => r.Thread).Distinct().ToList();

    public void Report(long value)
    {
        _reports.Add((value, Environment.CurrentManagedThreadId));
        onReport?.Invoke(value);
    }

    /// <summary>Never decreasing, never above <paramref name="total"/>, ending at it, all on <paramref name="thread"/>.</summary>
    public void AssertMonotonicTo(long total, int thread, int minReports)
    {
        IReadOnlyList<long> values = Values;
        Assert.True(values.Count >= minReports, $"{values.Count} progress reports, expected at least {minReports}: {string.Join(", ", values)}");
        for (int i = 1; i < values.Count; i++)
        {
            Assert.True(values[i] >= values[i - 1], $"progress went back from {values[i - 1]} to {values[i]}: {string.Join(", ", values)}");
        }
        Assert.All(values, v => Assert.InRange(v, 0, total));
        Assert.Equal(total, values[^1]);
        Assert.Equal([thread], Threads);
    }
}

internal static class DataLakeFiles
{
    /// <summary>Random bytes from a fixed seed (the same content in every run).</summary>
    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A short digest to compare large contents without printing them.</summary>
    public static string Digest(byte[] data) => Convert.ToHexString(SHA256.HashData(data), 0, 12);

    /// <summary>Temporary files azmi would leave next to a download target.</summary>
    public static string[] Partials(string folder) => Directory.GetFiles(folder, "*.azmi-partial");
}

/// <summary>A temporary folder for one test, removed with it.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "azmi-dotnet-" + Guid.NewGuid().ToString("N")[..12]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: /tmp is cleaned anyway.
        }
    }
}

internal static class Wait
{
    /// <summary>Blocks until <paramref name="condition"/> holds; fails after <paramref name="timeout"/>.</summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out after {timeout.TotalSeconds} s waiting for {what}");
            Thread.Sleep(10);
        }
    }
}
