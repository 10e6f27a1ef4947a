using System;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// Process-wide settings of the native azmi library: the CA certificates trusted for HTTPS,
/// the Azure cloud, the Resource Manager endpoint, its version, and <see cref="Shutdown"/>.
/// </summary>
/// <remarks>
/// azmi reads <c>AZMI_CA_FILE</c>, <c>AZMI_ENVIRONMENT</c> and <c>AZMI_ARM_ENDPOINT</c> with
/// getenv, but on Linux and macOS .NET keeps its own copy of the environment: a value set with
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> never reaches the native
/// library. So before its first call this package reads the variables from
/// <see cref="Environment"/> and forwards those that are set (<c>azmi_set_ca_file</c>,
/// <c>azmi_set_environment</c>, <c>azmi_set_arm_endpoint</c>), unless <see cref="SetCaFile"/>,
/// <see cref="SetEnvironment"/> or <see cref="SetArmEndpoint"/> was called first. Later
/// changes to the variables are not followed: call the setters.
/// </remarks>
public static class AzMiLibrary
{
    /// <summary>The environment variable naming a PEM file of extra CA certificates.</summary>
    public const string CaFileVariable = "AZMI_CA_FILE";

    /// <summary>The environment variable naming the Resource Manager endpoint.</summary>
    public const string ArmEndpointVariable = "AZMI_ARM_ENDPOINT";

    /// <summary>The environment variable naming the Azure cloud (AzureCloud, AzureUSGovernment, AzureChinaCloud).</summary>
    public const string EnvironmentVariable = "AZMI_ENVIRONMENT";

    private static readonly object Gate = new object();
    private static volatile bool _initialized;
    private static bool _caFileSet;
    private static bool _armEndpointSet;
    private static bool _environmentSet;

    /// <summary>The native library's version, e.g. "0.1.0".</summary>
    public static string Version
    {
        get
        {
            EnsureInitialized();
            return NativeText.ReadLentOrEmpty(NativeMethods.azmi_version());
        }
    }

    /// <summary>
    /// Trusts the CA certificates of the PEM file <paramref name="pemPath"/> besides the public
    /// roots for every later HTTPS request of this process (e.g. a private cloud's CA, or
    /// azmi-emulator's); null goes back to the public roots only.
    /// </summary>
    /// <param name="pemPath">A PEM file of one or more certificates, or null.</param>
    /// <exception cref="AzMiException">InvalidArgument: the file cannot be read or holds no certificate (nothing changes).</exception>
    public static void SetCaFile(string? pemPath)
    {
        RegisterLoader();
        byte[]? path = NativeText.Encode(pemPath, nameof(pemPath));
        lock (Gate)
        {
            uint status = NativeMethods.azmi_set_ca_file(path, out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
            _caFileSet = true;
        }
    }

    /// <summary>
    /// Names the Azure cloud this process runs in, by the names of the Az modules:
    /// <c>AzureCloud</c>, <c>AzureUSGovernment</c> or <c>AzureChinaCloud</c> (null: the
    /// public cloud, unless <c>AZMI_ENVIRONMENT</c> names another). It decides what a vault or
    /// storage account <em>name</em> stands for (<c>contoso</c>:
    /// <c>https://contoso.vault.usgovcloudapi.net</c>), where Resource Manager is when no
    /// endpoint is set, and the token resource of an endpoint azmi does not know. A URL given
    /// explicitly is always used as it is.
    /// </summary>
    /// <param name="name">The cloud's name (letter case ignored), or null.</param>
    /// <exception cref="AzMiException">InvalidArgument: not a cloud's name (nothing changes).</exception>
    public static void SetEnvironment(string? name)
    {
        RegisterLoader();
        byte[]? utf8 = NativeText.Encode(name, nameof(name));
        lock (Gate)
        {
            uint status = NativeMethods.azmi_set_environment(utf8, out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
            _environmentSet = true;
        }
    }

    /// <summary>
    /// Sends this process's Resource Manager requests to <paramref name="endpoint"/>
    /// (<c>https://host[:port]</c>, e.g. <c>https://management.usgovcloudapi.net</c>; plain
    /// http only to loopback), or with null to the endpoint of the process's cloud
    /// (<see cref="SetEnvironment"/>; <c>https://management.azure.com</c> in the public cloud).
    /// </summary>
    /// <param name="endpoint">The endpoint, or null for the cloud's.</param>
    /// <exception cref="AzMiException">InvalidArgument or InsecureRequest (nothing changes).</exception>
    public static void SetArmEndpoint(Uri? endpoint)
    {
        RegisterLoader();
        byte[]? url = NativeText.Encode(endpoint?.OriginalString.TrimEnd('/'), nameof(endpoint));
        lock (Gate)
        {
            uint status = NativeMethods.azmi_set_arm_endpoint(url, out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
            _armEndpointSet = true;
        }
    }

    /// <summary>
    /// Stops azmi's runtime and wipes every cached token (e.g. before unloading a plugin).
    /// Calls still running are cancelled and have returned when this returns; a later call
    /// starts azmi again.
    /// </summary>
    /// <exception cref="AzMiException">RuntimeError: called from a callback, or a call did not return within 10 s.</exception>
    public static void Shutdown()
    {
        EnsureInitialized();
        uint status = NativeMethods.azmi_shutdown(out IntPtr err);
        NativeErrors.ThrowIfFailed(status, err);
    }

    /// <summary>
    /// Registers the native library resolver and forwards the environment's settings once
    /// (see the remarks of <see cref="AzMiLibrary"/>). Every entry point calls this.
    /// </summary>
    internal static void EnsureInitialized()
    {
        if (_initialized)
        {
            return;
        }

        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }

            RegisterLoader();
            string? caFile = Environment.GetEnvironmentVariable(CaFileVariable);
            if (!_caFileSet && !string.IsNullOrEmpty(caFile))
            {
                uint status = NativeMethods.azmi_set_ca_file(NativeText.Encode(caFile, CaFileVariable), out IntPtr err);
                NativeErrors.ThrowIfFailed(status, err);
            }

            string? cloud = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!_environmentSet && !string.IsNullOrEmpty(cloud))
            {
                uint status = NativeMethods.azmi_set_environment(NativeText.Encode(cloud, EnvironmentVariable), out IntPtr err);
                NativeErrors.ThrowIfFailed(status, err);
            }

            string? arm = Environment.GetEnvironmentVariable(ArmEndpointVariable);
            if (!_armEndpointSet && !string.IsNullOrEmpty(arm))
            {
                uint status = NativeMethods.azmi_set_arm_endpoint(NativeText.Encode(arm, ArmEndpointVariable), out IntPtr err);
                NativeErrors.ThrowIfFailed(status, err);
            }

            _initialized = true;
        }
    }

    private static void RegisterLoader() => NativeLibraryLoader.RegisterResolver();
}
