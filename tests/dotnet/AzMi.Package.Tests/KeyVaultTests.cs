using System.Text;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Key Vault through the package (the README's <c>id.KeyVault(…).GetSecretAsync</c>) against the
/// emulator's vault: the value as a string and as bytes cleared on Dispose, the properties,
/// every page of a listing as an IAsyncEnumerable, and SecretNotFound.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class KeyVaultTests(PackageEnvironment env)
{
    private string VaultUrl => env.Emulator.KeyVaultUrl;

    [Fact]
    public async Task GetSecretAsync_UserAssigned_TutorialSecret()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        string secret = await id.KeyVault(VaultUrl).GetSecretAsync("mi-test", CancellationToken.None);
        Assert.True(secret == "Hello from Key Vault", "the value differs (not printed)");
    }

    [Fact]
    public async Task GetSecretWithProperties_SystemAssigned_ValueClearedOnDispose()
    {
        AzMiSecret secret = await ManagedIdentity.SystemAssigned.KeyVault(new Uri(VaultUrl)).GetSecretWithPropertiesAsync("mi-test");
        byte[] value = secret.Value;
        Assert.True(value.AsSpan().SequenceEqual("Hello from Key Vault"u8), "the value differs (not printed)");
        AzMiSecretProperties p = secret.Properties;
        Assert.Equal("mi-test", p.Name);
        Assert.Matches("^[0-9a-f]{32}$", p.Version);
        Assert.Equal($"{VaultUrl}/secrets/mi-test/{p.Version}", p.Id);
        Assert.Equal("text/plain", p.ContentType);
        Assert.True(p.Enabled);
        Assert.NotNull(p.Created);
        Assert.Contains("\"purpose\":\"azmi-tests\"", p.TagsJson);
        Assert.DoesNotContain("Hello", secret.ToString());

        secret.Dispose();
        Assert.All(value, b => Assert.Equal(0, b));
        Assert.Throws<ObjectDisposedException>(() => secret.Value);
    }

    [Fact]
    public async Task MissingSecret_IsAzMiNotFoundException_SecretNotFound()
    {
        var e = await Assert.ThrowsAsync<AzMiNotFoundException>(
            () => ManagedIdentity.SystemAssigned.KeyVault(VaultUrl).GetSecretAsync("no-such-secret"));
        Assert.Equal(AzMiStatus.NotFound, e.Status);
        Assert.Equal(404, e.HttpStatus);
        Assert.Equal("SecretNotFound", e.ServiceErrorCode);
        Assert.Contains("no-such-secret", e.Message);
    }

    [Fact]
    public async Task WithApiVersion_MalformedIsInvalidArgument_BeforeSending_AnOlderOneWorks()
    {
        KeyVaultClient vault = ManagedIdentity.SystemAssigned.KeyVault(VaultUrl);
        var e = await Assert.ThrowsAsync<AzMiException>(() => vault.WithApiVersion("seven").GetSecretAsync("mi-test"));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        Assert.Equal(0, e.HttpStatus);

        KeyVaultClient older = vault.WithApiVersion("7.4");
        Assert.Equal("7.4", older.ApiVersion);
        Assert.Null(vault.ApiVersion);
        Assert.True(await older.GetSecretAsync("mi-test") == "Hello from Key Vault", "the value differs (not printed)");
    }

    [Fact]
    public async Task ListSecretsAsync_AwaitForeach_EveryPage()
    {
        var names = new List<string>();
        await foreach (AzMiSecretProperties p in ManagedIdentity.SystemAssigned.KeyVault(VaultUrl).ListSecretsAsync())
        {
            Assert.Equal("", p.Version);
            names.Add(p.Name);
        }

        Assert.Equal(32, names.Count); // two pages of the emulator's vault
        Assert.Contains("mi-test", names);
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public async Task ListSecretsAsync_BreakingEarly_StopsTheListing_AndTheLoopMayCallAzMi()
    {
        KeyVaultClient vault = ManagedIdentity.SystemAssigned.KeyVault(VaultUrl);
        int seen = 0;
        await foreach (AzMiSecretProperties p in vault.ListSecretsAsync())
        {
            // The loop body is outside azmi's callback: a blocking azmi call works here.
            using AzMiSecret _ = await vault.GetSecretWithPropertiesAsync("mi-test");
            if (++seen == 2)
            {
                break;
            }
        }

        Assert.Equal(2, seen);
        List<AzMiSecretProperties> all = await vault.ListSecretsAsync().ToListAsync();
        Assert.Equal(32, all.Count);
    }

    [Fact]
    public async Task ListSecretsAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (AzMiSecretProperties _ in ManagedIdentity.SystemAssigned.KeyVault(VaultUrl).ListSecretsAsync().WithCancellation(cts.Token))
            {
            }
        });
    }
}
