using System;

namespace AzMi.Native;

/// <summary>
/// One <c>azmi_identity</c>: the identity selection and the endpoint its requests go to, with
/// its description and endpoint read once. Cmdlets get one from <see cref="IdentityCache"/>
/// (a lease), never build their own: building one costs several native calls per cmdlet call.
/// </summary>
/// <remarks>
/// azmi allows an identity to be used from any number of threads once its endpoint is set, so
/// one instance serves every runspace. Its lease count is guarded by the cache's lock: it is
/// freed only when it has left the cache and no call holds it.
/// </remarks>
internal sealed class NativeIdentity
{
    private IntPtr _handle;

    private NativeIdentity(IntPtr handle, string description, string endpoint, string source)
    {
        _handle = handle;
        Description = description;
        Endpoint = endpoint;
        Source = source;
    }

    /// <summary>Calls holding this identity (guarded by <see cref="IdentityCache"/>'s lock).</summary>
    internal int Leases { get; set; }

    /// <summary>Out of the cache: freed when the last lease ends (guarded likewise).</summary>
    internal bool Retired { get; set; }

    /// <summary>For passing to azmi calls (which copy what they keep) while a lease is held.</summary>
    internal IntPtr Handle => _handle;

    /// <summary>The identity, described for people, e.g. "the system-assigned identity".</summary>
    internal string Description { get; }

    /// <summary>The token URL this identity's requests go to.</summary>
    internal string Endpoint { get; }

    /// <summary>
    /// The managed identity source, as the token's <c>Source</c> shows it: Imds, AppService,
    /// ServiceFabric, AzureML, CloudShell, Arc or WorkloadIdentity.
    /// </summary>
    internal string Source { get; }

