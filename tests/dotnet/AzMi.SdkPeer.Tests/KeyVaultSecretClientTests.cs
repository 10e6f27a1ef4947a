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
/// parsing of the secret prove that the emulator speaks the real protocol.
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

        Assert.Equal(32, names.Count); // two pages, nextLink followed by the SDK
    }
}
