using System;

namespace AzMi.Native;

/// <summary>
/// One <c>azmi_identity</c>: the identity selection and the endpoint its requests go to.
/// Owned by one cmdlet call and freed by <see cref="Dispose"/> (use it in a using block).
/// </summary>
internal sealed class NativeIdentity : IDisposable
{
    private IntPtr _handle;

    private NativeIdentity(IntPtr handle) => _handle = handle;

    /// <summary>
    /// azmi_identity_new: at most one id (azmi itself rejects more than one, or a malformed one,
    /// with InvalidArgument and its own message); all null is the system-assigned identity.
    /// </summary>
    internal static NativeIdentity Create(string? clientId, string? objectId, string? resourceId)
    {
        byte[]? client = Utf8.Encode(clientId, "The client id");
        byte[]? obj = Utf8.Encode(objectId, "The object id");
        byte[]? resource = Utf8.Encode(resourceId, "The resource id");
        uint status = NativeMethods.azmi_identity_new(client, obj, resource, out IntPtr handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return new NativeIdentity(handle);
    }

    /// <summary>
    /// <see cref="Create"/>, with the token endpoint PowerShell's environment names
    /// (<see cref="TokenEndpointEnvironment"/>) set explicitly: the variable's, or IMDS itself.
    /// Every cmdlet builds its identity here. <paramref name="verbose"/> receives the endpoint
    /// and the identity, for -Verbose.
    /// </summary>
    /// <remarks>
    /// PowerShell's environment is the one users change ($env:…); the process's native copy may
    /// be stale (Remove-Item env:AZMI_IMDS_ENDPOINT does not reach it on Linux), so the endpoint
    /// is never left to azmi's getenv.
    /// </remarks>
    internal static NativeIdentity CreateFromEnvironment(string? clientId, string? objectId, string? resourceId, Action<string> verbose)
    {
        NativeIdentity identity = Create(clientId, objectId, resourceId);
        try
        {
            TokenEndpointEnvironment? endpoint = TokenEndpointEnvironment.Read();
            identity.SetEndpoint(endpoint?.TokenUrl);
            verbose($"Token endpoint: {identity.Endpoint} ({(endpoint is null ? "IMDS, no endpoint variable set" : "from $env:" + endpoint.Source)}).");
            verbose($"Identity: {identity.Description}.");
            return identity;
        }
        catch
        {
            identity.Dispose();
            throw;
        }
    }

    /// <summary>For passing to azmi calls (which copy what they keep) while this object lives.</summary>
    internal IntPtr Handle => _handle;

    /// <summary>The identity, described for people, e.g. "the system-assigned identity".</summary>
    internal string Description => Utf8.ReadLent(NativeMethods.azmi_identity_description(_handle)) ?? string.Empty;

    /// <summary>The token URL this identity's requests go to.</summary>
    internal string Endpoint => Utf8.ReadLent(NativeMethods.azmi_identity_endpoint(_handle)) ?? string.Empty;

    /// <summary>
    /// Sends this identity's requests to <paramref name="tokenUrl"/> (a full token URL), or to
    /// IMDS itself when null, whatever the native environment says.
    /// </summary>
    internal void SetEndpoint(string? tokenUrl)
    {
        byte[]? url = Utf8.Encode(tokenUrl, "The token endpoint");
        uint status = NativeMethods.azmi_identity_set_endpoint(_handle, url, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>
    /// azmi_get_token for <paramref name="resource"/>; blocks until a token, an error (thrown as
    /// <see cref="AzMiException"/>) or <paramref name="cancel"/> is cancelled. The token text is
    /// copied into a SecureString, or a String when <paramref name="asPlainText"/>, and azmi's
    /// copy is wiped before this returns.
    /// </summary>
    internal AccessToken GetToken(string resource, bool forceRefresh, bool asPlainText, CancelHandle cancel, out bool fromCache)
    {
        byte[] resourceUtf8 = Utf8.Encode(resource, "The resource")!;
        uint flags = forceRefresh ? NativeMethods.FlagForceRefresh : 0;
        uint status = NativeMethods.azmi_get_token(resourceUtf8, _handle, flags, cancel.Handle, out IntPtr token, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        try
        {
            ulong length = NativeMethods.azmi_token_access_token_len(token).ToUInt64();
            if (length > int.MaxValue)
            {
                throw new InvalidOperationException("azmi returned a token too long to handle.");
            }

            IntPtr text = NativeMethods.azmi_token_access_token(token);
            object tokenValue = asPlainText
                ? Utf8.ReadAsciiPlain(text, (int)length)
                : Utf8.ReadAsciiSecure(text, (int)length);
            fromCache = NativeMethods.azmi_token_from_cache(token);
            return new AccessToken(
                tokenValue,
                DateTimeOffset.FromUnixTimeSeconds(NativeMethods.azmi_token_expires_on(token)),
                Utf8.ReadLent(NativeMethods.azmi_token_resource(token)) ?? string.Empty,
                Utf8.ReadLent(NativeMethods.azmi_token_type(token)) ?? string.Empty,
                Description);
        }
        finally
        {
            NativeMethods.azmi_token_free(token);
        }
    }

    public void Dispose()
    {
        NativeMethods.azmi_identity_free(_handle);
        _handle = IntPtr.Zero;
    }
}
