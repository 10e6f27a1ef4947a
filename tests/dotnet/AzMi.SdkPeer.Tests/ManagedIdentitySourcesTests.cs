using Azure.Core;
using Azure.Identity;
using AzMi.Testing;

namespace AzMi.SdkPeer.Tests;

/// <summary>An emulator started with <c>--source</c>, exporting the variables it names.</summary>
public abstract class SourceEmulator : EmulatorFixture
{
    protected SourceEmulator(string source, params string[] variables)
        : this(source, configJson: null, [], variables)
    {
    }

    /// <param name="configJson">The emulator's configuration file, or null for its defaults.</param>
    /// <param name="arguments">More emulator options, passed on as they are.</param>
    protected SourceEmulator(string source, string? configJson, string[] arguments, params string[] variables)
        : base(configJson, source, variables, arguments)
    {
    }

    /// <summary>
    /// Every variable that selects a managed identity source or workload identity in
    /// Azure.Identity: cleared before and after each test, so that no source leaks into another
    /// test (or in from the machine).
    /// </summary>
    public static readonly string[] AllSourceVariables =
    [
        "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
        "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID",
    ];

    /// <summary>Clears every source variable, then sets this emulator's.</summary>
    public void Apply()
    {
        Clear();
        foreach ((string name, string value) in SourceEnvironment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    public static void Clear()
    {
        foreach (string name in AllSourceVariables)
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}

public sealed class AppServiceEmulator() : SourceEmulator("app-service", "IDENTITY_ENDPOINT", "IDENTITY_HEADER");

public sealed class AzureMlEmulator() : SourceEmulator("azure-ml", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID");

public sealed class ServiceFabricEmulator() : SourceEmulator("service-fabric", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT");

public sealed class ArcEmulator() : SourceEmulator("arc", "IDENTITY_ENDPOINT", "IMDS_ENDPOINT");

/// <summary>
/// An Arc emulator writing its key file into the agent's own tokens folder,
/// <c>/var/opt/azcmagent/tokens</c>: the only folder MSAL reads key files from on Linux. Writing
/// there needs root (CI runs as root) or write access to <c>/var/opt</c>; the emulator removes its
/// key file when it stops, and this fixture the folders it created.
/// </summary>
public sealed class ArcAgentFolderEmulator : SourceEmulator
{
    public const string TokensFolder = "/var/opt/azcmagent/tokens";

    /// <summary>
    /// The resource of these tests, served by this emulator alone: MSAL caches tokens by identity
    /// and resource, whatever the source, so no other class may get one for it first.
    /// </summary>
    public const string Resource = "https://ossrdbms-aad.database.windows.net";

    // A field initializer runs before the base constructor starts the emulator.
    private readonly List<string> _created = CreateAgentFolders();

    public ArcAgentFolderEmulator()
        : base("arc", $$"""{"resources": ["{{Resource}}"]}""", ["--arc-tokens-dir", TokensFolder], "IDENTITY_ENDPOINT", "IMDS_ENDPOINT")
    {
    }

    private static List<string> CreateAgentFolders()
    {
        var created = new List<string>();
        foreach (string folder in new[] { "/var/opt", "/var/opt/azcmagent", TokensFolder })
        {
            if (Directory.Exists(folder))
            {
                continue;
            }
            try
            {
                Directory.CreateDirectory(folder);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new InvalidOperationException(
                    $"The Arc peer test needs {TokensFolder}, the only folder MSAL reads Arc key files from, " +
                    "and cannot create it: run the tests as root (CI does) or create it writable for this user.", ex);
            }
            created.Add(folder);
        }
        return created;
    }

    public override void Dispose()
    {
        base.Dispose();
        // Deepest first, and only when empty: nothing this fixture did not make is removed.
        foreach (string folder in Enumerable.Reverse(_created))
        {
            if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
    }
}

public sealed class CloudShellEmulator() : SourceEmulator("cloud-shell", "MSI_ENDPOINT");

public sealed class WorkloadIdentityEmulator() : SourceEmulator(
    "workload-identity", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE");

/// <summary>
/// The base of the per-source classes: the source's variables are set for the test (Azure.Identity
/// reads them with Environment.GetEnvironmentVariable) and cleared afterwards. The classes share
/// the process-environment collection with the IMDS tests, so they never run at the same time.
/// </summary>
public abstract class SourceTests<TEmulator> : IDisposable
    where TEmulator : SourceEmulator
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <param name="resource">
    /// A resource no other class asks for: MSAL caches managed-identity tokens process-wide by
    /// identity and resource, whatever the source, so a shared resource could be answered from
    /// another test's token without reaching this emulator.
    /// </param>
    protected SourceTests(TEmulator emulator, string resource)
    {
        Resource = resource;
        Emulator = emulator;
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", null);
        emulator.Apply();
    }

    protected TEmulator Emulator { get; }

    protected string Resource { get; }

    /// <summary>A token for <see cref="Resource"/>, checking it came from this emulator.</summary>
    protected async Task<AccessToken> GetTokenAsync(TokenCredential credential)
    {
        long before = (await Emulator.GetCountersAsync()).TokensIssued;
        using var cts = new CancellationTokenSource(CallTimeout);
        AccessToken token = await credential.GetTokenAsync(new TokenRequestContext([Resource + "/.default"]), cts.Token);
        Assert.Equal(before + 1, (await Emulator.GetCountersAsync()).TokensIssued);
        return token;
    }

    /// <summary>The last token request the emulator received.</summary>
    protected async Task<RecordedRequest> LastRequestAsync() => (await Emulator.GetRequestsAsync())[^1];

    public void Dispose() => SourceEmulator.Clear();
}

[Collection(ProcessEnvironment.Collection)]
public sealed class AppServiceSourceTests(AppServiceEmulator emulator)
    : SourceTests<AppServiceEmulator>(emulator, "https://database.windows.net"), IClassFixture<AppServiceEmulator>
{
    [Fact]
    public async Task SystemAssigned_GetsATokenWithTheIdentityHeader()
    {
        AccessToken token = await GetTokenAsync(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned));

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal("/msi/token", sent.Path);
        Assert.Equal(["2019-08-01"], sent.QueryValues("api-version"));
        // Sent, and recorded redacted: the secret never reaches the log.
        Assert.Equal("<redacted>", sent.Header("X-IDENTITY-HEADER"));
    }

    [Fact]
    public async Task UserAssignedByResourceId_SendsMiResId()
    {
        AccessToken token = await GetTokenAsync(
            new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedResourceId(new ResourceIdentifier(KnownIdentities.UamiResourceId))));

        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal([KnownIdentities.UamiResourceId], sent.QueryValues("mi_res_id"));
    }

    [Fact]
    public async Task UserAssignedByClientId_GetsTheUamisToken()
    {
        AccessToken token = await GetTokenAsync(
            new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId)));

        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
    }
}

[Collection(ProcessEnvironment.Collection)]
public sealed class AzureMlSourceTests(AzureMlEmulator emulator)
    : SourceTests<AzureMlEmulator>(emulator, "https://storage.azure.com"), IClassFixture<AzureMlEmulator>
{
    [Fact]
    public async Task SystemAssigned_SendsTheSecretAndDefaultClientId()
    {
        AccessToken token = await GetTokenAsync(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned));

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal(["2017-09-01"], sent.QueryValues("api-version"));
        Assert.Equal([KnownIdentities.SystemClientId], sent.QueryValues("clientid"));
        Assert.Equal("<redacted>", sent.Header("secret"));
    }

    [Fact]
    public async Task UserAssignedByClientId_GetsTheUamisToken()
    {
        AccessToken token = await GetTokenAsync(
            new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId)));

        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
    }
}

