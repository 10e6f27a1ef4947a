using System.Management.Automation;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// Runs when Import-Module loads AzMi.dll: points DllImport("azmi") at the native library in
/// the module folder before any cmdlet runs. Nothing is loaded yet, so importing stays fast
/// and works (Get-Help, Get-Command) even where the native library is missing.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    /// <summary>Called by PowerShell on import.</summary>
    public void OnImport() => NativeLibraryLoader.RegisterResolver();
}
