using System.Text;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Key Vault through the package (the README's <c>id.KeyVault(…).GetSecretAsync</c>) against the
/// emulator's vault: the value as a string and as bytes cleared on Dispose, the properties,
/// every page of a listing as an IAsyncEnumerable, and SecretNotFound; SetSecretAsync (a new
/// version with its settings) and DeleteSecretAsync (soft, the name then held: a conflict).
/// Secrets written here are deleted before the test ends, so listings see the built-in 32.
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
    public async Task SetSecretAsync_NewVersionsWithSettings_DeleteSecretAsync_SoftDeletes()
    {
        KeyVaultClient vault = ManagedIdentity.SystemAssigned.KeyVault(VaultUrl);
        var settings = new AzMiSecretSettings
        {
            ContentType = "text/plain",
            ExpiresOn = new DateTimeOffset(2100, 1, 2, 3, 4, 5, TimeSpan.Zero),
            NotBefore = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        settings.Tags["owner"] = "a \"quoted\" team";
        AzMiSecret first = await vault.SetSecretAsync("pkg-written", "first value", settings);
        using (first)
        {
            Assert.True(first.ValueAsString() == "first value", "the stored value differs (not printed)");
            Assert.Equal("pkg-written", first.Properties.Name);
            Assert.Equal("text/plain", first.Properties.ContentType);
            Assert.Equal(settings.ExpiresOn, first.Properties.Expires);
            Assert.Equal(settings.NotBefore, first.Properties.NotBefore);
            Assert.Equal("{\"owner\":\"a \\\"quoted\\\" team\"}", first.Properties.TagsJson);
            Assert.True(first.Properties.Enabled);
        }

        byte[] utf8 = "second value"u8.ToArray();
        using AzMiSecret second = await vault.SetSecretAsync("pkg-written", utf8, new AzMiSecretSettings { Enabled = false });
        Assert.True(utf8.AsSpan().SequenceEqual("second value"u8), "the caller's bytes are the caller's to clear");
        Assert.NotEqual(first.Properties.Version, second.Properties.Version);
        Assert.False(second.Properties.Enabled);
        Assert.Equal("{}", second.Properties.TagsJson);
        await Assert.ThrowsAsync<AzMiPermissionDeniedException>(() => vault.GetSecretAsync("pkg-written"));
        List<AzMiSecretProperties> versions = await vault.ListSecretVersionsAsync("pkg-written").ToListAsync();
        Assert.Equal(2, versions.Count);

        AzMiDeletedSecret deleted = await vault.DeleteSecretAsync("pkg-written");
        Assert.Equal($"{VaultUrl}/deletedsecrets/pkg-written", deleted.RecoveryId);
        Assert.Equal(second.Properties.Version, deleted.Properties.Version);
        Assert.NotNull(deleted.DeletedOn);
        Assert.Equal(deleted.DeletedOn!.Value.AddDays(90), deleted.ScheduledPurgeDate);

        var held = await Assert.ThrowsAsync<AzMiConflictException>(() => vault.SetSecretAsync("pkg-written", "third"));
        Assert.Equal(409, held.HttpStatus);
        Assert.Equal("Conflict", held.ServiceErrorCode);
        Assert.DoesNotContain("third", held.Message);
        await Assert.ThrowsAsync<AzMiNotFoundException>(() => vault.DeleteSecretAsync("pkg-written"));
    }

    [Fact]
    public async Task SetSecretAsync_ByAReader_IsPermissionDenied_BadSettings_NeverSent()
    {
        using AzMiIdentity reader = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        var denied = await Assert.ThrowsAsync<AzMiPermissionDeniedException>(() => reader.KeyVault(VaultUrl).SetSecretAsync("mi-test", "x"));
        Assert.Equal(403, denied.HttpStatus);

        KeyVaultClient vault = ManagedIdentity.SystemAssigned.KeyVault(VaultUrl);
        var tooMany = new AzMiSecretSettings();
        for (int i = 0; i < 16; i++)
        {
            tooMany.Tags[$"t{i}"] = "v";
        }

        var e = await Assert.ThrowsAsync<AzMiException>(() => vault.SetSecretAsync("pkg-never", "v", tooMany));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        Assert.Equal(0, e.HttpStatus);
        e = await Assert.ThrowsAsync<AzMiException>(() => vault.SetSecretAsync("pkg-never", new byte[] { 0xff }));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        e = await Assert.ThrowsAsync<AzMiException>(() => vault.SetSecretAsync("pkg-never", "v", new AzMiSecretSettings { ExpiresOn = DateTimeOffset.UnixEpoch }));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        await Assert.ThrowsAsync<AzMiNotFoundException>(() => vault.GetSecretAsync("pkg-never"));
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
