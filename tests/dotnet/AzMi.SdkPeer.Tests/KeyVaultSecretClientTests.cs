using Azure;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using AzMi.Testing;

namespace AzMi.SdkPeer.Tests;

/// <summary>
/// The test classes that use Azure.Identity: MSAL finds IMDS through the process-wide
/// AZURE_POD_IDENTITY_AUTHORITY_HOST and keeps the first endpoint it used for the whole
/// process, so they share one emulator and never run at the same time.
/// </summary>
[CollectionDefinition(Collection)]
public sealed class ProcessEnvironment : ICollectionFixture<SdkPeerEmulator>
{
    public const string Collection = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
}

/// <summary>
/// Azure.Security.KeyVault.Secrets' SecretClient with ManagedIdentityCredential against the
/// emulator's Key Vault: the SDK's challenge-based authentication (a first request without a
/// token, the 401's WWW-Authenticate naming the resource, then a token from IMDS) and its
/// parsing of the secret prove that the emulator speaks the real protocol. So do its writes:
/// SetSecret (a new version each time), StartDeleteSecret (whose operation polls the deleted
/// secret until the vault shows it), the 409 of a name a deleted secret holds, and purge.
/// </summary>
[Collection(ProcessEnvironment.Collection)]
public sealed class KeyVaultSecretClientTests
{
    private readonly SdkPeerEmulator _emulator;

