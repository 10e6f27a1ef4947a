using Azure.Core;
using Azure.Core.Pipeline;
using AzMi.Azure.Core;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Claims challenges (continuous access evaluation) through the packages: the real peer, the
/// Azure SDK's SecretClient with AzMiCredential after the emulator revoked the identity's
/// tokens (the SDK's own bearer-token policy gets the challenge and asks the credential again
/// with its claims); AzMiCredential passing TokenRequestContext.Claims and declaring cp1 for
/// IsCaeEnabled; GetTokenAsync with claims; WithClientCapabilities; the package's own Key Vault
/// client answering one challenge and throwing AzMiClaimsChallengeException on the second; a
/// CancellationToken during the retry. Only the user-assigned identity's tokens are revoked:
/// the emulator is shared with the other tests of the collection.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class ClaimsTests(PackageEnvironment env)
{
    private const string VaultScope = "https://vault.azure.net/.default";
    private const string Claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1767225600\"}}}";

    private global::Azure.Security.KeyVault.Secrets.SecretClient SecretClient(AzMiCredential credential, HttpClientHandler handler)
    {
        var options = new global::Azure.Security.KeyVault.Secrets.SecretClientOptions
        {
            Transport = new HttpClientTransport(handler),
            DisableChallengeResourceVerification = true, // the challenge names https://vault.azure.net; the vault is on 127.0.0.1
        };
        options.Retry.MaxRetries = 0;
        return new global::Azure.Security.KeyVault.Secrets.SecretClient(new Uri(env.Emulator.KeyVaultUrl), credential, options);
    }

    [Fact]
    public async Task SecretClient_WithAzMiCredential_RecoversFromARevocation_ThroughTheSdksOwnPolicy()
    {
        using HttpClientHandler handler = env.TrustingHandler();
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        var client = SecretClient(new AzMiCredential(id), handler);
        Assert.True((await client.GetSecretAsync("mi-test")).Value.Value == "Hello from Key Vault", "the value differs (not printed)");

        long issued = (await env.Emulator.GetCountersAsync()).TokensIssued;
        long challenges = (await env.Emulator.GetServiceCountersAsync()).ClaimsChallenges;
        await env.Emulator.RevokeTokensAsync(KnownIdentities.UamiClientId);

        global::Azure.Security.KeyVault.Secrets.KeyVaultSecret secret = (await client.GetSecretAsync("mi-test")).Value;

        Assert.True(secret.Value == "Hello from Key Vault", "the value differs (not printed)");
        Assert.Equal(challenges + 1, (await env.Emulator.GetServiceCountersAsync()).ClaimsChallenges);
        Assert.Equal(issued + 1, (await env.Emulator.GetCountersAsync()).TokensIssued);
    }

    [Fact]
    public async Task AzMiCredential_PassesClaims_AndDeclaresCp1WhenCaeIsEnabled()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        var credential = new AzMiCredential(id);
        global::Azure.Core.AccessToken plain = await credential.GetTokenAsync(new TokenRequestContext([VaultScope]), CancellationToken.None);
        global::Azure.Core.AccessToken cae = await credential.GetTokenAsync(new TokenRequestContext([VaultScope], isCaeEnabled: true), CancellationToken.None);
        // IMDS takes no capabilities: the same token, from azmi's cache (compared, never printed).
        Assert.True(plain.Token == cae.Token, "IMDS: one token for both");
        Assert.Empty(id.ClientCapabilities);

        long requests = await env.Emulator.TokenRequestsAsync();
        global::Azure.Core.AccessToken renewed = await credential.GetTokenAsync(
            new TokenRequestContext([VaultScope], claims: Claims, isCaeEnabled: true), CancellationToken.None);
        Assert.True(renewed.Token != cae.Token, "claims give a new token");
        Assert.Equal(requests + 1, await env.Emulator.TokenRequestsAsync());
        global::Azure.Core.AccessToken after = await credential.GetTokenAsync(new TokenRequestContext([VaultScope], isCaeEnabled: true), CancellationToken.None);
        Assert.True(after.Token == renewed.Token, "the new token replaced the cached one");
    }

    [Fact]
    public async Task GetTokenAsync_WithClaims_IsANewToken_BadClaimsAreInvalidArgument()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        using AzMi.AccessToken first = await id.GetTokenAsync("https://management.azure.com/");
        string base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Claims));
        using AzMi.AccessToken renewed = await id.GetTokenAsync("https://management.azure.com/", base64);
        Assert.False(renewed.FromCache);
        Assert.True(renewed.Token != first.Token, "a new token (not printed)");
        using AzMi.AccessToken none = await id.GetTokenAsync("https://management.azure.com/", claims: null);
        Assert.True(none.FromCache);

        long requests = await env.Emulator.TokenRequestsAsync();
        foreach (string bad in new[] { "", "not claims", "[1]" })
        {
            var e = await Assert.ThrowsAsync<AzMiException>(() => id.GetTokenAsync("https://management.azure.com/", bad));
            Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
            Assert.Contains("claims", e.Message);
        }
        Assert.Equal(requests, await env.Emulator.TokenRequestsAsync());
    }

    [Fact]
    public void WithClientCapabilities_KeepsTheIdentity_AndRefusesBadNames()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        using AzMiIdentity cae = id.WithClientCapabilities("cp1");
        Assert.Equal(["cp1"], cae.ClientCapabilities);
        Assert.Empty(id.ClientCapabilities);
        Assert.Equal(id.Description, cae.Description);
        Assert.Equal(id.Endpoint, cae.Endpoint);
        using AzMiIdentity timed = cae.WithTimeouts(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100));
        Assert.Equal(["cp1"], timed.ClientCapabilities);
        using AzMiIdentity none = cae.WithClientCapabilities();
        Assert.Empty(none.ClientCapabilities);

        var e = Assert.Throws<AzMiException>(() => id.WithClientCapabilities("cp 1"));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        Assert.Throws<ArgumentException>(() => id.WithClientCapabilities("cp1,cp2"));
    }

    [Fact]
    public async Task KeyVaultClient_SecondChallenge_IsAzMiClaimsChallengeException_WithTheClaims()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        KeyVaultClient vault = id.KeyVault(env.Emulator.KeyVaultUrl);
        await vault.GetSecretAsync("mi-test");
        long sent = (await env.Emulator.GetServiceCountersAsync()).Requests;
        await using (await env.Emulator.InjectServiceFaultsAsync(new { claims_challenge = true, count = 5 }))
        {
            var e = await Assert.ThrowsAsync<AzMiClaimsChallengeException>(() => vault.GetSecretAsync("mi-test"));
            Assert.Equal(AzMiStatus.ClaimsChallenge, e.Status);
            Assert.Equal(401, e.HttpStatus);
            Assert.Contains("\"nbf\"", e.Claims);
            Assert.Contains("mi-test", e.Message);
            Assert.Equal(sent + 2, (await env.Emulator.GetServiceCountersAsync()).Requests);
        }
        // One challenge is answered by the client itself.
        await using (await env.Emulator.InjectServiceFaultsAsync(new { claims_challenge = true }))
        {
            Assert.True(await vault.GetSecretAsync("mi-test") == "Hello from Key Vault", "the value differs (not printed)");
        }
    }

    [Fact]
    public async Task CancellationToken_DuringTheRetry_IsOperationCanceled()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        KeyVaultClient vault = id.KeyVault(env.Emulator.KeyVaultUrl);
        await vault.GetSecretAsync("mi-test");
        await env.Emulator.RevokeTokensAsync(KnownIdentities.UamiClientId);
        await using (await env.Emulator.InjectFaultsAsync(new { delay_ms = 30000 }))
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => vault.GetSecretAsync("mi-test", cts.Token));
        }
        Assert.True(await vault.GetSecretAsync("mi-test") == "Hello from Key Vault", "recovered afterwards");
    }
}
