using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace AzMi.Native;

/// <summary>
/// The proxy variables of this process's .NET environment, handed to azmi as its environment
/// (<c>azmi_set_proxy_environment</c>): on Linux and macOS .NET keeps its own copy of the
/// environment, so a value set with <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// or PowerShell's <c>$env:</c> never reaches azmi's getenv. Shared by the package and the module.
/// </summary>
internal static class NativeProxy
{
    /// <summary>The variables azmi reads for the proxy (curl's, and REQUEST_METHOD).</summary>
    internal static readonly string[] Variables =
    {
        "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY",
        "no_proxy", "NO_PROXY", "REQUEST_METHOD",
    };

    /// <summary>Calls azmi_set_proxy_environment with those of <see cref="Variables"/> that are set; returns its status.</summary>
    internal static uint SetFromEnvironment(out IntPtr err)
    {
        var pointers = new List<IntPtr>();
        try
        {
            foreach (string name in Variables)
            {
                string? value = Environment.GetEnvironmentVariable(name);
                if (value is null || value.IndexOf('\0') >= 0)
                {
                    continue;
                }

                byte[] text = Encoding.UTF8.GetBytes(name + "=" + value);
                IntPtr p = Marshal.AllocHGlobal(text.Length + 1);
                pointers.Add(p);
                Marshal.Copy(text, 0, p, text.Length);
                Marshal.WriteByte(p, text.Length, 0);
            }

            IntPtr[] array = pointers.ToArray();
            return NativeMethods.azmi_set_proxy_environment(array, (UIntPtr)array.Length, out err);
        }
        finally
        {
            foreach (IntPtr p in pointers)
            {
                Marshal.FreeHGlobal(p);
            }
        }
    }
}
