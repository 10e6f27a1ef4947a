using System;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>
/// The base of the SafeHandles below: one per kind of azmi object, each freeing its object
/// exactly once with the object's own _free function (also when its owner is never disposed,
/// from the finalizer), and never while a call still uses it.
/// </summary>
/// <remarks>
/// The declarations in <see cref="NativeMethods"/> take <see cref="IntPtr"/> (so that the
/// PowerShell module compiles the same file), so a call borrows the pointer with
/// <see cref="Lease"/>: DangerousAddRef keeps the object alive until the lease is disposed,
/// which is what the header's "No call may still be using it" asks when another thread
/// disposes the owner meanwhile.
/// </remarks>
internal abstract class AzMiSafeHandle : SafeHandle
{
    protected AzMiSafeHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Frees the object with its own _free function (called once, by the SafeHandle).</summary>
    protected abstract void Free(IntPtr pointer);

    protected sealed override bool ReleaseHandle()
    {
        Free(handle);
        return true;
    }

    /// <summary>Takes ownership of a pointer azmi returned (IntPtr.Zero gives an invalid handle).</summary>
    internal void Own(IntPtr pointer) => SetHandle(pointer);

    /// <summary>
    /// Borrows the pointer for a call: the object is not freed before the lease is disposed.
    /// Throws <see cref="ObjectDisposedException"/> when the handle was closed already.
    /// </summary>
    internal HandleLease Lease()
    {
        bool added = false;
        DangerousAddRef(ref added);
        return new HandleLease(this, added);
    }
}

/// <summary>A borrowed pointer (see <see cref="AzMiSafeHandle.Lease"/>); dispose it after the call.</summary>
internal readonly struct HandleLease : IDisposable
{
    private readonly SafeHandle? _owner;
    private readonly bool _added;

    internal HandleLease(SafeHandle owner, bool added)
    {
        _owner = owner;
        _added = added;
        Pointer = owner.DangerousGetHandle();
    }

    /// <summary>The pointer to pass to azmi (IntPtr.Zero for no handle).</summary>
    internal IntPtr Pointer { get; }

    /// <summary>A lease of nothing: passes NULL (e.g. the system-assigned identity from the environment).</summary>
    internal static HandleLease None => default;

    public void Dispose()
    {
        if (_added)
        {
            _owner!.DangerousRelease();
        }
    }
}

/// <summary><c>azmi_identity</c>, freed with azmi_identity_free.</summary>
internal sealed class SafeIdentityHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_identity_free(pointer);
}

/// <summary><c>azmi_cancel</c>, freed with azmi_cancel_free; <see cref="Cancel"/> from any thread.</summary>
internal sealed class SafeCancelHandle : AzMiSafeHandle
{
    /// <summary>A new, not cancelled handle (azmi_cancel_new never returns NULL).</summary>
    internal static SafeCancelHandle Create()
    {
        var handle = new SafeCancelHandle();
        handle.Own(NativeMethods.azmi_cancel_new());
        return handle;
    }

    /// <summary>
    /// Cancels every call using the handle. Safe from any thread and after Dispose (then it
    /// does nothing: the calls it would cancel have returned).
    /// </summary>
    internal void Cancel()
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            NativeMethods.azmi_cancel_cancel(handle);
        }
        catch (ObjectDisposedException)
        {
            // Freed: no call uses it any more.
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override void Free(IntPtr pointer) => NativeMethods.azmi_cancel_free(pointer);
}

/// <summary><c>azmi_error</c>, freed with azmi_error_free.</summary>
internal sealed class SafeErrorHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_error_free(pointer);
}

/// <summary><c>azmi_token</c>, wiped and freed with azmi_token_free.</summary>
internal sealed class SafeTokenHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_token_free(pointer);
}

/// <summary><c>azmi_adls</c> (a Data Lake account), freed with azmi_adls_free.</summary>
internal sealed class SafeDataLakeHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_adls_free(pointer);
}

/// <summary><c>azmi_adls_item</c> from azmi_adls_stat (never one lent to a callback), freed with azmi_adls_item_free.</summary>
internal sealed class SafeDataLakeItemHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_adls_item_free(pointer);
}

/// <summary><c>azmi_blob</c> (a storage account's blobs), freed with azmi_blob_free.</summary>
internal sealed class SafeBlobHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_blob_free(pointer);
}

/// <summary><c>azmi_secret</c> from azmi_keyvault_get, wiped and freed with azmi_secret_free.</summary>
internal sealed class SafeSecretHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_secret_free(pointer);
}

/// <summary><c>azmi_bytes</c>, freed with azmi_bytes_free.</summary>
internal sealed class SafeBytesHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_bytes_free(pointer);
}

/// <summary><c>azmi_string</c> (JSON, a SAS token), wiped and freed with azmi_string_free.</summary>
internal sealed class SafeStringHandle : AzMiSafeHandle
{
    protected override void Free(IntPtr pointer) => NativeMethods.azmi_string_free(pointer);
}
