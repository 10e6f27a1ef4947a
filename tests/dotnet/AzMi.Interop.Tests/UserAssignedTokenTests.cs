using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed class UserAssignedTokenTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    public enum IdKind { ClientId, ObjectId, ResourceId }

    [Theory]
    [InlineData(IdKind.ClientId)]
    [InlineData(IdKind.ObjectId)]
    [InlineData(IdKind.ResourceId)]
    public async Task SelectingTheUami_ReturnsItsToken(IdKind kind)
    {
        const string resource = "https://management.azure.com/";
        using AzMiIdentityHandle identity = kind switch
        {
            IdKind.ClientId => Native.Identity(emulator, clientId: KnownIdentities.UamiClientId),
            IdKind.ObjectId => Native.Identity(emulator, objectId: KnownIdentities.UamiObjectId),
            _ => Native.Identity(emulator, resourceId: KnownIdentities.UamiResourceId),
        };

        AzMiToken token = Native.Get(resource, identity);

        Assert.Equal(KnownIdentities.UamiObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
        Assert.Equal(KnownIdentities.UamiResourceId, Jwt.Claim(token.Token, "xms_mirid"));
        Assert.Equal(resource, Jwt.Claim(token.Token, "aud"));
        Assert.Equal(resource, token.Resource);

        // The id went to IMDS under its own query name, and no other id did.
        RecordedRequest sent = (await emulator.GetRequestsAsync()).Last();
        string[] idParams = ["client_id", "object_id", "msi_res_id", "mi_res_id"];
        var given = idParams.SelectMany(name => sent.QueryValues(name).Select(value => (name, value))).ToList();
        (string name, string value) = Assert.Single(given);
        switch (kind)
        {
            case IdKind.ClientId:
                Assert.Equal(("client_id", KnownIdentities.UamiClientId), (name, value));
                break;
            case IdKind.ObjectId:
                Assert.Equal(("object_id", KnownIdentities.UamiObjectId), (name, value));
                break;
            default:
                Assert.Contains(name, new[] { "msi_res_id", "mi_res_id" });
                Assert.Equal(KnownIdentities.UamiResourceId, value);
                break;
        }
    }

    [Fact]
    public void Client_WithClientId_ReturnsTheUamisToken()
    {
        using var client = new AzMiClient(emulator.TokenUrl);

        AzMiToken token = client.GetToken("https://vault.azure.net", clientId: KnownIdentities.UamiClientId);

        Assert.Equal(KnownIdentities.UamiObjectId, Jwt.Claim(token.Token, "oid"));
        Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(token.Token, "appid"));
        Assert.Equal("https://vault.azure.net", Jwt.Claim(token.Token, "aud"));
    }

    [Fact]
    public void Description_NamesTheSelectedId()
    {
        using AzMiIdentityHandle byClientId = Native.Identity(emulator, clientId: KnownIdentities.UamiClientId);
        using AzMiIdentityHandle byResourceId = Native.Identity(emulator, resourceId: KnownIdentities.UamiResourceId);

        Assert.Contains(KnownIdentities.UamiClientId, AzMiIdentity.Description(byClientId), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("azmi-uami", AzMiIdentity.Description(byResourceId), StringComparison.Ordinal);
    }
}
