using System.Diagnostics;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Tokens through the package's typed API (the README's first lines): system-assigned through
/// the static ManagedIdentity.GetTokenAsync, user-assigned by each kind of id, the endpoint
/// from the .NET environment or set explicitly, the error subclasses with their codes, and a
/// CancellationToken ending a call that the emulator holds for 30 s.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class TokenTests(PackageEnvironment env)
{
    private const string Vault = "https://vault.azure.net";

    private EmulatorFixture Emulator => env.Emulator;

    [Fact]
    public async Task SystemAssigned_StaticGetTokenAsync_IsTheSystemIdentitysToken()
    {
        using AccessToken token = await ManagedIdentity.GetTokenAsync(Vault, CancellationToken.None);

        Assert.Equal(KnownIdentities.SystemObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        Assert.StartsWith(Vault, Jwt.Claim(token.Token, "aud"));
        Assert.Equal("Bearer", token.TokenType);
        Assert.True(token.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5), $"expires {token.ExpiresOn:O}");
        Assert.True(ManagedIdentity.SystemAssigned.IsSystemAssigned);
        // Never Assert.DoesNotContain(token, …): a failure would print the token.
        Assert.False(token.ToString().Contains(token.Token, StringComparison.Ordinal), "ToString() shows the token");
    }

    [Fact]
    public async Task EndpointFromTheDotNetEnvironment_AndWithEndpoint()
    {
        // Set with Environment.SetEnvironmentVariable by the fixture: invisible to getenv.
        using AzMiIdentity fromEnvironment = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        Assert.Equal(new Uri(Emulator.TokenUrl), fromEnvironment.Endpoint);

        using AzMiIdentity imds = fromEnvironment.WithEndpoint(null);
        Assert.Equal("169.254.169.254", imds.Endpoint.Host);

        using AzMiIdentity back = imds.WithEndpoint(new Uri(Emulator.TokenUrl));
        using AccessToken token = await back.GetTokenAsync(Vault);
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
        Assert.Contains(KnownIdentities.UamiClientId, back.Description);
    }

    public static TheoryData<string, string> UserAssignedIds => new()
    {
        { "client", KnownIdentities.UamiClientId },
        { "object", KnownIdentities.UamiObjectId },
        { "resource", KnownIdentities.UamiResourceId },
    };

    [Theory]
    [MemberData(nameof(UserAssignedIds))]
    public async Task UserAssigned_ByEachKindOfId_IsTheUamisToken(string kind, string id)
    {
        using AzMiIdentity identity = kind switch
        {
            "client" => ManagedIdentity.ForClientId(id),
            "object" => ManagedIdentity.ForObjectId(id),
            _ => ManagedIdentity.ForResourceId(id),
        };
        using AccessToken token = await identity.GetTokenAsync("https://management.azure.com/");

        Assert.Equal(KnownIdentities.UamiObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
    }

    [Fact]
    public async Task SecondCall_ComesFromTheCache_ForceRefreshDoesNot()
    {
        using AzMiIdentity identity = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        using AccessToken first = await identity.GetTokenAsync("https://storage.azure.com/", forceRefresh: true);
        using AccessToken second = await identity.GetTokenAsync("https://storage.azure.com/");

        Assert.False(first.FromCache);
        Assert.True(second.FromCache);
        Assert.Equal(Jwt.Fingerprint(first.Token), Jwt.Fingerprint(second.Token));
    }

    [Fact]
    public async Task GetToken_Synchronous_IsTheCachedToken_AndItsErrorsAreTheSame()
    {
        using AzMiIdentity identity = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        using AccessToken first = await identity.GetTokenAsync(Vault, forceRefresh: true);
        using AccessToken second = identity.GetToken(Vault + "/.default");

        Assert.True(second.FromCache);
        Assert.Equal(Jwt.Fingerprint(first.Token), Jwt.Fingerprint(second.Token));
        Assert.Equal(Vault, second.Resource);

        using AzMiIdentity unknown = ManagedIdentity.ForClientId("99999999-9999-9999-9999-999999999999");
        Assert.Throws<AzMiIdentityNotFoundException>(() => unknown.GetToken(Vault));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => identity.GetToken(Vault, cts.Token));
    }

    [Fact]
    public async Task Dispose_ClearsTheToken()
    {
        AccessToken token = await ManagedIdentity.GetTokenAsync(Vault);
        var copy = new char[token.Length];
        token.CopyTo(copy, 0);
        Assert.Equal(Jwt.Fingerprint(new string(copy)), Jwt.Fingerprint(token.Token));
        Assert.Equal(token.Length, token.AsSpan().Length);

        token.Dispose();
        Assert.Throws<ObjectDisposedException>(() => token.Token);
        Array.Clear(copy);
    }

    [Fact]
    public async Task UnknownClientId_IsAzMiIdentityNotFoundException_WithTheServicesCodes()
    {
        using AzMiIdentity identity = ManagedIdentity.ForClientId("99999999-9999-9999-9999-999999999999");

        var e = await Assert.ThrowsAsync<AzMiIdentityNotFoundException>(() => identity.GetTokenAsync(Vault));

        Assert.Equal(AzMiStatus.IdentityNotFound, e.Status);
        Assert.Equal("IdentityNotFound", e.StatusName);
        Assert.Equal(400, e.HttpStatus);
        Assert.Equal("invalid_request", e.ServiceErrorCode);
        Assert.Contains("99999999-9999-9999-9999-999999999999", e.Message);
    }

    [Fact]
    public async Task ClosedPort_IsAzMiUnavailableException_Quickly()
    {
        using AzMiIdentity identity = ManagedIdentity.CreateSystemAssigned()
            .WithEndpoint(new Uri($"http://127.0.0.1:{ClosedPort()}/metadata/identity/oauth2/token"));
        var clock = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<AzMiUnavailableException>(() => identity.GetTokenAsync(Vault));

        Assert.Equal(AzMiStatus.ManagedIdentityUnavailable, e.Status);
        Assert.Equal(0, e.HttpStatus);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void MalformedClientId_IsInvalidArgument()
    {
        var e = Assert.Throws<AzMiException>(() => ManagedIdentity.ForClientId("not-a-guid"));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
    }

    [Fact]
    public async Task CancellationToken_EndsAHeldCall_AtOnce()
    {
        using AzMiIdentity identity = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        await using IAsyncDisposable faults = await Emulator.InjectFaultsAsync(new { delay_ms = 30000 });
        using var cts = new CancellationTokenSource();

        Task<AccessToken> call = identity.GetTokenAsync("https://cancel.example/", forceRefresh: true, cts.Token);
        await Task.Delay(300);
        Assert.False(call.IsCompleted, "the call returned before the 30 s delay could hold it");
        var clock = Stopwatch.StartNew();
        cts.Cancel();

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(cts.Token, e.CancellationToken);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {clock.Elapsed}");
    }

    [Fact]
    public async Task AlreadyCancelledToken_NeverStartsTheCall()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ManagedIdentity.GetTokenAsync(Vault, cts.Token));
    }

    [Fact]
    public void Library_ReportsItsVersion()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+", AzMiLibrary.Version);
    }

    private static int ClosedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
