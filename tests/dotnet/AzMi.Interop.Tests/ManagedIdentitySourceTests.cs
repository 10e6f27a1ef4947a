using System.Diagnostics;
using System.Text.Json;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>An emulator started with <c>--source</c>, exporting the variables that select it.</summary>
public abstract class SourceEmulatorFixture(string source, params string[] variables)
    : EmulatorFixture(configJson: null, source, variables)
{
}

public sealed class AppServiceSource() : SourceEmulatorFixture("app-service", "IDENTITY_ENDPOINT", "IDENTITY_HEADER");

public sealed class AzureMlSource() : SourceEmulatorFixture("azure-ml", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID");

public sealed class ServiceFabricSource() : SourceEmulatorFixture("service-fabric", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT");

public sealed class ArcSource() : SourceEmulatorFixture("arc", "IDENTITY_ENDPOINT", "IMDS_ENDPOINT");

public sealed class CloudShellSource() : SourceEmulatorFixture("cloud-shell", "MSI_ENDPOINT");

public sealed class WorkloadIdentitySource() : SourceEmulatorFixture(
    "workload-identity", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE");

/// <summary>
/// azmi detects the managed identity source from the process's NATIVE environment, which
/// .NET's Environment.SetEnvironmentVariable does not change on Linux: each case runs
/// AzMi.SourceProbe (raw P/Invoke: azmi_identity_new, azmi_identity_set_source,
/// azmi_identity_source, azmi_get_token, azmi_token_source) in a child process started with
/// exactly one source's variables, and asserts on the JSON it prints.
/// </summary>
public sealed class ManagedIdentitySourceTests(
    AppServiceSource appService,
    AzureMlSource azureMl,
    ServiceFabricSource serviceFabric,
    ArcSource arc,
    CloudShellSource cloudShell,
    WorkloadIdentitySource workload)
    : IClassFixture<AppServiceSource>, IClassFixture<AzureMlSource>, IClassFixture<ServiceFabricSource>,
      IClassFixture<ArcSource>, IClassFixture<CloudShellSource>, IClassFixture<WorkloadIdentitySource>
{
    private const string SystemAssigned = "-/-";
    private const string UamiByClientId = KnownIdentities.UamiClientId + "/-";

    /// <summary>Every variable that selects a source, or that azmi reads for one: none may leak in from the test host.</summary>
    private static readonly string[] s_sourceVariables =
    [
        "AZMI_IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZMI_CA_FILE", "AZMI_ARC_TOKENS_DIR",
        "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
        "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
    ];

    [Fact]
    public void AppService_SystemAndUserAssigned_ReportTheSource()
    {
        ProbeResult[] results = Probe(appService.SourceEnvironment, SystemAssigned, UamiByClientId);

        AssertToken(results[0], "app_service");
        AssertToken(results[1], "app_service");
    }

    [Fact]
    public void Package_AppService_DetectsAndReportsTheSource_WithSourceOverrides()
    {
        var environment = new Dictionary<string, string>(appService.SourceEnvironment);
        foreach ((string name, string value) in cloudShell.SourceEnvironment)
        {
            environment[name] = value;
        }

        ProbeResult[] results = Probe(environment, "pkg:-/-", "pkg:" + UamiByClientId, "pkg:-/CloudShell", "pkg:" + KnownIdentities.UamiClientId + "/CloudShell");

        AssertToken(results[0], "AppService");
        AssertToken(results[1], "AppService"); // WithTimeouts keeps the detected source
        Assert.Equal("AppService", results[2].DetectedSource);
        AssertToken(results[2], "CloudShell");
        AssertFailed(results[3], "set_source", "InvalidArgument");
        Assert.Contains("Cloud Shell", results[3].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AppService_WrongSecretHeader_IsAuthenticationFailed()
    {
        var environment = new Dictionary<string, string>(appService.SourceEnvironment) { ["IDENTITY_HEADER"] = "not-the-secret" };

        ProbeResult result = Probe(environment, SystemAssigned).Single();

        Assert.Equal("app_service", result.IdentitySource);
        AssertFailed(result, "get_token", "AuthenticationFailed");
        Assert.DoesNotContain("not-the-secret", result.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Claims challenges on the sources with a token cache of their own (through the AzMi
    /// package): a forced refresh gets the endpoint's cached token again, claims get a new one
    /// (azmi names the token to replace), and a cp1 identity gets a CAE token cached apart.
    /// </summary>
    [Fact]
    public void Package_AppServiceAndServiceFabric_ClaimsGetPastTheEndpointsCache_CapabilitiesAreCachedApart()
    {
        foreach ((IReadOnlyDictionary<string, string> environment, string source) in new[]
        {
            (appService.SourceEnvironment, "AppService"),
            (serviceFabric.SourceEnvironment, "ServiceFabric"),
        })
        {
            ProbeResult result = Probe(environment, "cae:").Single();
            Assert.True(result.Status == "Ok", $"{source}: {result.Step} {result.Status}: {result.Message}");
            Assert.Equal(source, result.TokenSource);
            Assert.True(result.RefreshSame, $"{source}: a plain refresh gets the endpoint's cached token");
            Assert.True(result.ClaimsNew, $"{source}: claims get a new token");
            Assert.False(result.CapableFromCache, $"{source}: a cp1 token is cached apart");
            Assert.True(result.CapableXmsCc, $"{source}: the cp1 token carries xms_cc");
        }
    }

    [Fact]
    public void AzureMl_SystemAndUserAssigned_ReportTheSource()
    {
        ProbeResult[] results = Probe(azureMl.SourceEnvironment, SystemAssigned, UamiByClientId);

        AssertToken(results[0], "azure_ml");
        AssertToken(results[1], "azure_ml");
    }

    [Fact]
    public void ServiceFabric_SystemAssigned_ReportsTheSource()
    {
        AssertToken(Probe(serviceFabric.SourceEnvironment, SystemAssigned).Single(), "service_fabric");
    }

    [Fact]
    public void ServiceFabric_ThumbprintMismatch_SendsNoToken()
    {
        var environment = new Dictionary<string, string>(serviceFabric.SourceEnvironment)
        {
            ["IDENTITY_SERVER_THUMBPRINT"] = new string('A', 40),
        };

        ProbeResult result = Probe(environment, SystemAssigned).Single();

        Assert.Equal("service_fabric", result.IdentitySource);
        AssertFailed(result, "get_token", "InsecureRequest");
        Assert.Contains("IDENTITY_SERVER_THUMBPRINT", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ServiceFabric_UserAssigned_IsInvalidArgumentNamingTheSource()
    {
        ProbeResult result = Probe(serviceFabric.SourceEnvironment, UamiByClientId).Single();

        AssertFailed(result, "new", "InvalidArgument");
        Assert.Contains("Service Fabric", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arc_SystemAssigned_ReadsTheKeyFileUnderTheTokensFolder()
    {
        var environment = new Dictionary<string, string>(arc.SourceEnvironment)
        {
            ["AZMI_ARC_TOKENS_DIR"] = arc.ArcTokensDir ?? throw new InvalidOperationException("the arc emulator printed no tokens folder"),
        };

        AssertToken(Probe(environment, SystemAssigned).Single(), "arc");
    }

    [Fact]
    public void Arc_KeyFileOutsideTheTokensFolder_IsRefused()
    {
        // The emulator's key file is in its own folder, not in the one azmi trusts.
        string otherFolder = Directory.CreateTempSubdirectory("azmi-arc-other-").FullName;
        try
        {
            var environment = new Dictionary<string, string>(arc.SourceEnvironment) { ["AZMI_ARC_TOKENS_DIR"] = otherFolder };

            ProbeResult result = Probe(environment, SystemAssigned).Single();

            Assert.Equal("arc", result.IdentitySource);
            AssertFailed(result, "get_token", "InsecureRequest");
            Assert.Contains("not in the agent's key folder", result.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(otherFolder, recursive: true);
        }
    }

    [Fact]
    public void Arc_UserAssigned_IsInvalidArgumentNamingTheSource()
    {
        ProbeResult result = Probe(arc.SourceEnvironment, UamiByClientId).Single();

        AssertFailed(result, "new", "InvalidArgument");
        Assert.Contains("Arc", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CloudShell_SystemAssigned_ReportsTheSource()
    {
        AssertToken(Probe(cloudShell.SourceEnvironment, SystemAssigned).Single(), "cloud_shell");
    }

    [Fact]
    public void CloudShell_UserAssigned_IsInvalidArgumentNamingTheSource()
    {
        ProbeResult result = Probe(cloudShell.SourceEnvironment, UamiByClientId).Single();

        AssertFailed(result, "new", "InvalidArgument");
        Assert.Contains("Cloud Shell", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WorkloadIdentity_SystemAssigned_ReportsTheSource()
    {
        var environment = new Dictionary<string, string>(workload.SourceEnvironment) { ["AZMI_CA_FILE"] = workload.CaFile };

        AssertToken(Probe(environment, SystemAssigned).Single(), "workload_identity");
    }

    [Fact]
    public void WorkloadIdentity_UserAssignedByTheFederatedClientId_ReportsTheSource()
    {
        var environment = new Dictionary<string, string>(workload.SourceEnvironment) { ["AZMI_CA_FILE"] = workload.CaFile };

        AssertToken(Probe(environment, environment["AZURE_CLIENT_ID"] + "/-").Single(), "workload_identity");
    }

    [Fact]
    public void WorkloadIdentity_ExpiredFederatedAssertion_IsAuthenticationFailed()
    {
        // The emulator checks the assertion's times, not its signature: the same claims with
        // exp an hour ago (beyond the 5 minutes of skew).
        string assertion = File.ReadAllText(workload.SourceEnvironment["AZURE_FEDERATED_TOKEN_FILE"]).Trim();
        string[] parts = assertion.Split('.');
        var payload = System.Text.Json.Nodes.JsonNode.Parse(Base64UrlDecode(parts[1]))!.AsObject();
        long past = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
        payload["exp"] = past;
        payload["nbf"] = past - 3600;
        payload["iat"] = past - 3600;
        string expired = $"{parts[0]}.{Base64UrlEncode(payload.ToJsonString())}.{parts[2]}";
        string file = Path.Combine(Path.GetTempPath(), $"azmi-expired-assertion-{Guid.NewGuid():N}");
        File.WriteAllText(file, expired);
        try
        {
            var environment = new Dictionary<string, string>(workload.SourceEnvironment)
            {
                ["AZMI_CA_FILE"] = workload.CaFile,
                ["AZURE_FEDERATED_TOKEN_FILE"] = file,
            };

            ProbeResult result = Probe(environment, SystemAssigned).Single();

            Assert.Equal("workload_identity", result.IdentitySource);
            AssertFailed(result, "get_token", "AuthenticationFailed");
            Assert.Contains("700024", result.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void SeveralSources_AppServiceIsDetectedFirst_AndSetSourceOverridesIt()
    {
        var environment = new Dictionary<string, string>(appService.SourceEnvironment);
        foreach ((string name, string value) in cloudShell.SourceEnvironment)
        {
            environment[name] = value;
        }

        ProbeResult[] results = Probe(environment, SystemAssigned, "-/cloud_shell", "-/Cloud Shell");

        AssertToken(results[0], "app_service");
        Assert.Equal("app_service", results[1].DetectedSource);
        AssertToken(results[1], "cloud_shell");
        AssertToken(results[2], "cloud_shell");
    }

    [Fact]
    public void SetSource_WithoutTheSourcesVariables_IsInvalidArgumentNamingTheSource()
    {
        ProbeResult result = Probe(appService.SourceEnvironment, "-/azure_ml").Single();

        AssertFailed(result, "set_source", "InvalidArgument");
        Assert.Contains("MSI_ENDPOINT", result.Message, StringComparison.Ordinal);
    }

    private static string Base64UrlDecode(string text)
    {
        string padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(padded));
    }

    private static string Base64UrlEncode(string text) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static void AssertToken(ProbeResult result, string source)
    {
        Assert.True(result.Status == "Ok", $"{result.Check}: {result.Step} {result.Status}: {result.Message}");
        Assert.Equal(source, result.IdentitySource);
        Assert.Equal(source, result.TokenSource);
        Assert.True(result.TokenLength > 0);
    }

    private static void AssertFailed(ProbeResult result, string step, string status)
    {
        Assert.True(result.Step == step && result.Status == status, $"{result.Check}: expected {step} {status}, got {result.Step} {result.Status}: {result.Message}");
        Assert.Null(result.TokenSource);
    }

    /// <summary>Runs the probe with only <paramref name="environment"/>'s source variables.</summary>
    private static ProbeResult[] Probe(IReadOnlyDictionary<string, string> environment, params string[] checks)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(ProbePath);
        foreach (string check in checks)
        {
            psi.ArgumentList.Add(check);
        }
        foreach (string name in s_sourceVariables)
        {
            psi.Environment.Remove(name);
        }
        foreach ((string name, string value) in environment)
        {
            psi.Environment[name] = value;
        }
        psi.Environment["AZMI_NATIVE_LIB"] = AzMiNativeLibrary.Path;
        // The AzMi package (pkg: checks) finds the library by the runtime's probing.
        psi.Environment["LD_LIBRARY_PATH"] = Path.GetDirectoryName(AzMiNativeLibrary.Path);

        using Process process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the probe");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the probe did not finish in 60 s");
        }
        Assert.True(process.ExitCode == 0, $"probe exit code {process.ExitCode}: {stderr.Result}");
        ProbeResult[] results = JsonSerializer.Deserialize<ProbeResult[]>(stdout, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
            ?? throw new InvalidOperationException("the probe printed no results");
        Assert.Equal(checks.Length, results.Length);
        return results;
    }

    /// <summary>tests/dotnet/AzMi.SourceProbe/bin/&lt;configuration&gt;/net10.0/AzMi.SourceProbe.dll, built with this project.</summary>
    private static string ProbePath
    {
        get
        {
            // AppContext.BaseDirectory is tests/dotnet/AzMi.Interop.Tests/bin/<configuration>/<tfm>/.
            var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string configuration = tfm.Parent!.Name;
            string path = Path.Combine(RepoPaths.Root, "tests", "dotnet", "AzMi.SourceProbe", "bin", configuration, tfm.Name, "AzMi.SourceProbe.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"AzMi.SourceProbe not built at {path}");
        }
    }

    /// <summary>One check's outcome as the probe prints it (never the token).</summary>
    public sealed record ProbeResult(
        string Check,
        string? DetectedSource,
        string? IdentitySource,
        string? TokenSource,
        long? TokenLength,
        string? Step,
        string Status,
        string? Message,
        bool? RefreshSame = null,
        bool? ClaimsNew = null,
        bool? CapableFromCache = null,
        bool? CapableXmsCc = null);
}
