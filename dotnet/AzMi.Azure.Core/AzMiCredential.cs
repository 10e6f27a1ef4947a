using System;
using System.Linq;
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
/// resource itself); the <c>/.default</c> suffix is removed. Continuous access evaluation: a
/// request with <see cref="TokenRequestContext.IsCaeEnabled"/> (the SDK clients set it: their
/// bearer-token policy answers claims challenges) gets a token asked with the client capability
/// <c>cp1</c>, cached apart; a request with <see cref="TokenRequestContext.Claims"/> (the
/// policy answering a challenge) gets a new token carrying those claims, replacing the cached
/// one. azmi's errors are thrown as <see cref="AzMiException"/> (e.g.
/// <see cref="AzMiUnavailableException"/> off Azure).
/// </remarks>
public sealed class AzMiCredential : TokenCredential
{
    private const string DefaultSuffix = "/.default";
    private const string CaeCapability = "cp1";

    private readonly AzMiIdentity _identity;

    /// <summary>The identity declaring cp1, made on the first request with CAE enabled.</summary>
    private readonly Lazy<AzMiIdentity> _caeIdentity;

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
        _caeIdentity = new Lazy<AzMiIdentity>(
            () => _identity.ClientCapabilities.Contains(CaeCapability) ? _identity : _identity.WithClientCapabilities(CaeCapability),
            System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The identity whose tokens this credential gives.</summary>
    public AzMiIdentity Identity => _identity;

    /// <inheritdoc />
    public override global::Azure.Core.AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        // On the calling thread, as the SDK clients' synchronous methods expect: not a
        // thread-pool thread waited for (it returns at once from azmi's cache).
        using AzMi.AccessToken token = IdentityFor(requestContext).GetToken(ResourceOf(requestContext.Scopes), ClaimsOf(requestContext), cancellationToken);
        return new global::Azure.Core.AccessToken(token.Token, token.ExpiresOn);
    }

    /// <inheritdoc />
    public override async ValueTask<global::Azure.Core.AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        string resource = ResourceOf(requestContext.Scopes);
        using AzMi.AccessToken token = await IdentityFor(requestContext).GetTokenAsync(resource, ClaimsOf(requestContext), cancellationToken).ConfigureAwait(false);
        return new global::Azure.Core.AccessToken(token.Token, token.ExpiresOn);
    }

    /// <summary>The identity a request's tokens come from: the one declaring cp1 when CAE is enabled.</summary>
    private AzMiIdentity IdentityFor(TokenRequestContext requestContext) =>
        requestContext.IsCaeEnabled ? _caeIdentity.Value : _identity;

    /// <summary>A request's claims (a claims challenge's), or null.</summary>
    private static string? ClaimsOf(TokenRequestContext requestContext) =>
        string.IsNullOrEmpty(requestContext.Claims) ? null : requestContext.Claims;

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
