using System;

namespace AzMi;

/// <summary>
/// What Get-AzMiToken returns. Shaped after Get-AzAccessToken of Az.Accounts (Token as
/// SecureString, ExpiresOn as DateTimeOffset, Type) so that scripts move over easily.
/// AzMi.format.ps1xml defines its views; none of them shows the token.
/// </summary>
public sealed class AccessToken
{
    internal AccessToken(object token, DateTimeOffset expiresOn, string resource, string type, string identity, string source)
    {
        Token = token;
        ExpiresOn = expiresOn;
        Resource = resource;
        Type = type;
        Identity = identity;
        Source = source;
    }

    /// <summary>The access token: a read-only SecureString, or a String with -AsPlainText.</summary>
    public object Token { get; }

    /// <summary>When the token expires (UTC).</summary>
    public DateTimeOffset ExpiresOn { get; }

    /// <summary>The resource the token is for, as the endpoint named it.</summary>
    public string Resource { get; }

    /// <summary>The token type, usually "Bearer".</summary>
    public string Type { get; }

    /// <summary>The managed identity the token belongs to, described for people.</summary>
    public string Identity { get; }

    /// <summary>
    /// Where the token came from: Imds, AppService, ServiceFabric, AzureML, CloudShell, Arc or
    /// WorkloadIdentity (detected from the environment).
    /// </summary>
    public string Source { get; }

    /// <summary>Never the token text: this is what string interpolation and logs would show.</summary>
    public override string ToString() => $"{Type} token for {Resource}, expires {ExpiresOn:u}";
}
