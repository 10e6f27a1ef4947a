using System.Text.Json.Nodes;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// Test classes that set azmi's process-wide Resource Manager endpoint
/// (<see cref="AzMiArm.SetEndpoint"/>) to their own emulator: one collection, so they never run
/// at the same time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ArmEndpointCollection
{
    public const string Name = "azmi_set_arm_endpoint (process-wide)";
}

/// <summary>
/// Resource Manager (the tutorial's "read a resource group" with system- and user-assigned
/// identities) through <see cref="AzMiArm"/>, against azmi-emulator's ARM over HTTPS.
/// </summary>
[Collection(ArmEndpointCollection.Name)]
public sealed class ArmTests : IClassFixture<EmulatorFixture>, IDisposable
{
    private const string ApiVersion = "2021-04-01";
    private const string Groups = $"/subscriptions/{KnownIdentities.SubscriptionId}/resourcegroups";

    private readonly EmulatorFixture _emulator;
    private readonly AzMiIdentityHandle _system;
    private readonly AzMiIdentityHandle _user;

    public ArmTests(EmulatorFixture emulator)
    {
        _emulator = emulator;
        EmulatorCa.Trust(emulator);
        AzMiArm.SetEndpoint(emulator.ArmEndpoint);
        _system = Native.Identity(emulator);
        _user = Native.Identity(emulator, clientId: KnownIdentities.UamiClientId);
    }

    public void Dispose()
    {
        _system.Dispose();
        _user.Dispose();
    }

    [Fact]
    public void ResourceGroup_DevTest_WithTheSystemAssignedIdentity()
    {
        JsonNode group = new AzMiArm(_system).Get($"{Groups}/DevTest", ApiVersion)!;
        AssertDevTest(group);
    }

    [Fact]
    public void ResourceGroup_DevTest_WithTheUserAssignedIdentity_ByClientId()
    {
        JsonNode group = new AzMiArm(_user).Get($"{Groups}/DevTest", ApiVersion)!;
        AssertDevTest(group);
    }

    [Fact]
    public async Task ResourceGroups_List_GathersEveryPage()
    {
        // $top=1: one group per page, so the list takes a nextLink to complete.
        JsonNode list = new AzMiArm(_system).Get($"{Groups}?$top=1", ApiVersion)!;

        JsonArray value = list["value"]!.AsArray();
        Assert.Equal(["DevTest", "azmi-rg"], value.Select(g => (string)g!["name"]!).Order(StringComparer.Ordinal).ToArray());
        Assert.Null(list["nextLink"]);
        IReadOnlyList<RecordedRequest> requests = await _emulator.GetServiceRequestsAsync();
        Assert.Contains(requests, r => r.Method == "GET" && r.Path == Groups && r.QueryValues("$skiptoken").Count == 1);
    }

    [Fact]
    public void ResourceGroups_List_UserAssigned_DefaultPageSize()
    {
        JsonNode list = new AzMiArm(_user).Get(Groups, ApiVersion)!;
        Assert.Contains(list["value"]!.AsArray(), g => (string)g!["name"]! == "DevTest");
    }

    [Fact]
    public void ResourceGroup_Missing_IsResourceGroupNotFound()
    {
        AzMiException e = Assert.Throws<AzMiException>(() => new AzMiArm(_system).Get($"{Groups}/NoSuchGroup", ApiVersion));

        Assert.Equal(AzMiStatus.NotFound, e.Status);
        Assert.Equal(404, e.HttpStatus);
        Assert.Equal("ResourceGroupNotFound", e.ServiceErrorCode);
        Assert.Contains("NoSuchGroup", e.Message);
    }

    [Fact]
    public void ListServiceSas_UserAssignedReader_IsPermissionDenied()
    {
        // azmi-uami is Reader: listServiceSas is not a read action.
        AzMiException e = Assert.Throws<AzMiException>(() => new AzMiArm(_user).ListServiceSas(
            KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, BlobTests.SasRequest("sas")));
        Assert.Equal(AzMiStatus.PermissionDenied, e.Status);
        Assert.Equal("AuthorizationFailed", e.ServiceErrorCode);
    }

    private static void AssertDevTest(JsonNode group)
    {
        Assert.Equal("DevTest", (string)group["name"]!);
        Assert.Equal($"/subscriptions/{KnownIdentities.SubscriptionId}/resourceGroups/DevTest", (string)group["id"]!);
        Assert.Equal("eastus", (string)group["location"]!);
        Assert.Equal("dev", (string)group["tags"]!["environment"]!);
        Assert.Equal("Succeeded", (string)group["properties"]!["provisioningState"]!);
    }
}
