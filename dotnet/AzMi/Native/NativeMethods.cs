using System;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>
/// The C ABI of libazmi (include/azmi.h), declared one to one: the one set of P/Invoke
/// declarations of the product, compiled into the AzMi NuGet package (dotnet/AzMi) and, with
/// <c>&lt;Compile Include="…/dotnet/AzMi/Native/*.cs" /&gt;</c>, into the AzMi PowerShell module.
/// </summary>
/// <remarks>
/// Rules that keep these declarations correct (breaking any of them is a real bug):
/// <list type="bullet">
/// <item>Every pointer azmi returns, owned or lent, is <see cref="IntPtr"/>, never
///   <c>string</c>: for a <c>string</c> return the marshaller would free the memory with
///   CoTaskMemFree/free(), which is not azmi's allocator, and lent strings must not be freed
///   at all. Lent strings are copied (by the caller's UTF-8 helper) while their owner is alive.</item>
/// <item>Strings going in are NUL-terminated UTF-8 <c>byte[]</c>
///   (null for NULL): netstandard2.0 has no UTF-8 string marshalling, and the default would
///   be ANSI on Windows. A byte[] of a primitive type is pinned and passed as a pointer.</item>
/// <item>C <c>bool</c> is one byte: <c>[return: MarshalAs(UnmanagedType.U1)]</c> (the default
///   is the 4-byte Win32 BOOL, which would read three garbage bytes).</item>
/// <item><c>azmi_status</c>/<c>uint32_t</c> → uint, <c>uint16_t</c> → ushort,
///   <c>int64_t</c> → long, <c>size_t</c> → UIntPtr.</item>
/// <item><c>uint64_t</c> → ulong.</item>
/// <item>Cdecl, which is what Rust's <c>extern "C"</c> is (it matters on 32-bit Windows only).</item>
/// <item>Callbacks are delegates marked <c>[UnmanagedFunctionPointer(CallingConvention.Cdecl)]</c>,
///   kept alive by the caller for the whole call (a field and GC.KeepAlive), and never throw:
///   an exception must not unwind through azmi's frames (see NativeDataLake).</item>
/// </list>
/// Every handle is an <see cref="IntPtr"/> here; the owners are the SafeHandles of
/// SafeHandles.cs (the package) or the module's own wrappers, which keep each object alive for
/// the calls using it. Only BCL types: this file must compile for netstandard2.0 anywhere.
/// The library is resolved by <see cref="NativeLibraryLoader"/> (runtimes/&lt;rid&gt;/native
/// next to the assembly, else the runtime's own probing).
/// </remarks>
internal static class NativeMethods
{
    /// <summary>
    /// libazmi.so / libazmi.dll / libazmi.dylib: the runtime's probing finds each by this name
    /// (see <see cref="RuntimePlatform.NativeLibraryFileName"/> for why not azmi.dll).
    /// </summary>
    internal const string LibraryName = "libazmi";

    /// <summary><c>AZMI_FLAG_FORCE_REFRESH</c>: skip the cache and ask the endpoint for a new token.</summary>
    internal const uint FlagForceRefresh = 1;

    /// <summary><c>AZMI_ADLS_OVERWRITE</c>: replace an existing file (create, upload, download).</summary>
    internal const uint AdlsOverwrite = 1;

    /// <summary><c>AZMI_ADLS_RECURSIVE</c>: list everything below; delete a non-empty directory.</summary>
    internal const uint AdlsRecursive = 2;

    private const CallingConvention Cdecl = CallingConvention.Cdecl;

    /// <summary><c>AZMI_ADLS_AUTO</c>: the protocol follows from the account's form.</summary>
    internal const uint AdlsAuto = 0;

    /// <summary><c>AZMI_ADLS_WEBHDFS</c>: Data Lake Storage Gen1 or Hadoop WebHDFS.</summary>
    internal const uint AdlsWebHdfs = 1;

    /// <summary><c>AZMI_ADLS_DFS</c>: Data Lake Storage Gen2 (the URL's path names the filesystem).</summary>
    internal const uint AdlsDfs = 2;

    // ---- library ---------------------------------------------------------------------

    /// <summary>The library's version, e.g. "0.1.0". Static: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_version();

