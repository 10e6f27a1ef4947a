using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using AzMi.Testing;

namespace AzMi.Interop;

/// <summary>
/// Tells the runtime where <c>[DllImport("azmi")]</c> lives. An application would instead ship
/// libazmi.so in runtimes/&lt;rid&gt;/native of its package (or next to the app) and need no
/// resolver; the tests load the library cargo just built, or the one AZMI_NATIVE_LIB names.
/// </summary>
internal static class AzMiNativeLibrary
{
    /// <summary>
    /// Registered before any code of this assembly runs: a resolver must be in place before the
    /// first P/Invoke into "azmi", and a module initializer is the one place that is guaranteed
    /// to run first whatever test xunit happens to start with.
    /// </summary>
    [ModuleInitializer]
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(AzMiNativeLibrary).Assembly, Resolve);

    /// <summary>The file the tests load: AZMI_NATIVE_LIB, else cargo's release output.</summary>
    public static string Path => RepoPaths.Artifact("AZMI_NATIVE_LIB", FileName);

    private static string FileName =>
        OperatingSystem.IsWindows() ? "azmi.dll"
        : OperatingSystem.IsMacOS() ? "libazmi.dylib"
        : "libazmi.so";

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        // IntPtr.Zero hands any other library back to the default probing.
        libraryName == NativeMethods.LibraryName ? NativeLibrary.Load(Path) : IntPtr.Zero;
}
