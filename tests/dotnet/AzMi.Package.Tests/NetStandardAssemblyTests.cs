using System.Reflection;
using System.Runtime.Loader;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// The package's netstandard2.0 build, which .NET never picks while net8.0 is there: loaded
/// into its own AssemblyLoadContext from a folder laid out like the PowerShell module
/// (AzMi.dll, runtimes/&lt;rid&gt;/native/libazmi.so or azmi.dll), so its own native library resolver
/// (NativeLibraryLoader, found by reflection on netstandard2.0) must find the library, and its
/// environment forwarding must reach the emulator.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class NetStandardAssemblyTests(PackageEnvironment env)
{
    [Fact]
    public async Task NetStandard20Assembly_GetsAUserAssignedToken()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "netstandard2.0");
        var context = new AssemblyLoadContext("azmi-netstandard2.0", isCollectible: false);
        Assembly azmi = context.LoadFromAssemblyPath(Path.Combine(folder, "AzMi.dll"));
        Assert.Equal(".NETStandard,Version=v2.0", azmi.GetCustomAttribute<System.Runtime.Versioning.TargetFrameworkAttribute>()?.FrameworkName);

        Type managedIdentity = azmi.GetType("AzMi.ManagedIdentity", throwOnError: true)!;
        object identity = managedIdentity.GetMethod("ForClientId")!.Invoke(null, [KnownIdentities.UamiClientId])!;
        try
        {
            Assert.Equal(new Uri(env.Emulator.TokenUrl), identity.GetType().GetProperty("Endpoint")!.GetValue(identity));
            MethodInfo getToken = identity.GetType().GetMethod("GetTokenAsync", [typeof(string), typeof(CancellationToken)])!;
            var task = (Task)getToken.Invoke(identity, ["https://vault.azure.net", CancellationToken.None])!;
            await task;
            object token = task.GetType().GetProperty("Result")!.GetValue(task)!;
            using var disposable = (IDisposable)token;
            string text = (string)token.GetType().GetProperty("Token")!.GetValue(token)!;
            Assert.Equal(KnownIdentities.UamiClientId, Jwt.Claim(text, "appid"));

            // The library next to this AzMi.dll was loaded (not the app's, through deps.json).
            string library = Path.Combine(folder, "runtimes", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier,
                "native", OperatingSystem.IsWindows() ? "libazmi.dll" : "libazmi.so");
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            string[] loaded = self.Modules.Cast<System.Diagnostics.ProcessModule>()
                .Select(m => m.FileName).Where(f => f.Contains("azmi", StringComparison.OrdinalIgnoreCase)).ToArray();
            StringComparison names = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            Assert.True(loaded.Any(f => string.Equals(f, library, names)),
                $"{library} is not loaded; the azmi modules loaded: {string.Join(", ", loaded)}");
        }
        finally
        {
            ((IDisposable)identity).Dispose();
        }
    }
}