    /// <summary>
    /// Stops azmi's runtime and wipes every cached token; running calls are cancelled and have
    /// returned when this returns. A later call starts azmi again.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_shutdown(out IntPtr err);

    /// <summary>Static string: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_status_name(uint status);

    /// <summary>
    /// Trusts the CA certificates of a PEM file besides the public roots for every later HTTPS
    /// request of the process (NULL: the public roots only).
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_set_ca_file(byte[]? pemPath, out IntPtr err);

    // ---- proxy -------------------------------------------------------------------------

    /// <summary>
    /// The proxy of service requests: url null = the environment (read again), "" = none,
    /// else the proxy for every service request; noProxy in curl's NO_PROXY syntax (null
    /// with url null).
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_set_proxy(byte[]? url, byte[]? noProxy, out IntPtr err);

    /// <summary>As azmi_set_proxy with a proxy URL (not null, not ""), user name and password apart.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_set_proxy_with_credentials(byte[] url, byte[]? noProxy, byte[] username, IntPtr password, out IntPtr err);

    /// <summary>
    /// The proxy from <c>NAME=value</c> strings (each a NUL-terminated UTF-8 string the caller
    /// keeps alive for the call), as if they were the environment.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_set_proxy_environment(IntPtr[]? variables, UIntPtr count, out IntPtr err);

    /// <summary>json_out: an azmi_string (free with azmi_string_free), the setting as JSON.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_proxy_get(out IntPtr jsonOut, out IntPtr err);

    /// <summary>route_out: an azmi_string, a sentence saying which way a request to url goes.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_proxy_route(byte[] url, out IntPtr routeOut, out IntPtr err);

    /// <summary>route_out: an azmi_string, which way the identity's token requests go (identity may be IntPtr.Zero).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_proxy_route(IntPtr identity, out IntPtr routeOut, out IntPtr err);

    // ---- azmi_cancel -----------------------------------------------------------------

    /// <summary>Never NULL. Free with azmi_cancel_free after the calls using it returned.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_cancel_new();

    /// <summary>Safe from any thread, any number of times.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_cancel_cancel(IntPtr cancel);

    /// <summary>Whether the handle has been cancelled.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static extern bool azmi_cancel_is_cancelled(IntPtr cancel);

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

    /// <summary>Lent JSON claims of an AZMI_CLAIMS_CHALLENGE error, else NULL: valid until azmi_error_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_error_claims(IntPtr err);

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

