using System.Management.Automation;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// Runs on Remove-Module: frees the cached native identities no call is using. Nothing runs on
/// Import-Module: the native library is found and loaded by the first cmdlet call
/// (<see cref="NativeLibraryLoader.EnsureLoaded"/>), as are the format views
/// (<see cref="ModuleFormats.EnsureLoaded"/>), so importing stays fast and works (Get-Help,
/// Get-Command) even where the native library is missing.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    /// <summary>
    /// Called by PowerShell on Remove-Module. The assembly stays loaded (.NET cannot unload it),
    /// so its identity cache would otherwise outlive the module; a later import starts afresh.
    /// </summary>
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        IdentityCache.Clear();
        ModuleFormats.Forget();
    }
}
