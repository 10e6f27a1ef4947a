using System.Management.Automation;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// Runs when Import-Module loads AzMi.dll: points DllImport("azmi") at the native library in
/// the module folder before any cmdlet runs. Nothing is loaded yet, so importing stays fast
/// and works (Get-Help, Get-Command) even where the native library is missing.
/// On Remove-Module, frees the cached native identities no call is using.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>Called by PowerShell on import.</summary>
    public void OnImport() => NativeLibraryLoader.RegisterResolver();

    /// <summary>
    /// Called by PowerShell on Remove-Module. The assembly stays loaded (.NET cannot unload it),
    /// so its identity cache would otherwise outlive the module; a later import starts afresh.
    /// </summary>
    public void OnRemove(PSModuleInfo psModuleInfo) => IdentityCache.Clear();
}
