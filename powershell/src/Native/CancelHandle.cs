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

    /// <summary>For passing to an azmi call on the owning thread only.</summary>
    internal IntPtr Handle => _handle;

    /// <summary>Ends the azmi call using this handle at once (it returns AZMI_CANCELLED). Any thread.</summary>
    internal void Cancel()
    {
        lock (_gate)
        {
            if (_handle != IntPtr.Zero)
            {
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
    }
}
