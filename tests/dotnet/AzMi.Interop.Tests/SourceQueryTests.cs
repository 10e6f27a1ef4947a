using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// The source query functions in the test host itself, whose native environment holds no
/// source's variables: an identity at an explicit endpoint is IMDS, in the identity and the
/// token, and naming a source whose variables are missing is InvalidArgument naming it and
/// leaves the identity as it was. Detection per source runs in child processes
/// (ManagedIdentitySourceTests).
/// </summary>
public sealed class SourceQueryTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public void ExplicitEndpoint_IsImds_InTheIdentityAndTheToken()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        Assert.Equal("imds", NativeMethods.Static(NativeMethods.azmi_identity_source(identity)));

        using TokenCall call = TokenCall.Run("https://vault.azure.net", identity, flags: 1);
        Assert.Equal(AzMiStatus.Ok, call.Status);
        Assert.Equal("imds", NativeMethods.Static(NativeMethods.azmi_token_source(call.Token)));
    }

    [Fact]
    public void SetSource_WithoutItsVariables_IsInvalidArgument_AndKeepsTheIdentity()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        AzMiStatus status = NativeMethods.azmi_identity_set_source(identity, "cloud_shell", out AzMiErrorHandle error);
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
            Assert.Contains("Cloud Shell", error.Message, StringComparison.Ordinal);
        }
        Assert.Equal("imds", NativeMethods.Static(NativeMethods.azmi_identity_source(identity)));
        Assert.Equal(emulator.TokenUrl, NativeMethods.Static(NativeMethods.azmi_identity_endpoint(identity)));
    }

    [Fact]
    public void SetSource_UnknownName_IsInvalidArgument()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        AzMiStatus status = NativeMethods.azmi_identity_set_source(identity, "no_such_source", out AzMiErrorHandle error);
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
        }
    }
}
