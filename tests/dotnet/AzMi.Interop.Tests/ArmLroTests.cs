using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// Resource Manager long-running operations through <c>azmi_arm_request</c>: deleting a
/// resource group is accepted (202 + Location) and azmi polls until it is done, so when the call
/// returns the group is gone. Its own emulator, since it deletes a group other tests read; in
/// the ARM collection because the endpoint is process-wide.
/// </summary>
[Collection(ArmEndpointCollection.Name)]
public sealed class ArmLroTests : IClassFixture<EmulatorFixture>, IDisposable
{
    private const string ApiVersion = "2021-04-01";
    private const string Groups = $"/subscriptions/{KnownIdentities.SubscriptionId}/resourcegroups";

    private readonly EmulatorFixture _emulator;
    private readonly AzMiIdentityHandle _system;

    public ArmLroTests(EmulatorFixture emulator)
    {
        _emulator = emulator;
        EmulatorCa.Trust(emulator);
        AzMiArm.SetEndpoint(emulator.ArmEndpoint);
        _system = Native.Identity(emulator);
    }

    public void Dispose() => _system.Dispose();

    [Fact]
    public async Task DeleteResourceGroup_ReturnsWhenTheGroupIsGone()
    {
        var arm = new AzMiArm(_system);

        string answer = arm.Request("DELETE", $"{Groups}/DevTest", ApiVersion);

        Assert.Equal("null", answer);
        IReadOnlyList<RecordedRequest> requests = await _emulator.GetServiceRequestsAsync();
        Assert.Contains(requests, r => r.Method == "DELETE" && r.Path == $"{Groups}/DevTest");
        // The emulator's default: one poll answers 202, the next 200.
        Assert.Equal(2, requests.Count(r => r.Method == "GET" && r.Path.Contains("/operationresults/", StringComparison.Ordinal)));
        AzMiException e = Assert.Throws<AzMiException>(() => arm.Get($"{Groups}/DevTest", ApiVersion));
        Assert.Equal(AzMiStatus.NotFound, e.Status);
        Assert.Equal(404, e.HttpStatus);
        Assert.Equal("ResourceGroupNotFound", e.ServiceErrorCode);
    }

    [Fact]
    public void DeleteMissingResourceGroup_IsNotFound()
    {
        AzMiException e = Assert.Throws<AzMiException>(() => new AzMiArm(_system).Request("DELETE", $"{Groups}/NoSuchGroup", ApiVersion));

        Assert.Equal(AzMiStatus.NotFound, e.Status);
        Assert.Equal("ResourceGroupNotFound", e.ServiceErrorCode);
        Assert.Contains("DELETE", e.Message, StringComparison.Ordinal);
    }
}
