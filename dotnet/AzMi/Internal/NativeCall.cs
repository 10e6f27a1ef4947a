using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Native;

namespace AzMi.Internal;

/// <summary>
/// Runs blocking azmi calls for the async API: on a thread-pool thread (or a thread of its own
/// for transfers and listings, which block for long), with the caller's
/// <see cref="CancellationToken"/> wired to an <c>azmi_cancel</c> handle, so cancelling the
/// token makes azmi return at once.
/// </summary>
internal static class NativeCall
{
    /// <summary>
    /// Runs <paramref name="call"/> with a fresh cancel handle (leased for the call). The
    /// registration is disposed before the handle is freed, and the handle is a SafeHandle, so a
    /// late cancellation never touches freed memory.
    /// </summary>
    internal static Task<T> RunAsync<T>(Func<CancelScope, T> call, CancellationToken cancellationToken, bool longRunning = false)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        AzMiLibrary.EnsureInitialized();
        Func<T> body = () =>
        {
            using var scope = new CancelScope(cancellationToken);
            return call(scope);
        };
        return longRunning
            ? Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            : Task.Run(body, CancellationToken.None);
    }

    /// <summary><see cref="RunAsync{T}"/> for calls without a result.</summary>
    internal static Task RunAsync(Action<CancelScope> call, CancellationToken cancellationToken, bool longRunning = false) =>
        RunAsync<bool>(scope => { call(scope); return true; }, cancellationToken, longRunning);
}

/// <summary>
/// One call's <c>azmi_cancel</c>, cancelled by the caller's token or by <see cref="Cancel"/>
/// (a callback that failed), and the place a callback's exception waits until azmi returned.
/// </summary>
internal sealed class CancelScope : IDisposable
{
    private readonly SafeCancelHandle _handle = SafeCancelHandle.Create();
    private readonly CancellationTokenRegistration _registration;
    private readonly HandleLease _lease;
    private ExceptionDispatchInfo? _callbackError;

    internal CancelScope(CancellationToken cancellationToken)
    {
        CancellationToken = cancellationToken;
        _lease = _handle.Lease();
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.Register(static state => ((SafeCancelHandle)state!).Cancel(), _handle);
        }
    }

    /// <summary>The pointer to pass as the call's <c>cancel</c>.</summary>
    internal IntPtr Pointer => _lease.Pointer;

    /// <summary>The caller's token (for turning Cancelled into OperationCanceledException).</summary>
    internal CancellationToken CancellationToken { get; }

    /// <summary>Whether a callback failed (later callbacks then do nothing).</summary>
    internal bool CallbackFailed => _callbackError is not null;

    /// <summary>Ends the call (it returns Cancelled). Any thread, never blocks.</summary>
    internal void Cancel() => _handle.Cancel();

    /// <summary>
    /// Keeps the first exception a callback threw and cancels the call: nothing may unwind
    /// through azmi's frames, so it is rethrown by <see cref="ThrowIfFailed"/> once azmi returned.
    /// </summary>
    internal void CaptureCallbackError(Exception e)
    {
        if (_callbackError is null)
        {
            _callbackError = ExceptionDispatchInfo.Capture(e);
        }

        Cancel();
    }

    /// <summary>
    /// After the call: rethrows a callback's exception first (the call's Cancelled was its
    /// doing), else throws azmi's error, else frees nothing and returns.
    /// </summary>
    internal void ThrowIfFailed(uint status, IntPtr err)
    {
        if (_callbackError is not null)
        {
            NativeMethods.azmi_error_free(err);
            _callbackError.Throw();
        }

        NativeErrors.ThrowIfFailed(status, err, CancellationToken);
    }

    public void Dispose()
    {
        _registration.Dispose(); // Waits for a running Cancel: the handle is still alive then.
        _lease.Dispose();
        _handle.Dispose();
    }
}
