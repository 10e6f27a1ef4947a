using Azure.Core;
using Azure.Identity;
using AzMi.Testing;
using Xunit.Abstractions;

namespace AzMi.SdkPeer.Tests;

/// <summary>
/// Azure.Identity's ManagedIdentityCredential against azmi-emulator. The SDK is an independent
/// IMDS client, so these tests check the emulator's side of the protocol: if the SDK accepts
/// its answers and the emulator accepts the SDK's requests, the emulator behaves like IMDS
/// (at least as far as the SDK can tell), and azmi's own tests against it mean something.
/// </summary>
/// <remarks>
/// One class, so one emulator: the credential finds IMDS through a process-wide environment
/// variable, which parallel test classes with emulators of their own would fight over.
/// </remarks>
[Collection(ProcessEnvironment.Collection)]
public sealed class ManagedIdentityCredentialTests
{
    private const string Scope = "https://management.azure.com/.default";
    // MSAL turns a "/.default" scope into the IMDS resource by dropping the suffix.
    private const string Resource = "https://management.azure.com";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly SdkPeerEmulator _emulator;
    private readonly ITestOutputHelper _output;

    public ManagedIdentityCredentialTests(SdkPeerEmulator emulator, ITestOutputHelper output)
    {
        _emulator = emulator;
        _output = output;
        // Azure.Identity (MSAL) reads these with Environment.GetEnvironmentVariable, so setting
        // them here works (unlike for azmi, a native library). The first selects another host
        // for IMDS; the rest would select another managed identity source (App Service, Azure
        // Arc, Cloud Shell, Service Fabric) and must not leak in from the machine.
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.AuthorityHost);
        foreach (string other in new[] { "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET" })
        {
            Environment.SetEnvironmentVariable(other, null);
        }
    }

    [Fact]
    public async Task SystemAssigned_GetsTheSystemIdentitysToken()
    {
        var credential = new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
        DateTimeOffset before = DateTimeOffset.UtcNow;

        AccessToken token = await GetTokenAsync(credential);

        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        Assert.InRange(token.ExpiresOn, before.AddSeconds(3600 - 60), DateTimeOffset.UtcNow.AddSeconds(3600 + 60));
        Assert.Equal("Bearer", token.TokenType);

        RecordedRequest sent = await RequestForAsync(idName: null, idValue: null);
        Assert.Empty(IdParameters(sent));
    }

    [Fact]
    public async Task UserAssignedByClientId_GetsTheUamisToken()
    {
        var credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId));

        AccessToken token = await GetTokenAsync(credential);

        AssertUamiToken(token);
        await RequestForAsync("client_id", KnownIdentities.UamiClientId);
    }

    [Fact]
    public async Task UserAssignedByObjectId_GetsTheUamisToken()
    {
        var credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedObjectId(KnownIdentities.UamiObjectId));

        AccessToken token = await GetTokenAsync(credential);

        AssertUamiToken(token);
        await RequestForAsync("object_id", KnownIdentities.UamiObjectId);
    }

    [Fact]
    public async Task UserAssignedByResourceId_GetsTheUamisToken()
    {
        var credential = new ManagedIdentityCredential(
            ManagedIdentityId.FromUserAssignedResourceId(new ResourceIdentifier(KnownIdentities.UamiResourceId)));

        AccessToken token = await GetTokenAsync(credential);

        AssertUamiToken(token);
        RecordedRequest sent = Assert.Single(await RequestsForResourceAsync(),
            r => IdParameters(r).Any(p => p.Value == KnownIdentities.UamiResourceId));
        Assert.Contains(Assert.Single(IdParameters(sent)).Name, new[] { "msi_res_id", "mi_res_id" });
    }

    [Fact]
    public async Task UnknownClientId_IsReportedAsAFailure()
    {
        string clientId = Guid.NewGuid().ToString();
        var credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));

        // The emulator's 400 invalid_request "Identity not found" is what IMDS answers; the SDK
        // reports it as the identity being unavailable (so that DefaultAzureCredential moves on).
        var ex = await Assert.ThrowsAnyAsync<AuthenticationFailedException>(() => GetTokenAsync(credential));
        Assert.Contains("Identity not found", ex.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<AccessToken> GetTokenAsync(TokenCredential credential)
    {
        using var timeout = new CancellationTokenSource(CallTimeout);
        return await credential.GetTokenAsync(new TokenRequestContext([Scope]), timeout.Token);
    }

    private static void AssertUamiToken(AccessToken token)
    {
        Assert.Equal(Resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.UamiObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
        Assert.InRange(token.ExpiresOn, DateTimeOffset.UtcNow.AddSeconds(3600 - 60), DateTimeOffset.UtcNow.AddSeconds(3600 + 60));
    }

    /// <summary>
    /// The token request the SDK sent for this identity, checked for what IMDS requires: the
    /// Metadata header, one api-version, the resource, and no X-Forwarded-For.
    /// </summary>
    private async Task<RecordedRequest> RequestForAsync(string? idName, string? idValue)
    {
        IReadOnlyList<RecordedRequest> forResource = await RequestsForResourceAsync();
        RecordedRequest sent = idName is null
            ? Assert.Single(forResource, r => !IdParameters(r).Any())
            : Assert.Single(forResource, r => IdParameters(r).Any(p => p.Name == idName && p.Value == idValue));
        return sent;
    }

    private async Task<IReadOnlyList<RecordedRequest>> RequestsForResourceAsync()
    {
        IReadOnlyList<RecordedRequest> all = await _emulator.GetRequestsAsync();
        foreach (RecordedRequest r in all)
        {
            // What the SDK sends, for whoever compares it with azmi's requests. No secrets:
            // IMDS token requests carry none.
            _output.WriteLine($"{r.Method} {r.Path}?{r.Query} [{string.Join(", ", r.Headers.Select(h => $"{h.Key}: {h.Value}"))}]");
        }
        Assert.All(all, r =>
        {
            Assert.Equal("GET", r.Method);
            Assert.Equal("/metadata/identity/oauth2/token", r.Path);
            Assert.Equal("true", r.Header("Metadata"));
            Assert.Null(r.Header("X-Forwarded-For"));
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", Assert.Single(r.QueryValues("api-version")));
        });
        return all.Where(r => r.QueryValues("resource").SequenceEqual([Resource])).ToList();
    }

    private static IEnumerable<(string Name, string Value)> IdParameters(RecordedRequest r) =>
        new[] { "client_id", "object_id", "msi_res_id", "mi_res_id" }
            .SelectMany(name => r.QueryValues(name).Select(value => (name, value)));
}