[Collection(ProcessEnvironment.Collection)]
public sealed class ServiceFabricSourceTests(ServiceFabricEmulator emulator)
    : SourceTests<ServiceFabricEmulator>(emulator, "https://datalake.azure.net/"), IClassFixture<ServiceFabricEmulator>
{
    [Fact]
    public async Task SystemAssigned_TrustsTheCertificateByItsThumbprint()
    {
        // No CA is trusted here: MSAL accepts the self-signed certificate because its SHA-1
        // thumbprint is IDENTITY_SERVER_THUMBPRINT.
        AccessToken token = await GetTokenAsync(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned));

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        RecordedRequest sent = await LastRequestAsync();
        // The version current clusters announce (IDENTITY_API_VERSION), not the documented preview.
        Assert.Equal(["2020-05-01"], sent.QueryValues("api-version"));
        Assert.Equal("<redacted>", sent.Header("secret"));
    }
}

[Collection(ProcessEnvironment.Collection)]
public sealed class ArcSourceTests(ArcEmulator emulator)
    : SourceTests<ArcEmulator>(emulator, "https://database.windows.net/"), IClassFixture<ArcEmulator>
{
    [Fact]
    public async Task Challenge_IsParsedButTheKeyFileOutsideTheAgentsFolderIsRefused()
    {
        // MSAL reads the key file only under the agent's tokens folder (on Linux
        // /var/opt/azcmagent/tokens, fixed, root-owned): the emulator's temporary folder is
        // refused, after MSAL parsed the 401's WWW-Authenticate. The full exchange is covered by
        // the emulator's own tests.
        var credential = new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<AuthenticationFailedException>(
            async () => await credential.GetTokenAsync(new TokenRequestContext([Resource + "/.default"]), cts.Token));

        // MSAL's words for a realm outside the agent's folder: the challenge itself was accepted.
        Assert.Contains("The file on the file path in the WWW-Authenticate header is not secure", error.Message, StringComparison.Ordinal);
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal("/metadata/identity/oauth2/token", sent.Path);
        Assert.Equal("true", sent.Header("Metadata"));
        Assert.Null(sent.Header("Authorization"));
    }
}

