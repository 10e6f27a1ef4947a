using System;
using System.Runtime.ExceptionServices;

namespace AzMi.Native;

/// <summary>
/// Runs one azmi call that takes an <c>azmi_progress_callback</c> (Data Lake and Blob uploads
/// and downloads). The callback runs on the calling thread while azmi's call is on the stack,
/// so it may write progress; nothing may unwind through azmi's frames, so an exception thrown
/// by <c>progress</c> is caught, the call is cancelled (the only way to stop from a progress
/// callback; it does not block), and the exception is rethrown once azmi has returned.
/// </summary>
internal static class NativeProgress
{
    /// <summary>One azmi call taking a progress callback: returns its status, writes its error.</summary>
    internal delegate uint Call(NativeMethods.ProgressCallback callback, out IntPtr err);

    internal static void Run(CancelHandle cancel, Action<ulong, long> progress, Call call)
    {
        var guard = new CallbackGuard();
        NativeMethods.ProgressCallback callback = (_, done, total) =>
        {
            if (guard.Failed)
            {
                return;
            }

            try
            {
                progress(done, total);
            }
            catch (Exception e)
            {
                guard.Capture(e);
                cancel.Cancel();
            }
        };

        uint status = call(callback, out IntPtr err);
        GC.KeepAlive(callback);
        if (guard.Failed)
        {
            NativeMethods.azmi_error_free(err);
            guard.RethrowIfFailed();
        }

        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>The first exception a callback caught, to rethrow once azmi has returned.</summary>
    private sealed class CallbackGuard
    {
        private ExceptionDispatchInfo? _error;

        internal bool Failed => _error is not null;

        internal void Capture(Exception e) => _error ??= ExceptionDispatchInfo.Capture(e);

        internal void RethrowIfFailed() => _error?.Throw();
    }
}
