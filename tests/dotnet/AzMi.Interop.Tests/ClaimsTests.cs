using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// Claims challenges (continuous access evaluation) through the raw ABI, against an emulator of
/// this class's own: a token revoked with the emulator's admin call is recovered by a Key Vault
/// call with exactly one new token; a challenge that comes again is AZMI_CLAIMS_CHALLENGE after
/// two requests, with its claims in azmi_error_claims, which azmi_get_token_with_claims takes;
/// claims in bad forms and bad capability names are refused before anything is sent;
/// azmi_cancel ends a call waiting for the token that answers a challenge.
/// </summary>
public sealed class ClaimsTests : IClassFixture<EmulatorFixture>, IDisposable
{
    private const string Vault = "https://vault.azure.net";
    private const string ClaimsJson = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1767225600\"}}}";

    private readonly EmulatorFixture _emulator;
    private readonly AzMiIdentityHandle _identity;

    public ClaimsTests(EmulatorFixture emulator)
    {
        _emulator = emulator;
        EmulatorCa.Trust(emulator);
        _identity = Native.Identity(emulator);
    }

    public void Dispose() => _identity.Dispose();

    private AzMiStatus GetSecret(AzMiCancelHandle cancel, out AzMiErrorHandle error)
    {
        AzMiStatus status = NativeMethods.azmi_keyvault_get(
            _emulator.KeyVaultUrl, "mi-test", null, null, _identity, cancel, out AzMiSecretHandle secret, out error);
        secret.Dispose();
        return status;
    }

    private void GetSecretOk()
    {
        AzMiStatus status = GetSecret(AzMiCancelHandle.Null, out AzMiErrorHandle error);
        using (error)
        {
            Assert.True(status == AzMiStatus.Ok, error.IsInvalid ? status.ToString() : error.Message);
        }
    }

    private AzMiStatus WithClaims(string? claims, out AzMiErrorHandle error, out bool fromCache)
    {
        AzMiStatus status = NativeMethods.azmi_get_token_with_claims(
            Vault, _identity, claims, 0, AzMiCancelHandle.Null, out AzMiTokenHandle token, out error);
        using (token)
        {
            fromCache = status == AzMiStatus.Ok && NativeMethods.azmi_token_from_cache(token);
        }
        return status;
    }

    [Fact]
    public async Task RevokedToken_KeyVaultRecovers_WithExactlyOneNewToken()
    {
        GetSecretOk();
        long issued = (await _emulator.GetCountersAsync()).TokensIssued;
        long challenges = (await _emulator.GetServiceCountersAsync()).ClaimsChallenges;
        await _emulator.RevokeTokensAsync();

        GetSecretOk();

        Assert.Equal(issued + 1, (await _emulator.GetCountersAsync()).TokensIssued);
        Assert.Equal(challenges + 1, (await _emulator.GetServiceCountersAsync()).ClaimsChallenges);
    }

    [Fact]
    public async Task RepeatedChallenge_IsClaimsChallenge_AfterTwoRequests_WithTheClaims()
    {
        GetSecretOk();
        long sent = (await _emulator.GetServiceCountersAsync()).Requests;
        await using (await _emulator.InjectServiceFaultsAsync(new { claims_challenge = true, count = 5 }))
        {
            AzMiStatus status = GetSecret(AzMiCancelHandle.Null, out AzMiErrorHandle error);
            using (error)
            {
                Assert.Equal(AzMiStatus.ClaimsChallenge, status);
                Assert.Equal("ClaimsChallenge", AzMiLibrary.StatusName(status));
                Assert.Equal(401, error.HttpStatus);
                Assert.Contains("second claims challenge", error.Message);
                string claims = Assert.IsType<string>(error.Claims);
                Assert.Contains("\"nbf\"", claims);
                Assert.Equal(sent + 2, (await _emulator.GetServiceCountersAsync()).Requests);

                // The error's claims are what azmi_get_token_with_claims takes.
                Assert.Equal(AzMiStatus.Ok, WithClaims(claims, out AzMiErrorHandle again, out bool fromCache));
                again.Dispose();
                Assert.False(fromCache);
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not claims")]
    [InlineData("[1]")]
    [InlineData("WzFd")]
    [InlineData("{\"a\":")]
    public async Task BadClaims_AreInvalidArgument_BeforeAnythingIsSent(string claims)
    {
        long requests = await _emulator.TokenRequestsAsync();
        AzMiStatus status = WithClaims(claims, out AzMiErrorHandle error, out _);
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
            Assert.Contains("claims", error.Message);
            Assert.Null(error.Claims);
        }
        Assert.Equal(requests, await _emulator.TokenRequestsAsync());
    }

    [Fact]
    public void ClaimsAsJsonOrBase64_AreANewToken_NullIsTheCache()
    {
        string base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ClaimsJson));
        foreach (string claims in new[] { ClaimsJson, base64 })
        {
            Assert.Equal(AzMiStatus.Ok, WithClaims(claims, out AzMiErrorHandle error, out bool fromCache));
            error.Dispose();
            Assert.False(fromCache);
        }
        Assert.Equal(AzMiStatus.Ok, WithClaims(null, out AzMiErrorHandle none, out bool cached));
        none.Dispose();
        Assert.True(cached);
    }

    [Fact]
    public void ClientCapabilities_AreCheckedKeptAndCleared()
    {
        using AzMiIdentityHandle id = Native.Identity(_emulator);
        Assert.Equal("", NativeMethods.Lent(NativeMethods.azmi_identity_client_capabilities(id), id));
        Assert.Equal(AzMiStatus.Ok, NativeMethods.azmi_identity_set_client_capabilities(id, "cp1,cp2", out AzMiErrorHandle ok));
        ok.Dispose();
        Assert.Equal("cp1,cp2", NativeMethods.Lent(NativeMethods.azmi_identity_client_capabilities(id), id));
        Assert.Equal(AzMiStatus.InvalidArgument, NativeMethods.azmi_identity_set_client_capabilities(id, "cp 1", out AzMiErrorHandle bad));
        using (bad)
        {
            Assert.Contains("cp 1", bad.Message);
        }
        Assert.Equal("cp1,cp2", NativeMethods.Lent(NativeMethods.azmi_identity_client_capabilities(id), id));
        Assert.Equal(AzMiStatus.Ok, NativeMethods.azmi_identity_set_client_capabilities(id, null, out AzMiErrorHandle cleared));
        cleared.Dispose();
        Assert.Equal("", NativeMethods.Lent(NativeMethods.azmi_identity_client_capabilities(id), id));
    }

    [Fact]
    public async Task Cancel_WhileTheTokenThatAnswersAChallengeIsAwaited_IsCancelled()
    {
        GetSecretOk();
        await _emulator.RevokeTokensAsync();
        await using (await _emulator.InjectFaultsAsync(new { delay_ms = 30000 }))
        {
            using AzMiCancelHandle cancel = AzMiCancelHandle.Create();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Task<AzMiStatus> call = Task.Run(() =>
            {
                AzMiStatus status = GetSecret(cancel, out AzMiErrorHandle error);
                error.Dispose();
                return status;
            });
            await Task.Delay(500);
            cancel.Cancel();
            Assert.Equal(AzMiStatus.Cancelled, await call);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "cancelled at once, not after the delay");
        }
        GetSecretOk();
    }
}
