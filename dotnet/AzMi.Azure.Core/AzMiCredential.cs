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
    public override global::Azure.Core.AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override async ValueTask<global::Azure.Core.AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        string resource = ResourceOf(requestContext.Scopes);
        AzMiIdentity identity = requestContext.IsCaeEnabled ? _caeIdentity.Value : _identity;
        string? claims = string.IsNullOrEmpty(requestContext.Claims) ? null : requestContext.Claims;
        using AzMi.AccessToken token = await identity.GetTokenAsync(resource, claims, cancellationToken).ConfigureAwait(false);
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
