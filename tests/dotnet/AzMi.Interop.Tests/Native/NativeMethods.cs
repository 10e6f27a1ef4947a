using System.Runtime.InteropServices;

namespace AzMi.Interop;

/// <summary>
/// The C ABI of include/azmi.h, declared one to one.
/// </summary>
/// <remarks>
/// Rules that keep these declarations correct (each one is a real bug when broken):
/// <list type="bullet">
/// <item>Every pointer the library returns, owned or lent, is <see cref="IntPtr"/> or a
///   SafeHandle, never <c>string</c>: for a <c>string</c> return the marshaller would free
///   the memory with CoTaskMemFree/free(), which is not azmi's allocator (and lent strings must
///   not be freed at all). Lent strings are copied with <see cref="Marshal.PtrToStringUTF8(IntPtr)"/>
///   while their owner is alive.</item>
/// <item>Strings going in are UTF-8 (<c>LPUTF8Str</c>); the default on .NET would be ANSI/UTF-16
///   depending on platform.</item>
/// <item>C <c>bool</c> is one byte: <c>[return: MarshalAs(UnmanagedType.U1)]</c>. The .NET
///   default is the 4-byte Win32 BOOL, which would read three garbage bytes.</item>
/// <item><c>uint32_t</c> → uint/<see cref="AzMiStatus"/>, <c>uint16_t</c> → ushort,
///   <c>int64_t</c> → long, <c>size_t</c> → nuint.</item>
/// <item>Cdecl, which is what Rust's <c>extern "C"</c> is (it only matters on 32-bit Windows).</item>
/// </list>
/// Objects: owned outputs are SafeHandles (see SafeHandles.cs); the <c>_free</c> functions take
/// IntPtr because SafeHandle.ReleaseHandle passes its raw handle.
/// </remarks>
internal static class NativeMethods
{
    /// <summary>Resolved to libazmi.so / azmi.dll / libazmi.dylib; see AzMiNativeLibrary.</summary>
    public const string LibraryName = "azmi";

    /// <summary><c>AZMI_FLAG_FORCE_REFRESH</c>: skip the cache and ask the endpoint for a new token.</summary>
    public const uint AZMI_FLAG_FORCE_REFRESH = 1;

    private const CallingConvention Cdecl = CallingConvention.Cdecl;

    // ---- library ------------------------------------------------------------------------

    /// <summary>Static string: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_version();

    /// <summary>Static string: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_status_name(uint status);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_shutdown(out AzMiErrorHandle err);

    // ---- azmi_cancel --------------------------------------------------------------------

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiCancelHandle azmi_cancel_new();

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_cancel_cancel(AzMiCancelHandle cancel);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static extern bool azmi_cancel_is_cancelled(AzMiCancelHandle cancel);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_cancel_free(IntPtr cancel);

    // ---- azmi_error ---------------------------------------------------------------------

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_error_status(AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern ushort azmi_error_http_status(AzMiErrorHandle err);

    /// <summary>Lent (NULL when the service gave no code): valid until azmi_error_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_error_service_code(AzMiErrorHandle err);

    /// <summary>Lent, never NULL: valid until azmi_error_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_error_message(AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_error_free(IntPtr err);

    // ---- azmi_identity ------------------------------------------------------------------

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_identity_new(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? clientId,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? objectId,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? resourceId,
        out AzMiIdentityHandle identity,
        out AzMiErrorHandle err);

    /// <summary>Not thread-safe: call before the identity is shared.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_identity_set_endpoint(
        AzMiIdentityHandle identity,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? tokenUrl,
        out AzMiErrorHandle err);

    /// <summary>Not thread-safe: call before the identity is shared.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_identity_set_timeouts(
        AzMiIdentityHandle identity,
        uint probeTimeoutMs,
        uint retryBudgetMs,
        uint retryInitialDelayMs,
        out AzMiErrorHandle err);

    /// <summary>Lent: valid until the identity is freed or changed.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_identity_description(AzMiIdentityHandle identity);

    /// <summary>Lent: valid until the identity is freed or changed.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_identity_endpoint(AzMiIdentityHandle identity);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_identity_free(IntPtr identity);

    // ---- azmi_get_token / azmi_token ----------------------------------------------------

    /// <summary>Blocks the calling thread until the token, an error or cancellation.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_get_token(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? resource,
        AzMiIdentityHandle identity,
        uint flags,
        AzMiCancelHandle cancel,
        out AzMiTokenHandle token,
        out AzMiErrorHandle err);

    /// <summary>
    /// The same entry point with the resource as raw bytes (NUL-terminated by the caller): how
    /// a test hands azmi bytes that are not UTF-8, which a .NET string cannot carry.
    /// </summary>
    [DllImport(LibraryName, EntryPoint = "azmi_get_token", CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_get_token(
        byte[] resource,
        AzMiIdentityHandle identity,
        uint flags,
        AzMiCancelHandle cancel,
        out AzMiTokenHandle token,
        out AzMiErrorHandle err);

    /// <summary>
    /// The same entry point with the output slots as raw pointers (IntPtr.Zero for NULL), so
    /// tests can pass NULL for token_out and see exactly what azmi writes into the slots.
    /// Whatever is written there must be freed by the caller.
    /// </summary>
    [DllImport(LibraryName, EntryPoint = "azmi_get_token", CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_get_token_slots(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? resource,
        AzMiIdentityHandle identity,
        uint flags,
        AzMiCancelHandle cancel,
        IntPtr tokenSlot,
        IntPtr errSlot);

    /// <summary>Lent: valid until azmi_token_free. Never log it.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_token_access_token(AzMiTokenHandle token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern nuint azmi_token_access_token_len(AzMiTokenHandle token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern long azmi_token_expires_on(AzMiTokenHandle token);

    /// <summary>Lent: valid until azmi_token_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_token_type(AzMiTokenHandle token);

    /// <summary>Lent: valid until azmi_token_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_token_resource(AzMiTokenHandle token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static extern bool azmi_token_from_cache(AzMiTokenHandle token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_token_free(IntPtr token);

    // ---- helpers ------------------------------------------------------------------------

    /// <summary>
    /// Copies a string lent by <paramref name="owner"/>. The owner is kept alive until the copy
    /// is made: if a finalizer freed it in between, the pointer would dangle.
    /// </summary>
    public static string? Lent(IntPtr text, SafeHandle owner)
    {
        string? copy = Marshal.PtrToStringUTF8(text);
        GC.KeepAlive(owner);
        return copy;
    }

    /// <summary>Copies a static string (azmi_version, azmi_status_name).</summary>
    public static string Static(IntPtr text) => Marshal.PtrToStringUTF8(text) ?? "";
}
