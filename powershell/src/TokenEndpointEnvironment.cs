using System;

namespace AzMi;

/// <summary>
/// The token endpoint named by PowerShell's environment (<c>$env:</c>), which the cmdlets hand
/// to azmi explicitly (azmi_identity_set_endpoint).
/// </summary>
/// <remarks>
/// azmi reads the same variables with getenv, but on Linux and macOS .NET keeps its own copy of
/// the environment: <c>$env:AZMI_IMDS_ENDPOINT = …</c> in pwsh never reaches the native
/// environ, so without this a user's setting would be silently ignored.
/// </remarks>
internal sealed class TokenEndpointEnvironment
{
    internal const string EndpointVariable = "AZMI_IMDS_ENDPOINT";
    internal const string PodIdentityHostVariable = "AZURE_POD_IDENTITY_AUTHORITY_HOST";
    private const string TokenPath = "/metadata/identity/oauth2/token";

    private TokenEndpointEnvironment(string tokenUrl, string source)
    {
        TokenUrl = tokenUrl;
        Source = source;
    }

    /// <summary>The full token URL.</summary>
    internal string TokenUrl { get; }

    /// <summary>The variable it came from, for -Verbose.</summary>
    internal string Source { get; }

    /// <summary>
    /// AZMI_IMDS_ENDPOINT (a full token URL), else AZURE_POD_IDENTITY_AUTHORITY_HOST (a host,
    /// to which the IMDS token path is appended), else null: azmi's default (IMDS) applies.
    /// The same order as azmi_identity_new.
    /// </summary>
    internal static TokenEndpointEnvironment? Read()
    {
        string? endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
        if (!string.IsNullOrEmpty(endpoint))
        {
            return new TokenEndpointEnvironment(endpoint!, EndpointVariable);
        }

        string? host = Environment.GetEnvironmentVariable(PodIdentityHostVariable);
        if (!string.IsNullOrEmpty(host))
        {
            return new TokenEndpointEnvironment(host!.TrimEnd('/') + TokenPath, PodIdentityHostVariable);
        }

        return null;
    }
}
