using System;
using System.Linq;
using System.Management.Automation;

namespace AzMi;

/// <summary>
/// What <c>Get-AzMiProxy</c> reports: where this process's service requests (Key Vault, Blob,
/// Data Lake, Resource Manager, workload identity's exchange at Entra ID) go, and where that
/// setting came from. Managed identity endpoints never go through a proxy. Credentials are
/// never shown, only whether there are some.
/// </summary>
public sealed class ProxySetting
{
    private ProxySetting(PSObject json)
    {
        Source = (Text(json, "source") ?? "environment") switch
        {
            "explicit" => "Explicit",
            "none" => "None",
            "system" => "System",
            _ => "Environment",
        };
        PSObject? https = Member(json, "https");
        PSObject? http = Member(json, "http");
        HttpsProxy = Text(https, "url");
        HttpsProxyFrom = Text(https, "from");
        HttpProxy = Text(http, "url");
        HttpProxyFrom = Text(http, "from");
        HasCredentials = Flag(https, "credentials") || Flag(http, "credentials");
        Problem = Text(https, "problem") ?? Text(http, "problem");
        object? list = json.Properties["noProxy"]?.Value;
        NoProxy = list is object[] items
            ? items.Select(i => i?.ToString() ?? string.Empty).ToArray()
            : list is null ? Array.Empty<string>() : new[] { list.ToString() ?? string.Empty };
        NoProxyFrom = Text(json, "noProxyFrom");
        Note = Text(json, "note");
        Description = Text(json, "description") ?? string.Empty;
    }

    /// <summary>Environment (the proxy variables), Explicit (Set-AzMiProxy -Uri), None (-None) or System (Windows' proxy settings).</summary>
    public string Source { get; }

    /// <summary>The proxy of https requests, <c>http://host:port</c> (never with credentials); null for none.</summary>
    public string? HttpsProxy { get; }

    /// <summary>Where it was named: a variable (HTTPS_PROXY, https_proxy, ALL_PROXY…), "the explicit setting" or the Windows settings.</summary>
    public string? HttpsProxyFrom { get; }

    /// <summary>The proxy named for plain-http requests; azmi refuses to send a token through it in clear.</summary>
    public string? HttpProxy { get; }

    /// <summary>Where <see cref="HttpProxy"/> was named.</summary>
    public string? HttpProxyFrom { get; }

    /// <summary>Whether credentials are sent to the proxy (Basic). They are never shown.</summary>
    public bool HasCredentials { get; }

    /// <summary>The hosts that go direct (curl's NO_PROXY entries, or the Windows bypass list).</summary>
    public string[] NoProxy { get; }

    /// <summary>Where <see cref="NoProxy"/> came from (NO_PROXY, no_proxy, the list given, the Windows bypass list).</summary>
    public string? NoProxyFrom { get; }

    /// <summary>Why a proxy variable cannot be used (then the requests it would carry fail, saying so); else null.</summary>
    public string? Problem { get; }

    /// <summary>Anything else to know (Windows automatic configuration, which azmi does not run); else null.</summary>
    public string? Note { get; }

    /// <summary>The setting in one line.</summary>
    public string Description { get; }

    /// <inheritdoc />
    public override string ToString() => Description;

    internal static ProxySetting FromJson(object? parsed) =>
        new ProxySetting(parsed as PSObject ?? throw new InvalidOperationException("azmi_proxy_get gave no JSON object"));

    private static PSObject? Member(PSObject? json, string name) => json?.Properties[name]?.Value as PSObject;

    private static string? Text(PSObject? json, string name) => json?.Properties[name]?.Value?.ToString();

    private static bool Flag(PSObject? json, string name) => json?.Properties[name]?.Value is bool b && b;
}

/// <summary>What <c>Get-AzMiProxy -Uri</c> reports: which way a service request to a URL goes now.</summary>
public sealed class ProxyRoute
{
    internal ProxyRoute(Uri uri, string route)
    {
        Uri = uri;
        Route = route;
    }

    /// <summary>The URL asked about.</summary>
    public Uri Uri { get; }

    /// <summary>
    /// azmi's answer: "through the proxy http://host:port (from HTTPS_PROXY)", "direct: NO_PROXY
    /// names '.corp.example'", "direct: no proxy variable is set for https (…)", …
    /// </summary>
    public string Route { get; }

    /// <summary>Whether the request goes through a proxy.</summary>
    public bool ThroughProxy => Route.StartsWith("through ", StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => $"{Uri}: {Route}";
}
