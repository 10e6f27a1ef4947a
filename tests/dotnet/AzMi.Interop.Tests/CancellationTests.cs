using System.Diagnostics;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed class CancellationTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    private static readonly TimeSpan CancelDeadline = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task CancelFromAnotherThread_EndsAWaitingCallWithCancelled()
    {
        const string resource = "https://management.azure.com/";
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        // One successful call first: an endpoint that never answered is given only the 1 s
        // probe timeout, which would end the wait before the cancel could.
        Native.Get(resource, identity);
        await using IAsyncDisposable faults = await emulator.InjectFaultsAsync(new { delay_ms = 30000 });
        long before = await emulator.TokenRequestsAsync();

        using AzMiCancelHandle cancel = AzMiCancelHandle.Create();
        // A dedicated thread, since the call blocks it for as long as the endpoint takes.
        Task<(AzMiStatus Status, bool TokenWritten, AzMiStatus ErrorStatus)> call = Task.Factory.StartNew(() =>
        {
            using TokenCall c = TokenCall.Run(resource, identity, NativeMethods.AZMI_FLAG_FORCE_REFRESH, cancel);
            return (c.Status, !c.Token.IsInvalid, c.Error.IsInvalid ? AzMiStatus.Ok : c.Error.Status);
        }, TaskCreationOptions.LongRunning);

        await Task.Delay(300);
        Assert.False(call.IsCompleted, "the call returned before the 30 s delay could hold it");
        Assert.True(await emulator.TokenRequestsAsync() > before, "the request never reached the emulator");
        var clock = Stopwatch.StartNew();

        cancel.Cancel();

        Assert.Same(call, await Task.WhenAny(call, Task.Delay(CancelDeadline)));
        clock.Stop();
        (AzMiStatus status, bool tokenWritten, AzMiStatus errorStatus) = await call;
        Assert.Equal(AzMiStatus.Cancelled, status);
        Assert.Equal(AzMiStatus.Cancelled, errorStatus);
        Assert.False(tokenWritten, "token_out written on cancellation");
        Assert.True(cancel.IsCancelled);
        Assert.True(clock.Elapsed < CancelDeadline, $"cancelled call took {clock.Elapsed.TotalSeconds:F2} s to return");
    }

    [Fact]
    public async Task CancellationToken_ThrowsOperationCanceled()
    {
        const string resource = "https://vault.azure.net";
        using var client = new AzMiClient(emulator.TokenUrl);
        client.GetToken(resource);
        await using IAsyncDisposable faults = await emulator.InjectFaultsAsync(new { delay_ms = 30000 });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        Task<AzMiToken> call = Task.Factory.StartNew(
            () => client.GetToken(resource, forceRefresh: true, cancellationToken: cts.Token), TaskCreationOptions.LongRunning);

        Assert.Same(call, await Task.WhenAny(call, Task.Delay(TimeSpan.FromMilliseconds(300) + CancelDeadline)));
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(AzMiStatus.Cancelled, Assert.IsType<AzMiException>(ex.InnerException).Status);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(300) + CancelDeadline);
    }

    [Fact]
    public void AlreadyCancelledHandle_FailsTheCallWithCancelled()
    {
        using AzMiIdentityHandle identity = Native.Identity(emulator);
        using AzMiCancelHandle cancel = AzMiCancelHandle.Create();
        Assert.False(cancel.IsCancelled);
        cancel.Cancel();
        cancel.Cancel(); // any number of times
        Assert.True(cancel.IsCancelled);

        // A resource this class never asked for, so no cached token can answer instead.
        using TokenCall call = TokenCall.Run("https://datalake.azure.net/", identity, 0, cancel);

        Assert.Equal(AzMiStatus.Cancelled, call.Status);
        Assert.True(call.Token.IsInvalid);
        Assert.True(cancel.IsCancelled, "a cancelled handle stays cancelled");
    }

    [Fact]
    public void NullHandle_IsNotCancelled_AndCancellingItIsIgnored()
    {
        using AzMiCancelHandle none = AzMiCancelHandle.Null;

        none.Cancel();

        Assert.False(none.IsCancelled);
    }
}