    public KeyVaultSecretClientTests(SdkPeerEmulator emulator)
    {
        _emulator = emulator;
        // Read by Azure.Identity (MSAL) with Environment.GetEnvironmentVariable: IMDS on the emulator.
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.AuthorityHost);
        foreach (string other in new[] { "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET" })
        {
            Environment.SetEnvironmentVariable(other, null);
        }
    }

    [Fact]
    public async Task SecretClient_ReadsMiTest_WithManagedIdentityCredential()
    {
        using HttpClientHandler handler = _emulator.TrustingHandler();
        // The SDK's default api-version (2026-04-01 for 4.12.0), as a user would leave it.
        var options = new SecretClientOptions
        {
            Transport = new HttpClientTransport(handler),
            // The challenge names https://vault.azure.net; the vault is on 127.0.0.1.
            DisableChallengeResourceVerification = true,
        };
        options.Retry.MaxRetries = 0;

        var credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId));
        var client = new SecretClient(new Uri(_emulator.KeyVaultUrl), credential, options);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        KeyVaultSecret secret = (await client.GetSecretAsync("mi-test", cancellationToken: timeout.Token)).Value;

        Assert.Equal("mi-test", secret.Name);
        Assert.Equal("Hello from Key Vault", secret.Value);
        Assert.Equal("text/plain", secret.Properties.ContentType);
        Assert.Equal("azmi-tests", secret.Properties.Tags["purpose"]);
        Assert.True(secret.Properties.Enabled);
        Assert.Matches("^[0-9a-f]{32}$", secret.Properties.Version);
        Assert.Equal(new Uri(_emulator.KeyVaultUrl).Authority, secret.Id.Authority);

        var names = new List<string>();
        await foreach (SecretProperties properties in client.GetPropertiesOfSecretsAsync(timeout.Token))
        {
            names.Add(properties.Name);
        }

        // Two pages (25 a page), nextLink followed by the SDK. Other tests of the collection may
        // have written secrets of their own; the 32 built-in ones are all there.
        Assert.Equal(30, names.Count(n => n.StartsWith("paging-secret-", StringComparison.Ordinal)));
        Assert.Contains("mi-disabled", names);
        Assert.True(names.Count >= 32, $"{names.Count} secrets listed");
    }

    [Fact]
    public async Task SecretClient_WritesVersions_SoftDeletes_Purges()
    {
        // The system-assigned identity is Key Vault Secrets Officer on the emulator's vault.
        SecretClient client = Client(new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        CancellationToken ct = timeout.Token;
        const string name = "sdk-peer-written";

        var first = new KeyVaultSecret(name, "value 1");
        first.Properties.ContentType = "text/plain";
        first.Properties.Tags["team"] = "peer";
        first.Properties.ExpiresOn = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);
        KeyVaultSecret written = (await client.SetSecretAsync(first, ct)).Value;
        Assert.Equal(name, written.Name);
        Assert.Equal("value 1", written.Value);
        Assert.Matches("^[0-9a-f]{32}$", written.Properties.Version);
        Assert.Equal("text/plain", written.Properties.ContentType);
        Assert.Equal("peer", written.Properties.Tags["team"]);
        Assert.Equal(first.Properties.ExpiresOn, written.Properties.ExpiresOn);
        Assert.True(written.Properties.Enabled);
        Assert.NotNull(written.Properties.CreatedOn);

        KeyVaultSecret second = (await client.SetSecretAsync(name, "value 2", ct)).Value;
        Assert.NotEqual(written.Properties.Version, second.Properties.Version);
        Assert.Empty(second.Properties.Tags);
        Assert.Equal("value 2", (await client.GetSecretAsync(name, cancellationToken: ct)).Value.Value);
        Assert.Equal("value 1", (await client.GetSecretAsync(name, written.Properties.Version, ct)).Value.Value);
        var versions = new List<string>();
        await foreach (SecretProperties version in client.GetPropertiesOfSecretVersionsAsync(name, ct))
        {
            versions.Add(version.Version);
        }

        Assert.Equal(2, versions.Count);

        DeleteSecretOperation deletion = await client.StartDeleteSecretAsync(name, ct);
        DeletedSecret deleted = (await deletion.WaitForCompletionAsync(TimeSpan.FromMilliseconds(100), ct)).Value;
        Assert.Equal(name, deleted.Name);
        Assert.Equal(new Uri($"{_emulator.KeyVaultUrl}/deletedsecrets/{name}"), deleted.RecoveryId);
        Assert.NotNull(deleted.DeletedOn);
        Assert.Equal(deleted.DeletedOn!.Value.AddDays(90), deleted.ScheduledPurgeDate);
        Assert.Equal(second.Properties.Version, deleted.Properties.Version);

        RequestFailedException gone = await Assert.ThrowsAsync<RequestFailedException>(() => client.GetSecretAsync(name, cancellationToken: ct));
        Assert.Equal(404, gone.Status);
        Assert.Equal("SecretNotFound", gone.ErrorCode);
        Assert.Equal(name, (await client.GetDeletedSecretAsync(name, ct)).Value.Name);

        RequestFailedException held = await Assert.ThrowsAsync<RequestFailedException>(() => client.SetSecretAsync(name, "value 3", ct));
        Assert.Equal(409, held.Status);
        Assert.Equal("Conflict", held.ErrorCode);
        Assert.Contains("deleted but recoverable", held.Message, StringComparison.Ordinal);

        await client.PurgeDeletedSecretAsync(name, ct);
        KeyVaultSecret again = (await client.SetSecretAsync(name, "value 3", ct)).Value;
        Assert.Equal("value 3", again.Value);

        // Leave the vault as it was for the other tests.
        await (await client.StartDeleteSecretAsync(name, ct)).WaitForCompletionAsync(TimeSpan.FromMilliseconds(100), ct);
        await client.PurgeDeletedSecretAsync(name, ct);
    }

    [Fact]
    public async Task SecretClient_ReaderIdentity_IsRefusedWrites()
    {
        // The user-assigned identity is Key Vault Secrets User: reads only.
        SecretClient client = Client(new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        RequestFailedException e = await Assert.ThrowsAsync<RequestFailedException>(() => client.SetSecretAsync("mi-test", "overwritten", timeout.Token));
        Assert.Equal(403, e.Status);
        Assert.Equal("Forbidden", e.ErrorCode);
        Assert.Contains("secrets/setSecret/action", e.Message, StringComparison.Ordinal);
        Assert.Equal("Hello from Key Vault", (await client.GetSecretAsync("mi-test", cancellationToken: timeout.Token)).Value.Value);
    }

    private SecretClient Client(ManagedIdentityCredential credential)
    {
        HttpClientHandler handler = _emulator.TrustingHandler();
        var options = new SecretClientOptions
        {
            Transport = new HttpClientTransport(handler),
            // The challenge names https://vault.azure.net; the vault is on 127.0.0.1.
            DisableChallengeResourceVerification = true,
        };
        options.Retry.MaxRetries = 0;
        return new SecretClient(new Uri(_emulator.KeyVaultUrl), credential, options);
    }
}
