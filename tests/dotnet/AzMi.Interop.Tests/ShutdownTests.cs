using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// azmi_shutdown stops the runtime and wipes every cached token, process-wide: run alone, after
/// the parallel test classes, so that it cannot empty their caches in mid-test.
/// </summary>
[CollectionDefinition(nameof(ShutdownCollection), DisableParallelization = true)]
public sealed class ShutdownCollection;

[Collection(nameof(ShutdownCollection))]
public sealed class ShutdownTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task Shutdown_WipesTheCache_AndTheNextCallStartsAzmiAgain()
    {
        const string resource = "https://management.azure.com/";
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        AzMiToken first = Native.Get(resource, identity);
        Assert.True(Native.Get(resource, identity).FromCache);
        long before = await emulator.TokenRequestsAsync();

        AzMiStatus status = NativeMethods.azmi_shutdown(out AzMiErrorHandle error);
        using (error)
        {
            Assert.Equal(AzMiStatus.Ok, status);
            Assert.True(error.IsInvalid, "err_out written on success");
        }
        AzMiLibrary.Shutdown(); // a second shutdown, with nothing running, succeeds too

        AzMiToken again = Native.Get(resource, identity);

        Assert.False(again.FromCache, "a token survived azmi_shutdown");
        Assert.Equal(before + 1, await emulator.TokenRequestsAsync());
        Assert.NotEqual(Jwt.Fingerprint(first.Token), Jwt.Fingerprint(again.Token));
        Assert.Equal(KnownIdentities.SystemObjectId, Jwt.Claim(again.Token, "oid"));
    }

    [Fact]
    public async Task Shutdown_CancelsARunningCall_AndReturnsOnlyAfterIt()
    {
        const string resource = "https://vault.azure.net";
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        Native.Get(resource, identity);
        await using IAsyncDisposable faults = await emulator.InjectFaultsAsync(new { delay_ms = 30000 });
        long before = await emulator.TokenRequestsAsync();

        DateTime callReturned = DateTime.MaxValue;
        Task<AzMiStatus> call = Task.Factory.StartNew(() =>
        {
            using TokenCall c = TokenCall.Run(resource, identity, NativeMethods.AZMI_FLAG_FORCE_REFRESH);
            callReturned = DateTime.UtcNow;
            return c.Status;
        }, TaskCreationOptions.LongRunning);
        await Native.WaitUntilAsync(async () => await emulator.TokenRequestsAsync() > before, TimeSpan.FromSeconds(5), "the delayed request");

        var started = DateTime.UtcNow;
        AzMiLibrary.Shutdown();
        DateTime shutdownReturned = DateTime.UtcNow;

        // So that a host may unload the library: the running call is cancelled, and it has
        // returned by the time azmi_shutdown does (long before the 30 s delay).
        Assert.True(shutdownReturned - started < TimeSpan.FromSeconds(5), "shutdown waited for the slow request");
        Assert.Equal(AzMiStatus.Cancelled, await call);
        Assert.True(callReturned <= shutdownReturned, "the call was still running after azmi_shutdown returned");
        Assert.False(Native.Get(resource, identity).FromCache, "a token survived azmi_shutdown");
    }
}
