using System;
using System.Runtime.InteropServices;
using AzMi.Native;

namespace AzMi.Internal;

/// <summary>
/// Hands azmi's <c>azmi_progress_callback</c> to an <see cref="IProgress{T}"/>. The delegate
/// is one static field (never collected while azmi holds it), the per-call state travels as a
/// GCHandle in <c>userdata</c>, and an exception from <c>Report</c> is kept by the call's
/// <see cref="CancelScope"/>, which cancels the call (a progress callback cannot stop it
/// otherwise) and rethrows the exception once azmi returned.
/// </summary>
internal sealed class ProgressBridge
{
    private static readonly NativeMethods.ProgressCallback Callback = OnProgress;

    private readonly IProgress<TransferProgress> _progress;
    private readonly CancelScope _scope;

    private ProgressBridge(IProgress<TransferProgress> progress, CancelScope scope)
    {
        _progress = progress;
        _scope = scope;
    }

    /// <summary>One call taking a progress callback (null when there is no progress).</summary>
    internal delegate uint Call(NativeMethods.ProgressCallback? callback, IntPtr userdata, out IntPtr err);

    /// <summary>Runs <paramref name="call"/> and throws its error (or the callback's exception).</summary>
    internal static void Run(IProgress<TransferProgress>? progress, CancelScope scope, Call call)
    {
        if (progress is null)
        {
            uint plain = call(null, IntPtr.Zero, out IntPtr plainErr);
            scope.ThrowIfFailed(plain, plainErr);
            return;
        }

        GCHandle state = GCHandle.Alloc(new ProgressBridge(progress, scope));
        uint status;
        IntPtr err;
        try
        {
            status = call(Callback, GCHandle.ToIntPtr(state), out err);
        }
        finally
        {
            state.Free();
        }

        scope.ThrowIfFailed(status, err);
    }

    private static void OnProgress(IntPtr userdata, ulong done, long total)
    {
        // Nothing may leave this method: .NET cannot unwind through azmi's frames.
        try
        {
            var bridge = (ProgressBridge)GCHandle.FromIntPtr(userdata).Target!;
            if (bridge._scope.CallbackFailed)
            {
                return;
            }

            try
            {
                bridge._progress.Report(new TransferProgress((long)done, total < 0 ? null : total));
            }
            catch (Exception e)
            {
                bridge._scope.CaptureCallbackError(e);
            }
        }
        catch
        {
            // Only a bug above could get here; never let it cross into azmi.
        }
    }
}
