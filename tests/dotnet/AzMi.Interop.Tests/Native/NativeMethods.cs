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

    /// <summary>
    /// Trusts the CA certificates of a PEM file (besides the public roots) for every later HTTPS
    /// request of the process; NULL: the public roots only. How .NET passes azmi-emulator's CA:
    /// <c>Environment.SetEnvironmentVariable("AZMI_CA_FILE", …)</c> never reaches native code
    /// on Linux and macOS.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_set_ca_file(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? pemPath,
        out AzMiErrorHandle err);

    // ---- proxy ----------------------------------------------------------------------------

    /// <summary>url null: the environment (read again); "": no proxy; else the proxy of every service request.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_set_proxy(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? url,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? noProxy,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_set_proxy_with_credentials(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? url,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? noProxy,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? username,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? password,
        out AzMiErrorHandle err);

    /// <summary>
    /// NAME=value strings read as the environment (.NET's own, which getenv does not see on
    /// Linux): pointers to NUL-terminated UTF-8 strings the caller keeps for the call (the
    /// marshaller converts string arrays to UTF-8 only element by element, by hand).
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_set_proxy_environment(
        IntPtr[]? variables,
        nuint count,
        out AzMiErrorHandle err);

    /// <summary>The setting as JSON.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_proxy_get(out AzMiStringHandle json, out AzMiErrorHandle err);

    /// <summary>Which way a service request to the URL goes, as a sentence.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_proxy_route(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? url,
        out AzMiStringHandle route,
        out AzMiErrorHandle err);

    /// <summary>Which way the identity's token requests go, as a sentence.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_identity_proxy_route(
        AzMiIdentityHandle identity,
        out AzMiStringHandle route,
        out AzMiErrorHandle err);

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

    /// <summary>Lent JSON claims of an AZMI_CLAIMS_CHALLENGE error, NULL otherwise: valid until azmi_error_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_error_claims(AzMiErrorHandle err);

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

    /// <summary>
    /// Uses the named managed identity source ("imds", "app_service", "service_fabric",
    /// "azure_ml", "cloud_shell", "arc", "workload_identity"; null detects again) with its
    /// settings from the NATIVE environment. Not thread-safe: call before the identity is shared.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_identity_set_source(
        AzMiIdentityHandle identity,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? source,
        out AzMiErrorHandle err);

    /// <summary>The identity's source id. Static: read with <see cref="Static"/>, never free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_identity_source(AzMiIdentityHandle identity);

    /// <summary>Comma-separated capabilities ("cp1"); null or "" declares none. Not thread-safe: before sharing.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_identity_set_client_capabilities(
        AzMiIdentityHandle identity,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? capabilities,
        out AzMiErrorHandle err);

    /// <summary>Lent, comma-separated ("" for none): valid until the identity is freed or changed.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_identity_client_capabilities(AzMiIdentityHandle identity);

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

    /// <summary>A new token carrying claims (JSON or a challenge's base64; null: as azmi_get_token).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_get_token_with_claims(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? resource,
        AzMiIdentityHandle identity,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? claims,
        uint flags,
        AzMiCancelHandle cancel,
        out AzMiTokenHandle token,
        out AzMiErrorHandle err);

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

    /// <summary>The source that issued the token ("imds", "app_service", …). Static: never free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_token_source(AzMiTokenHandle token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_token_free(IntPtr token);

    // ---- azmi_adls (Data Lake Storage) -------------------------------------------------

    /// <summary><c>AZMI_ADLS_AUTO</c>: the protocol follows from the account's form.</summary>
    public const uint AZMI_ADLS_AUTO = 0;

    /// <summary><c>AZMI_ADLS_WEBHDFS</c>: Data Lake Storage Gen1 or Hadoop WebHDFS.</summary>
    public const uint AZMI_ADLS_WEBHDFS = 1;

    /// <summary><c>AZMI_ADLS_DFS</c>: Data Lake Storage Gen2; the URL's path names the filesystem.</summary>
    public const uint AZMI_ADLS_DFS = 2;

    /// <summary><c>AZMI_ADLS_OVERWRITE</c> flag: replace an existing file (create, upload, download).</summary>
    public const uint AZMI_ADLS_OVERWRITE = 1;

    /// <summary><c>AZMI_ADLS_RECURSIVE</c> flag: list everything below; remove a non-empty directory.</summary>
    public const uint AZMI_ADLS_RECURSIVE = 2;

    /// <summary>
    /// <c>azmi_adls_item_callback</c>. Runs on the thread that called azmi_adls_list, during
    /// that call; <paramref name="item"/> is lent for the callback only. It must never let an
    /// exception escape (the runtime cannot unwind through azmi's native frames: the process
    /// would die): catch everything, remember it, return false, rethrow after the call.
    /// </summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    public delegate bool AzMiAdlsItemCallback(IntPtr userdata, IntPtr item);

    /// <summary>
    /// <c>azmi_progress_callback</c>: <paramref name="done"/> bytes of <paramref name="total"/>
    /// (-1 when unknown). Same rules as <see cref="AzMiAdlsItemCallback"/>; it cannot stop the
    /// call, so a wrapper cancels the call's azmi_cancel instead.
    /// </summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate void AzMiProgressCallback(IntPtr userdata, ulong done, long total);

    /// <summary>The identity is copied: it may be freed afterwards. Nothing is sent yet.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_new(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? account,
        uint protocol,
        AzMiIdentityHandle identity,
        out AzMiAdlsHandle adls,
        out AzMiErrorHandle err);

    /// <summary>Applies to calls started afterwards.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_set_chunk_size(AzMiAdlsHandle adls, uint bytes, out AzMiErrorHandle err);

    /// <summary>Lent: valid until azmi_adls_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_adls_base_url(AzMiAdlsHandle adls);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern uint azmi_adls_protocol(AzMiAdlsHandle adls);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_adls_free(IntPtr adls);

    // Item accessors take the raw pointer: items lent to a callback are not ours to wrap in a
    // SafeHandle (that would free them). Owned items (azmi_adls_stat) are read through
    // AzMiAdlsItemHandle.Read, which keeps the handle alive while it does.

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_adls_item_name(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_adls_item_path(IntPtr item);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static extern bool azmi_adls_item_is_directory(IntPtr item);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern ulong azmi_adls_item_length(IntPtr item);

    /// <summary>Unix milliseconds; 0 when unknown.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern long azmi_adls_item_modified(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_adls_item_permission(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_adls_item_owner(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_adls_item_group(IntPtr item);

    /// <summary>Only for items from azmi_adls_stat, never for lent ones.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_adls_item_free(IntPtr item);

    /// <summary>
    /// Blocks until the listing ends; <paramref name="callback"/> runs on this thread for every
    /// item. The delegate must stay alive for the call (a static field is simplest).
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_list(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        uint flags,
        AzMiCancelHandle cancel,
        AzMiAdlsItemCallback? callback,
        IntPtr userdata,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_stat(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        AzMiCancelHandle cancel,
        out AzMiAdlsItemHandle item,
        out AzMiErrorHandle err);

    /// <summary>
    /// <paramref name="data"/> is the first of <paramref name="len"/> bytes: an <c>in</c>
    /// reference to blittable data is pinned for the call and passed as a pointer, so a
    /// <c>ReadOnlySpan&lt;byte&gt;</c> goes in without a copy (MemoryMarshal.GetReference).
    /// azmi copies the bytes before it returns.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_create(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        in byte data,
        nuint len,
        uint flags,
        AzMiCancelHandle cancel,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_mkdir(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        AzMiCancelHandle cancel,
        out AzMiErrorHandle err);

    /// <summary>See azmi_adls_create for <paramref name="data"/>.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_append(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        in byte data,
        nuint len,
        AzMiCancelHandle cancel,
        out AzMiErrorHandle err);

    /// <summary><paramref name="length"/>: -1 reads to the end.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_read(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        ulong offset,
        long length,
        AzMiCancelHandle cancel,
        out AzMiBytesHandle bytes,
        out AzMiErrorHandle err);

    /// <summary>Lent: valid until azmi_bytes_free; never NULL for a non-NULL bytes.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_bytes_data(AzMiBytesHandle bytes);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern nuint azmi_bytes_len(AzMiBytesHandle bytes);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_bytes_free(IntPtr bytes);

    /// <summary><paramref name="progress"/> (may be null) runs on this thread during the call.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_upload(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? localPath,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? remotePath,
        uint flags,
        AzMiCancelHandle cancel,
        AzMiProgressCallback? progress,
        IntPtr userdata,
        out AzMiErrorHandle err);

    /// <summary><paramref name="progress"/> (may be null) runs on this thread during the call.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_download(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? remotePath,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? localPath,
        uint flags,
        AzMiCancelHandle cancel,
        AzMiProgressCallback? progress,
        IntPtr userdata,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_move(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? from,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? to,
        AzMiCancelHandle cancel,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_adls_remove(
        AzMiAdlsHandle adls,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? path,
        uint flags,
        AzMiCancelHandle cancel,
        out AzMiErrorHandle err);

    // ---- Key Vault (azmi_keyvault_*, azmi_secret) -------------------------------------------

    /// <summary>
    /// <c>azmi_secret_callback</c>: <paramref name="secret"/> is lent for the callback only (read
    /// it with the raw-pointer accessors below, never free it). Same rules as
    /// <see cref="AzMiAdlsItemCallback"/>: no exception may escape; return false to stop.
    /// </summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    public delegate bool AzMiSecretCallback(IntPtr userdata, IntPtr secret);

    /// <summary>
    /// Blocks until the secret, an error or cancellation. <paramref name="version"/>: null for the
    /// latest. <paramref name="apiVersion"/>: e.g. "7.4" or "7.6-preview.1", null for 7.5.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_keyvault_get(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? vault,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? version,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? apiVersion,
        AzMiIdentityHandle identity,
        AzMiCancelHandle cancel,
        out AzMiSecretHandle secret,
        out AzMiErrorHandle err);

    /// <summary>Follows every page; <paramref name="callback"/> runs on this thread for each secret.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_keyvault_list(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? vault,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? apiVersion,
        AzMiIdentityHandle identity,
        AzMiCancelHandle cancel,
        AzMiSecretCallback? callback,
        IntPtr userdata,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_keyvault_list_versions(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? vault,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? apiVersion,
        AzMiIdentityHandle identity,
        AzMiCancelHandle cancel,
        AzMiSecretCallback? callback,
        IntPtr userdata,
        out AzMiErrorHandle err);

    // The secret accessors take the raw pointer: they serve owned secrets (through
    // AzMiSecretHandle, which AddRefs itself while they run) and lent ones (in a callback).

    /// <summary>Lent: valid until azmi_secret_free, which wipes it. May hold NUL bytes: use the length. Never log it.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_secret_value(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern nuint azmi_secret_value_len(IntPtr secret);

    /// <summary>Lent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_secret_name(IntPtr secret);

    /// <summary>Lent ("" for listed secrets).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_secret_version(IntPtr secret);

    /// <summary>Lent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_secret_id(IntPtr secret);

    /// <summary>Lent ("" when not set).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_secret_content_type(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static extern bool azmi_secret_enabled(IntPtr secret);

    /// <summary>Unix seconds; 0 when absent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern long azmi_secret_created(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern long azmi_secret_updated(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern long azmi_secret_expires(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern long azmi_secret_not_before(IntPtr secret);

    /// <summary>Lent: the tags as a JSON object text.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_secret_tags(IntPtr secret);

    /// <summary>Only for secrets from azmi_keyvault_get, never for lent ones. Wipes the value.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_secret_free(IntPtr secret);

    // ---- azmi_string ----------------------------------------------------------------------

    /// <summary>Lent: valid until azmi_string_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern IntPtr azmi_string_data(AzMiStringHandle s);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern nuint azmi_string_len(AzMiStringHandle s);

    /// <summary>Wipes and frees (a SAS token is a credential).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_string_free(IntPtr s);

    // ---- Resource Manager (azmi_arm_*) ------------------------------------------------------

    /// <summary>
    /// Process-wide: the Resource Manager endpoint of every later call (null: the public one).
    /// How .NET passes AZMI_ARM_ENDPOINT, which Environment.SetEnvironmentVariable cannot.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_set_arm_endpoint(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? url,
        out AzMiErrorHandle err);

    /// <summary>A GET of a list follows every nextLink and answers <c>{"value":[…]}</c>.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_arm_request(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? method,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? pathOrUrl,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? apiVersion,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? jsonBody,
        AzMiIdentityHandle identity,
        AzMiCancelHandle cancel,
        out AzMiStringHandle json,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_arm_list_sas(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? subscription,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? resourceGroup,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? account,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? requestJson,
        AzMiIdentityHandle identity,
        AzMiCancelHandle cancel,
        out AzMiStringHandle sas,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_arm_list_account_sas(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? subscription,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? resourceGroup,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? account,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? requestJson,
        AzMiIdentityHandle identity,
        AzMiCancelHandle cancel,
        out AzMiStringHandle sas,
        out AzMiErrorHandle err);

    // ---- Blob storage (azmi_blob_*) ----------------------------------------------------------

    /// <summary><c>AZMI_BLOB_OVERWRITE</c> flag: replace an existing blob (upload, write) or local file (download).</summary>
    public const uint AZMI_BLOB_OVERWRITE = 1;

    /// <summary>The SAS and the identity are copied. Nothing is sent yet.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_blob_new(
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? account,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? sas,
        AzMiIdentityHandle identity,
        out AzMiBlobHandle blob,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern void azmi_blob_free(IntPtr blob);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_blob_create_container(
        AzMiBlobHandle blob,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? container,
        AzMiCancelHandle cancel,
        [MarshalAs(UnmanagedType.U1)] out bool created,
        out AzMiErrorHandle err);

    /// <summary><paramref name="progress"/> (may be null) runs on this thread during the call.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_blob_upload(
        AzMiBlobHandle blob,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? localPath,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? container,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? name,
        uint flags,
        AzMiCancelHandle cancel,
        AzMiProgressCallback? progress,
        IntPtr userdata,
        out AzMiErrorHandle err);

    /// <summary><paramref name="progress"/> (may be null) runs on this thread during the call.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_blob_download(
        AzMiBlobHandle blob,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? container,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? name,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? localPath,
        uint flags,
        AzMiCancelHandle cancel,
        AzMiProgressCallback? progress,
        IntPtr userdata,
        out AzMiErrorHandle err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_blob_read(
        AzMiBlobHandle blob,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? container,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? name,
        AzMiCancelHandle cancel,
        out AzMiBytesHandle bytes,
        out AzMiErrorHandle err);

    /// <summary>See azmi_adls_create for <paramref name="data"/> (pinned, copied by azmi).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    public static extern AzMiStatus azmi_blob_write(
        AzMiBlobHandle blob,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? container,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? name,
        in byte data,
        nuint len,
        uint flags,
        AzMiCancelHandle cancel,
        out AzMiErrorHandle err);

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
