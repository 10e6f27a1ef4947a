using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// Key Vault secrets (the tutorial's "read a secret") through <see cref="AzMiKeyVault"/> and the
/// raw ABI, against azmi-emulator's vault over HTTPS: values read as bytes and cleared (no
/// string, no SecureString), every page of a listing, the not-found error.
/// </summary>
public sealed class KeyVaultTests : IClassFixture<EmulatorFixture>, IDisposable
{
    private static readonly byte[] Expected = Encoding.UTF8.GetBytes("Hello from Key Vault");

    private readonly EmulatorFixture _emulator;
    private readonly AzMiIdentityHandle _system;
    private readonly AzMiIdentityHandle _user;

    public KeyVaultTests(EmulatorFixture emulator)
    {
        _emulator = emulator;
        EmulatorCa.Trust(emulator);
        _system = Native.Identity(emulator);
        _user = Native.Identity(emulator, clientId: KnownIdentities.UamiClientId);
    }

    public void Dispose()
    {
        _system.Dispose();
        _user.Dispose();
    }

    [Fact]
    public void GetSecret_ValueAsBytes_ThroughTheRawAbi_CopiedComparedAndCleared()
    {
        AzMiStatus status = NativeMethods.azmi_keyvault_get(
            _emulator.KeyVaultUrl, "mi-test", null, null, _system, AzMiCancelHandle.Null, out AzMiSecretHandle secret, out AzMiErrorHandle error);
        using (secret)
        using (error)
        {
            Assert.True(status == AzMiStatus.Ok, error.IsInvalid ? status.ToString() : error.Message);
            byte[] value = secret.Use(raw =>
            {
                int length = checked((int)NativeMethods.azmi_secret_value_len(raw));
                var copy = new byte[length];
                Marshal.Copy(NativeMethods.azmi_secret_value(raw), copy, 0, length);
                return copy;
            });
            try
            {
                Assert.True(Expected.AsSpan().SequenceEqual(value), "the value differs (not printed)");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(value);
            }
            Assert.All(value, b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public void GetSecret_SystemAssigned_ValueAndProperties()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        using AzMiSecret secret = vault.GetSecret("mi-test");

        Assert.True(secret.Value.SequenceEqual(Expected), "the value differs (not printed)");
        AzMiSecretProperties p = secret.Properties;
        Assert.Equal("mi-test", p.Name);
        Assert.Matches("^[0-9a-f]{32}$", p.Version);
        Assert.Equal($"{_emulator.KeyVaultUrl}/secrets/mi-test/{p.Version}", p.Id);
        Assert.Equal("text/plain", p.ContentType);
        Assert.True(p.Enabled);
        Assert.NotNull(p.Created);
        Assert.Null(p.Expires);
        Assert.Contains("\"purpose\":\"azmi-tests\"", p.TagsJson);
        Assert.DoesNotContain("Hello", secret.ToString());
    }

    [Fact]
    public void GetSecret_Dispose_ClearsTheValue()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        AzMiSecret secret = vault.GetSecret("mi-test");
        Assert.Equal(Expected.Length, secret.Value.Length);
        secret.Dispose();
        Assert.True(secret.Disposed);
        Assert.Throws<ObjectDisposedException>(() => secret.Value.Length);
    }

    [Fact]
    public void GetSecret_UserAssigned_ByClientId()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _user);
        using AzMiSecret secret = vault.GetSecret("mi-test");
        Assert.True(secret.Value.SequenceEqual(Expected), "the value differs (not printed)");
    }

    [Fact]
    public void GetSecret_OlderVersion_FromTheVersionList()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        IReadOnlyList<AzMiSecretProperties> versions = vault.ListVersions("mi-test");
        Assert.Equal(2, versions.Count);
        using AzMiSecret latest = vault.GetSecret("mi-test");
        AzMiSecretProperties older = Assert.Single(versions, v => v.Version != latest.Properties.Version);

        using AzMiSecret secret = vault.GetSecret("mi-test", older.Version);
        Assert.True(secret.Value.SequenceEqual(Encoding.UTF8.GetBytes("Hello from Key Vault (version 1)")), "the value differs (not printed)");
    }

    [Fact]
    public async Task ListSecrets_EveryPage_WithoutValues()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        IReadOnlyList<AzMiSecretProperties> all = vault.ListSecrets();

        Assert.Equal(32, all.Count); // 25 per page: two pages
        Assert.Equal(32, all.Select(s => s.Name).Distinct().Count());
        Assert.Contains(all, s => s.Name == "mi-test" && s.Enabled);
        Assert.Contains(all, s => s.Name == "mi-disabled" && !s.Enabled);
        Assert.Equal(30, all.Count(s => s.Name.StartsWith("paging-secret-", StringComparison.Ordinal)));
        Assert.All(all, s => Assert.Equal("", s.Version));
        IReadOnlyList<RecordedRequest> requests = await _emulator.GetServiceRequestsAsync();
        Assert.Contains(requests, r => r.Method == "GET" && r.Path == "/secrets" && r.QueryValues("$skiptoken").Count == 1);
    }

    [Fact]
    public void ListSecrets_CancelledToken_ThrowsOperationCanceled()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => vault.ListSecrets(cts.Token));
    }

    [Fact]
    public void GetSecret_Missing_IsNotFound_NamingTheSecret()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        AzMiException e = Assert.Throws<AzMiException>(() => vault.GetSecret("no-such-secret"));

        Assert.Equal(AzMiStatus.NotFound, e.Status);
        Assert.Equal(404, e.HttpStatus);
        Assert.Equal("SecretNotFound", e.ServiceErrorCode);
        Assert.Contains("no-such-secret", e.Message);
    }

    [Fact]
    public void ApiVersion_UnknownToTheVault_IsItsBadParameter_ForGetsAndListings()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system, apiVersion: "7.9");
        foreach (Action call in new Action[]
        {
            () => vault.GetSecret("mi-test").Dispose(),
            () => vault.ListSecrets(),
            () => vault.ListVersions("mi-test"),
        })
        {
            AzMiException e = Assert.Throws<AzMiException>(call);
            Assert.Equal(AzMiStatus.ServiceError, e.Status);
            Assert.Equal(400, e.HttpStatus);
            Assert.Equal("BadParameter", e.ServiceErrorCode);
            Assert.Contains("The specified version (7.9) is not recognized", e.Message);
        }
    }

    [Fact]
    public async Task ApiVersion_Older_IsSentOnEveryRequest()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system, apiVersion: "7.4");
        await _emulator.ResetAsync();
        using (AzMiSecret secret = vault.GetSecret("mi-test"))
        {
            Assert.True(secret.Value.SequenceEqual(Expected), "the value differs (not printed)");
        }
        Assert.Equal(32, vault.ListSecrets().Count);
        Assert.Equal(2, vault.ListVersions("mi-test").Count);

        IReadOnlyList<RecordedRequest> requests = await _emulator.GetServiceRequestsAsync();
        Assert.True(requests.Count >= 4, $"{requests.Count} requests");
        Assert.All(requests, r => Assert.Equal(new[] { "7.4" }, r.QueryValues("api-version")));
    }

    [Fact]
    public async Task ApiVersion_Malformed_IsRefusedBeforeAnythingIsSent()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system, apiVersion: "7.5&x=y");
        await _emulator.ResetAsync();
        AzMiException e = Assert.Throws<AzMiException>(() => vault.GetSecret("mi-test"));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        Assert.Contains("7.6-preview.1", e.Message);
        Assert.Equal(AzMiStatus.InvalidArgument, Assert.Throws<AzMiException>(() => vault.ListSecrets()).Status);
        Assert.Empty(await _emulator.GetServiceRequestsAsync());
    }

    [Fact]
    public void GetSecret_Disabled_IsPermissionDenied()
    {
        var vault = new AzMiKeyVault(_emulator.KeyVaultUrl, _system);
        AzMiException e = Assert.Throws<AzMiException>(() => vault.GetSecret("mi-disabled"));
        Assert.Equal(AzMiStatus.PermissionDenied, e.Status);
        Assert.Equal(403, e.HttpStatus);
    }
}
