using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// The managed identity source through the package: the test host's native environment holds
/// no source's variables (and .NET's SetEnvironmentVariable cannot add any on Linux), so an
/// identity at the fixture's endpoint is IMDS and naming another source is InvalidArgument
/// naming it. Detection and each source against the emulator are covered in child processes by
/// AzMi.Interop.Tests (ManagedIdentitySourceTests).
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class SourceTests(PackageEnvironment env)
{
    private const string Vault = "https://vault.azure.net";

    [Fact]
    public async Task EndpointFromTheEnvironment_IsImds_InTheIdentityAndTheToken()
    {
        Assert.NotNull(env.Emulator);
        using AzMiIdentity identity = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        Assert.Equal(ManagedIdentitySource.Imds, identity.Source);

        using AccessToken token = await identity.GetTokenAsync(Vault, forceRefresh: true);
        Assert.Equal(ManagedIdentitySource.Imds, token.Source);
    }

    [Fact]
    public void ForSource_WithoutTheSourcesVariables_IsInvalidArgumentNamingIt()
    {
        var error = Assert.Throws<AzMiException>(() => ManagedIdentity.ForSource(ManagedIdentitySource.CloudShell));

        Assert.Equal(AzMiStatus.InvalidArgument, error.Status);
        Assert.Contains("Cloud Shell", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithSource_Imds_KeepsTheSelection()
    {
        using AzMiIdentity identity = ManagedIdentity.ForSource(ManagedIdentitySource.Imds, KnownIdentities.UamiClientId);

        Assert.Equal(ManagedIdentitySource.Imds, identity.Source);
        Assert.Equal(KnownIdentities.UamiClientId, identity.ClientId);
        Assert.Contains(KnownIdentities.UamiClientId, identity.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSourceValue_IsArgumentOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ManagedIdentity.ForSource((ManagedIdentitySource)42));
    }
}
