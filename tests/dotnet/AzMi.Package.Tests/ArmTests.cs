using System.Text.Json;
using System.Text.Json.Nodes;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Resource Manager through the package (endpoint from AZMI_ARM_ENDPOINT set in .NET): the
/// tutorial's resource group, every page of a list, ResourceGroupNotFound, and listServiceSas
/// (a credential: only its shape is checked) with the Reader identity refused.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class ArmTests(PackageEnvironment env)
{
    private const string ApiVersion = "2021-04-01";
    private const string Groups = $"/subscriptions/{KnownIdentities.SubscriptionId}/resourcegroups";

    internal static string SasRequest(string container) => JsonSerializer.Serialize(new
    {
        canonicalizedResource = $"/blob/{AzuriteFixture.Account}/{container}",
        signedResource = "c",
        signedPermission = "rcw",
        signedProtocol = "https",
        signedExpiry = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task ResourceGroup_DevTest_SystemAndUserAssigned()
    {
        _ = env;
        using AzMiIdentity user = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        foreach (AzMiIdentity identity in new[] { ManagedIdentity.SystemAssigned, user })
        {
            JsonNode group = JsonNode.Parse(await identity.Arm.GetAsync($"{Groups}/DevTest", ApiVersion))!;
            Assert.Equal("DevTest", (string)group["name"]!);
            Assert.Equal("eastus", (string)group["location"]!);
            Assert.Equal("Succeeded", (string)group["properties"]!["provisioningState"]!);
        }
    }

    [Fact]
    public async Task ResourceGroups_List_GathersEveryPage()
    {
        JsonNode list = JsonNode.Parse(await ManagedIdentity.SystemAssigned.Arm.RequestAsync("GET", $"{Groups}?$top=1", ApiVersion))!;
        Assert.Equal(["DevTest", "azmi-rg"], list["value"]!.AsArray().Select(g => (string)g!["name"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MissingGroup_IsAzMiNotFoundException_ResourceGroupNotFound()
    {
        var e = await Assert.ThrowsAsync<AzMiNotFoundException>(() => ManagedIdentity.SystemAssigned.Arm.GetAsync($"{Groups}/NoSuchGroup", ApiVersion));
        Assert.Equal(404, e.HttpStatus);
        Assert.Equal("ResourceGroupNotFound", e.ServiceErrorCode);
    }

    [Fact]
    public async Task ListServiceSas_SystemAssigned_IsASas_ReaderIsPermissionDenied()
    {
        string sas = await ManagedIdentity.SystemAssigned.Arm.ListServiceSasAsync(
            KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, SasRequest("sas"));
        Assert.True(sas.StartsWith("sv=", StringComparison.Ordinal) && sas.Contains("&sig=", StringComparison.Ordinal), "not a SAS (not printed)");

        using AzMiIdentity reader = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        var e = await Assert.ThrowsAsync<AzMiPermissionDeniedException>(() => reader.Arm.ListServiceSasAsync(
            KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, SasRequest("sas")));
        Assert.Equal("AuthorizationFailed", e.ServiceErrorCode);
    }

    [Fact]
    public async Task SetEnvironment_PicksTheCloudsResource_ForATestEndpoint_AndIsUndone()
    {
        var mars = Assert.Throws<AzMiException>(() => AzMiLibrary.SetEnvironment("Mars"));
        Assert.Equal(AzMiStatus.InvalidArgument, mars.Status);
        Assert.Contains("AzureUSGovernment", mars.Message);
        try
        {
            // The emulator plays the public cloud: a US Government token is one its Entra ID
            // does not know, which shows the environment reached azmi.
            AzMiLibrary.SetEnvironment("azureusgovernment");
            var e = await Assert.ThrowsAsync<AzMiException>(() => ManagedIdentity.SystemAssigned.Arm.GetAsync($"{Groups}/DevTest", ApiVersion));
            Assert.Equal(AzMiStatus.InvalidResource, e.Status);
            Assert.Contains("management.usgovcloudapi.net", e.Message);
        }
        finally
        {
            AzMiLibrary.SetEnvironment(null);
        }

        JsonNode group = JsonNode.Parse(await ManagedIdentity.SystemAssigned.Arm.GetAsync($"{Groups}/DevTest", ApiVersion))!;
        Assert.Equal("DevTest", (string)group["name"]!);
    }

    [Fact]
    public async Task GetClaimsAsync_SaysWhichIdentity_ReadNotVerified()
    {
        using AzMiIdentity user = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        AzMiTokenClaims claims = await user.GetClaimsAsync("https://management.azure.com/");
        Assert.Equal(KnownIdentities.UamiClientId, claims.ClientId);
        Assert.Equal(KnownIdentities.UamiObjectId, claims.ObjectId);
        Assert.Equal(KnownIdentities.UamiResourceId, claims.IdentityResourceId);
        Assert.Matches("^[0-9a-f-]{36}$", claims.TenantId!);
        Assert.False(claims.Verified);
        Assert.Contains("not verified", claims.ToString());
    }

    [Fact]
    public async Task ProcessWideSettings_Refused_ChangeNothing()
    {
        var insecure = Assert.Throws<AzMiException>(() => AzMiLibrary.SetArmEndpoint(new Uri("http://management.example.com")));
        Assert.Equal(AzMiStatus.InsecureRequest, insecure.Status);

        string notPem = Path.Combine(Path.GetTempPath(), $"azmi-not-pem-{Guid.NewGuid():N}.txt");
        File.WriteAllText(notPem, "no certificate here");
        try
        {
            var invalid = Assert.Throws<AzMiException>(() => AzMiLibrary.SetCaFile(notPem));
            Assert.Equal(AzMiStatus.InvalidArgument, invalid.Status);
        }
        finally
        {
            File.Delete(notPem);
        }

        // Still the emulator's endpoint, still trusting its CA.
        JsonNode group = JsonNode.Parse(await ManagedIdentity.SystemAssigned.Arm.GetAsync($"{Groups}/DevTest", ApiVersion))!;
        Assert.Equal("DevTest", (string)group["name"]!);
    }

    [Fact]
    public async Task ListServiceSas_BadPermissionOrder_IsInvalidArgument_BeforeSending()
    {
        string body = SasRequest("sas").Replace("\"rcw\"", "\"wcr\"", StringComparison.Ordinal);
        var e = await Assert.ThrowsAsync<AzMiException>(() => ManagedIdentity.SystemAssigned.Arm.ListServiceSasAsync(
            KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, body));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        Assert.Equal(0, e.HttpStatus);
    }
}
