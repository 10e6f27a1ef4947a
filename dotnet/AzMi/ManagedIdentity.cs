using System;
using System.Threading;
using System.Threading.Tasks;

namespace AzMi;

/// <summary>
/// The entry point: tokens of this machine's managed identity, and the identities
/// (<see cref="AzMiIdentity"/>) whose tokens the service clients use.
/// </summary>
/// <example>
/// <code>
/// using AzMi;
/// using AccessToken token = await ManagedIdentity.GetTokenAsync("https://vault.azure.net", ct); // system-assigned
/// using var id = ManagedIdentity.ForClientId("00001111-aaaa-2222-bbbb-3333cccc4444");
/// string secret = await id.KeyVault("mi-lab-vault").GetSecretAsync("mi-test", ct);
/// await id.Blob(new Uri("https://acct.blob.core.windows.net/data/x.bin")).DownloadToAsync("x.bin", progress, ct);
/// </code>
/// </example>
/// <remarks>
/// The token endpoint is taken from <see cref="Environment"/> when an identity is created:
/// <c>AZMI_IMDS_ENDPOINT</c> (a full token URL), else <c>AZURE_POD_IDENTITY_AUTHORITY_HOST</c>
/// (a host), else the managed identity source azmi detects from the native environment (App
/// Service, Service Fabric, Azure ML, Cloud Shell, Arc, workload identity, else IMDS; see
/// <see cref="AzMiIdentity.Source"/> and <see cref="ForSource"/>);
/// <see cref="AzMiIdentity.WithEndpoint"/> sets it explicitly. (azmi's own getenv would not
/// see variables set by .NET on Linux and macOS.) Tokens are cached by
/// the native library, process-wide, per endpoint, identity and resource.
/// </remarks>
public static class ManagedIdentity
{
    private static readonly Lazy<AzMiIdentity> s_systemAssigned =
        new Lazy<AzMiIdentity>(() => AzMiIdentity.Create(null, null, null, endpoint: null, shared: true), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The system-assigned identity at the endpoint the environment named when it was first
    /// used. Shared by the process: disposing it does nothing.
    /// </summary>
    public static AzMiIdentity SystemAssigned => s_systemAssigned.Value;

    /// <summary>
    /// A token of the system-assigned identity for <paramref name="resource"/>, from the cache
    /// when it has one valid for 5 more minutes.
    /// </summary>
    /// <param name="resource">The resource URI as Entra ID knows it (e.g. <c>https://vault.azure.net</c>); a <c>/.default</c> suffix is removed.</param>
    /// <param name="cancellationToken">Ends the wait at once.</param>
    /// <returns>The token; dispose it to clear its text.</returns>
    /// <exception cref="AzMiUnavailableException">No managed identity endpoint answered (not on Azure).</exception>
    /// <exception cref="AzMiException">Any other error of azmi_get_token.</exception>
    public static Task<AccessToken> GetTokenAsync(string resource, CancellationToken cancellationToken = default) =>
        SystemAssigned.GetTokenAsync(resource, cancellationToken);

    /// <summary>A new handle on the system-assigned identity (yours to dispose).</summary>
    /// <returns>The identity, at the environment's endpoint.</returns>
    public static AzMiIdentity CreateSystemAssigned() => AzMiIdentity.Create(null, null, null, endpoint: null, shared: false);

    /// <summary>The user-assigned identity with this client (application) id.</summary>
    /// <param name="clientId">A GUID.</param>
    /// <returns>The identity, at the environment's endpoint. Dispose it when done.</returns>
    /// <exception cref="AzMiException">InvalidArgument: not a GUID.</exception>
    public static AzMiIdentity ForClientId(string clientId) =>
        AzMiIdentity.Create(clientId ?? throw new ArgumentNullException(nameof(clientId)), null, null, endpoint: null, shared: false);

    /// <summary>The user-assigned identity with this object (principal) id.</summary>
    /// <param name="objectId">A GUID.</param>
    /// <returns>The identity, at the environment's endpoint. Dispose it when done.</returns>
    /// <exception cref="AzMiException">InvalidArgument: not a GUID.</exception>
    public static AzMiIdentity ForObjectId(string objectId) =>
        AzMiIdentity.Create(null, objectId ?? throw new ArgumentNullException(nameof(objectId)), null, endpoint: null, shared: false);

    /// <summary>The user-assigned identity with this Azure resource id.</summary>
    /// <param name="resourceId"><c>/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/&lt;name&gt;</c>.</param>
    /// <returns>The identity, at the environment's endpoint. Dispose it when done.</returns>
    /// <exception cref="AzMiException">InvalidArgument: not such a resource id.</exception>
    public static AzMiIdentity ForResourceId(string resourceId) =>
        AzMiIdentity.Create(null, null, resourceId ?? throw new ArgumentNullException(nameof(resourceId)), endpoint: null, shared: false);

    /// <summary>
    /// An identity whose tokens come from <paramref name="source"/> rather than the detected
    /// source, with its settings read from the process's native environment (variables set
    /// before the process started: on Linux and macOS
    /// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach it).
    /// </summary>
    /// <param name="source">The managed identity source.</param>
    /// <param name="clientId">A user-assigned identity's client id (GUID), or null for the system-assigned one.</param>
    /// <returns>The identity. Dispose it when done.</returns>
    /// <exception cref="AzMiException">
    /// InvalidArgument: the source's variables are not set, or it cannot serve the identity
    /// (a client id on Cloud Shell or Arc); the message names the source.
    /// </exception>
    public static AzMiIdentity ForSource(ManagedIdentitySource source, string? clientId = null) =>
        AzMiIdentity.CreateWithSource(clientId, null, null, source);
}
