using System;

namespace AzMi.Native;

/// <summary>
/// One <c>azmi_cancel</c>. <see cref="Cancel"/> comes from PowerShell's pipeline-stop thread
/// while the cmdlet's thread is blocked in azmi, and that thread then frees the handle: the lock
/// makes sure the handle is never cancelled after (or while) it is freed.
/// </summary>
internal sealed class CancelHandle : IDisposable
{
    private readonly object _gate = new object();
    private IntPtr _handle = NativeMethods.azmi_cancel_new();
    private bool _cancelled;

    /// <summary>One handle per thread that was never cancelled, kept for the thread's next call.</summary>
    [ThreadStatic]
    private static CancelHandle? t_spare;

    /// <summary>
    /// A handle for one call: this thread's spare, or a new one. Give it back with
    /// <see cref="Return"/> once the call returned and no other thread can cancel it any more;
    /// a warm Get-AzMiToken then makes no native call for it.
    /// </summary>
    internal static CancelHandle Rent()
    {
        CancelHandle? spare = t_spare;
        t_spare = null;
        return spare ?? new CancelHandle();
    }

    /// <summary>Keeps the handle for this thread's next call if it was never cancelled, else frees it.</summary>
    internal void Return()
    {
        bool reusable;
        lock (_gate)
        {
            reusable = !_cancelled && _handle != IntPtr.Zero;
        }

        if (reusable && t_spare is null)
        {
            t_spare = this;
        }
        else
        {
            Dispose();
        }
    }

    /// <summary>For passing to an azmi call on the owning thread only.</summary>
    internal IntPtr Handle => _handle;

    /// <summary>Ends the azmi call using this handle at once (it returns AZMI_CANCELLED). Any thread.</summary>
    internal void Cancel()
    {
        lock (_gate)
        {
            if (_handle != IntPtr.Zero)
            {
                _cancelled = true;
                NativeMethods.azmi_cancel_cancel(_handle);
            }
        }
    }

    /// <summary>Only after the call using the handle has returned.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            NativeMethods.azmi_cancel_free(_handle);
            _handle = IntPtr.Zero;
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>A thread's spare, when the thread ended: nothing else can hold it then.</summary>
    ~CancelHandle()
    {
        NativeMethods.azmi_cancel_free(_handle);
    }
}
