using System;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace AzMi.Native;

/// <summary>
/// Runs an azmi listing (a call that hands items to a callback) so that the items reach the
/// caller on the calling thread, outside azmi.
/// </summary>
/// <remarks>
/// azmi calls its item callbacks from inside its runtime, where no blocking azmi call may be
/// made, and a PowerShell pipeline runs the downstream commands inside WriteObject: written from
/// the callback, an item piped into another AzMi cmdlet would fail with AZMI_RUNTIME_ERROR. So
/// the listing runs on a worker thread whose callback only hands items over through a small
/// bounded queue (a listing of any size is never held in memory: a full queue holds the listing
/// back), and the caller's onItem runs on the calling thread.
/// </remarks>
internal static class NativeListing
{
    /// <summary>Items a listing may run ahead of the pipeline.</summary>
    private const int QueueCapacity = 256;

    /// <summary>
    /// One listing call: passes <paramref name="onNativeItem"/> (wrapped in the call's own
    /// delegate type, kept alive for the call) to azmi; returns its status and writes its error.
    /// </summary>
    internal delegate uint ListCall(Func<IntPtr, bool> onNativeItem, out IntPtr err);

    /// <summary>
    /// Runs <paramref name="call"/> on a worker thread; <paramref name="read"/> copies each lent
    /// item there, and <paramref name="onItem"/> gets the copies here, on the calling thread, and
    /// returns false to stop early (then this returns normally). An exception thrown by
    /// <paramref name="onItem"/> (e.g. PipelineStoppedException from WriteObject when a
    /// downstream <c>Select-Object -First</c> has enough) stops the listing and is rethrown here,
    /// once azmi has returned. azmi's error is thrown as <see cref="AzMiException"/>.
    /// </summary>
    internal static void Run<T>(CancelHandle cancel, Func<IntPtr, T> read, ListCall call, Func<T, bool> onItem, string threadName)
    {
        using var items = new BlockingCollection<T>(QueueCapacity);
        using var consumerGone = new CancellationTokenSource();
        ExceptionDispatchInfo? callbackError = null;
        uint status = (uint)AzMiStatus.InternalError;
        IntPtr err = IntPtr.Zero;

        Func<IntPtr, bool> onNativeItem = item =>
        {
            try
            {
                items.Add(read(item), consumerGone.Token); // Waits while the queue is full.
                return true;
            }
            catch (OperationCanceledException)
            {
                return false; // The consumer stopped: end the listing.
            }
            catch (Exception e)
            {
                callbackError ??= ExceptionDispatchInfo.Capture(e);
                return false;
            }
        };

        var worker = new Thread(() =>
        {
            try
            {
                status = call(onNativeItem, out err);
            }
            catch (Exception e)
            {
                callbackError ??= ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                items.CompleteAdding();
            }
        })
        {
            IsBackground = true,
            Name = threadName,
        };

        bool consumerStopped = true;
        worker.Start();
        try
        {
            foreach (T item in items.GetConsumingEnumerable())
            {
                if (!onItem(item))
                {
                    break;
                }
            }

            consumerStopped = !items.IsCompleted;
        }
        finally
        {
            if (consumerStopped)
            {
                // Stopped early (false, or an exception such as PipelineStoppedException): wake
                // the callback if it waits on a full queue, and end a request in flight.
                consumerGone.Cancel();
                cancel.Cancel();
            }

            worker.Join(); // azmi has returned: the handles may be freed after this.
            if (consumerStopped)
            {
                NativeMethods.azmi_error_free(err);
            }
        }

        if (consumerStopped)
        {
            return;
        }

        if (callbackError is not null)
        {
            NativeMethods.azmi_error_free(err);
            callbackError.Throw();
        }

        NativeError.ThrowIfFailed(status, err);
    }
}
