using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace AzMi;

/// <summary>
/// Runs on Import-Module AzMi: imports AzMi.Extension, the SecretManagement vault extension, only
/// when Microsoft.PowerShell.SecretManagement is loaded in the process.
/// <para>
/// Why not a nested module: a nested module, even an empty one, made every Import-Module AzMi
/// cost 20 to 65 ms more (BENCHMARKS.md), paid by every script that only wants a token.
/// SecretManagement needs the extension in two places only, both with its own assembly loaded:
/// Register-SecretVault imports &lt;ModuleBase&gt;/AzMi.Extension by its path, and each vault call
/// imports AzMi in a runspace of its own and runs <c>&amp; $module "AzMi.Extension\Get-Secret"</c>,
/// which finds the extension once it is loaded in that runspace, nested or not. Where
/// SecretManagement is not loaded, nothing calls the extension and importing it would be waste.
/// </para>
/// </summary>
public sealed class SecretVaultExtension : IModuleAssemblyInitializer
{
    /// <summary>How the full name of the assembly SecretManagement's cmdlets live in begins.</summary>
    private const string SecretManagementAssembly = "Microsoft.PowerShell.SecretManagement,";

    /// <summary>The extension's folder, next to AzMi.dll, where Register-SecretVault looks for it.</summary>
    private static readonly string ExtensionPath = Path.Combine(
        Path.GetDirectoryName(typeof(SecretVaultExtension).Assembly.Location) ?? string.Empty,
        "AzMi.Extension");

    /// <summary>Called by PowerShell on each Import-Module AzMi, in the importing runspace.</summary>
    public void OnImport()
    {
        // No runspace on this thread (a host importing modules as it opens one): no caller of
        // the extension either; SecretManagement imports AzMi in a runspace of its own.
        if (Runspace.DefaultRunspace is null || !SecretManagementLoaded())
        {
            return;
        }

        // In a scope of its own that ends at once: the extension is loaded (so that
        // "AzMi.Extension\Get-Secret" resolves) but its functions are visible nowhere, as when it
        // was nested and AzMi exported none of them. Imported with -Global, its Get-Secret would
        // hide SecretManagement's own Get-Secret cmdlet (a function wins over a cmdlet).
        using PowerShell import = PowerShell.Create(RunspaceMode.CurrentRunspace);
        import.AddScript(
                "param($path) Microsoft.PowerShell.Core\\Import-Module -Name $path -Scope Local -ErrorAction Stop",
                useLocalScope: true)
            .AddArgument(ExtensionPath);
        import.Invoke();
    }

    /// <summary>
    /// Whether SecretManagement's assembly is in the process: a scan of the full names (no
    /// AssemblyName made per assembly: this runs on every import).
    /// </summary>
    private static bool SecretManagementLoaded()
    {
        foreach (Assembly assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.FullName?.StartsWith(SecretManagementAssembly, StringComparison.Ordinal) == true)
            {
                return true;
            }
        }

        return false;
    }
}
