using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>
/// The runtime identifier (rid) of this process, naming the runtimes/&lt;rid&gt;/native folder
/// the native library is taken from, and that library's file name on this OS.
/// </summary>
internal static class RuntimePlatform
{
    /// <summary>linux-x64, linux-arm64, osx-x64, osx-arm64, win-x64, win-x86, win-arm64, …</summary>
    internal static string RuntimeIdentifier { get; } = OperatingSystem + "-" + Architecture;

    /// <summary>
    /// libazmi.so, libazmi.dll or libazmi.dylib. On Windows not azmi.dll (the C SDK's name): a
    /// .NET app built for win-x64 gets its packages' native files in its own folder, where
    /// azmi.dll and the assembly AzMi.dll are one name to Windows' case-insensitive file system.
    /// </summary>
    internal static string NativeLibraryFileName { get; } = OperatingSystem switch
    {
        "win" => "libazmi.dll",
        "osx" => "libazmi.dylib",
        _ => "libazmi.so",
    };

    private static string OperatingSystem =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx"
        : RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "linux"
        : "unknown";

    // The process's architecture, not the OS's: 32-bit PowerShell on 64-bit Windows needs win-x86.
    private static string Architecture => RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "x64",
        System.Runtime.InteropServices.Architecture.X86 => "x86",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        var other => other.ToString().ToLowerInvariant(),
    };
}
