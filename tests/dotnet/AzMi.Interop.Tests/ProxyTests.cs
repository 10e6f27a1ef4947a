using System.Runtime.InteropServices;
using System.Text.Json;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// The proxy of service requests through the raw ABI (azmi_set_proxy and its variants,
/// azmi_proxy_get, azmi_proxy_route, azmi_identity_proxy_route) against azmi-emulator's Key
/// Vault (HTTPS on loopback) and real tinyproxy instances whose logs are read. The setting is
/// process-wide, so these tests run alone (their collection runs after the parallel ones) and
/// each puts the environment's setting back.
/// </summary>
[Collection(ProcessWideProxy.Name)]
public sealed class ProxyTests : IClassFixture<EmulatorFixture>, IDisposable
{
    private readonly EmulatorFixture _emulator;
    private readonly AzMiIdentityHandle _identity;

    public ProxyTests(EmulatorFixture emulator)
    {
        _emulator = emulator;
        EmulatorCa.Trust(emulator);
        _identity = Native.Identity(emulator);
        // Short retries: a proxy that is down fails in a moment.
        Check(NativeMethods.azmi_identity_set_timeouts(_identity, 1000, 300, 10, out AzMiErrorHandle err), err);
    }

    public void Dispose()
    {
        Check(NativeMethods.azmi_set_proxy(null, null, out AzMiErrorHandle err), err);
        _identity.Dispose();
    }

    private int VaultPort => new Uri(_emulator.KeyVaultUrl).Port;

    [Fact]
    public void Https_GoesThroughAConnectTunnel_AndTheTokenEndpointNeverThroughTheProxy()
    {
        using Tinyproxy proxy = Tinyproxy.Start();
        Set(proxy.Url, null);

        GetSecret();

        Assert.NotEmpty(proxy.Connects);
        Assert.All(proxy.Connects, c => Assert.Equal($"127.0.0.1:{VaultPort}", c));
        Assert.False(proxy.SawPort(_emulator.Port), proxy.Log);
        Assert.Equal($"through the proxy {proxy.Url} (from the explicit setting)", Route(_emulator.KeyVaultUrl));
        Assert.Equal("direct: managed identity endpoints never go through a proxy", IdentityRoute());
    }

    [Fact]
    public void NoProxy_SendsTheVaultDirect_AndSaysWhy()
    {
        using Tinyproxy proxy = Tinyproxy.Start();
        Set(proxy.Url, "localhost, 127.0.0.1");

        GetSecret();

        Assert.Empty(proxy.Connects);
        Assert.Equal("direct: the no-proxy list given names '127.0.0.1'", Route(_emulator.KeyVaultUrl));

        SetEnvironment($"https_proxy={proxy.Url}", "no_proxy=127.0.0.0/8");
        GetSecret();
        Assert.Empty(proxy.Connects);
        Assert.Equal("direct: no_proxy names '127.0.0.0/8'", Route(_emulator.KeyVaultUrl));
    }

    [Fact]
    public void LowercaseVariables_AreReadFirst()
    {
        using Tinyproxy proxy = Tinyproxy.Start();
        SetEnvironment($"https_proxy={proxy.Url}", "HTTPS_PROXY=http://127.0.0.1:1", "PATH=/usr/bin");

        GetSecret();

        Assert.NotEmpty(proxy.Connects);
        Assert.Equal($"through the proxy {proxy.Url} (from https_proxy)", Route(_emulator.KeyVaultUrl));
    }

    [Fact]
    public void BasicCredentials_AreSentToTheProxy_AndNeverShown()
    {
        using Tinyproxy proxy = Tinyproxy.Start("alice", "s3cret");
        Set($"http://alice:s3cret@127.0.0.1:{proxy.Port}", null);
        GetSecret();
        Check(NativeMethods.azmi_set_proxy_with_credentials(proxy.Url, null, "alice", "s3cret", out AzMiErrorHandle err), err);
        GetSecret();

        Assert.NotEmpty(proxy.Connects);
        string route = Route(_emulator.KeyVaultUrl);
        Assert.Equal($"through the proxy {proxy.Url} (from the explicit setting, with credentials)", route);
        string json = ProxyJson();
        Assert.DoesNotContain("s3cret", json);
        Assert.DoesNotContain("alice", json);
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.True(doc.RootElement.GetProperty("https").GetProperty("credentials").GetBoolean());
    }

