using System.Text;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed class SystemAssignedTokenTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public void RawCall_ReturnsTheSystemIdentitysTokenForTheResource()
    {
        // Each test of this class asks for its own resource: tests share the emulator and
        // azmi's process-wide cache, and this one must see a fresh request.
        const string resource = "https://management.core.windows.net/";
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        long before = Native.Now;

        using TokenCall call = TokenCall.Run(resource, identity);
        AzMiToken token = call.ReadOk();

        Assert.False(string.IsNullOrEmpty(token.Token), "token text is empty");
        // azmi_token_access_token_len counts UTF-8 bytes without the NUL.
        Assert.Equal((nuint)Encoding.UTF8.GetByteCount(token.Token), NativeMethods.azmi_token_access_token_len(call.Token));
        Assert.Equal(resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.SystemClientId, Jwt.Claim(token.Token, "appid"));
        Assert.Equal(KnownIdentities.TenantId, Jwt.Claim(token.Token, "tid"));

        // The emulator issues 3600 s tokens; allow for clock steps between here and there.
        long expiresOn = token.ExpiresOn.ToUnixTimeSeconds();
        Assert.InRange(expiresOn, before + 3600 - 60, Native.Now + 3600 + 60);
        Assert.Equal(expiresOn, NativeMethods.azmi_token_expires_on(call.Token));
        Assert.Equal(Jwt.Payload(token.Token).GetProperty("exp").GetInt64(), expiresOn);

        Assert.Equal("Bearer", token.Type);
        Assert.Equal(resource, token.Resource);
        Assert.False(token.FromCache);
    }

    [Fact]
    public void Client_ReturnsTheSystemIdentitysToken()
    {
        // No trailing slash: the resource is used exactly as given and echoed back so.
        const string resource = "https://vault.azure.net";
        using var client = new AzMiClient(emulator.TokenUrl);

        AzMiToken token = client.GetToken(resource);

        Assert.Equal(resource, token.Resource);
        Assert.Equal(resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(KnownIdentities.SystemObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal("Bearer", token.Type);
        Assert.InRange(token.ExpiresOn, DateTimeOffset.UtcNow.AddSeconds(3600 - 60), DateTimeOffset.UtcNow.AddSeconds(3600 + 60));
    }

    [Fact]
    public async Task DefaultScope_IsSentAsItsResource()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        AzMiToken token = Native.Get("https://storage.azure.com/.default", identity);

        Assert.Equal("https://storage.azure.com", token.Resource);
        Assert.Equal("https://storage.azure.com", Jwt.Claim(token.Token, "aud"));
        RecordedRequest sent = (await emulator.GetRequestsAsync())
            .Last(r => r.QueryValues("resource").Contains("https://storage.azure.com"));
        Assert.Equal(["https://storage.azure.com"], sent.QueryValues("resource"));
    }

    [Fact]
    public async Task Request_CarriesWhatImdsRequires()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        Native.Get("https://database.windows.net/", identity, NativeMethods.AZMI_FLAG_FORCE_REFRESH);

        RecordedRequest sent = (await emulator.GetRequestsAsync()).Last();
        Assert.Equal("GET", sent.Method);
        Assert.Equal("/metadata/identity/oauth2/token", sent.Path);
        Assert.Equal("true", sent.Header("Metadata"));
        Assert.Null(sent.Header("X-Forwarded-For"));
        Assert.Single(sent.QueryValues("api-version"));
        Assert.Equal(["https://database.windows.net/"], sent.QueryValues("resource"));
        Assert.Empty(sent.QueryValues("client_id"));
    }

    [Fact]
    public void Identity_DescribesItselfAndKeepsTheEndpointSet()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        Assert.Equal(emulator.TokenUrl, AzMiIdentity.Endpoint(identity));
        Assert.Contains("system-assigned", AzMiIdentity.Description(identity), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TokenRecord_NeverPrintsTheToken()
    {
        using var client = new AzMiClient(emulator.TokenUrl);
        AzMiToken token = client.GetToken("https://management.azure.com/");

        string printed = token.ToString();

        // Not Assert.DoesNotContain: on failure it would print the token it found.
        Assert.False(printed.Contains(token.Token, StringComparison.Ordinal), "AzMiToken.ToString() prints the token");
        Assert.Contains("https://management.azure.com/", printed, StringComparison.Ordinal);
    }
}
