using System.Runtime.InteropServices;

namespace AzMi.Interop;

/// <summary>An access token from azmi.</summary>
/// <param name="Token">The token text, for an <c>Authorization: Bearer</c> header. Never log it.</param>
/// <param name="ExpiresOn">When the token expires.</param>
/// <param name="Resource">The resource the token is for, as the endpoint named it.</param>
/// <param name="Type">The token type, usually "Bearer".</param>
/// <param name="FromCache">Whether azmi served it from its cache rather than a request.</param>
public sealed record AzMiToken(string Token, DateTimeOffset ExpiresOn, string Resource, string Type, bool FromCache)
{
    // A record's generated ToString prints every property; a token must never reach a log.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Resource = {Resource}, Type = {Type}, ExpiresOn = {ExpiresOn:O}, FromCache = {FromCache}");
        return true;
    }
}

/// <summary>A failed azmi call: the library's status, HTTP status, service error code and message.</summary>
public sealed class AzMiException : Exception
{
    public AzMiException(AzMiStatus status, int httpStatus, string? serviceErrorCode, string message)
        : base(message)
    {
        Status = status;
        HttpStatus = httpStatus;
        ServiceErrorCode = serviceErrorCode;
    }

    /// <summary>What went wrong, as a stable number (azmi_status).</summary>
    public AzMiStatus Status { get; }

    /// <summary>The HTTP status a service answered with, or 0 when none answered.</summary>
    public int HttpStatus { get; }

    /// <summary>The service's own error code (e.g. "invalid_request"), or null.</summary>
    public string? ServiceErrorCode { get; }

    /// <summary>
    /// Reads an azmi_error. <paramref name="error"/> can be invalid (NULL) only when the caller
    /// passed no err_out; the status alone then describes the failure.
    /// </summary>
    internal static AzMiException From(AzMiStatus status, AzMiErrorHandle error)
    {
        if (error.IsInvalid)
        {
            return new AzMiException(status, 0, null, $"azmi failed: {AzMiLibrary.StatusName(status)}");
        }
        return new AzMiException(error.Status, error.HttpStatus, error.ServiceCode, error.Message);
    }
}

/// <summary>Library-wide functions.</summary>
public static class AzMiLibrary
{
    /// <summary>The native library's version, e.g. "0.1.0".</summary>
    public static string Version => NativeMethods.Static(NativeMethods.azmi_version());

    /// <summary>azmi's stable name for a status ("IdentityNotFound"; "Unknown" for other numbers).</summary>
    public static string StatusName(AzMiStatus status) => NativeMethods.Static(NativeMethods.azmi_status_name((uint)status));

    /// <summary>
    /// Trusts the CA certificates in the PEM file <paramref name="pemPath"/> besides the public
    /// roots for every later HTTPS request of the process (null: the public roots only), e.g. the
    /// CA azmi-emulator prints. This is the way to pass a CA from .NET: on Linux and macOS,
    /// <c>Environment.SetEnvironmentVariable("AZMI_CA_FILE", …)</c> does not reach azmi.
    /// </summary>
    /// <exception cref="AzMiException">The file cannot be read or holds no certificate (nothing changes).</exception>
    public static void SetCaFile(string? pemPath)
    {
        AzMiStatus status = NativeMethods.azmi_set_ca_file(pemPath, out AzMiErrorHandle error);
        using (error)
        {
            if (status != AzMiStatus.Ok)
            {
                throw AzMiException.From(status, error);
            }
        }
    }

    /// <summary>
    /// Stops azmi's runtime and wipes every cached token; calls still running on other threads
    /// are cancelled and have returned when this returns. The next call starts azmi again.
    /// </summary>
    public static void Shutdown()
    {
        AzMiStatus status = NativeMethods.azmi_shutdown(out AzMiErrorHandle error);
        using (error)
        {
            if (status != AzMiStatus.Ok)
            {
                throw AzMiException.From(status, error);
            }
        }
    }
}

/// <summary>
/// Gets access tokens from the machine's managed identity through libazmi.
/// </summary>
/// <remarks>
/// Thread-safe. azmi caches tokens process-wide, so one client per endpoint is plenty, and a
/// client is cheap: it only keeps one native identity per identity selection.
/// </remarks>
public sealed class AzMiClient : IDisposable
{
    private readonly string? _endpoint;
    private readonly Dictionary<(string?, string?, string?), AzMiIdentityHandle> _identities = new();
    private bool _disposed;

    /// <param name="endpoint">
    /// The token URL (e.g. <c>http://127.0.0.1:40123/metadata/identity/oauth2/token</c>), or null
    /// for the one azmi reads from the environment (AZMI_IMDS_ENDPOINT, else
    /// AZURE_POD_IDENTITY_AUTHORITY_HOST, else IMDS). Note that on Linux and macOS the native
    /// environment is the one the process started with: Environment.SetEnvironmentVariable
    /// does not reach it, so pass the endpoint here instead of setting a variable.
    /// </param>
    public AzMiClient(string? endpoint = null) => _endpoint = endpoint;

