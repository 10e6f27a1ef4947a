using System;
using System.IO;
using System.Management.Automation;
using System.Threading;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// <c>$env:AZMI_CA_FILE</c>: a PEM file of extra CA certificates azmi trusts for HTTPS (e.g. the
/// CA of azmi-emulator or of a private Hadoop cluster), handed to azmi with azmi_set_ca_file.
/// </summary>
/// <remarks>
/// azmi reads the variable itself when it starts, but on Linux and macOS .NET keeps its own copy
/// of the environment, so a value set in pwsh never reaches it. Every Data Lake cmdlet calls
/// <see cref="Apply"/> before its first HTTPS request; azmi's setting is process-wide, so it is
/// only changed when the variable differs from what this module last gave azmi.
/// </remarks>
internal static class CaFileEnvironment
{
    internal const string Variable = "AZMI_CA_FILE";

    private static readonly object Gate = new object();
    private static bool _applied;
    private static string? _appliedPath;

    /// <summary>
    /// Gives azmi the file <c>$env:AZMI_CA_FILE</c> names (a relative path is taken from
    /// PowerShell's location in <paramref name="sessionState"/>) when it differs from the last
    /// one given. When the variable is removed after the module set a file, azmi goes back to the
    /// public roots only. A file azmi cannot use throws <see cref="AzMiException"/>
    /// (InvalidArgument, naming the file) and changes nothing. <paramref name="verbose"/> (null
    /// when verbose output is off) hears of a change.
    /// </summary>
    internal static void Apply(SessionState sessionState, Action<string>? verbose)
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value) && !Volatile.Read(ref _applied))
        {
            return; // Never set: azmi's own setting stands. The common case costs one lookup.
        }

        // PowerShell's location only for a relative path: looking it up costs more than the rest.
        string? path = string.IsNullOrEmpty(value)
            ? null
            : Path.IsPathRooted(value) ? value : Path.Combine(sessionState.Path.CurrentFileSystemLocation.ProviderPath, value!);
        lock (Gate)
        {
            if (_applied ? string.Equals(path, _appliedPath, StringComparison.Ordinal) : path is null)
            {
                return; // Unchanged.
            }

            byte[]? pathUtf8 = Utf8.Encode(path, "$env:" + Variable);
            uint status = NativeMethods.azmi_set_ca_file(pathUtf8, out IntPtr err);
            NativeError.ThrowIfFailed(status, err);
            _appliedPath = path;
            Volatile.Write(ref _applied, true);
        }

        verbose?.Invoke(path is null
            ? $"$env:{Variable} was removed: HTTPS trusts the public root certificates only."
            : $"HTTPS also trusts the CA certificates in {path} (from $env:{Variable}).");
    }
}
