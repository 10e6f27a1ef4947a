using System.Security.Cryptography.X509Certificates;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// One collection for every test of this project: the package's settings are process-wide
/// (the CA file, the Resource Manager endpoint, the shared system-assigned identity), so the
/// tests share one emulator and never run at the same time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackageEnvironment>
{
    public const string Name = "AzMi package (process-wide settings)";
}

/// <summary>
/// One azmi-emulator, announced to the package the way a user's shell would after
/// <c>eval "$(azmi-emulator)"</c>, but from .NET: <c>AZMI_IMDS_ENDPOINT</c>, <c>AZMI_CA_FILE</c>
/// and <c>AZMI_ARM_ENDPOINT</c> are set with Environment.SetEnvironmentVariable before the
/// first AzMi call. On Linux they never reach the native getenv, so every test passing proves
/// that the package forwards them.
/// </summary>
public sealed class PackageEnvironment : IDisposable
{
    private static readonly string[] Variables = ["AZMI_IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZMI_CA_FILE", "AZMI_ARM_ENDPOINT"];

    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private readonly object _gate = new();
    private readonly List<string> _trusted = [];

    public PackageEnvironment()
    {
        Emulator = new EmulatorFixture();
        CaBundle = Path.Combine(Path.GetTempPath(), $"azmi-package-tests-{Environment.ProcessId}-ca.pem");
        File.WriteAllText(CaBundle, File.ReadAllText(Emulator.CaFile).TrimEnd() + "\n");
        _trusted.Add(Emulator.CaFile);
        Environment.SetEnvironmentVariable("AZMI_IMDS_ENDPOINT", Emulator.TokenUrl);
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", null);
        Environment.SetEnvironmentVariable("AZMI_CA_FILE", CaBundle);
        Environment.SetEnvironmentVariable("AZMI_ARM_ENDPOINT", Emulator.ArmEndpoint);
    }

    public EmulatorFixture Emulator { get; }

    /// <summary>The PEM bundle azmi trusts: the emulator's CA, then Azurite's certificate once started.</summary>
    public string CaBundle { get; }

    /// <summary>
    /// Adds a PEM file to the bundle and hands the bundle to azmi explicitly
    /// (<see cref="AzMiLibrary.SetCaFile"/>), as a .NET host does for a private CA.
    /// </summary>
    public void Trust(string pemFile)
    {
        lock (_gate)
        {
            if (_trusted.Contains(pemFile))
            {
                return;
            }
            File.AppendAllText(CaBundle, File.ReadAllText(pemFile).TrimEnd() + "\n");
            _trusted.Add(pemFile);
            AzMiLibrary.SetCaFile(CaBundle);
        }
    }

    /// <summary>An HttpClientHandler for Azure SDK clients that trusts the bundle's certificates (and the public roots).</summary>
    public HttpClientHandler TrustingHandler()
    {
        var roots = new X509Certificate2Collection();
        lock (_gate)
        {
            roots.ImportFromPemFile(CaBundle);
        }
        return CustomRootTrust.Handler(roots);
    }

    public void Dispose()
    {
        foreach ((string name, string? value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
        Emulator.Dispose();
        try
        {
            File.Delete(CaBundle);
        }
        catch (IOException)
        {
            // A leftover temporary file is harmless.
        }
    }
}
