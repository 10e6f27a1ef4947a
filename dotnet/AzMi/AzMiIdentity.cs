using System;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// A managed identity (system-assigned, or user-assigned by client id, object id or resource
/// id) and the token endpoint its requests go to: the tokens, and the service clients that use
/// them (<see cref="KeyVault(string)"/>, <see cref="DataLake"/>, <see cref="Blob(Uri)"/>,
/// <see cref="Arm"/>). Immutable and safe to use from any number of threads. Get one from
/// <see cref="ManagedIdentity"/>.
/// </summary>
public sealed class AzMiIdentity : IDisposable
{
    /// <summary>The environment variable naming the full token URL (checked first).</summary>
    public const string EndpointVariable = "AZMI_IMDS_ENDPOINT";

    /// <summary>The environment variable naming the token host of AAD Pod Identity (checked second).</summary>
    public const string PodIdentityHostVariable = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

    private const string TokenPath = "/metadata/identity/oauth2/token";

    private readonly SafeIdentityHandle _handle;
    private readonly string? _clientId;
    private readonly string? _objectId;
    private readonly string? _resourceId;
    private readonly bool _shared;

    private AzMiIdentity(SafeIdentityHandle handle, string? clientId, string? objectId, string? resourceId, bool shared)
    {
        _handle = handle;
        _clientId = clientId;
        _objectId = objectId;
        _resourceId = resourceId;
        _shared = shared;
    }

    /// <summary>The client id of a user-assigned identity selected by client id, else null.</summary>
    public string? ClientId => _clientId;

    /// <summary>The object id of a user-assigned identity selected by object id, else null.</summary>
    public string? ObjectId => _objectId;

    /// <summary>The resource id of a user-assigned identity selected by resource id, else null.</summary>
    public string? ResourceId => _resourceId;

    /// <summary>Whether this is the system-assigned identity.</summary>
    public bool IsSystemAssigned => _clientId is null && _objectId is null && _resourceId is null;

    /// <summary>The identity for people, e.g. "the user-assigned identity with client id …".</summary>
    public string Description
    {
        get
        {
            using HandleLease lease = _handle.Lease();
            return NativeText.ReadLentOrEmpty(NativeMethods.azmi_identity_description(lease.Pointer));
        }
    }

    /// <summary>The token URL this identity's requests go to.</summary>
    public Uri Endpoint
    {
        get
        {
            using HandleLease lease = _handle.Lease();
            return new Uri(NativeText.ReadLentOrEmpty(NativeMethods.azmi_identity_endpoint(lease.Pointer)));
        }
    }

    /// <summary>
    /// The managed identity source this identity's tokens come from: detected from the native
    /// environment when the identity was created, IMDS when an endpoint was given, or the one
    /// named by <see cref="WithSource"/>.
    /// </summary>
    public ManagedIdentitySource Source
    {
        get
        {
            using HandleLease lease = _handle.Lease();
            return ManagedIdentitySourceNames.FromNative(NativeText.ReadLentOrEmpty(NativeMethods.azmi_identity_source(lease.Pointer)));
        }
    }

    /// <summary>
    /// The same identity with its tokens from <paramref name="source"/> instead of the detected
    /// one, with that source's settings read from the process's native environment now (for
    /// hosts that set the variables of several sources). On Linux and macOS,
    /// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach the native
    /// environment: the variables must be set when the process starts.
    /// </summary>
    /// <param name="source">The source to use.</param>
    /// <returns>A new identity (dispose it when done); this one is unchanged.</returns>
    /// <exception cref="AzMiException">
    /// InvalidArgument: the source's variables are not set, or the source cannot serve this
    /// identity (e.g. a user-assigned identity on Cloud Shell or Arc); the message names the source.
    /// </exception>
    public AzMiIdentity WithSource(ManagedIdentitySource source) => CreateWithSource(_clientId, _objectId, _resourceId, source);

