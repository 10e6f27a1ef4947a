using System;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>
/// The part of the C ABI (include/azmi.h) the cmdlets use, declared one to one.
/// </summary>
/// <remarks>
/// Rules that keep these declarations correct (breaking any of them is a real bug):
/// <list type="bullet">
/// <item>Every pointer azmi returns, owned or lent, is <see cref="IntPtr"/>, never
///   <c>string</c>: for a <c>string</c> return the marshaller would free the memory with
///   CoTaskMemFree/free(), which is not azmi's allocator, and lent strings must not be freed
///   at all. Lent strings are copied by <see cref="Utf8"/> while their owner is alive.</item>
/// <item>Strings going in are NUL-terminated UTF-8 <c>byte[]</c> from <see cref="Utf8.Encode"/>
///   (null for NULL): netstandard2.0 has no UTF-8 string marshalling, and the default would
///   be ANSI on Windows. A byte[] of a primitive type is pinned and passed as a pointer.</item>
/// <item>C <c>bool</c> is one byte: <c>[return: MarshalAs(UnmanagedType.U1)]</c> (the default
///   is the 4-byte Win32 BOOL, which would read three garbage bytes).</item>
/// <item><c>azmi_status</c>/<c>uint32_t</c> → uint, <c>uint16_t</c> → ushort,
///   <c>int64_t</c> → long, <c>size_t</c> → UIntPtr.</item>
/// <item>Cdecl, which is what Rust's <c>extern "C"</c> is (it matters on 32-bit Windows only).</item>
/// </list>
/// The library is resolved by <see cref="NativeLibraryLoader"/> from the module folder.
/// </remarks>
internal static class NativeMethods
{
    /// <summary>libazmi.so / azmi.dll / libazmi.dylib.</summary>
    internal const string LibraryName = "azmi";

    /// <summary><c>AZMI_FLAG_FORCE_REFRESH</c>: skip the cache and ask the endpoint for a new token.</summary>
    internal const uint FlagForceRefresh = 1;

    private const CallingConvention Cdecl = CallingConvention.Cdecl;

    // ---- library ---------------------------------------------------------------------

    /// <summary>Static string: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_status_name(uint status);

    // ---- azmi_cancel -----------------------------------------------------------------

    /// <summary>Never NULL. Free with azmi_cancel_free after the calls using it returned.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_cancel_new();

    /// <summary>Safe from any thread, any number of times.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_cancel_cancel(IntPtr cancel);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_cancel_free(IntPtr cancel);

    // ---- azmi_error ------------------------------------------------------------------

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_error_status(IntPtr err);

    /// <summary>0 when no service answered.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern ushort azmi_error_http_status(IntPtr err);

    /// <summary>Lent, NULL when the service gave no code: valid until azmi_error_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_error_service_code(IntPtr err);

    /// <summary>Lent, never NULL: valid until azmi_error_free. Never contains a token.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_error_message(IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_error_free(IntPtr err);

    // ---- azmi_identity ---------------------------------------------------------------

    /// <summary>At most one id; all null selects the system-assigned identity.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_new(
        byte[]? clientId,
        byte[]? objectId,
        byte[]? resourceId,
        out IntPtr identity,
        out IntPtr err);

    /// <summary>Not thread-safe: call before the identity is shared.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_set_endpoint(IntPtr identity, byte[]? tokenUrl, out IntPtr err);

    /// <summary>Lent: valid until the identity is freed or changed.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_identity_description(IntPtr identity);

    /// <summary>Lent: valid until the identity is freed or changed.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_identity_endpoint(IntPtr identity);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_identity_free(IntPtr identity);

    // ---- azmi_get_token / azmi_token -------------------------------------------------

    /// <summary>Blocks the calling thread until a token, an error or cancellation.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_get_token(
        byte[] resource,
        IntPtr identity,
        uint flags,
        IntPtr cancel,
        out IntPtr token,
        out IntPtr err);

    /// <summary>Lent: valid until azmi_token_free. Never log it.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_access_token(IntPtr token);

    /// <summary>Bytes of the token text, without the NUL.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern UIntPtr azmi_token_access_token_len(IntPtr token);

    /// <summary>Unix seconds.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_token_expires_on(IntPtr token);

    /// <summary>Lent: valid until azmi_token_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_type(IntPtr token);

    /// <summary>Lent: valid until azmi_token_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_resource(IntPtr token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static extern bool azmi_token_from_cache(IntPtr token);

    /// <summary>Wipes the token text and frees the token.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_token_free(IntPtr token);
}
