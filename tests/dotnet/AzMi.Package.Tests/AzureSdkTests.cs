using Azure.Core;
using Azure.Core.Pipeline;
using global::Azure.Security.KeyVault.Secrets;
using global::Azure.Storage.Blobs;
using AzMi.Azure.Core;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// AzMi.Azure.Core's AzMiCredential with Azure SDK clients: SecretClient against the emulator's
/// Key Vault (the SDK's challenge names the scope) and BlobServiceClient against Azurite (a
/// bearer token checked by <c>--oauth basic</c>).
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class AzureSdkTests : IClassFixture<AzuriteFixture>
{
    private readonly PackageEnvironment _env;
    private readonly AzuriteFixture _azurite;

    public AzureSdkTests(PackageEnvironment env, AzuriteFixture azurite)
    {
        _env = env;
        _azurite = azurite;
        env.Trust(azurite.CertFile);
    }

    [Fact]
    public async Task SecretClient_WithAzMiCredential_ReadsAndListsSecrets()
    {
        using HttpClientHandler handler = _env.TrustingHandler();
        var options = new SecretClientOptions
        {
            Transport = new HttpClientTransport(handler),
            DisableChallengeResourceVerification = true, // the challenge names https://vault.azure.net; the vault is on 127.0.0.1
        };
        options.Retry.MaxRetries = 0;
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        var client = new SecretClient(new Uri(_env.Emulator.KeyVaultUrl), new AzMiCredential(id), options);

        global::Azure.Security.KeyVault.Secrets.KeyVaultSecret secret = (await client.GetSecretAsync("mi-test")).Value;
        Assert.Equal("mi-test", secret.Name);
        Assert.True(secret.Value == "Hello from Key Vault", "the value differs (not printed)");

        int count = 0;
        await foreach (global::Azure.Security.KeyVault.Secrets.SecretProperties _ in client.GetPropertiesOfSecretsAsync())
        {
            count++;
        }
        Assert.Equal(32, count);
    }

    [Fact]
    public async Task BlobServiceClient_WithAzMiCredential_UploadsAndDownloads()
    {
        using HttpClientHandler handler = _env.TrustingHandler();
        var options = new BlobClientOptions { Transport = new HttpClientTransport(handler) };
        options.Retry.MaxRetries = 0;
        var service = new BlobServiceClient(new Uri(_azurite.Url), new AzMiCredential(), options);

        BlobContainerClient container = service.GetBlobContainerClient("sdk");
        await container.CreateIfNotExistsAsync();
        global::Azure.Storage.Blobs.BlobClient blob = container.GetBlobClient("hello.txt");
        await blob.UploadAsync(BinaryData.FromString("Hello from the Azure SDK"), overwrite: true);

        Assert.Equal("Hello from the Azure SDK", (await blob.DownloadContentAsync()).Value.Content.ToString());

        // And the same blob read back through the package's own client.
        using AzMiBlobClient azmiBlob = ManagedIdentity.SystemAssigned.Blob(new Uri($"{_azurite.Url}/sdk/hello.txt"));
        Assert.Equal("Hello from the Azure SDK", System.Text.Encoding.UTF8.GetString(await azmiBlob.ReadAsync()));
    }

    [Fact]
    public async Task AzMiCredential_TakesOneResourceScope()
    {
        var credential = new AzMiCredential();
        global::Azure.Core.AccessToken token = await credential.GetTokenAsync(new TokenRequestContext(["https://vault.azure.net/.default"]), CancellationToken.None);
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        Assert.True(token.ExpiresOn > DateTimeOffset.UtcNow);

        Assert.Throws<ArgumentException>(() => credential.GetToken(new TokenRequestContext(["https://vault.azure.net/.default", "https://storage.azure.com/.default"]), CancellationToken.None));
    }

    [Fact]
    public async Task AzMiCredential_GetToken_GivesTheTokenGetTokenAsyncGives()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        var credential = new AzMiCredential(id);
        var context = new TokenRequestContext(["https://storage.azure.com/.default"]);
        global::Azure.Core.AccessToken viaAsync = await credential.GetTokenAsync(context, CancellationToken.None);

        global::Azure.Core.AccessToken viaSync = credential.GetToken(context, CancellationToken.None);

        Assert.Equal(Jwt.Fingerprint(viaAsync.Token), Jwt.Fingerprint(viaSync.Token));
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(viaSync.Token, "appid"));
        Assert.Equal(viaAsync.ExpiresOn, viaSync.ExpiresOn);
    }
}