    /// <summary>
    /// The client capabilities this identity declares with every token request (none unless
    /// <see cref="WithClientCapabilities"/> set them).
    /// </summary>
    public System.Collections.Generic.IReadOnlyList<string> ClientCapabilities
    {
        get
        {
            using HandleLease lease = _handle.Lease();
            string list = NativeText.ReadLentOrEmpty(NativeMethods.azmi_identity_client_capabilities(lease.Pointer));
            return list.Length == 0 ? Array.Empty<string>() : list.Split(',');
        }
    }

    /// <summary>
    /// The same identity declaring client capabilities with every token request, e.g.
    /// <c>"cp1"</c>: this client answers claims challenges (continuous access evaluation), so
    /// resources may give it tokens they can revoke at any moment. Declare it only if the tokens
    /// go to code that answers a challenge (see <see cref="GetTokenAsync(string, string?, CancellationToken)"/>);
    /// azmi's own service clients declare it themselves. App Service, Service Fabric and
    /// workload identity send the capabilities (their tokens are cached apart from those asked
    /// without); the other sources take none. No arguments declares none.
    /// </summary>
    /// <param name="capabilities">Capability names: letters, digits, <c>-</c>, <c>_</c>, <c>.</c>.</param>
    /// <returns>A new identity (dispose it when done); this one is unchanged.</returns>
    /// <exception cref="ArgumentException">A name is null or holds a comma.</exception>
    /// <exception cref="AzMiException">InvalidArgument: a malformed name.</exception>
    public AzMiIdentity WithClientCapabilities(params string[] capabilities)
    {
        if (capabilities is null)
        {
            throw new ArgumentNullException(nameof(capabilities));
        }

        foreach (string capability in capabilities)
        {
            if (capability is null || capability.IndexOf(',') >= 0)
            {
                throw new ArgumentException("Give one capability name per element, such as \"cp1\".", nameof(capabilities));
            }
        }

        AzMiIdentity copy = Copy();
        try
        {
            copy.SetClientCapabilities(string.Join(",", capabilities));
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>Resource Manager requests with this identity's tokens.</summary>
    public ResourceManagerClient Arm => new ResourceManagerClient(this);

    /// <summary>
    /// The same identity with its token requests sent to <paramref name="tokenEndpoint"/> (a
    /// full token URL such as <c>http://127.0.0.1:40123/metadata/identity/oauth2/token</c>),
    /// whatever the environment says; null means IMDS itself.
    /// </summary>
    /// <param name="tokenEndpoint">The token URL, or null for IMDS.</param>
    /// <returns>A new identity (dispose it when done); this one is unchanged.</returns>
    public AzMiIdentity WithEndpoint(Uri? tokenEndpoint) =>
        Create(_clientId, _objectId, _resourceId, tokenEndpoint?.OriginalString ?? string.Empty, shared: false);

    /// <summary>
    /// The same identity, at the same endpoint, with other timeouts and retries for its token
    /// requests (defaults: 1 s probe of an endpoint that never answered, 30 s of retries
    /// starting at 800 ms).
    /// </summary>
    /// <param name="probeTimeout">The first request to an endpoint that never answered.</param>
    /// <param name="retryBudget">All retries of one request (zero disables retries).</param>
    /// <param name="retryInitialDelay">The first backoff, doubling.</param>
    /// <returns>A new identity (dispose it when done).</returns>
    public AzMiIdentity WithTimeouts(TimeSpan probeTimeout, TimeSpan retryBudget, TimeSpan retryInitialDelay)
    {
        AzMiIdentity copy = Copy();
        try
        {
            using HandleLease lease = copy._handle.Lease();
            uint status = NativeMethods.azmi_identity_set_timeouts(
                lease.Pointer, Milliseconds(probeTimeout), Milliseconds(retryBudget), Milliseconds(retryInitialDelay), out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A token for <paramref name="resource"/>, from azmi's cache when it has one valid for 5
    /// more minutes (many callers at once cause one request).
    /// </summary>
    /// <param name="resource">The resource URI as Entra ID knows it; a <c>/.default</c> suffix is removed.</param>
    /// <param name="cancellationToken">Ends the wait at once.</param>
    /// <returns>The token; dispose it to clear its text.</returns>
    /// <exception cref="AzMiIdentityNotFoundException">This user-assigned identity is not assigned to the machine.</exception>
    /// <exception cref="AzMiUnavailableException">No managed identity endpoint answered.</exception>
    /// <exception cref="AzMiException">Any other error of azmi_get_token.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<AccessToken> GetTokenAsync(string resource, CancellationToken cancellationToken = default) =>
        GetTokenAsync(resource, forceRefresh: false, cancellationToken);

    /// <summary>A token for <paramref name="resource"/>; with <paramref name="forceRefresh"/> a new one, bypassing the cache.</summary>
    /// <param name="resource">The resource URI as Entra ID knows it.</param>
    /// <param name="forceRefresh">Ask the endpoint for a new token even when one is cached.</param>
    /// <param name="cancellationToken">Ends the wait at once.</param>
    /// <returns>The token; dispose it to clear its text.</returns>
    public Task<AccessToken> GetTokenAsync(string resource, bool forceRefresh, CancellationToken cancellationToken = default)
    {
        byte[] resourceUtf8 = NativeText.EncodeRequired(resource, nameof(resource));
        return NativeCall.RunAsync(scope => GetToken(resourceUtf8, null, forceRefresh, scope), cancellationToken);
    }

    /// <summary>
    /// A new token for <paramref name="resource"/> carrying <paramref name="claims"/>: what a
    /// resource's claims challenge asks for (continuous access evaluation: a revoked token, or a
    /// policy that wants more). The cached token is bypassed and replaced. App Service and
    /// Service Fabric are told which token to stop serving, workload identity gets the claims;
    /// IMDS, Azure ML, Cloud Shell and Arc take none (a new request is all that can be done).
    /// </summary>
    /// <param name="resource">The resource URI as Entra ID knows it.</param>
    /// <param name="claims">
    /// The challenge's claims, as JSON or in the base64 form of the <c>WWW-Authenticate</c>
    /// header's <c>claims="…"</c> (e.g. <see cref="AzMiClaimsChallengeException.Claims"/>);
    /// null is <see cref="GetTokenAsync(string, CancellationToken)"/>.
    /// </param>
    /// <param name="cancellationToken">Ends the wait at once.</param>
    /// <returns>The token; dispose it to clear its text.</returns>
    /// <exception cref="AzMiException">InvalidArgument: the claims are neither; any other error of azmi_get_token.</exception>
    public Task<AccessToken> GetTokenAsync(string resource, string? claims, CancellationToken cancellationToken = default)
    {
        byte[] resourceUtf8 = NativeText.EncodeRequired(resource, nameof(resource));
        byte[]? claimsUtf8 = NativeText.Encode(claims, nameof(claims));
        return NativeCall.RunAsync(scope => GetToken(resourceUtf8, claimsUtf8, forceRefresh: false, scope), cancellationToken);
    }

    /// <summary>
    /// A token for <paramref name="resource"/> on the calling thread, for synchronous callers
    /// (such as <c>TokenCredential.GetToken</c>): it returns at once from azmi's cache, and
    /// blocks the thread while a request is made. <see cref="GetTokenAsync(string, CancellationToken)"/>
    /// waits on a thread-pool thread instead.
    /// </summary>
    /// <param name="resource">The resource URI as Entra ID knows it; a <c>/.default</c> suffix is removed.</param>
    /// <param name="cancellationToken">Ends the wait at once.</param>
    /// <returns>The token; dispose it to clear its text.</returns>
    /// <exception cref="AzMiException">Any error of azmi_get_token (see <see cref="GetTokenAsync(string, CancellationToken)"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public AccessToken GetToken(string resource, CancellationToken cancellationToken = default) =>
        GetToken(resource, null, cancellationToken);

    /// <summary>
    /// <see cref="GetToken(string, CancellationToken)"/> with the claims of a claims challenge
    /// (see <see cref="GetTokenAsync(string, string?, CancellationToken)"/>); null claims ask
    /// for the cached token.
    /// </summary>
    /// <param name="resource">The resource URI as Entra ID knows it.</param>
    /// <param name="claims">The challenge's claims (JSON or base64), or null.</param>
    /// <param name="cancellationToken">Ends the wait at once.</param>
    /// <returns>The token; dispose it to clear its text.</returns>
    /// <exception cref="AzMiException">InvalidArgument: the claims are neither; any other error of azmi_get_token.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public AccessToken GetToken(string resource, string? claims, CancellationToken cancellationToken = default)
    {
        byte[] resourceUtf8 = NativeText.EncodeRequired(resource, nameof(resource));
        byte[]? claimsUtf8 = NativeText.Encode(claims, nameof(claims));
        cancellationToken.ThrowIfCancellationRequested();
        AzMiLibrary.EnsureInitialized();
        using var scope = new CancelScope(cancellationToken);
        return GetToken(resourceUtf8, claimsUtf8, forceRefresh: false, scope);
    }

    /// <summary>A Key Vault's secrets with this identity's tokens.</summary>
    /// <param name="vault">The vault's name (<c>contoso</c> is <c>https://contoso.vault.azure.net</c>), host or URI.</param>
    /// <returns>The client (cheap: nothing is sent until a call).</returns>
    public KeyVaultClient KeyVault(string vault) => new KeyVaultClient(this, vault ?? throw new ArgumentNullException(nameof(vault)));

    /// <summary>A Key Vault's secrets with this identity's tokens.</summary>
    /// <param name="vaultUri">The vault's URI.</param>
    /// <returns>The client.</returns>
    public KeyVaultClient KeyVault(Uri vaultUri) => KeyVault((vaultUri ?? throw new ArgumentNullException(nameof(vaultUri))).OriginalString.TrimEnd('/'));

    /// <summary>A Data Lake account with this identity's tokens.</summary>
    /// <param name="account">
    /// A Gen1 account name (<c>contoso</c>), <c>https://contoso.azuredatalakestore.net</c>, a
    /// WebHDFS URL (<c>https://namenode:9871/webhdfs/v1</c>) or a Gen2 filesystem URL
    /// (<c>https://contoso.dfs.core.windows.net/&lt;filesystem&gt;</c>).
    /// </param>
    /// <param name="protocol">The protocol, for hosts whose form does not tell (emulators, Hadoop, other clouds).</param>
    /// <returns>The client; dispose it when done.</returns>
    public DataLakeClient DataLake(string account, DataLakeProtocol protocol = DataLakeProtocol.Auto) =>
        DataLakeClient.Create(this, account ?? throw new ArgumentNullException(nameof(account)), protocol);

    /// <summary>
    /// One blob, by its URL: <c>https://&lt;account&gt;.blob.core.windows.net/&lt;container&gt;/&lt;name&gt;</c>,
    /// or path-style on an IP address or localhost (<c>https://127.0.0.1:10000/&lt;account&gt;/&lt;container&gt;/&lt;name&gt;</c>).
    /// A query string is taken as a SAS, used instead of the identity's tokens.
    /// </summary>
    /// <param name="blobUri">The blob's URL.</param>
    /// <returns>The blob; dispose it when done.</returns>
    public AzMiBlobClient Blob(Uri blobUri) => AzMiBlobClient.FromUri(this, blobUri ?? throw new ArgumentNullException(nameof(blobUri)));

    /// <summary>One blob of a storage account.</summary>
    /// <param name="account">The account name (<c>contoso</c>) or its blob URL (path-style ones included).</param>
    /// <param name="container">The container.</param>
    /// <param name="name">The blob's name.</param>
    /// <param name="sas">A SAS (<c>sv=…&amp;sig=…</c>) to use instead of the identity's tokens, or null.</param>
    /// <returns>The blob; dispose it when done.</returns>
    public AzMiBlobClient Blob(string account, string container, string name, string? sas = null) =>
        new AzMiBlobClient(BlobAccountClient.Create(this, account, sas), container, name, ownsAccount: true);

    /// <summary>A storage account's blobs.</summary>
    /// <param name="account">The account name (<c>contoso</c>) or its blob URL (path-style ones included).</param>
    /// <param name="sas">A SAS to use instead of the identity's tokens, or null.</param>
    /// <returns>The client; dispose it when done.</returns>
    public BlobAccountClient BlobAccount(string account, string? sas = null) => BlobAccountClient.Create(this, account, sas);

    /// <summary>Frees the native identity (not for <see cref="ManagedIdentity.SystemAssigned"/>, which stays).</summary>
    public void Dispose()
    {
        if (!_shared)
        {
            _handle.Dispose();
        }
    }

    /// <summary>The description, never a token.</summary>
    /// <returns>E.g. "the system-assigned identity".</returns>
    public override string ToString() => Description;

    /// <summary>Borrows the native identity for a call.</summary>
    internal HandleLease Lease() => _handle.Lease();

    /// <summary>
    /// azmi_identity_new, then azmi_identity_set_endpoint: <paramref name="endpoint"/> ("" for
    /// IMDS) or the environment's (see <see cref="ManagedIdentity"/>), so that azmi's stale
    /// native environment never decides.
    /// </summary>
    internal static AzMiIdentity Create(string? clientId, string? objectId, string? resourceId, string? endpoint, bool shared) =>
        New(clientId, objectId, resourceId, shared, pointer =>
        {
            string? url = endpoint is null ? EndpointFromEnvironment() : endpoint.Length == 0 ? null : endpoint;
            if (url is not null || endpoint is not null)
            {
                // An endpoint (given, or named by the variables .NET sees) means IMDS's protocol
                // there; with none, the source azmi detected stays (App Service, Arc, …).
                uint status = NativeMethods.azmi_identity_set_endpoint(pointer, NativeText.Encode(url, nameof(endpoint)), out IntPtr err);
                NativeErrors.ThrowIfFailed(status, err);
            }
        });

    /// <summary>azmi_identity_new (which detects the source), then azmi_identity_set_source.</summary>
    internal static AzMiIdentity CreateWithSource(string? clientId, string? objectId, string? resourceId, ManagedIdentitySource source)
    {
        byte[] name = NativeText.EncodeRequired(ManagedIdentitySourceNames.ToNative(source), nameof(source));
        return New(clientId, objectId, resourceId, shared: false, pointer =>
        {
            uint status = NativeMethods.azmi_identity_set_source(pointer, name, out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
        });
    }

    /// <summary>
    /// azmi_identity_new, then <paramref name="configure"/> on the new native identity, which is
    /// freed again when that throws.
    /// </summary>
    private static AzMiIdentity New(string? clientId, string? objectId, string? resourceId, bool shared, Action<IntPtr> configure)
    {
        AzMiLibrary.EnsureInitialized();
        uint status = NativeMethods.azmi_identity_new(
            NativeText.Encode(clientId, nameof(clientId)),
            NativeText.Encode(objectId, nameof(objectId)),
            NativeText.Encode(resourceId, nameof(resourceId)),
            out IntPtr pointer,
            out IntPtr err);
        NativeErrors.ThrowIfFailed(status, err);
        var handle = new SafeIdentityHandle();
        handle.Own(pointer);
        try
        {
            configure(pointer);
            return new AzMiIdentity(handle, clientId, objectId, resourceId, shared);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>A new identity like this one: same selection, source, endpoint and capabilities.</summary>
    private AzMiIdentity Copy()
    {
        ManagedIdentitySource source = Source;
        string capabilities = string.Join(",", ClientCapabilities);
        AzMiIdentity copy = source == ManagedIdentitySource.Imds
            ? Create(_clientId, _objectId, _resourceId, Endpoint.OriginalString, shared: false)
            : CreateWithSource(_clientId, _objectId, _resourceId, source);
        if (capabilities.Length > 0)
        {
            try
            {
                copy.SetClientCapabilities(capabilities);
            }
            catch
            {
                copy.Dispose();
                throw;
            }
        }

        return copy;
    }

    /// <summary>azmi_identity_set_client_capabilities on this (new, not yet shared) identity.</summary>
    private void SetClientCapabilities(string capabilities)
    {
        using HandleLease lease = _handle.Lease();
        uint status = NativeMethods.azmi_identity_set_client_capabilities(
            lease.Pointer, NativeText.Encode(capabilities, "capabilities"), out IntPtr err);
        NativeErrors.ThrowIfFailed(status, err);
    }

    /// <summary>AZMI_IMDS_ENDPOINT, else AZURE_POD_IDENTITY_AUTHORITY_HOST + the token path, else null (IMDS).</summary>
    internal static string? EndpointFromEnvironment()
    {
        string? endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
        if (!string.IsNullOrEmpty(endpoint))
        {
            return endpoint;
        }

        string? host = Environment.GetEnvironmentVariable(PodIdentityHostVariable);
        return string.IsNullOrEmpty(host) ? null : host!.TrimEnd('/') + TokenPath;
    }

    private static uint Milliseconds(TimeSpan value) =>
        value < TimeSpan.Zero || value.TotalMilliseconds > uint.MaxValue
            ? throw new ArgumentOutOfRangeException(nameof(value), "A timeout must be between 0 and 49 days.")
            : (uint)value.TotalMilliseconds;

    private AccessToken GetToken(byte[] resource, byte[]? claims, bool forceRefresh, CancelScope scope)
    {
        uint flags = forceRefresh ? NativeMethods.FlagForceRefresh : 0;
        IntPtr pointer;
        uint status;
        IntPtr err;
        using (HandleLease lease = _handle.Lease())
        {
            status = claims is null
                ? NativeMethods.azmi_get_token(resource, lease.Pointer, flags, scope.Pointer, out pointer, out err)
                : NativeMethods.azmi_get_token_with_claims(resource, lease.Pointer, claims, flags, scope.Pointer, out pointer, out err);
        }

        scope.ThrowIfFailed(status, err);
        using var token = new SafeTokenHandle();
        token.Own(pointer);
        int length = NativeText.CheckedLength(NativeMethods.azmi_token_access_token_len(pointer), "a token");
        IntPtr text = NativeMethods.azmi_token_access_token(pointer);
        var chars = new char[length];
        if (!CopyPrintableAscii(text, chars))
        {
            Array.Clear(chars, 0, chars.Length); // Never show the byte or its neighbours.
            throw new InvalidOperationException("azmi returned token text that is not printable ASCII; it was discarded.");
        }

        return new AccessToken(
            chars,
            DateTimeOffset.FromUnixTimeSeconds(NativeMethods.azmi_token_expires_on(pointer)),
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_token_resource(pointer)),
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_token_type(pointer)),
            NativeMethods.azmi_token_from_cache(pointer),
            ManagedIdentitySourceNames.FromNative(NativeText.ReadLentOrEmpty(NativeMethods.azmi_token_source(pointer))));
    }

    /// <summary>
    /// Copies <c>destination.Length</c> bytes of token text from native memory, widened to
    /// chars, in one pass; false (with part of it copied) at the first byte that is not
    /// printable ASCII.
    /// </summary>
    private static unsafe bool CopyPrintableAscii(IntPtr source, char[] destination)
    {
        byte* text = (byte*)source;
        fixed (char* chars = destination)
        {
            for (int i = 0; i < destination.Length; i++)
            {
                byte b = text[i];
                if (b < 0x20 || b > 0x7E)
                {
                    return false;
                }

                chars[i] = (char)b;
            }
        }

        return true;
    }
}
