using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Native;

namespace AzMi.Internal;

/// <summary>One azmi listing call: passes the callback and userdata on, returns its status.</summary>
internal delegate uint ListCall(IntPtr cancel, IntPtr userdata, out IntPtr err);

/// <summary>Where the static item callbacks deliver (a <see cref="ListingPump{T}"/>).</summary>
internal interface IListingSink
{
    /// <summary>Copies the lent item and queues it; false stops the listing.</summary>
    bool Offer(IntPtr item);
}

/// <summary>
/// The item callbacks of azmi's listings, one static delegate each (never collected while azmi
/// holds them); the listing's state travels as a GCHandle in <c>userdata</c>.
/// </summary>
internal static class ListingCallbacks
{
    internal static readonly NativeMethods.AdlsItemCallback AdlsItem = Offer;
    internal static readonly NativeMethods.SecretCallback Secret = Offer;

    private static bool Offer(IntPtr userdata, IntPtr item)
    {
        try
        {
            return ((IListingSink)GCHandle.FromIntPtr(userdata).Target!).Offer(item);
        }
        catch
        {
            return false; // Never unwind into azmi.
        }
    }
}

/// <summary>
/// Runs an azmi listing on a thread of its own and hands the items to an async consumer
/// through a bounded queue: a listing of any size is never held in memory (a full queue holds
/// the listing back), and the consumer's code never runs inside azmi's callback, so it may call
/// azmi (inside the callback azmi refuses with RuntimeError). Stopping early makes the callback
/// return false; the listing's Cancelled is then not an error.
/// </summary>
internal sealed class ListingPump<T> : IListingSink
{
    private const int Capacity = 256;

    private readonly Func<IntPtr, T> _read;
    private readonly object _gate = new object();
    private readonly Queue<T> _queue = new Queue<T>();
    private readonly TaskCompletionSource<bool> _finished = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<bool>? _waiter;
    private CancelScope? _scope;
    private bool _completed;
    private bool _stopped;
    private ExceptionDispatchInfo? _error;

    private ListingPump(Func<IntPtr, T> read) => _read = read;

    /// <summary>The item <see cref="MoveNextAsync"/> moved to.</summary>
    internal T Current { get; private set; } = default!;

    /// <summary>Starts <paramref name="call"/> on its own thread; the token cancels the listing.</summary>
    internal static ListingPump<T> Start(ListCall call, Func<IntPtr, T> read, CancellationToken cancellationToken)
    {
        AzMiLibrary.EnsureInitialized();
        var pump = new ListingPump<T>(read);
        var thread = new Thread(() => pump.Work(call, cancellationToken)) { IsBackground = true, Name = "azmi listing" };
        thread.Start();
        return pump;
    }

    /// <summary>Waits for the next item: false at the end; throws the listing's error.</summary>
    internal async Task<bool> MoveNextAsync()
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_queue.Count > 0)
                {
                    Current = _queue.Dequeue();
                    Monitor.PulseAll(_gate);
                    return true;
                }

                if (_completed)
                {
                    _error?.Throw();
                    return false;
                }

                _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }

            await wait.ConfigureAwait(false);
        }
    }

    /// <summary>Stops the listing (if still running) and waits until azmi returned.</summary>
    internal Task StopAsync()
    {
        RequestStop();
        return _finished.Task;
    }

    /// <summary><see cref="StopAsync"/>, blocking.</summary>
    internal void Stop()
    {
        RequestStop();
        _finished.Task.GetAwaiter().GetResult();
    }

    bool IListingSink.Offer(IntPtr item)
    {
        T value;
        try
        {
            value = _read(item);
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _error ??= ExceptionDispatchInfo.Capture(e);
            }

            return false;
        }

        lock (_gate)
        {
            while (_queue.Count >= Capacity && !_stopped)
            {
                Monitor.Wait(_gate);
            }

            if (_stopped)
            {
                return false;
            }

            _queue.Enqueue(value);
            Signal();
            return true;
        }
    }

    private void RequestStop()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
            _scope?.Cancel();
        }
    }

    private void Work(ListCall call, CancellationToken cancellationToken)
    {
        GCHandle self = GCHandle.Alloc(this);
        try
        {
            using var scope = new CancelScope(cancellationToken);
            lock (_gate)
            {
                _scope = scope;
                if (_stopped)
                {
                    scope.Cancel();
                }
            }

            uint status;
            IntPtr err;
            try
            {
                status = call(scope.Pointer, GCHandle.ToIntPtr(self), out err);
            }
            finally
            {
                lock (_gate)
                {
                    _scope = null;
                }
            }

            Exception? failure = null;
            try
            {
                scope.ThrowIfFailed(status, err);
            }
            catch (Exception e)
            {
                failure = e;
            }

            lock (_gate)
            {
                bool stoppedByConsumer = _stopped && failure is AzMiException { Status: AzMiStatus.Cancelled };
                if (_error is null && failure is not null && !stoppedByConsumer)
                {
                    _error = ExceptionDispatchInfo.Capture(failure);
                }

                _completed = true;
                Signal();
            }
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                _error ??= ExceptionDispatchInfo.Capture(e);
                _completed = true;
                Signal();
            }
        }
        finally
        {
            self.Free();
            _finished.TrySetResult(true);
        }
    }

    private void Signal()
    {
        TaskCompletionSource<bool>? waiter = _waiter;
        _waiter = null;
        waiter?.TrySetResult(true);
    }
}
