using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed class ErrorTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    private const string Resource = "https://management.azure.com/";

    [Fact]
    public async Task NullResource_IsInvalidArgument_AndSendsNothing()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        long before = await emulator.TokenRequestsAsync();

        using TokenCall call = TokenCall.Run(resource: null, identity);

        Assert.Equal(AzMiStatus.InvalidArgument, call.Status);
        Assert.True(call.Token.IsInvalid, "token_out written on failure");
        Assert.Equal(AzMiStatus.InvalidArgument, call.Error.Status);
        Assert.Contains("resource", call.Error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, call.Error.HttpStatus);
        Assert.Null(call.Error.ServiceCode);
        Assert.Equal(before, await emulator.TokenRequestsAsync());
    }

    [Fact]
    public async Task InvalidUtf8Resource_IsInvalidArgument()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        long before = await emulator.TokenRequestsAsync();
        // A known resource followed by 0xFF 0xFE (never valid in UTF-8), NUL-terminated by hand:
        // byte[] is passed as a pointer to its first element.
        byte[] resource = [.. Encoding.ASCII.GetBytes(Resource), 0xFF, 0xFE, 0x00];

        AzMiStatus status = NativeMethods.azmi_get_token(resource, identity, 0, AzMiCancelHandle.Null, out AzMiTokenHandle token, out AzMiErrorHandle error);
        using (token)
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
            Assert.True(token.IsInvalid);
            Assert.Equal(AzMiStatus.InvalidArgument, error.Status);
            Assert.Contains("UTF-8", error.Message, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Equal(before, await emulator.TokenRequestsAsync());
    }

    [Fact]
    public void TwoIds_AreInvalidArgument_SayingAtMostOne()
    {
        AzMiStatus status = NativeMethods.azmi_identity_new(
            KnownIdentities.UamiClientId, KnownIdentities.UamiObjectId, null, out AzMiIdentityHandle identity, out AzMiErrorHandle error);
        using (identity)
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
            Assert.True(identity.IsInvalid, "identity_out written on failure");
            Assert.Equal(AzMiStatus.InvalidArgument, error.Status);
            Assert.Contains("at most one", error.Message, StringComparison.OrdinalIgnoreCase);
        }

        // The wrapper reports the same through its exception.
        var ex = Assert.Throws<AzMiException>(() => AzMiIdentity.Create(
            KnownIdentities.UamiClientId, null, KnownIdentities.UamiResourceId));
        Assert.Equal(AzMiStatus.InvalidArgument, ex.Status);
        Assert.Contains("at most one", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("not-a-guid", null, null)]
    [InlineData(null, "00001111-aaaa-2222-bbbb", null)]
    [InlineData(null, null, "azmi-uami")]
    public void MalformedId_IsInvalidArgument(string? clientId, string? objectId, string? resourceId)
    {
        var ex = Assert.Throws<AzMiException>(() => AzMiIdentity.Create(clientId, objectId, resourceId));

        Assert.Equal(AzMiStatus.InvalidArgument, ex.Status);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void UnknownClientId_IsIdentityNotFound_WithTheServicesAnswer()
    {
        string clientId = Guid.NewGuid().ToString();
        using var client = new AzMiClient(emulator.TokenUrl);

        var ex = Assert.Throws<AzMiException>(() => client.GetToken(Resource, clientId: clientId));

        Assert.Equal(AzMiStatus.IdentityNotFound, ex.Status);
        Assert.Equal(400, ex.HttpStatus);
        Assert.Equal("invalid_request", ex.ServiceErrorCode);
        Assert.Contains(clientId, ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void UnknownResource_IsInvalidResource()
    {
        const string resource = "https://unknown.azmi.test/";
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        using TokenCall call = TokenCall.Run(resource, identity);

        Assert.Equal(AzMiStatus.InvalidResource, call.Status);
        Assert.True(call.Token.IsInvalid);
        Assert.Equal(AzMiStatus.InvalidResource, call.Error.Status);
        Assert.Equal(400, call.Error.HttpStatus);
        Assert.Equal("invalid_resource", call.Error.ServiceCode);
        Assert.Contains(resource, call.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClosedPort_IsManagedIdentityUnavailable_Quickly()
    {
        using AzMiIdentityHandle identity = AzMiIdentity.Create(endpoint: $"http://127.0.0.1:{ClosedLoopbackPort()}/metadata/identity/oauth2/token");
        var clock = Stopwatch.StartNew();

        using TokenCall call = TokenCall.Run(Resource, identity);

        clock.Stop();
        Assert.Equal(AzMiStatus.ManagedIdentityUnavailable, call.Status);
        Assert.Equal(AzMiStatus.ManagedIdentityUnavailable, call.Error.Status);
        Assert.Equal(0, call.Error.HttpStatus);
        Assert.False(string.IsNullOrWhiteSpace(call.Error.Message));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"took {clock.Elapsed.TotalSeconds:F2} s");
    }

    [Fact]
    public void NullTokenOut_IsInvalidArgument()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        IntPtr errSlot = Marshal.AllocHGlobal(IntPtr.Size);
        try
        {
            Marshal.WriteIntPtr(errSlot, IntPtr.Zero);

            AzMiStatus status = NativeMethods.azmi_get_token_slots(Resource, identity, 0, AzMiCancelHandle.Null, tokenSlot: IntPtr.Zero, errSlot);

            Assert.Equal(AzMiStatus.InvalidArgument, status);
            using var error = new AzMiErrorHandle();
            Marshal.InitHandle(error, Marshal.ReadIntPtr(errSlot));
            Assert.False(error.IsInvalid, "no error object for a failed call");
            Assert.Contains("token_out", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Marshal.FreeHGlobal(errSlot);
        }
    }

    [Fact]
    public void Failure_LeavesTokenOutUntouched_AndNullErrOutIsAllowed()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        // A value azmi never writes: if the slot changes, azmi wrote an output on failure.
        IntPtr sentinel = unchecked((IntPtr)0x5A5A_5A5A_5A5A_5A5AL);
        IntPtr tokenSlot = Marshal.AllocHGlobal(IntPtr.Size);
        try
        {
            foreach (IntPtr initial in new[] { IntPtr.Zero, sentinel })
            {
                Marshal.WriteIntPtr(tokenSlot, initial);

                // err_out NULL: the status alone reports the failure.
                AzMiStatus status = NativeMethods.azmi_get_token_slots("https://unknown.azmi.test/", identity, 0, AzMiCancelHandle.Null, tokenSlot, errSlot: IntPtr.Zero);

                Assert.Equal(AzMiStatus.InvalidResource, status);
                Assert.Equal(initial, Marshal.ReadIntPtr(tokenSlot));
            }
        }
        finally
        {
            Marshal.FreeHGlobal(tokenSlot);
        }
    }

    [Fact]
    public void UndefinedFlagBits_AreInvalidArgument()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        using TokenCall call = TokenCall.Run(Resource, identity, flags: 0x2);

        Assert.Equal(AzMiStatus.InvalidArgument, call.Status);
        Assert.Contains("flags", call.Error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NullEndpoint_SelectsImdsItself_WhateverTheEnvironmentSays()
    {
        // .NET cannot change the native environment on Linux, so hosts pass their view of it;
        // NULL is "no variable set": IMDS. Nothing is requested here.
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        AzMiStatus status = NativeMethods.azmi_identity_set_endpoint(identity, null, out AzMiErrorHandle error);
        using (error)
        {
            Assert.Equal(AzMiStatus.Ok, status);
            Assert.True(error.IsInvalid);
        }
        Assert.Equal("http://169.254.169.254/metadata/identity/oauth2/token", AzMiIdentity.Endpoint(identity));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a url")]
    [InlineData("ftp://127.0.0.1/metadata/identity/oauth2/token")]
    public void BadEndpoint_IsInvalidArgument_AndKeepsThePreviousOne(string url)
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        AzMiStatus status = NativeMethods.azmi_identity_set_endpoint(identity, url, out AzMiErrorHandle error);
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
        }
        Assert.Equal(emulator.TokenUrl, AzMiIdentity.Endpoint(identity));
    }

    [Theory]
    [InlineData(0u, 30000u, 800u)]
    [InlineData(1000u, 30000u, 0u)]
    public void ZeroTimeoutOrDelay_IsInvalidArgument(uint probeMs, uint budgetMs, uint delayMs)
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);

        AzMiStatus status = NativeMethods.azmi_identity_set_timeouts(identity, probeMs, budgetMs, delayMs, out AzMiErrorHandle error);
        using (error)
        {
            Assert.Equal(AzMiStatus.InvalidArgument, status);
        }

        // A zero retry budget is allowed: it disables retries.
        Assert.Equal(AzMiStatus.Ok, NativeMethods.azmi_identity_set_timeouts(identity, 1000, 0, 800, out AzMiErrorHandle none));
        Assert.True(none.IsInvalid);
    }

    /// <summary>A loopback port nobody listens on: bound by the OS, then released.</summary>
    private static int ClosedLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
