using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AzMi.Interop;

// One SafeHandle per azmi object type. Compared with IntPtr + try/finally they give:
// - the matching _free call exactly once, even on exceptions, and from the finalizer if the
//   caller forgot to dispose;
// - reference counting across P/Invoke calls: the marshaller AddRefs a handle for the duration
//   of a call, so Dispose() on another thread while azmi_get_token still uses the identity or
//   cancel handle defers the free until the call returns. The header requires exactly that
//   ("No call may still be using it") and IntPtr cannot guarantee it.
//
// The parameterless constructors are what the marshaller uses for `out` parameters and return
// values. A handle that was never assigned (IsInvalid) is passed to native code as NULL, which
// is how the tests pass NULL to functions that accept it.

/// <summary>An owned <c>azmi_identity*</c>, freed with <c>azmi_identity_free</c>.</summary>
public sealed class AzMiIdentityHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiIdentityHandle() : base(ownsHandle: true) { }

    /// <summary>A handle that marshals as NULL (the system-assigned identity at the environment's endpoint).</summary>
    public static AzMiIdentityHandle Null => new();

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_identity_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_token*</c>; <c>azmi_token_free</c> also wipes the token text.</summary>
public sealed class AzMiTokenHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiTokenHandle() : base(ownsHandle: true) { }

    public static AzMiTokenHandle Null => new();

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_token_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_error*</c>, freed with <c>azmi_error_free</c>.</summary>
public sealed class AzMiErrorHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiErrorHandle() : base(ownsHandle: true) { }

    public static AzMiErrorHandle Null => new();

    /// <summary>azmi_error_status.</summary>
    public AzMiStatus Status => NativeMethods.azmi_error_status(this);

    /// <summary>azmi_error_http_status: 0 when no service answered.</summary>
    public int HttpStatus => NativeMethods.azmi_error_http_status(this);

    /// <summary>azmi_error_service_code (lent; copied here), or null when the service gave none.</summary>
    public string? ServiceCode => NativeMethods.Lent(NativeMethods.azmi_error_service_code(this), this);

    /// <summary>azmi_error_message (lent; copied here). Never contains a token.</summary>
    public string Message => NativeMethods.Lent(NativeMethods.azmi_error_message(this), this) ?? "";

    /// <summary>azmi_error_claims (lent; copied here): the claims of an AZMI_CLAIMS_CHALLENGE error, else null.</summary>
    public string? Claims => NativeMethods.Lent(NativeMethods.azmi_error_claims(this), this);

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_error_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_cancel*</c>, freed with <c>azmi_cancel_free</c>.</summary>
public sealed class AzMiCancelHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiCancelHandle() : base(ownsHandle: true) { }

    /// <summary>A new, not cancelled handle (azmi_cancel_new never returns NULL).</summary>
    public static AzMiCancelHandle Create() => NativeMethods.azmi_cancel_new();

    public static AzMiCancelHandle Null => new();

    /// <summary>azmi_cancel_cancel: every call using this handle returns AZMI_CANCELLED, now and later.</summary>
    public void Cancel() => NativeMethods.azmi_cancel_cancel(this);

    public bool IsCancelled => NativeMethods.azmi_cancel_is_cancelled(this);

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_cancel_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_adls*</c> (a Data Lake account), freed with <c>azmi_adls_free</c>.</summary>
public sealed class AzMiAdlsHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiAdlsHandle() : base(ownsHandle: true) { }

    public static AzMiAdlsHandle Null => new();

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_adls_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_adls_item*</c> from <c>azmi_adls_stat</c>, freed with <c>azmi_adls_item_free</c>.</summary>
public sealed class AzMiAdlsItemHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiAdlsItemHandle() : base(ownsHandle: true) { }

    public static AzMiAdlsItemHandle Null => new();

    /// <summary>
    /// Copies the item. The accessors take the raw pointer (they also serve lent items), so the
    /// handle is AddRef'd by hand for as long as they run: a Dispose on another thread then
    /// waits instead of freeing the item under them.
    /// </summary>
    public AzMiDataLakeItem Read()
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            return AzMiDataLakeItem.Read(DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_adls_item_free(handle);
        return true;
    }
}

/// <summary>Owned <c>azmi_bytes*</c> from <c>azmi_adls_read</c>, freed with <c>azmi_bytes_free</c>.</summary>
public sealed class AzMiBytesHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiBytesHandle() : base(ownsHandle: true) { }

    public static AzMiBytesHandle Null => new();

    /// <summary>Copies the bytes into a managed array (they are lent until azmi_bytes_free).</summary>
    public byte[] ToArray()
    {
        int length = checked((int)NativeMethods.azmi_bytes_len(this));
        var copy = new byte[length];
        if (length > 0)
        {
            Marshal.Copy(NativeMethods.azmi_bytes_data(this), copy, 0, length);
        }
        GC.KeepAlive(this);
        return copy;
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_bytes_free(handle);
        return true;
    }
}

/// <summary>
/// An owned <c>azmi_secret*</c> from <c>azmi_keyvault_get</c>; <c>azmi_secret_free</c> wipes the
/// value. The accessors take the raw pointer (they also serve lent secrets), so
/// <see cref="Use{T}"/> AddRefs the handle while they run.
/// </summary>
public sealed class AzMiSecretHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiSecretHandle() : base(ownsHandle: true) { }

    public static AzMiSecretHandle Null => new();

    /// <summary>Runs <paramref name="read"/> on the raw pointer with the handle kept alive (a Dispose elsewhere waits).</summary>
    public T Use<T>(Func<IntPtr, T> read)
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            return read(DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_secret_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_string*</c> (ARM JSON, a SAS token); <c>azmi_string_free</c> wipes it.</summary>
public sealed class AzMiStringHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiStringHandle() : base(ownsHandle: true) { }

    public static AzMiStringHandle Null => new();

    /// <summary>Copies the text (lent until azmi_string_free), using its length rather than strlen.</summary>
    public string Copy()
    {
        int length = checked((int)NativeMethods.azmi_string_len(this));
        string text = Marshal.PtrToStringUTF8(NativeMethods.azmi_string_data(this), length);
        GC.KeepAlive(this);
        return text;
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_string_free(handle);
        return true;
    }
}

/// <summary>An owned <c>azmi_blob*</c> (a storage account's blobs), freed with <c>azmi_blob_free</c>.</summary>
public sealed class AzMiBlobHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public AzMiBlobHandle() : base(ownsHandle: true) { }

    public static AzMiBlobHandle Null => new();

    protected override bool ReleaseHandle()
    {
        NativeMethods.azmi_blob_free(handle);
        return true;
    }
}
