using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.ResourceManager.Resources;
using AzMi.Testing;
using Xunit.Abstractions;

namespace AzMi.SdkPeer.Tests;

/// <summary>
/// Azure.ResourceManager's ArmClient with ManagedIdentityCredential against the emulator's
/// Resource Manager: the SDK builds its own requests (api-version, paths, paging, the
/// long-running delete's polling) and parses the answers with its own models, so if it reads,
/// lists and deletes resource groups here, the emulator speaks Resource Manager's protocol.
/// </summary>
[Collection(ProcessEnvironment.Collection)]
public sealed class ArmClientTests : IDisposable
{
    // The audience the emulator (and ARM) accepts; ArmClient asks for "<audience>/.default".
    private const string Audience = "https://management.azure.com/";
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    private readonly SdkPeerEmulator _emulator;
    private readonly ITestOutputHelper _output;
    private readonly HttpClientHandler _handler;
    private readonly CancellationTokenSource _timeout = new(CallTimeout);

    public ArmClientTests(SdkPeerEmulator emulator, ITestOutputHelper output)
    {
        _emulator = emulator;
        _output = output;
        _handler = emulator.TrustingHandler();
        // Read by Azure.Identity (MSAL) with Environment.GetEnvironmentVariable: IMDS on the emulator.
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.AuthorityHost);
        foreach (string other in new[] { "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET" })
        {
            Environment.SetEnvironmentVariable(other, null);
        }
    }

    public void Dispose()
    {
        _timeout.Dispose();
        _handler.Dispose();
    }

    [Fact]
    public async Task GetResourceGroup_ReadsDevTestsFields()
    {
        SubscriptionResource subscription = Subscription(ManagedIdentityId.SystemAssigned);

        ResourceGroupResource group = (await subscription.GetResourceGroupAsync("DevTest", _timeout.Token)).Value;

        Assert.Equal("DevTest", group.Data.Name);
        Assert.Equal(ResourceGroupResource.CreateResourceIdentifier(KnownIdentities.SubscriptionId, "DevTest"), group.Id);
        Assert.Equal(ResourceGroupResource.ResourceType, group.Data.ResourceType);
        Assert.Equal(AzureLocation.EastUS, group.Data.Location);
        Assert.Equal("Succeeded", group.Data.ResourceGroupProvisioningState);
        Assert.Equal(new Dictionary<string, string> { ["environment"] = "dev" }, group.Data.Tags);
    }

    [Fact]
    public async Task ListResourceGroups_FollowsEveryPage()
    {
        SubscriptionResource subscription = Subscription(ManagedIdentityId.SystemAssigned);
        await _emulator.ResetAsync();

        var listed = new Dictionary<string, ResourceGroupResource>();
        await foreach (ResourceGroupResource group in subscription.GetResourceGroups().GetAllAsync(cancellationToken: _timeout.Token))
        {
            Assert.True(listed.TryAdd(group.Data.Name, group), $"{group.Data.Name} listed twice");
        }

        // The deletion test may have run first: its group is either listed or gone.
        var expected = SdkPeerEmulator.Groups.Where(g => g != SdkPeerEmulator.GroupToDelete).ToList();
        Assert.Superset(expected.ToHashSet(), listed.Keys.ToHashSet());
        Assert.Subset(SdkPeerEmulator.Groups.ToHashSet(), listed.Keys.ToHashSet());
        ResourceGroupResource beta = listed["sdk-peer-beta"];
        Assert.Equal(new AzureLocation("eastus2"), beta.Data.Location);
        Assert.Equal("paging", beta.Data.Tags["purpose"]);
        Assert.Equal("Succeeded", beta.Data.ResourceGroupProvisioningState);
        Assert.Equal(new AzureLocation("westeurope"), listed["sdk-peer-alpha"].Data.Location);
        Assert.Empty(listed["sdk-peer-alpha"].Data.Tags);

        // At least four groups at two a page: the SDK followed nextLink (with its skip token).
        IReadOnlyList<RecordedRequest> lists = (await SentAsync())
            .Where(r => r.Method == "GET" && r.Path.EndsWith("/resourcegroups", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.InRange(lists.Count, 2, 3);
        Assert.Equal(lists.Count - 1, lists.Count(r => r.QueryValues("$skiptoken").Count == 1));
    }

    [Fact]
    public async Task DeleteResourceGroup_WaitsForTheOperation_ThenTheGroupIsNotFound()
    {
        SubscriptionResource subscription = Subscription(ManagedIdentityId.SystemAssigned);
        ResourceGroupResource group = (await subscription.GetResourceGroupAsync(SdkPeerEmulator.GroupToDelete, _timeout.Token)).Value;
        await _emulator.ResetAsync();

        ArmOperation deletion = await group.DeleteAsync(WaitUntil.Completed, cancellationToken: _timeout.Token);

        Assert.True(deletion.HasCompleted);
        Assert.Equal(200, deletion.GetRawResponse().Status);
        // The 202's Location was polled until it answered 200: at least one 202 on the way,
        // since the emulator completes a deletion only after a poll has answered 202.
        IReadOnlyList<RecordedRequest> polls = (await SentAsync())
            .Where(r => r.Path.Contains("/operationresults/", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.True(polls.Count >= 2, $"expected at least two polls, saw {polls.Count}");
        Assert.All(polls, p => Assert.Equal("GET", p.Method));

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => subscription.GetResourceGroupAsync(SdkPeerEmulator.GroupToDelete, _timeout.Token));
        Assert.Equal(404, ex.Status);
        Assert.Equal("ResourceGroupNotFound", ex.ErrorCode);
        Assert.False((await subscription.GetResourceGroups().ExistsAsync(SdkPeerEmulator.GroupToDelete, _timeout.Token)).Value);
    }

    [Fact]
    public async Task DeleteResourceGroup_AsAReader_IsAuthorizationFailed_AndTheGroupStays()
    {
        // azmi-uami is Reader on the subscription (docs/emulator.md, "Defaults").
        SubscriptionResource subscription = Subscription(ManagedIdentityId.FromUserAssignedClientId(KnownIdentities.UamiClientId));
        ResourceGroupResource group = (await subscription.GetResourceGroupAsync("DevTest", _timeout.Token)).Value;

        var ex = await Assert.ThrowsAsync<RequestFailedException>(
            () => group.DeleteAsync(WaitUntil.Completed, cancellationToken: _timeout.Token));

        Assert.Equal(403, ex.Status);
        Assert.Equal("AuthorizationFailed", ex.ErrorCode);
        Assert.Contains(KnownIdentities.UamiObjectId, ex.Message, StringComparison.Ordinal);
        Assert.Contains("Microsoft.Resources/subscriptions/resourcegroups/delete", ex.Message, StringComparison.Ordinal);
        ResourceGroupResource after = (await subscription.GetResourceGroupAsync("DevTest", _timeout.Token)).Value;
        Assert.Equal("Succeeded", after.Data.ResourceGroupProvisioningState);
    }

    /// <summary>
    /// The service requests since the last reset, written to the test output for whoever
    /// compares what the SDK sends with what azmi sends (the log shows no token).
    /// </summary>
    private async Task<IReadOnlyList<RecordedRequest>> SentAsync()
    {
        IReadOnlyList<RecordedRequest> sent = await _emulator.GetServiceRequestsAsync();
        foreach (RecordedRequest r in sent)
        {
            _output.WriteLine($"{r.Method} {r.Path}?{r.Query} [{string.Join(", ", r.Headers.Where(h => !h.Key.Equals("authorization", StringComparison.OrdinalIgnoreCase)).Select(h => $"{h.Key}: {h.Value}"))}]");
        }
        return sent;
    }

    /// <summary>
    /// The emulator's subscription through an ArmClient for <paramref name="identity"/>. By id,
    /// not GetDefaultSubscription, as code that knows its subscription does.
    /// </summary>
    private SubscriptionResource Subscription(ManagedIdentityId identity)
    {
        var options = new ArmClientOptions
        {
            Environment = new ArmEnvironment(new Uri(_emulator.ArmEndpoint), Audience),
            Transport = new HttpClientTransport(_handler),
        };
        // Failures are the point of some tests: no retries to hide or slow them.
        options.Retry.MaxRetries = 0;
        var client = new ArmClient(new ManagedIdentityCredential(identity), KnownIdentities.SubscriptionId, options);
        return client.GetSubscriptionResource(SubscriptionResource.CreateResourceIdentifier(KnownIdentities.SubscriptionId));
    }
}
