using System;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// <c>$env:AZMI_ARM_ENDPOINT</c>: the Resource Manager endpoint (a private cloud, or azmi-emulator),
/// handed to azmi with azmi_set_arm_endpoint; NULL (the endpoint of the identity's cloud,
/// https://management.azure.com in the public cloud) when the variable is unset.
/// </summary>
/// <remarks>
/// As <see cref="CaFileEnvironment"/>: on Linux and macOS .NET's environment never reaches the
/// native library, so every Resource Manager cmdlet calls <see cref="Apply"/> before its first
/// request. azmi's setting is process-wide; it is only changed when the variable differs from
/// what this module last gave azmi (the first call always sets it, so a stale native
/// environment never decides).
/// </remarks>
internal static class ArmEndpointEnvironment
{
    internal const string Variable = "AZMI_ARM_ENDPOINT";

    private static readonly object Gate = new object();
    private static bool _applied;
    private static string? _appliedUrl;

    /// <summary>
    /// Gives azmi the endpoint <c>$env:AZMI_ARM_ENDPOINT</c> names, or NULL when it is unset,
    /// when that differs from the last one given. A malformed URL throws
    /// <see cref="AzMiException"/> (InvalidArgument or InsecureRequest) and changes nothing.
    /// Returns the endpoint in force.
    /// </summary>
    internal static string Apply(Action<string> verbose)
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        string? url = string.IsNullOrEmpty(value) ? null : value;
        lock (Gate)
        {
            if (_applied && string.Equals(url, _appliedUrl, StringComparison.Ordinal))
            {
                return url ?? PublicEndpoint;
            }

            byte[]? urlUtf8 = Utf8.Encode(url, "$env:" + Variable);
            uint status = NativeMethods.azmi_set_arm_endpoint(urlUtf8, out IntPtr err);
            NativeError.ThrowIfFailed(status, err);
            _applied = true;
            _appliedUrl = url;
        }

        verbose(url is null
            ? "Resource Manager endpoint: the Azure environment's ($env:" + Variable + " is not set)."
            : $"Resource Manager endpoint: {url} (from $env:{Variable}).");
        return url ?? PublicEndpoint;
    }

    private const string PublicEndpoint = "https://management.azure.com";
}
