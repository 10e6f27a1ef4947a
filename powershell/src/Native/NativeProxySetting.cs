using System;
using System.Management.Automation;

namespace AzMi.Native;

/// <summary>
/// azmi's process-wide proxy of service requests: set (explicitly, off, or from PowerShell's
/// environment), read as JSON, and the way a request goes. Managed identity endpoints never go
/// through a proxy, whatever is set.
/// </summary>
internal static class NativeProxySetting
{
    private static int _environmentApplied;

    /// <summary>
    /// Before the module's first call: PowerShell's proxy variables, handed to azmi once (on
    /// Linux and macOS <c>$env:HTTPS_PROXY</c> set in pwsh never reaches azmi's getenv). Later
    /// changes to the variables are read only with <c>Set-AzMiProxy -FromEnvironment</c>.
    /// </summary>
    internal static void ApplyEnvironmentOnce()
    {
        if (System.Threading.Interlocked.Exchange(ref _environmentApplied, 1) == 0)
        {
            SetFromEnvironment();
        }
    }

    /// <summary>The proxy variables of PowerShell's environment, read again.</summary>
    internal static void SetFromEnvironment()
    {
        System.Threading.Volatile.Write(ref _environmentApplied, 1);
        uint status = NativeProxy.SetFromEnvironment(out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>
    /// <paramref name="url"/> for every service request ("" for none), except the hosts of
    /// <paramref name="noProxy"/> (curl's NO_PROXY syntax); <paramref name="credential"/>'s
    /// password goes from its SecureString to azmi without a managed string.
    /// </summary>
    internal static void Set(string url, string? noProxy, PSCredential? credential)
    {
        System.Threading.Volatile.Write(ref _environmentApplied, 1);
        byte[] urlUtf8 = Utf8.Encode(url, "The proxy URL")!;
        byte[]? list = Utf8.Encode(noProxy, "The NoProxy list");
        uint status;
        IntPtr err;
        if (credential is null)
        {
            status = NativeMethods.azmi_set_proxy(urlUtf8, list, out err);
        }
        else
        {
            byte[] user = Utf8.Encode(credential.UserName, "The proxy's user name")!;
            using NativeSecret password = NativeSecret.From(credential.Password, "Credential");
            status = NativeMethods.azmi_set_proxy_with_credentials(urlUtf8, list, user, password.Pointer, out err);
        }

        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>The setting in force as azmi_proxy_get's JSON.</summary>
    internal static string Json()
    {
        uint status = NativeMethods.azmi_proxy_get(out IntPtr json, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.TakeString(json);
    }

    /// <summary>Which way a service request to <paramref name="url"/> goes, as azmi says it.</summary>
    internal static string Route(string url)
    {
        uint status = NativeMethods.azmi_proxy_route(Utf8.Encode(url, "The URL")!, out IntPtr route, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.TakeString(route);
    }

    /// <summary>Which way <paramref name="identity"/>'s token requests go.</summary>
    internal static string TokenRoute(NativeIdentity identity)
    {
        uint status = NativeMethods.azmi_identity_proxy_route(identity.Handle, out IntPtr route, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.TakeString(route);
    }
}