    /// <summary>
    /// Probe timeout, retry budget and first retry delay of the identity's token requests (ms;
    /// zero for a timeout or delay is InvalidArgument). Not thread-safe: before sharing.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_set_timeouts(
        IntPtr identity,
        uint probeTimeoutMs,
        uint retryBudgetMs,
        uint retryInitialDelayMs,
        out IntPtr err);

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

    /// <summary>
    /// A new token carrying <paramref name="claims"/> (JSON or a challenge's base64; null: as
    /// azmi_get_token), replacing the cached one. Blocks like azmi_get_token.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_get_token_with_claims(
        byte[] resource,
        IntPtr identity,
        byte[]? claims,
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

    /// <summary>The source that issued the token ("imds", "app_service", …). Static.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_source(IntPtr token);

    // Which identity is this? A token's claims, read (not verified); "" when absent. Lent.

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_tenant_id(IntPtr token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_object_id(IntPtr token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_client_id(IntPtr token);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_identity_resource_id(IntPtr token);

    /// <summary>
    /// The cloud for identities that name none ("AzureCloud", "AzureUSGovernment",
    /// "AzureChinaCloud"; null: AZMI_ENVIRONMENT again).
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_set_environment(byte[]? name, out IntPtr err);

    /// <summary>The identity's cloud (null: the process's). Not thread-safe: before sharing.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_set_environment(IntPtr identity, byte[]? name, out IntPtr err);

    /// <summary>The identity's cloud's canonical name, or "" when it follows the process's. Static.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_identity_environment(IntPtr identity);

    /// <summary>The identity's managed identity source ("imds", "app_service", …). Static.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_identity_source(IntPtr identity);

    /// <summary>
    /// Uses the named source (null: detect again) with its settings from the native
    /// environment. Not thread-safe: before sharing.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_set_source(IntPtr identity, byte[]? source, out IntPtr err);

    /// <summary>
    /// Declares client capabilities ("cp1", comma-separated; null or "": none) with every token
    /// request. Not thread-safe: before sharing.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_set_client_capabilities(IntPtr identity, byte[]? capabilities, out IntPtr err);

    /// <summary>Lent, comma-separated ("" for none): valid until the identity is freed or changed.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_identity_client_capabilities(IntPtr identity);

    /// <summary>Wipes the token text and frees the token.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_token_free(IntPtr token);

    // ---- azmi_adls ---------------------------------------------------------------------

    /// <summary>
    /// <c>azmi_adls_item_callback</c>: called on the thread of azmi_adls_list, during the call,
    /// once per item. Must not throw (nothing may unwind through azmi's frames): true goes on,
    /// false stops the listing (which then returns AZMI_CANCELLED).
    /// </summary>
    [UnmanagedFunctionPointer(Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal delegate bool AdlsItemCallback(IntPtr userdata, IntPtr item);

    /// <summary>
    /// <c>azmi_progress_callback</c>: <paramref name="done"/> bytes of <paramref name="total"/>
    /// (-1 when unknown), on the calling thread during the call. Must not throw.
    /// </summary>
    [UnmanagedFunctionPointer(Cdecl)]
    internal delegate void ProgressCallback(IntPtr userdata, ulong done, long total);

    /// <summary>identity may be IntPtr.Zero (system-assigned at the environment's endpoint); it is copied.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_new(byte[] account, uint protocol, IntPtr identity, out IntPtr adls, out IntPtr err);

    /// <summary>Bytes per upload request (1024..268435456, 0 for the default). Applies to later calls.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_set_chunk_size(IntPtr adls, uint bytes, out IntPtr err);

    /// <summary>Lent: valid until azmi_adls_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_adls_base_url(IntPtr adls);

    /// <summary>AZMI_ADLS_WEBHDFS or AZMI_ADLS_DFS.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_protocol(IntPtr adls);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_adls_free(IntPtr adls);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_adls_item_name(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_adls_item_path(IntPtr item);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static extern bool azmi_adls_item_is_directory(IntPtr item);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern ulong azmi_adls_item_length(IntPtr item);

    /// <summary>Unix milliseconds; 0 when unknown.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_adls_item_modified(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_adls_item_permission(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_adls_item_owner(IntPtr item);

    /// <summary>Lent: valid as long as the item.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_adls_item_group(IntPtr item);

    /// <summary>Only items from azmi_adls_stat, never one lent to a callback.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_adls_item_free(IntPtr item);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_list(
        IntPtr adls,
        byte[] path,
        uint flags,
        IntPtr cancel,
        AdlsItemCallback callback,
        IntPtr userdata,
        out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_stat(IntPtr adls, byte[] path, IntPtr cancel, out IntPtr item, out IntPtr err);

    /// <summary>data may be null when len is 0; it is copied before the call returns.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_create(
        IntPtr adls,
        byte[] path,
        byte[]? data,
        UIntPtr len,
        uint flags,
        IntPtr cancel,
        out IntPtr err);

    /// <summary>As above, with the data pinned by the caller (a slice, a span, a MemoryHandle).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_create(
        IntPtr adls,
        byte[] path,
        IntPtr data,
        UIntPtr len,
        uint flags,
        IntPtr cancel,
        out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_mkdir(IntPtr adls, byte[] path, IntPtr cancel, out IntPtr err);

    /// <summary>data may be null when len is 0; it is copied before the call returns.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_append(
        IntPtr adls,
        byte[] path,
        byte[]? data,
        UIntPtr len,
        IntPtr cancel,
        out IntPtr err);

    /// <summary>As above, with the data pinned by the caller (a slice, a span, a MemoryHandle).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_append(
        IntPtr adls,
        byte[] path,
        IntPtr data,
        UIntPtr len,
        IntPtr cancel,
        out IntPtr err);

    /// <summary>length -1: to the end. The bytes are the caller's: azmi_bytes_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_read(
        IntPtr adls,
        byte[] path,
        ulong offset,
        long length,
        IntPtr cancel,
        out IntPtr bytes,
        out IntPtr err);

    /// <summary>Lent: valid until azmi_bytes_free; never NULL for a live object.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_bytes_data(IntPtr bytes);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern UIntPtr azmi_bytes_len(IntPtr bytes);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_bytes_free(IntPtr bytes);

    /// <summary>progress may be null.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_upload(
        IntPtr adls,
        byte[] localPath,
        byte[] remotePath,
        uint flags,
        IntPtr cancel,
        ProgressCallback? progress,
        IntPtr userdata,
        out IntPtr err);

    /// <summary>progress may be null. Writes a temporary file in the destination folder, then renames it.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_download(
        IntPtr adls,
        byte[] remotePath,
        byte[] localPath,
        uint flags,
        IntPtr cancel,
        ProgressCallback? progress,
        IntPtr userdata,
        out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_move(IntPtr adls, byte[] from, byte[] to, IntPtr cancel, out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_adls_remove(IntPtr adls, byte[] path, uint flags, IntPtr cancel, out IntPtr err);

    // ---- Blob storage ----------------------------------------------------------------

    /// <summary><c>AZMI_BLOB_OVERWRITE</c>: replace an existing blob (upload, write) or local file (download).</summary>
    internal const uint BlobOverwrite = 1;

    /// <summary>
    /// sas may be null (the identity's tokens), with or without a leading '?', copied; identity
    /// may be IntPtr.Zero and is copied (ignored with a SAS).
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_new(byte[] account, byte[]? sas, IntPtr identity, out IntPtr blob, out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_blob_free(IntPtr blob);

    /// <summary>created: whether it was created (false: it existed).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_create_container(
        IntPtr blob,
        byte[] container,
        IntPtr cancel,
        [MarshalAs(UnmanagedType.U1)] out bool created,
        out IntPtr err);

    /// <summary>progress may be null.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_upload(
        IntPtr blob,
        byte[] localPath,
        byte[] container,
        byte[] name,
        uint flags,
        IntPtr cancel,
        ProgressCallback? progress,
        IntPtr userdata,
        out IntPtr err);

    /// <summary>progress may be null. Writes a temporary file in the destination folder, then renames it.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_download(
        IntPtr blob,
        byte[] container,
        byte[] name,
        byte[] localPath,
        uint flags,
        IntPtr cancel,
        ProgressCallback? progress,
        IntPtr userdata,
        out IntPtr err);

    /// <summary>At most 256 MiB. The bytes are the caller's: azmi_bytes_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_read(IntPtr blob, byte[] container, byte[] name, IntPtr cancel, out IntPtr bytes, out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_write(
        IntPtr blob,
        byte[] container,
        byte[] name,
        byte[] data,
        UIntPtr len,
        uint flags,
        IntPtr cancel,
        out IntPtr err);

    /// <summary>As above, with the data pinned by the caller (NULL only with len 0).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_blob_write(
        IntPtr blob,
        byte[] container,
        byte[] name,
        IntPtr data,
        UIntPtr len,
        uint flags,
        IntPtr cancel,
        out IntPtr err);

    // ---- azmi_string -----------------------------------------------------------------

    /// <summary>Lent: valid until azmi_string_free. May be a credential (a SAS): never log it.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_string_data(IntPtr s);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern UIntPtr azmi_string_len(IntPtr s);

    /// <summary>Wipes and frees.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_string_free(IntPtr s);

    // ---- Resource Manager ------------------------------------------------------------

    /// <summary>NULL: the endpoint of the identity's cloud, whatever AZMI_ARM_ENDPOINT says.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_set_arm_endpoint(byte[]? url, out IntPtr err);

    /// <summary>json_out: an azmi_string (free with azmi_string_free); "null" for an empty answer.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_arm_request(
        byte[] method,
        byte[] pathOrUrl,
        byte[]? apiVersion,
        byte[]? jsonBody,
        IntPtr identity,
        IntPtr cancel,
        out IntPtr json,
        out IntPtr err);

    /// <summary>sas_out: an azmi_string (free with azmi_string_free, which wipes it).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_arm_list_sas(
        byte[] subscription,
        byte[] resourceGroup,
        byte[] account,
        byte[] requestJson,
        IntPtr identity,
        IntPtr cancel,
        out IntPtr sas,
        out IntPtr err);

    /// <summary>listAccountSas; as azmi_arm_list_sas.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_arm_list_account_sas(
        byte[] subscription,
        byte[] resourceGroup,
        byte[] account,
        byte[] requestJson,
        IntPtr identity,
        IntPtr cancel,
        out IntPtr sas,
        out IntPtr err);

    // ---- Key Vault -------------------------------------------------------------------

    /// <summary>
    /// <c>azmi_secret_callback</c>: called on the thread of the listing, during the call, once
    /// per secret (lent, without value). Must not throw: true goes on, false stops.
    /// </summary>
    [UnmanagedFunctionPointer(Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal delegate bool SecretCallback(IntPtr userdata, IntPtr secret);

    /// <summary>
    /// version may be null (the latest), apiVersion too (7.5). The secret is the caller's:
    /// azmi_secret_free.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_keyvault_get(
        byte[] vault,
        byte[] name,
        byte[]? version,
        byte[]? apiVersion,
        IntPtr identity,
        IntPtr cancel,
        out IntPtr secret,
        out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_keyvault_list(
        byte[] vault,
        byte[]? apiVersion,
        IntPtr identity,
        IntPtr cancel,
        SecretCallback callback,
        IntPtr userdata,
        out IntPtr err);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_keyvault_list_versions(
        byte[] vault,
        byte[] name,
        byte[]? apiVersion,
        IntPtr identity,
        IntPtr cancel,
        SecretCallback callback,
        IntPtr userdata,
        out IntPtr err);

    /// <summary><c>azmi_keyvault_set</c> flag: the new version is disabled.</summary>
    internal const uint AZMI_SECRET_DISABLED = 1;

    /// <summary>
    /// value/valueLen: UTF-8, read during the call only (pass memory the caller wipes);
    /// contentType, tagsJson (a JSON object of strings) and apiVersion may be null; notBefore
    /// and expires are Unix seconds, 0 for none. The secret (value included) is the caller's:
    /// azmi_secret_free.
    /// </summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_keyvault_set(
        byte[] vault,
        byte[] name,
        IntPtr value,
        UIntPtr valueLen,
        byte[]? contentType,
        byte[]? tagsJson,
        long notBefore,
        long expires,
        uint flags,
        byte[]? apiVersion,
        IntPtr identity,
        IntPtr cancel,
        out IntPtr secret,
        out IntPtr err);

    /// <summary>The deleted secret (no value) is the caller's: azmi_secret_free.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_keyvault_delete(
        byte[] vault,
        byte[] name,
        byte[]? apiVersion,
        IntPtr identity,
        IntPtr cancel,
        out IntPtr deleted,
        out IntPtr err);

    /// <summary>Lent; "" unless the secret is from azmi_keyvault_delete.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_recovery_id(IntPtr secret);

    /// <summary>Unix seconds; 0 unless the secret is from azmi_keyvault_delete.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_secret_deleted_on(IntPtr secret);

    /// <summary>Unix seconds; 0 unless the secret is from azmi_keyvault_delete.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_secret_scheduled_purge(IntPtr secret);

    /// <summary>Lent: valid until azmi_secret_free, which wipes it. Never log it; may hold NULs.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_value(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern UIntPtr azmi_secret_value_len(IntPtr secret);

    /// <summary>Lent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_name(IntPtr secret);

    /// <summary>Lent; "" for listed secrets.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_version(IntPtr secret);

    /// <summary>Lent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_id(IntPtr secret);

    /// <summary>Lent; "" when not set.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_content_type(IntPtr secret);

    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    internal static extern bool azmi_secret_enabled(IntPtr secret);

    /// <summary>Unix seconds; 0 when absent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_secret_created(IntPtr secret);

    /// <summary>Unix seconds; 0 when absent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_secret_updated(IntPtr secret);

    /// <summary>Unix seconds; 0 when absent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_secret_expires(IntPtr secret);

    /// <summary>Unix seconds; 0 when absent.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern long azmi_secret_not_before(IntPtr secret);

    /// <summary>Lent: a JSON object text ("{}" when none).</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_secret_tags(IntPtr secret);

    /// <summary>Wipes the value. Only secrets from azmi_keyvault_get, _set or _delete, never one lent to a callback.</summary>
    [DllImport(LibraryName, CallingConvention = Cdecl, ExactSpelling = true)]
    internal static extern void azmi_secret_free(IntPtr secret);
}
