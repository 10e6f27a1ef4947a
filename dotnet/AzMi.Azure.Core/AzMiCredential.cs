using System;
using System.Threading;
using System.Threading.Tasks;
using Azure.Core;

namespace AzMi.Azure.Core;

/// <summary>
/// A <see cref="TokenCredential"/> whose tokens come from azmi (the managed identity's
/// endpoint, cached in native code, process-wide, with one request for many callers), for Azure
/// SDK clients: <c>new SecretClient(vaultUri, new AzMiCredential())</c>.
/// </summary>
/// <remarks>
/// A request's scopes must be one resource's: <c>https://vault.azure.net/.default</c> (or the
/// resource itself); the <c>/.default</c> suffix is removed. A request with claims (a
/// continuous access evaluation challenge) skips the cache. azmi's errors are thrown as
/// <see cref="AzMiException"/> (e.g. <see cref="AzMiUnavailableException"/> off Azure).
/// </remarks>
public sealed class AzMiCredential : TokenCredential
{
    private const string DefaultSuffix = "/.default";

    private readonly AzMiIdentity _identity;

    /// <summary>The system-assigned identity, at the endpoint the environment names.</summary>
    public AzMiCredential()
        : this(ManagedIdentity.SystemAssigned)
    {
    }

    /// <summary>Tokens of <paramref name="identity"/> (which stays yours to dispose, after the clients using this credential).</summary>
    /// <param name="identity">E.g. <c>ManagedIdentity.ForClientId("…")</c>.</param>
    public AzMiCredential(AzMiIdentity identity)
    {
        _identity = identity ?? throw new ArgumentNullException(nameof(identity));
    }

    /// <summary>The identity whose tokens this credential gives.</summary>
    public AzMiIdentity Identity => _identity;

    /// <inheritdoc />
    public override global::Azure.Core.AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override async ValueTask<global::Azure.Core.AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        string resource = ResourceOf(requestContext.Scopes);
        bool forceRefresh = !string.IsNullOrEmpty(requestContext.Claims);
        using AzMi.AccessToken token = await _identity.GetTokenAsync(resource, forceRefresh, cancellationToken).ConfigureAwait(false);
        return new global::Azure.Core.AccessToken(token.Token, token.ExpiresOn);
    }

    /// <summary>The resource of a request's scopes: exactly one, without <c>/.default</c>.</summary>
    /// <param name="scopes">The scopes of a <see cref="TokenRequestContext"/>.</param>
    /// <returns>E.g. <c>https://vault.azure.net</c>.</returns>
    internal static string ResourceOf(string[]? scopes)
    {
        if (scopes is null || scopes.Length != 1 || string.IsNullOrEmpty(scopes[0]))
        {
            throw new ArgumentException(
                "A managed identity token is for one resource: give exactly one scope, such as https://vault.azure.net/.default.",
                nameof(scopes));
        }

        string scope = scopes[0];
        return scope.EndsWith(DefaultSuffix, StringComparison.Ordinal) ? scope.Substring(0, scope.Length - DefaultSuffix.Length) : scope;
    }
}
