using System.Diagnostics;
using AzMi.Interop;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// One raw azmi_get_token call and everything it returned, for tests that check the C ABI
/// itself (status, which outputs were written) rather than the wrapper.
/// </summary>
internal sealed class TokenCall : IDisposable
{
    private TokenCall(AzMiStatus status, AzMiTokenHandle token, AzMiErrorHandle error)
    {
        Status = status;
        Token = token;
        Error = error;
    }

    public AzMiStatus Status { get; }
    public AzMiTokenHandle Token { get; }
    public AzMiErrorHandle Error { get; }

    public static TokenCall Run(string? resource, AzMiIdentityHandle identity, uint flags = 0, AzMiCancelHandle? cancel = null)
    {
        AzMiStatus status = NativeMethods.azmi_get_token(
            resource, identity, flags, cancel ?? AzMiCancelHandle.Null, out AzMiTokenHandle token, out AzMiErrorHandle error);
        return new TokenCall(status, token, error);
    }

    /// <summary>Fails with azmi's own message (never the token) unless the call succeeded.</summary>
    public AzMiToken ReadOk()
    {
        if (Status != AzMiStatus.Ok)
        {
            Assert.Fail($"azmi_get_token returned {Status} ({(int)Status}): {Error.Message}");
        }
        Assert.True(Error.IsInvalid, "err_out was written although the call succeeded");
        Assert.False(Token.IsInvalid, "AZMI_OK but token_out is NULL");
        return AzMiClient.Read(Token);
    }

    public void Dispose()
    {
        Token.Dispose();
        Error.Dispose();
    }
}

/// <summary>Helpers shared by the test classes.</summary>
internal static class Native
{
    /// <summary>An identity whose requests go to the emulator.</summary>
    public static AzMiIdentityHandle Identity(EmulatorFixture emulator, string? clientId = null, string? objectId = null, string? resourceId = null) =>
        AzMiIdentity.Create(clientId, objectId, resourceId, emulator.TokenUrl);

    /// <summary>A token, asserting success.</summary>
    public static AzMiToken Get(string resource, AzMiIdentityHandle identity, uint flags = 0)
    {
        using TokenCall call = TokenCall.Run(resource, identity, flags);
        return call.ReadOk();
    }

    /// <summary>Polls until <paramref name="condition"/> holds; fails after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds} s waiting for {what}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>The current Unix time in seconds.</summary>
    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