    /// <summary>
    /// A token for <paramref name="resource"/> (e.g. "https://management.azure.com/"; a
    /// "/.default" scope works too) from the system-assigned identity, or the user-assigned one
    /// named by at most one of <paramref name="clientId"/>, <paramref name="objectId"/> and
    /// <paramref name="resourceId"/>. Blocks until done.
    /// </summary>
    /// <exception cref="AzMiException">azmi failed; see its Status.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public AzMiToken GetToken(
        string resource,
        string? clientId = null,
        string? objectId = null,
        string? resourceId = null,
        bool forceRefresh = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(resource);
        cancellationToken.ThrowIfCancellationRequested();
        AzMiIdentityHandle identity = Identity(clientId, objectId, resourceId);

        // Bridge the CancellationToken to an azmi_cancel only when it can fire. The registration
        // is disposed before the handle (using declarations dispose in reverse order), and its
        // Dispose waits for a callback already running, so azmi_cancel_cancel never sees a freed
        // handle.
        using AzMiCancelHandle cancel = cancellationToken.CanBeCanceled ? AzMiCancelHandle.Create() : AzMiCancelHandle.Null;
        using CancellationTokenRegistration registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((AzMiCancelHandle)state!).Cancel(), cancel)
            : default;

        uint flags = forceRefresh ? NativeMethods.AZMI_FLAG_FORCE_REFRESH : 0;
        AzMiStatus status = NativeMethods.azmi_get_token(resource, identity, flags, cancel, out AzMiTokenHandle token, out AzMiErrorHandle error);
        using (token)
        using (error)
        {
            if (status == AzMiStatus.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("azmi_get_token was cancelled", AzMiException.From(status, error), cancellationToken);
            }
            if (status != AzMiStatus.Ok)
            {
                throw AzMiException.From(status, error);
            }
            return Read(token);
        }
    }

    /// <summary>Copies everything out of an azmi_token; the caller still frees it.</summary>
    internal static AzMiToken Read(AzMiTokenHandle token)
    {
        // The length spares a strlen and says exactly how many bytes the token has.
        int length = checked((int)NativeMethods.azmi_token_access_token_len(token));
        string text = Marshal.PtrToStringUTF8(NativeMethods.azmi_token_access_token(token), length);
        var result = new AzMiToken(
            text,
            DateTimeOffset.FromUnixTimeSeconds(NativeMethods.azmi_token_expires_on(token)),
            NativeMethods.Lent(NativeMethods.azmi_token_resource(token), token) ?? "",
            NativeMethods.Lent(NativeMethods.azmi_token_type(token), token) ?? "",
            NativeMethods.azmi_token_from_cache(token));
        GC.KeepAlive(token);
        return result;
    }

    /// <summary>
    /// The native identity for a selection, built once: the setters are not thread-safe, so an
    /// identity is configured completely before any other thread can see it.
    /// </summary>
    private AzMiIdentityHandle Identity(string? clientId, string? objectId, string? resourceId)
    {
        lock (_identities)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_identities.TryGetValue((clientId, objectId, resourceId), out AzMiIdentityHandle? existing))
            {
                return existing;
            }

            AzMiIdentityHandle identity = AzMiIdentity.Create(clientId, objectId, resourceId, _endpoint);
            _identities.Add((clientId, objectId, resourceId), identity);
            return identity;
        }
    }

    /// <summary>
    /// Frees the native identities. A call still running keeps its identity alive until it
    /// returns (SafeHandle reference counting).
    /// </summary>
    public void Dispose()
    {
        lock (_identities)
        {
            _disposed = true;
            foreach (AzMiIdentityHandle identity in _identities.Values)
            {
                identity.Dispose();
            }
            _identities.Clear();
        }
    }
}

/// <summary>Building azmi_identity objects.</summary>
public static class AzMiIdentity
{
    /// <summary>azmi_identity_new, then azmi_identity_set_endpoint when an endpoint is given.</summary>
    /// <exception cref="AzMiException">An id is malformed, more than one id is given, or the URL is bad.</exception>
    public static AzMiIdentityHandle Create(string? clientId = null, string? objectId = null, string? resourceId = null, string? endpoint = null)
    {
        AzMiStatus status = NativeMethods.azmi_identity_new(clientId, objectId, resourceId, out AzMiIdentityHandle identity, out AzMiErrorHandle error);
        using (error)
        {
            if (status != AzMiStatus.Ok)
            {
                identity.Dispose();
                throw AzMiException.From(status, error);
            }
        }

        if (endpoint is not null)
        {
            status = NativeMethods.azmi_identity_set_endpoint(identity, endpoint, out error);
            using (error)
            {
                if (status != AzMiStatus.Ok)
                {
                    identity.Dispose();
                    throw AzMiException.From(status, error);
                }
            }
        }
        return identity;
    }

    /// <summary>azmi_identity_description (copied).</summary>
    public static string Description(AzMiIdentityHandle identity) =>
        NativeMethods.Lent(NativeMethods.azmi_identity_description(identity), identity) ?? "";

    /// <summary>azmi_identity_endpoint (copied).</summary>
    public static string Endpoint(AzMiIdentityHandle identity) =>
        NativeMethods.Lent(NativeMethods.azmi_identity_endpoint(identity), identity) ?? "";
}
