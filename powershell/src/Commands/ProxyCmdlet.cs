using System;
using System.IO;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// The base of Set-AzMiProxy and Get-AzMiProxy: azmi's process-wide proxy setting, with azmi's
/// errors as ErrorRecords (ErrorId <c>AzMi.&lt;status name&gt;</c>). No identity is involved.
/// </summary>
public abstract class ProxyCmdlet : PSCmdlet
{
    /// <summary>
    /// Runs <paramref name="operation"/> after loading the library (and, the first time, handing
    /// azmi PowerShell's proxy variables); azmi's errors become ErrorRecords whose target is
    /// <paramref name="target"/>: terminating for argument errors (unless
    /// <paramref name="perItem"/>: one input's error), else written.
    /// </summary>
    private protected void Run(object? target, Action operation, bool perItem = false)
    {
        try
        {
            NativeLibraryLoader.EnsureLoaded();
            NativeProxySetting.ApplyEnvironmentOnce();
            operation();
        }
        catch (AzMiException e)
        {
            ErrorRecord record = AzMiErrorRecords.From(e, target);
            if (!perItem && AzMiErrorRecords.IsTerminating(e))
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
        }
        catch (Exception e) when (e is FileNotFoundException || e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "AzMi.NativeLibraryNotLoaded", ErrorCategory.NotInstalled, NativeLibraryLoader.LibraryPath));
        }
    }

    /// <summary>The setting in force.</summary>
    private protected ProxySetting CurrentSetting() => ProxySetting.FromJson(Json.Parse(this, NativeProxySetting.Json()));
}