    /// <summary>
    /// azmi_identity_new then azmi_identity_set_endpoint: at most one id (azmi itself rejects
    /// more than one, or a malformed one, with InvalidArgument and its own message; all null is
    /// the system-assigned identity), its requests sent to <paramref name="tokenUrl"/> (a full
    /// token URL), or to IMDS itself when null, whatever the native environment says.
    /// </summary>
    /// <remarks>
    /// PowerShell's environment is the one users change ($env:…); the process's native copy may
    /// be stale (Remove-Item env:AZMI_IMDS_ENDPOINT does not reach it on Linux), so the endpoint
    /// is never left to azmi's getenv.
    /// </remarks>
    /// <para>
    /// <paramref name="sourceId"/> (azmi's id, e.g. "app_service"; null or "imds": the logic
    /// above) is set with azmi_identity_set_source instead: that source, whatever is detected.
    /// </para>
    /// <para>
    /// <paramref name="capabilities"/> (comma-separated, e.g. "cp1"; null: none) are declared
    /// with azmi_identity_set_client_capabilities.
    /// </para>
    internal static NativeIdentity Create(string? clientId, string? objectId, string? resourceId, string? tokenUrl, string? sourceId = null, string? capabilities = null)
    {
        byte[]? client = Utf8.Encode(clientId, "The client id");
        byte[]? obj = Utf8.Encode(objectId, "The object id");
        byte[]? resource = Utf8.Encode(resourceId, "The resource id");
        byte[]? url = Utf8.Encode(tokenUrl, "The token endpoint");
        uint status = NativeMethods.azmi_identity_new(client, obj, resource, out IntPtr handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        try
        {
            // No IMDS endpoint variable in PowerShell's environment: where the platform set
            // another source's variables (App Service, Arc, …; set before the process started,
            // so the native environment has them too) azmi detects that source; else IMDS
            // itself, whatever a stale native copy of the endpoint variables says.
            bool chosen = sourceId is not null && sourceId != "imds";
            status = chosen
                ? NativeMethods.azmi_identity_set_source(handle, Utf8.Encode(sourceId, "The source"), out err)
                : sourceId is null && tokenUrl is null && SourceEnvironment.NamesAnotherSource()
                ? NativeMethods.azmi_identity_set_source(handle, null, out err)
                : NativeMethods.azmi_identity_set_endpoint(handle, url, out err);
            NativeError.ThrowIfFailed(status, err);
            if (!string.IsNullOrEmpty(capabilities))
            {
                status = NativeMethods.azmi_identity_set_client_capabilities(handle, Utf8.Encode(capabilities, "The client capability"), out err);
                NativeError.ThrowIfFailed(status, err);
            }

            return new NativeIdentity(
                handle,
                Utf8.ReadLent(NativeMethods.azmi_identity_description(handle)) ?? string.Empty,
                Utf8.ReadLent(NativeMethods.azmi_identity_endpoint(handle)) ?? string.Empty,
                SourceEnvironment.DisplayName(Utf8.ReadLent(NativeMethods.azmi_identity_source(handle))));
        }
        catch
        {
            NativeMethods.azmi_identity_free(handle);
            throw;
        }
    }

    /// <summary>
    /// azmi_get_token for <paramref name="resource"/>; blocks until a token, an error (thrown as
    /// <see cref="AzMiException"/>) or <paramref name="cancel"/> is cancelled. The token text is
    /// copied into a SecureString, or a String when <paramref name="asPlainText"/>, and azmi's
    /// copy is wiped before this returns.
    /// </summary>
    /// <para>
    /// With <paramref name="claims"/> (a claims challenge's, JSON or base64), azmi_get_token_with_claims:
    /// a new token carrying them, replacing the cached one.
    /// </para>
    internal AccessToken GetToken(string resource, bool forceRefresh, bool asPlainText, CancelHandle cancel, out bool fromCache, string? claims = null)
    {
        byte[] resourceUtf8 = EncodeResource(resource);
        uint flags = forceRefresh ? NativeMethods.FlagForceRefresh : 0;
        uint status = claims is null
            ? NativeMethods.azmi_get_token(resourceUtf8, _handle, flags, cancel.Handle, out IntPtr token, out IntPtr err)
            : NativeMethods.azmi_get_token_with_claims(resourceUtf8, _handle, Utf8.Encode(claims, "The claims"), flags, cancel.Handle, out token, out err);
        NativeError.ThrowIfFailed(status, err);
        try
        {
            // The length azmi gives, not a scan for the NUL: one pass over the text, in the copy.
            int length = Utf8.CheckedLength(NativeMethods.azmi_token_access_token_len(token), "a token");
            IntPtr text = NativeMethods.azmi_token_access_token(token);
            object tokenValue = asPlainText
                ? Utf8.ReadAsciiPlain(text, length)
                : Utf8.ReadAsciiSecure(text, length);
            fromCache = NativeMethods.azmi_token_from_cache(token);
            return new AccessToken(
                tokenValue,
                DateTimeOffset.FromUnixTimeSeconds(NativeMethods.azmi_token_expires_on(token)),
                Utf8.ReadLent(NativeMethods.azmi_token_resource(token), resource),
                Utf8.ReadLent(NativeMethods.azmi_token_type(token), BearerType),
                Description,
                Source);
        }
        finally
        {
            NativeMethods.azmi_token_free(token);
        }
    }

    /// <summary>The last resource this thread asked for, and its UTF-8 (read-only once made).</summary>
    [ThreadStatic]
    private static string? t_resource;

    [ThreadStatic]
    private static byte[]? t_resourceUtf8;

    /// <summary>
    /// <paramref name="resource"/> as azmi takes it; a script asking for the same resource again
    /// and again gets the bytes made the first time.
    /// </summary>
    private static byte[] EncodeResource(string resource)
    {
        if (t_resourceUtf8 is not null && string.Equals(resource, t_resource, StringComparison.Ordinal))
        {
            return t_resourceUtf8;
        }

        byte[] bytes = Utf8.Encode(resource, "The resource")!;
        t_resource = resource;
        t_resourceUtf8 = bytes;
        return bytes;
    }

    /// <summary>azmi_identity_free; only by the cache, once no lease is held.</summary>
    internal void Free()
    {
        NativeMethods.azmi_identity_free(_handle);
        _handle = IntPtr.Zero;
    }

    private const string BearerType = "Bearer";
}
