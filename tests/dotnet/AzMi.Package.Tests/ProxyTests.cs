using System.Net;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// The proxy of service requests through the package (<see cref="AzMiLibrary.SetProxy"/>,
/// <see cref="AzMiLibrary.DisableProxy"/>, <see cref="AzMiLibrary.SetProxyFromEnvironment"/>)
/// against the emulator's Key Vault and real tinyproxy instances whose logs are read. The
/// variables are set with Environment.SetEnvironmentVariable, which on Linux never reaches the
/// native getenv: the package forwards them. Each test puts the environment's setting back.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class ProxyTests(PackageEnvironment env) : IDisposable
{
    private static readonly string[] ProxyVariables = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"];

    private readonly Dictionary<string, string?> _saved = ProxyVariables.ToDictionary(v => v, Environment.GetEnvironmentVariable);

    private Uri Vault => new(env.Emulator.KeyVaultUrl);

    public void Dispose()
    {
        foreach ((string name, string? value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
        AzMiLibrary.SetProxyFromEnvironment();
    }

    [Fact]
    public async Task SetProxy_TunnelsHttps_AndTheTokenEndpointNeverGoesThroughIt()
    {
        using Tinyproxy proxy = Tinyproxy.Start();
        AzMiLibrary.SetProxy(new Uri(proxy.Url));

        using AzMiIdentity id = ManagedIdentity.CreateSystemAssigned();
        string secret = await id.KeyVault(Vault).GetSecretAsync("mi-test");

        Assert.True(secret == "Hello from Key Vault", "the value differs (not printed)");
        Assert.NotEmpty(proxy.Connects);
        Assert.All(proxy.Connects, c => Assert.Equal($"127.0.0.1:{Vault.Port}", c));
        Assert.False(proxy.SawPort(env.Emulator.Port), proxy.Log);
        Assert.Equal($"through the proxy {proxy.Url} (from the explicit setting)", AzMiLibrary.GetProxyRoute(Vault));
    }

    [Fact]
    public async Task NetworkCredential_IsSentToTheProxy_AndA407SaysHowToGiveOne()
    {
        using Tinyproxy proxy = Tinyproxy.Start("alice", "s3cret");
        using AzMiIdentity id = ManagedIdentity.CreateSystemAssigned();

        AzMiLibrary.SetProxy(new Uri(proxy.Url));
        var e = await Assert.ThrowsAsync<AzMiProxyException>(() => id.KeyVault(Vault).GetSecretAsync("mi-test"));
        Assert.Equal(AzMiStatus.ProxyError, e.Status);
        Assert.Equal(407, e.HttpStatus);
        Assert.Contains($"the proxy {proxy.Url} (from the explicit setting) asked for credentials (HTTP 407", e.Message);

        AzMiLibrary.SetProxy(new Uri(proxy.Url), noProxy: null, new NetworkCredential("alice", "s3cret"));
        Assert.True(await id.KeyVault(Vault).GetSecretAsync("mi-test") == "Hello from Key Vault", "the value differs (not printed)");
        Assert.DoesNotContain("s3cret", AzMiLibrary.GetProxySettingsJson());
        Assert.Contains("\"credentials\":true", AzMiLibrary.GetProxySettingsJson());
    }

    [Fact]
    public async Task AProxyThatIsDown_IsAzMiProxyException_NamingItsHostAndPort()
    {
        string down = $"http://127.0.0.1:{Tinyproxy.FreePort()}";
        AzMiLibrary.SetProxy(new Uri(down));
        using AzMiIdentity id = ManagedIdentity.CreateSystemAssigned()
            .WithTimeouts(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(10));

        var e = await Assert.ThrowsAsync<AzMiProxyException>(() => id.KeyVault(Vault).GetSecretAsync("mi-test"));

        Assert.Equal(0, e.HttpStatus);
        Assert.Contains($"the proxy {down} (from the explicit setting) could not be reached", e.Message);
    }

    [Fact]
    public async Task SetProxyFromEnvironment_ReadsLowercaseVariablesAndNoProxy_SetInDotNet()
    {
        using Tinyproxy proxy = Tinyproxy.Start();
        using AzMiIdentity id = ManagedIdentity.CreateSystemAssigned();
        Environment.SetEnvironmentVariable("HTTPS_PROXY", "http://127.0.0.1:1");
        Environment.SetEnvironmentVariable("https_proxy", proxy.Url);
        Environment.SetEnvironmentVariable("NO_PROXY", null);
        Environment.SetEnvironmentVariable("no_proxy", null);

        AzMiLibrary.SetProxyFromEnvironment();
        await id.KeyVault(Vault).GetSecretAsync("mi-test");
        int tunnels = proxy.Connects.Count;
        Assert.True(tunnels >= 1, proxy.Log);
        // On Windows variable names ignore case: both names are one variable there.
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal($"through the proxy {proxy.Url} (from https_proxy)", AzMiLibrary.GetProxyRoute(Vault));
        }

        Environment.SetEnvironmentVariable("no_proxy", "127.0.0.1");
        AzMiLibrary.SetProxyFromEnvironment();
        await id.KeyVault(Vault).GetSecretAsync("mi-test");
        Assert.Equal(tunnels, proxy.Connects.Count);
        Assert.StartsWith("direct: no_proxy names '127.0.0.1'", AzMiLibrary.GetProxyRoute(Vault));
    }

    [Fact]
    public void TheExplicitSetting_WinsOverTheEnvironment_AndDisableProxyGoesDirect()
    {
        Environment.SetEnvironmentVariable("HTTPS_PROXY", "http://127.0.0.1:1");
        AzMiLibrary.SetProxyFromEnvironment();
        // On Windows variable names ignore case: HTTPS_PROXY is https_proxy, which is read first.
        Assert.StartsWith("through the proxy http://127.0.0.1:1 (from HTTPS_PROXY)", AzMiLibrary.GetProxyRoute(Vault),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

        AzMiLibrary.SetProxy(new Uri("http://127.0.0.1:2"), "localhost");
        Assert.Equal("through the proxy http://127.0.0.1:2 (from the explicit setting)", AzMiLibrary.GetProxyRoute(Vault));

        AzMiLibrary.DisableProxy();
        Assert.Equal("direct: the proxy is turned off", AzMiLibrary.GetProxyRoute(Vault));

        var e = Assert.Throws<AzMiException>(() => AzMiLibrary.SetProxy(new Uri("socks5://127.0.0.1:1080")));
        Assert.Equal(AzMiStatus.InvalidArgument, e.Status);
        Assert.Equal("direct: the proxy is turned off", AzMiLibrary.GetProxyRoute(Vault));
    }

    [Fact]
    public async Task TheWindowsSystemProxy_IsUsedWhenNoVariableIsSet()
    {
        if (!OperatingSystem.IsWindows())
        {
            Assert.Skip("Windows' system proxy is read on Windows only");
            return;
        }
        using Tinyproxy proxy = Tinyproxy.Start();
        using var internetOptions = InternetOptions.Set($"127.0.0.1:{proxy.Port}", "<-loopback>");
        foreach (string name in ProxyVariables.Concat(["http_proxy", "HTTP_PROXY"]))
        {
            Environment.SetEnvironmentVariable(name, null);
        }

        AzMiLibrary.SetProxyFromEnvironment();
        using AzMiIdentity id = ManagedIdentity.CreateSystemAssigned();
        string secret = await id.KeyVault(Vault).GetSecretAsync("mi-test");

        Assert.True(secret == "Hello from Key Vault", "the value differs (not printed)");
        Assert.Equal($"through the proxy {proxy.Url} (from the Windows proxy settings (Internet Options))", AzMiLibrary.GetProxyRoute(Vault));
        Assert.Contains("\"source\":\"system\"", AzMiLibrary.GetProxySettingsJson());
        Assert.NotEmpty(proxy.Connects);
        Assert.False(proxy.SawPort(env.Emulator.Port), proxy.Log);
    }

    /// <summary>
    /// The user's Internet Options proxy as Windows keeps it and WinHTTP reads it
    /// (<c>DefaultConnectionSettings</c>: magic 0x46, a counter, flags 3 = direct | proxy, then
    /// each string after its length), set for a test and put back on dispose.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("windows")]
    private sealed class InternetOptions : IDisposable
    {
        private const string Name = "DefaultConnectionSettings";
        private readonly Microsoft.Win32.RegistryKey _key;
        private readonly object? _saved;

        private InternetOptions(Microsoft.Win32.RegistryKey key)
        {
            _key = key;
            _saved = key.GetValue(Name);
        }

        public static InternetOptions Set(string proxy, string bypass)
        {
            var options = new InternetOptions(Microsoft.Win32.Registry.CurrentUser.CreateSubKey(
                @"Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections"));
            var bytes = new List<byte>();
            foreach (int number in new[] { 0x46, 0, 3 })
            {
                bytes.AddRange(BitConverter.GetBytes(number));
            }
            foreach (string text in new[] { proxy, bypass, "" })
            {
                bytes.AddRange(BitConverter.GetBytes(text.Length));
                bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(text));
            }
            options._key.SetValue(Name, bytes.ToArray(), Microsoft.Win32.RegistryValueKind.Binary);
            return options;
        }

        public void Dispose()
        {
            if (_saved is null)
            {
                _key.DeleteValue(Name, throwOnMissingValue: false);
            }
            else
            {
                _key.SetValue(Name, _saved, Microsoft.Win32.RegistryValueKind.Binary);
            }
            _key.Dispose();
        }
    }
}
