using System;
using System.Net;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// Process-wide settings of the native azmi library: the CA certificates trusted for HTTPS,
/// the Azure cloud, the Resource Manager endpoint, the proxy of service requests, its version,
/// and <see cref="Shutdown"/>.
/// </summary>
/// <remarks>
/// azmi reads <c>AZMI_CA_FILE</c>, <c>AZMI_ENVIRONMENT</c> and <c>AZMI_ARM_ENDPOINT</c> with
/// getenv, but on Linux and macOS .NET keeps its own copy of the environment: a value set with
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> never reaches the native
/// library. So before its first call this package reads the variables from
/// <see cref="Environment"/> and forwards those that are set (<c>azmi_set_ca_file</c>,
/// <c>azmi_set_environment</c>, <c>azmi_set_arm_endpoint</c>), unless <see cref="SetCaFile"/>,
/// <see cref="SetEnvironment"/> or <see cref="SetArmEndpoint"/> was called first. The proxy
/// variables (<c>HTTPS_PROXY</c>, <c>https_proxy</c>, <c>ALL_PROXY</c>, <c>NO_PROXY</c>, …) are
/// forwarded the same way unless a proxy setter was called first. Later changes to the variables
/// are not followed: call the setters (<see cref="SetProxyFromEnvironment"/> reads the proxy
/// variables again).
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
    private static bool _proxySet;

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
    /// Sends this process's service requests (Key Vault, Blob, Data Lake, Resource Manager, and
    /// workload identity's exchange at Entra ID) through <paramref name="proxy"/>, whatever the
    /// environment says; managed identity endpoints never go through a proxy. HTTPS goes through
    /// a CONNECT tunnel, so the proxy never sees a token or a SAS.
    /// </summary>
    /// <param name="proxy"><c>http://host:port</c> (without a port: 1080, as curl) or <c>https://…</c>.
    /// Credentials may be in it (<c>http://user:password@host:port</c>, percent-encoded); they are
    /// sent to the proxy only and never shown.</param>
    /// <param name="noProxy">The hosts that go direct, in curl's <c>NO_PROXY</c> syntax: host names
    /// (with their subdomains), IP addresses, CIDR ranges, comma-separated; <c>*</c> for all. Loopback
    /// goes through the proxy unless listed. Null for none.</param>
    /// <param name="credential">The proxy's user name and password (Basic), instead of credentials
    /// in the URL. The password is taken from <see cref="NetworkCredential.SecurePassword"/> and
    /// never becomes a managed string here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="proxy"/> is null.</exception>
    /// <exception cref="AzMiException">InvalidArgument: the URL cannot be used (nothing changes).</exception>
    public static void SetProxy(Uri proxy, string? noProxy = null, NetworkCredential? credential = null)
    {
        if (proxy is null)
        {
            throw new ArgumentNullException(nameof(proxy));
        }

        RegisterLoader();
        byte[] url = NativeText.EncodeRequired(proxy.OriginalString, nameof(proxy));
        byte[]? list = NativeText.Encode(noProxy, nameof(noProxy));
        lock (Gate)
        {
            uint status;
            IntPtr err;
            if (credential is null)
            {
                status = NativeMethods.azmi_set_proxy(url, list, out err);
            }
            else
            {
                byte[] user = NativeText.EncodeRequired(credential.UserName, nameof(credential));
                using NativeSecret password = NativeSecret.From(credential.SecurePassword, nameof(credential));
                status = NativeMethods.azmi_set_proxy_with_credentials(url, list, user, password.Pointer, out err);
            }

            NativeErrors.ThrowIfFailed(status, err);
            _proxySet = true;
        }
    }

    /// <summary>Sends this process's service requests direct, whatever the environment says.</summary>
    public static void DisableProxy()
    {
        RegisterLoader();
        lock (Gate)
        {
            uint status = NativeMethods.azmi_set_proxy(NativeText.Encode(string.Empty, "url"), null, out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
            _proxySet = true;
        }
    }

    /// <summary>
    /// Reads the proxy variables of this process's environment again (<c>https_proxy</c>,
    /// <c>HTTPS_PROXY</c>, <c>http_proxy</c>, <c>HTTP_PROXY</c>, <c>all_proxy</c>, <c>ALL_PROXY</c>,
    /// <c>no_proxy</c>, <c>NO_PROXY</c>; lowercase first, as curl), including values set with
    /// <see cref="Environment.SetEnvironmentVariable(string, string)"/>; on Windows, with none of
    /// them set, the system's proxy (WinHTTP), as <c>HttpClient</c> does.
    /// </summary>
    public static void SetProxyFromEnvironment()
    {
        RegisterLoader();
        lock (Gate)
        {
            uint status = NativeProxy.SetFromEnvironment(out IntPtr err);
            NativeErrors.ThrowIfFailed(status, err);
            _proxySet = true;
        }
    }

    /// <summary>
    /// Which way a service request to <paramref name="uri"/> goes now, as a sentence, e.g.
    /// "through the proxy http://proxy.corp:3128 (from HTTPS_PROXY)" or "direct: NO_PROXY names
    /// '.corp.example'". Credentials are never shown.
    /// </summary>
    /// <exception cref="AzMiException">InvalidArgument: not an http(s) URL.</exception>
    public static string GetProxyRoute(Uri uri)
    {
        if (uri is null)
        {
            throw new ArgumentNullException(nameof(uri));
        }

        EnsureInitialized();
        uint status = NativeMethods.azmi_proxy_route(NativeText.EncodeRequired(uri.AbsoluteUri, nameof(uri)), out IntPtr route, out IntPtr err);
        NativeErrors.ThrowIfFailed(status, err);
        return BytesReader.TakeString(route);
    }

    /// <summary>
    /// The proxy setting in force as JSON (<c>source</c>, <c>https</c> and <c>http</c> with
    /// <c>url</c>, <c>from</c> and <c>credentials</c>, <c>noProxy</c>, <c>description</c>: see
    /// <c>azmi_proxy_get</c> in azmi.h). Credentials are never in it.
    /// </summary>
    public static string GetProxySettingsJson()
    {
        EnsureInitialized();
        uint status = NativeMethods.azmi_proxy_get(out IntPtr json, out IntPtr err);
        NativeErrors.ThrowIfFailed(status, err);
        return BytesReader.TakeString(json);
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

            if (!_proxySet)
            {
                uint status = NativeProxy.SetFromEnvironment(out IntPtr err);
                NativeErrors.ThrowIfFailed(status, err);
            }

            _initialized = true;
        }
    }

    private static void RegisterLoader() => NativeLibraryLoader.RegisterResolver();
}