[Collection(ProcessEnvironment.Collection)]
public sealed class ArcAgentFolderSourceTests(ArcAgentFolderEmulator emulator)
    : SourceTests<ArcAgentFolderEmulator>(emulator, ArcAgentFolderEmulator.Resource), IClassFixture<ArcAgentFolderEmulator>
{
    [Fact]
    public async Task SystemAssigned_AnswersTheChallengeWithTheAgentsKeyFile()
    {
        // The key file is in the agent's folder, so MSAL reads it and resends with it.
        Assert.Equal(ArcAgentFolderEmulator.TokensFolder, Emulator.ArcTokensDir);
        AccessToken token = await GetTokenAsync(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned));

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        IReadOnlyList<RecordedRequest> requests = await Emulator.GetRequestsAsync();
        RecordedRequest challenged = requests[^2];
        RecordedRequest answered = requests[^1];
        Assert.Equal("/metadata/identity/oauth2/token", challenged.Path);
        Assert.Null(challenged.Header("Authorization"));
        Assert.Equal("/metadata/identity/oauth2/token", answered.Path);
        Assert.Equal("true", answered.Header("Metadata"));
        // Sent, and recorded redacted: the key never reaches the log.
        Assert.Equal("<redacted>", answered.Header("Authorization"));
        Assert.Equal([Resource], answered.QueryValues("resource"));
    }

    [Fact]
    public async Task UserAssigned_IsRefusedByTheAgentAfterTheChallenge()
    {
        long before = (await Emulator.GetCountersAsync()).TokensIssued;
        var credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAnyAsync<AuthenticationFailedException>(
            async () => await credential.GetTokenAsync(new TokenRequestContext([Resource + "/.default"]), cts.Token));

        // The agent's answer reaches the caller: MSAL sent the key, then the client id.
        Assert.Contains("Azure Arc supports only the system-assigned identity", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await Emulator.GetCountersAsync()).TokensIssued);
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal("<redacted>", sent.Header("Authorization"));
        Assert.Equal([KnownIdentities.UamiClientId], sent.QueryValues("client_id"));
    }
}

[Collection(ProcessEnvironment.Collection)]
public sealed class CloudShellSourceTests(CloudShellEmulator emulator)
    : SourceTests<CloudShellEmulator>(emulator, "https://management.core.windows.net/"), IClassFixture<CloudShellEmulator>
{
    [Fact]
    public async Task SystemAssigned_PostsTheResourceForm()
    {
        AccessToken token = await GetTokenAsync(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned));

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal("POST", sent.Method);
        Assert.Equal("/oauth2/token", sent.Path);
        Assert.Equal("true", sent.Header("Metadata"));
    }
}

[Collection(ProcessEnvironment.Collection)]
public sealed class WorkloadIdentitySourceTests(WorkloadIdentityEmulator emulator)
    : SourceTests<WorkloadIdentityEmulator>(emulator, "https://vault.azure.net"), IClassFixture<WorkloadIdentityEmulator>
{
    [Fact]
    public async Task WorkloadIdentityCredential_ExchangesTheFederatedToken()
    {
        // Everything else (tenant, client id, token file, https authority) from the environment.
        var credential = new WorkloadIdentityCredential(Options());

        AccessToken token = await GetTokenAsync(credential);

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
        RecordedRequest sent = await LastRequestAsync();
        Assert.Equal("POST", sent.Method);
        Assert.Equal($"/{KnownIdentities.TenantId}/oauth2/v2.0/token", sent.Path);
    }

    [Fact]
    public async Task ExpiredFederatedToken_IsRefusedWithEntrasError()
    {
        string file = Path.Combine(Path.GetTempPath(), $"azmi-expired-{Guid.NewGuid():N}");
        try
        {
            // iss and sub as federated, but expired an hour ago (beyond Entra's 5 minutes of skew).
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            string claims = $$"""{"iss":"https://oidc.azmi-emulator.localhost/{{KnownIdentities.TenantId}}/","sub":"system:serviceaccount:default:azmi","aud":["api://AzureADTokenExchange"],"iat":{{now - 7200}},"nbf":{{now - 7200}},"exp":{{now - 3600}}}""";
            File.WriteAllText(file, $"{Base64Url("""{"alg":"RS256","typ":"JWT"}""")}.{Base64Url(claims)}.c2ln");
            WorkloadIdentityCredentialOptions options = Options();
            options.TokenFilePath = file;
            var credential = new WorkloadIdentityCredential(options);

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var error = await Assert.ThrowsAsync<AuthenticationFailedException>(
                async () => await credential.GetTokenAsync(new TokenRequestContext([Resource + "/.default"]), cts.Token));

            Assert.Contains("AADSTS700024", error.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Options whose transport trusts the emulator's CA (the authority is https).</summary>
    private WorkloadIdentityCredentialOptions Options() => new()
    {
        Transport = new Azure.Core.Pipeline.HttpClientTransport(Emulator.TrustingHandler()),
        // MSAL would otherwise ask login.microsoftonline.com whether the authority is known.
        DisableInstanceDiscovery = true,
    };

    private static string Base64Url(string text) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
