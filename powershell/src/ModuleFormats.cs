using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace AzMi;

/// <summary>
/// The module's format views, loaded into a session by its first AzMi command rather than by
/// Import-Module: loading a format file makes PowerShell rebuild the session's whole format
/// table, which was most of what Import-Module AzMi cost. Every AzMi object comes from an AzMi
/// command, which loads the views before it writes one, so what users see is the same.
/// </summary>
internal static class ModuleFormats
{
    /// <summary>The views' module, in Format/ next to AzMi.dll.</summary>
    private static readonly string FormatModulePath = Path.Combine(
        Path.GetDirectoryName(typeof(ModuleFormats).Assembly.Location) ?? string.Empty,
        "Format",
        "AzMi.Format.psd1");

    /// <summary>The sessions (runspaces) that imported the views, and when (<see cref="s_generation"/>).</summary>
    private static readonly ConditionalWeakTable<Runspace, StrongBox<int>> Loaded = new ConditionalWeakTable<Runspace, StrongBox<int>>();

    /// <summary>Counts Remove-Module AzMi: imports before the last one are checked again.</summary>
    private static volatile int s_generation;

    /// <summary>The last session this thread saw with the views, and when: every call after the first takes no lock.</summary>
    [ThreadStatic]
    private static Runspace? t_loaded;

    [ThreadStatic]
    private static int t_generation;

    /// <summary>
    /// Makes sure the session running <paramref name="cmdlet"/> has the views, importing
    /// Format/AzMi.Format.psd1 there the first time. A failure ends the command: its objects would
    /// otherwise be shown without the views, which keep tokens and secret values off the screen.
    /// </summary>
    internal static void EnsureLoaded(PSCmdlet cmdlet)
    {
        Runspace? session = Runspace.DefaultRunspace;
        int generation = s_generation;
        if (session is null || (ReferenceEquals(session, t_loaded) && t_generation == generation))
        {
            return;
        }

        lock (Loaded)
        {
            if (!Loaded.TryGetValue(session, out StrongBox<int>? imported) || imported.Value != generation)
            {
                // Import-Module, not Update-FormatData: it is in PowerShell's core, where
                // Update-FormatData would first import Microsoft.PowerShell.Utility.
                cmdlet.InvokeCommand.InvokeScript(
                    "param($path) Microsoft.PowerShell.Core\\Import-Module -Name $path -Global -ErrorAction Stop",
                    false,
                    PipelineResultTypes.None,
                    null,
                    FormatModulePath);
                Loaded.Remove(session);
                Loaded.Add(session, new StrongBox<int>(generation));
            }
        }

        t_loaded = session;
        t_generation = generation;
    }

    /// <summary>
    /// On Remove-Module AzMi (AzMi.Format stays, as format data does): a later import checks
    /// again with its first command, and imports AzMi.Format again if it was removed too.
    /// </summary>
    internal static void Forget() => s_generation++;
}
