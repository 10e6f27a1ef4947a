using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed class CachingTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task RepeatedCalls_AreServedFromTheCache_AndForceRefreshAsksAgain()
    {
        const string resource = "https://management.azure.com/";
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        long before = await emulator.TokenRequestsAsync();

        var tokens = new List<AzMiToken>();
        for (int i = 0; i < 200; i++)
        {
            tokens.Add(Native.Get(resource, identity));
        }

        Assert.Equal(before + 1, await emulator.TokenRequestsAsync());
        Assert.False(tokens[0].FromCache, "the first call must have asked the endpoint");
        Assert.All(tokens.Skip(1), t => Assert.True(t.FromCache, "a repeated call was not served from the cache"));
        string first = Jwt.Fingerprint(tokens[0].Token);
        Assert.All(tokens, t => Assert.Equal(first, Jwt.Fingerprint(t.Token)));
        Assert.All(tokens, t => Assert.Equal(tokens[0].ExpiresOn, t.ExpiresOn));

        AzMiToken forced = Native.Get(resource, identity, NativeMethods.AZMI_FLAG_FORCE_REFRESH);

        Assert.Equal(before + 2, await emulator.TokenRequestsAsync());
        Assert.False(forced.FromCache);
        Assert.NotEqual(first, Jwt.Fingerprint(forced.Token));
        Assert.Equal(resource, Jwt.Claim(forced.Token, "aud"));

        // The refreshed token replaced the cached one.
        AzMiToken after = Native.Get(resource, identity);
        Assert.True(after.FromCache);
        Assert.Equal(Jwt.Fingerprint(forced.Token), Jwt.Fingerprint(after.Token));
        Assert.Equal(before + 2, await emulator.TokenRequestsAsync());
    }

    [Fact]
    public async Task CacheIsProcessWide_AcrossIdentityObjects_ButPerIdentity()
    {
        const string resource = "https://vault.azure.net";
        long before = await emulator.TokenRequestsAsync();

        // Two separate objects for the same selection share cache entries...
        using (AzMiIdentityHandle one = Native.Identity(emulator))
        {
            Assert.False(Native.Get(resource, one).FromCache);
        }
        using (AzMiIdentityHandle two = Native.Identity(emulator))
        {
            Assert.True(Native.Get(resource, two).FromCache);
        }
        Assert.Equal(before + 1, await emulator.TokenRequestsAsync());

        // ...while another identity gets its own token.
        using AzMiIdentityHandle uami = Native.Identity(emulator, clientId: KnownIdentities.UamiClientId);
        AzMiToken token = Native.Get(resource, uami);
        Assert.False(token.FromCache);
        Assert.Equal(KnownIdentities.UamiObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(before + 2, await emulator.TokenRequestsAsync());
    }
}
