using System;
using System.ComponentModel;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>
/// Makes <c>[DllImport("libazmi")]</c> find the native library shipped next to the assembly,
/// <c>&lt;assembly folder&gt;/runtimes/&lt;rid&gt;/native/&lt;libazmi.so|libazmi.dll|libazmi.dylib&gt;</c>:
/// the PowerShell module's layout (one AzMi.dll for PowerShell 7 and Windows PowerShell 5.1),
/// and a portable .NET app's. When that file is not there (an app published for one rid has
/// the library next to itself), the runtime's own probing (deps.json, the app folder) decides.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>.NET: a DllImportResolver for this assembly that loads the library by full path.
///   NativeLibrary does not exist in netstandard2.0, so it is found and called by reflection.</item>
/// <item>.NET Framework (Windows only): LoadLibraryW by full path before the first call; later
///   DllImports of "libazmi" then bind to the module already loaded under that name.</item>
/// </list>
/// </remarks>
internal static class NativeLibraryLoader
{
    private static readonly object Gate = new object();
    private static bool _resolverRegistered;
    private static volatile bool _loaded;
    private static Func<string, IntPtr>? _nativeLibraryLoad;

    /// <summary>
    /// Where the native library for this OS and process architecture must be. The message of
    /// <see cref="EnsureLoaded"/> names it when it is missing.
    /// </summary>
    internal static string LibraryPath { get; } = Path.Combine(
        Path.GetDirectoryName(typeof(NativeLibraryLoader).Assembly.Location) ?? string.Empty,
        "runtimes",
        RuntimePlatform.RuntimeIdentifier,
        "native",
        RuntimePlatform.NativeLibraryFileName);

    /// <summary>
    /// Registers the resolver, once: by the package before its first call, and by
    /// <see cref="EnsureLoaded"/> (the module's first cmdlet call, not Import-Module: the
    /// reflection it takes is then paid by the first call instead of by every import; Get-Help
    /// and Get-Command never need it). Cheap; loads nothing yet.
    /// </summary>
    internal static void RegisterResolver()
    {
        lock (Gate)
        {
            if (_resolverRegistered)
            {
                return;
            }

            _resolverRegistered = true;
            RegisterDotNetResolver();
        }
    }

    /// <summary>
    /// Loads the native library now, or throws <see cref="FileNotFoundException"/> naming the
    /// path looked at. Every cmdlet calls this before its first azmi call (the package does not:
    /// its library may be anywhere the runtime probes).
    /// </summary>
    internal static void EnsureLoaded()
    {
        if (_loaded)
        {
            return; // Every call after the first: no lock.
        }

        RegisterResolver();
        lock (Gate)
        {
            if (_loaded)
            {
                return;
            }

            if (!File.Exists(LibraryPath))
            {
                throw new FileNotFoundException(
                    $"The AzMi module has no native azmi library for this platform " +
                    $"({RuntimePlatform.RuntimeIdentifier}): {LibraryPath} does not exist. " +
                    "Put the azmi library built for this platform there, or reinstall the module.",
                    LibraryPath);
            }

            if (_nativeLibraryLoad is not null)
            {
                _nativeLibraryLoad(LibraryPath); // Throws DllNotFoundException with the loader's reason.
            }
            else if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
            {
                LoadOnDotNetFramework(LibraryPath);
            }

            _loaded = true;
        }
    }

    /// <summary>
    /// .NET (PowerShell 7): NativeLibrary.SetDllImportResolver(thisAssembly, Resolve), built by
    /// reflection against the runtime's own DllImportResolver delegate type. Does nothing on
    /// .NET Framework, which has no NativeLibrary.
    /// </summary>
    private static void RegisterDotNetResolver()
    {
        Assembly runtime = typeof(Marshal).Assembly; // System.Private.CoreLib on .NET
        Type? nativeLibrary = runtime.GetType("System.Runtime.InteropServices.NativeLibrary");
        Type? resolverType = runtime.GetType("System.Runtime.InteropServices.DllImportResolver");
        if (nativeLibrary is null || resolverType is null)
        {
            return; // .NET Framework: EnsureLoaded uses LoadLibraryW instead.
        }

        MethodInfo load = nativeLibrary.GetMethod("Load", new[] { typeof(string) })
            ?? throw new MissingMethodException("NativeLibrary", "Load");
        MethodInfo setResolver = nativeLibrary.GetMethod("SetDllImportResolver", new[] { typeof(Assembly), resolverType })
            ?? throw new MissingMethodException("NativeLibrary", "SetDllImportResolver");
        MethodInfo resolve = typeof(NativeLibraryLoader).GetMethod(nameof(Resolve), BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new MissingMethodException(nameof(NativeLibraryLoader), nameof(Resolve));

        _nativeLibraryLoad = (Func<string, IntPtr>)Delegate.CreateDelegate(typeof(Func<string, IntPtr>), load);
        Delegate resolver = Delegate.CreateDelegate(resolverType, resolve);
        try
        {
            setResolver.Invoke(null, new object[] { typeof(NativeLibraryLoader).Assembly, resolver });
        }
        catch (TargetInvocationException e) when (e.InnerException is InvalidOperationException)
        {
            // A resolver is already set for this assembly (it was imported before in this
            // process and the static state was not shared, e.g. another load context); keep it.
        }
    }

    /// <summary>
    /// The DllImportResolver: matches <c>IntPtr (string, Assembly, DllImportSearchPath?)</c>.
    /// Only "libazmi" is ours; IntPtr.Zero lets .NET resolve anything else as usual.
    /// </summary>
    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.LibraryName || _nativeLibraryLoad is null)
        {
            return IntPtr.Zero;
        }

        if (!File.Exists(LibraryPath))
        {
            // Not in the module/portable layout: the runtime probes as usual (deps.json of a
            // NuGet consumer, the app folder), and its DllNotFoundException names what it tried.
            return IntPtr.Zero;
        }

        return _nativeLibraryLoad(LibraryPath);
    }

    // ---- Windows PowerShell 5.1 (.NET Framework) only ------------------------------------
    // .NET Framework has no NativeLibrary and no resolver hook, and it looks for libazmi.dll only
    // next to powershell.exe, in the system folders and on PATH. Loading it once by full path
    // makes Windows hand the already loaded module to every later DllImport("libazmi").
    // This path cannot be tested on Linux; it is the one the Devolutions modules use.

    [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true, ExactSpelling = true)]
    private static extern IntPtr LoadLibraryW(string fileName);

    private static void LoadOnDotNetFramework(string path)
    {
        if (LoadLibraryW(path) == IntPtr.Zero)
        {
            int error = Marshal.GetLastWin32Error();
            throw new DllNotFoundException(
                $"Windows could not load the native azmi library {path}: {new Win32Exception(error).Message}");
        }
    }
}