    [Fact]
    public void A407_NamesTheProxy_AndSaysHowToGiveCredentials()
    {
        using Tinyproxy proxy = Tinyproxy.Start("alice", "s3cret");
        Set(proxy.Url, null);

        (AzMiStatus status, int http, string message) = GetSecretFailure();

        Assert.Equal(AzMiStatus.ProxyError, status);
        Assert.Equal(407, http);
        Assert.Contains($"the proxy {proxy.Url} (from the explicit setting) asked for credentials (HTTP 407 Proxy Authentication Required", message);
        Assert.Contains("AzMiLibrary.SetProxy", message);
    }

    [Fact]
    public void AProxyThatIsDown_IsNamedWithItsHostAndPort()
    {
        string down = $"http://127.0.0.1:{Tinyproxy.FreePort()}";
        Set(down, null);

        (AzMiStatus status, int http, string message) = GetSecretFailure();

        Assert.Equal(AzMiStatus.ProxyError, status);
        Assert.Equal(0, http);
        Assert.Contains($"the proxy {down} (from the explicit setting) could not be reached", message);
    }

    [Fact]
    public void TheExplicitSetting_WinsOverTheEnvironment_UntilTheEnvironmentIsAskedFor()
    {
        using Tinyproxy proxy = Tinyproxy.Start();
        SetEnvironment("HTTPS_PROXY=http://127.0.0.1:1");
        Assert.StartsWith("through the proxy http://127.0.0.1:1 (from HTTPS_PROXY)", Route(_emulator.KeyVaultUrl));

        Set(proxy.Url, null);
        GetSecret();
        Assert.NotEmpty(proxy.Connects);

        Set("", null);
        Assert.Equal("direct: the proxy is turned off", Route(_emulator.KeyVaultUrl));
        using JsonDocument off = JsonDocument.Parse(ProxyJson());
        Assert.Equal("none", off.RootElement.GetProperty("source").GetString());

        // A setting that cannot be used changes nothing.
        Assert.Equal(AzMiStatus.InvalidArgument, NativeMethods.azmi_set_proxy("socks5://127.0.0.1:1080", null, out AzMiErrorHandle err));
        Assert.Contains("SOCKS", err.Message);
        err.Dispose();
        Assert.Equal("direct: the proxy is turned off", Route(_emulator.KeyVaultUrl));
    }

    private void GetSecret()
    {
        AzMiStatus status = NativeMethods.azmi_keyvault_get(
            _emulator.KeyVaultUrl, "mi-test", null, null, _identity, AzMiCancelHandle.Null, out AzMiSecretHandle secret, out AzMiErrorHandle error);
        using (secret)
        using (error)
        {
            Assert.True(status == AzMiStatus.Ok, error.IsInvalid ? status.ToString() : error.Message);
        }
    }

    private (AzMiStatus Status, int Http, string Message) GetSecretFailure()
    {
        AzMiStatus status = NativeMethods.azmi_keyvault_get(
            _emulator.KeyVaultUrl, "mi-test", null, null, _identity, AzMiCancelHandle.Null, out AzMiSecretHandle secret, out AzMiErrorHandle error);
        using (secret)
        using (error)
        {
            Assert.NotEqual(AzMiStatus.Ok, status);
            return (status, error.HttpStatus, error.Message);
        }
    }

    private static void Set(string? url, string? noProxy) =>
        Check(NativeMethods.azmi_set_proxy(url, noProxy, out AzMiErrorHandle err), err);

    private static void SetEnvironment(params string[] variables)
    {
        IntPtr[] utf8 = variables.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            Check(NativeMethods.azmi_set_proxy_environment(utf8, (nuint)utf8.Length, out AzMiErrorHandle err), err);
        }
        finally
        {
            foreach (IntPtr p in utf8)
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private static string Route(string url)
    {
        Check(NativeMethods.azmi_proxy_route(url, out AzMiStringHandle route, out AzMiErrorHandle err), err);
        using (route)
        {
            return route.Copy();
        }
    }

    private string IdentityRoute()
    {
        Check(NativeMethods.azmi_identity_proxy_route(_identity, out AzMiStringHandle route, out AzMiErrorHandle err), err);
        using (route)
        {
            return route.Copy();
        }
    }

    private static string ProxyJson()
    {
        Check(NativeMethods.azmi_proxy_get(out AzMiStringHandle json, out AzMiErrorHandle err), err);
        using (json)
        {
            return json.Copy();
        }
    }

    private static void Check(AzMiStatus status, AzMiErrorHandle err)
    {
        using (err)
        {
            Assert.True(status == AzMiStatus.Ok, err.IsInvalid ? status.ToString() : err.Message);
        }
    }
}

/// <summary>Tests that change azmi's process-wide proxy: run alone, after the parallel collections.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideProxy
{
    public const string Name = "process-wide proxy";
}
