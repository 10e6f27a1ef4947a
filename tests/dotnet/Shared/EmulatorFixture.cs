using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AzMi.Testing;

/// <summary>
/// One azmi-emulator process on a free loopback port (docs/emulator.md). xunit creates one per
/// test class that asks for it with IClassFixture, so classes running in parallel never share
/// counters, faults or cached tokens; the process is killed on dispose.
/// </summary>
public partial class EmulatorFixture : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly HttpClient _admin;

    /// <summary>An emulator with its built-in identities and resources.</summary>
    public EmulatorFixture()
        : this(configJson: null)
    {
    }

    /// <summary>
    /// An emulator started with <c>--config</c> (docs/emulator.md: given keys replace the
    /// defaults), for a fixture that needs other resources than the built-in ones.
    /// </summary>
    protected EmulatorFixture(string? configJson)
        : this(configJson, source: null, sourceVariables: [])
    {
    }

    /// <summary>
    /// An emulator started with <c>--source</c> (docs/emulator.md, "Managed identity sources"):
    /// after the banner it prints the <c>export</c> lines of the variables a client of that
    /// source sets; <paramref name="sourceVariables"/> names those to wait for, and
    /// <see cref="SourceEnvironment"/> holds them. <paramref name="arguments"/> are passed on
    /// as they are (e.g. <c>--arc-tokens-dir</c>).
    /// </summary>
    protected EmulatorFixture(
        string? configJson, string? source, IReadOnlyCollection<string> sourceVariables, IReadOnlyCollection<string>? arguments = null)
    {
        string exe = RepoPaths.Artifact("AZMI_EMULATOR", "azmi-emulator");
        var psi = new ProcessStartInfo(exe)
        {
            ArgumentList = { "--port", "0" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (source is not null)
        {
            psi.ArgumentList.Add("--source");
            psi.ArgumentList.Add(source);
        }
        foreach (string argument in arguments ?? [])
        {
            psi.ArgumentList.Add(argument);
        }
        string? configFile = null;
        if (configJson is not null)
        {
            configFile = Path.Combine(Path.GetTempPath(), $"azmi-emulator-config-{Guid.NewGuid():N}.json");
            File.WriteAllText(configFile, configJson);
            psi.ArgumentList.Add("--config");
            psi.ArgumentList.Add(configFile);
        }
        try
        {
            _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exe}");
        }
        catch
        {
            DeleteQuietly(configFile);
            throw;
        }
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr) { _stderr.AppendLine(e.Data); }
            }
        };
        _process.BeginErrorReadLine();

        try
        {
            (Port, TokenUrl, AuthorityHost, CaFile, ServicesUrl, KeyVaultUrl, ArmEndpoint) = ReadBanner();
            SourceEnvironment = ReadExports(sourceVariables);
        }
        catch
        {
            Kill();
            throw;
        }
        finally
        {
            // Read before the banner is printed: not needed any more.
            DeleteQuietly(configFile);
        }

        _caRoots = new Lazy<X509Certificate2Collection>(
            () => new X509Certificate2Collection(X509Certificate2.CreateFromPem(File.ReadAllText(CaFile))));

        // Keep reading stdout so that a chatty emulator can never block on a full pipe.
        _ = _process.StandardOutput.ReadToEndAsync();
        _admin = new HttpClient { BaseAddress = new Uri(AuthorityHost), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>
    /// A handler trusting this emulator's CA for one client only (<see cref="CustomRootTrust"/>),
    /// for an Azure SDK client's <c>HttpClientTransport</c>. The CA is read once.
    /// </summary>
    public HttpClientHandler TrustingHandler() => CustomRootTrust.Handler(_caRoots.Value);

    private readonly Lazy<X509Certificate2Collection> _caRoots;

    /// <summary>The variables the <c>--source</c> banner lines export (empty for IMDS).</summary>
    public IReadOnlyDictionary<string, string> SourceEnvironment { get; }

    /// <summary>
    /// The <c>--source arc</c> emulator's tokens folder (the banner's <c>arc tokens folder</c>
    /// line), for azmi's <c>AZMI_ARC_TOKENS_DIR</c>; null for other sources.
    /// </summary>
    public string? ArcTokensDir { get; private set; }

    /// <summary>The port the emulator bound.</summary>
    public int Port { get; }

    /// <summary>The full IMDS token URL, as in the banner's AZMI_IMDS_ENDPOINT.</summary>
    public string TokenUrl { get; }

    /// <summary><c>http://127.0.0.1:port</c>, as in the banner's AZURE_POD_IDENTITY_AUTHORITY_HOST.</summary>
    public string AuthorityHost { get; }

    /// <summary>The PEM file of the CA this emulator generated at start (the banner's AZMI_CA_FILE).</summary>
    public string CaFile { get; }

    /// <summary><c>https://127.0.0.1:port</c> of the Data Lake services (the banner's last line).</summary>
    public string ServicesUrl { get; }

    /// <summary>The emulator's Key Vault, <c>https://127.0.0.1:port</c> (the banner's AZMI_KEYVAULT_URL).</summary>
    public string KeyVaultUrl { get; }

    /// <summary>The emulator's Resource Manager, <c>https://127.0.0.1:port</c> (the banner's AZMI_ARM_ENDPOINT).</summary>
    public string ArmEndpoint { get; }

    /// <summary>The Data Lake Storage Gen1 (WebHDFS) account URL: <c>https://127.0.0.1:port/webhdfs/v1</c>.</summary>
    public string Gen1Url => ServicesUrl + "/webhdfs/v1";

    /// <summary>The Data Lake Storage Gen2 URL of the built-in filesystem <c>fs</c>.</summary>
    public string Gen2Url => ServicesUrl + "/fs";

    /// <summary>GET /admin/counters.</summary>
    public async Task<EmulatorCounters> GetCountersAsync() =>
        await _admin.GetFromJsonAsync<EmulatorCounters>("/admin/counters")
        ?? throw new InvalidDataException("empty /admin/counters answer");

    /// <summary>How many token requests the emulator has received (faulted ones included).</summary>
    public async Task<long> TokenRequestsAsync() => (await GetCountersAsync()).TokenRequests;

    /// <summary>POST /admin/faults: replaces the fault queue, e.g. <c>new { delay_ms = 30000 }</c>.</summary>
    public async Task SetFaultsAsync(params object[] faults)
    {
        using HttpResponseMessage response = await _admin.PostAsJsonAsync("/admin/faults", new { faults });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Queues faults for the scope of a test: disposing the result clears whatever is left of
    /// them, so a test that fails early cannot leave a 30 s delay for the next test.
    /// </summary>
    public async Task<IAsyncDisposable> InjectFaultsAsync(params object[] faults)
    {
        await SetFaultsAsync(faults);
        return new FaultScope(this);
    }

    private sealed class FaultScope(EmulatorFixture emulator) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await emulator.SetFaultsAsync();
    }

    /// <summary>POST /admin/reset: counters, request log and faults cleared.</summary>
    public async Task ResetAsync()
    {
        using HttpResponseMessage response = await _admin.PostAsync("/admin/reset", content: null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>POST /admin/service-faults: replaces the Data Lake services' fault queue.</summary>
    public async Task SetServiceFaultsAsync(params object[] faults)
    {
        using HttpResponseMessage response = await _admin.PostAsJsonAsync("/admin/service-faults", new { faults });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Service faults for the scope of a test (see <see cref="InjectFaultsAsync"/>).</summary>
    public async Task<IAsyncDisposable> InjectServiceFaultsAsync(params object[] faults)
    {
        await SetServiceFaultsAsync(faults);
        return new ServiceFaultScope(this);
    }

    private sealed class ServiceFaultScope(EmulatorFixture emulator) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await emulator.SetServiceFaultsAsync();
    }

    /// <summary>
    /// POST /admin/revoke: the tokens minted so far for the identity with this client, object or
    /// resource id (every identity for null) are revoked; the services answer them with a
    /// claims challenge from now on.
    /// </summary>
    public async Task RevokeTokensAsync(string? identity = null)
    {
        using HttpResponseMessage response = identity is null
            ? await _admin.PostAsJsonAsync("/admin/revoke", new { })
            : await _admin.PostAsJsonAsync("/admin/revoke", new { identity });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>GET /admin/service-counters: requests and body bytes of the HTTPS services.</summary>
    public async Task<ServiceCounters> GetServiceCountersAsync() =>
        await _admin.GetFromJsonAsync<ServiceCounters>("/admin/service-counters")
        ?? throw new InvalidDataException("empty /admin/service-counters answer");

    /// <summary>GET /admin/service-requests: the last 200 service requests, oldest first.</summary>
    public async Task<IReadOnlyList<RecordedRequest>> GetServiceRequestsAsync()
    {
        JsonArray list = await _admin.GetFromJsonAsync<JsonArray>("/admin/service-requests")
            ?? throw new InvalidDataException("empty /admin/service-requests answer");
        return list.Select(RecordedRequest.From).ToList();
    }

    /// <summary>GET /admin/requests: the last token requests, oldest first.</summary>
    public async Task<IReadOnlyList<RecordedRequest>> GetRequestsAsync()
    {
        JsonArray list = await _admin.GetFromJsonAsync<JsonArray>("/admin/requests")
            ?? throw new InvalidDataException("empty /admin/requests answer");
        return list.Select(RecordedRequest.From).ToList();
    }

    public virtual void Dispose()
    {
        // A clean stop first: the emulator then removes its temporary folders (the CA, and file
        // contents with --data-dir), which a kill would leave behind in /tmp.
        try
        {
            using HttpResponseMessage _ = _admin.PostAsync("/admin/shutdown", content: null).GetAwaiter().GetResult();
            _process.WaitForExit(3000);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            // Not answering: the kill below ends it.
        }
        _admin.Dispose();
        Kill();
        _process.Dispose();
    }

    /// <summary>What the emulator wrote to stderr so far, for failure messages.</summary>
    public string Stderr
    {
        get { lock (_stderr) { return _stderr.ToString(); } }
    }

    private (int Port, string TokenUrl, string AuthorityHost, string CaFile, string ServicesUrl, string KeyVaultUrl, string ArmEndpoint) ReadBanner()
    {
        // The banner is seven lines, written at once (emulator/src/main.rs): the `export` lines
        // and "azmi-emulator services on <https url>" are the contract.
        string? tokenUrl = null, authorityHost = null, caFile = null, servicesUrl = null, keyVaultUrl = null, armEndpoint = null;
        var deadline = Stopwatch.StartNew();
        while (tokenUrl is null || authorityHost is null || caFile is null || servicesUrl is null || keyVaultUrl is null || armEndpoint is null)
        {
            Task<string?> next = _process.StandardOutput.ReadLineAsync();
            TimeSpan left = StartTimeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero || !next.Wait(left))
            {
                throw new TimeoutException($"azmi-emulator printed no banner within {StartTimeout.TotalSeconds} s. stderr:\n{Stderr}");
            }
            string? line = next.Result;
            if (line is null)
            {
                _process.WaitForExit(1000);
                throw new InvalidOperationException(
                    $"azmi-emulator exited before printing its banner (exit code {(_process.HasExited ? _process.ExitCode : -1)}). stderr:\n{Stderr}");
            }
            const string endpointPrefix = "export AZMI_IMDS_ENDPOINT=";
            const string hostPrefix = "export AZURE_POD_IDENTITY_AUTHORITY_HOST=";
            const string caPrefix = "export AZMI_CA_FILE=";
            const string servicesPrefix = "azmi-emulator services on ";
            const string keyVaultPrefix = "export AZMI_KEYVAULT_URL=";
            const string armPrefix = "export AZMI_ARM_ENDPOINT=";
            if (line.StartsWith(keyVaultPrefix, StringComparison.Ordinal))
            {
                keyVaultUrl = line[keyVaultPrefix.Length..].Trim();
            }
            else if (line.StartsWith(armPrefix, StringComparison.Ordinal))
            {
                armEndpoint = line[armPrefix.Length..].Trim();
            }
            else if (line.StartsWith(caPrefix, StringComparison.Ordinal))
            {
                caFile = line[caPrefix.Length..].Trim();
            }
            else if (line.StartsWith(servicesPrefix, StringComparison.Ordinal))
            {
                servicesUrl = line[servicesPrefix.Length..].Trim().TrimEnd('/');
            }
            else if (line.StartsWith(endpointPrefix, StringComparison.Ordinal))
            {
                tokenUrl = line[endpointPrefix.Length..].Trim();
            }
            else if (line.StartsWith(hostPrefix, StringComparison.Ordinal))
            {
                authorityHost = line[hostPrefix.Length..].Trim();
            }
        }

        Match m = PortInUrl().Match(tokenUrl);
        if (!m.Success)
        {
            throw new FormatException($"unexpected AZMI_IMDS_ENDPOINT in the banner: {tokenUrl}");
        }
        return (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), tokenUrl, authorityHost, caFile, servicesUrl, keyVaultUrl, armEndpoint);
    }

    private Dictionary<string, string> ReadExports(IReadOnlyCollection<string> names)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var deadline = Stopwatch.StartNew();
        while (!names.All(found.ContainsKey))
        {
            Task<string?> next = _process.StandardOutput.ReadLineAsync();
            TimeSpan left = StartTimeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero || !next.Wait(left) || next.Result is null)
            {
                throw new TimeoutException($"azmi-emulator did not export {string.Join(", ", names)}. stderr:\n{Stderr}");
            }
            string line = next.Result;
            const string export = "export ";
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith(export, StringComparison.Ordinal) && eq > export.Length)
            {
                found[line[export.Length..eq]] = line[(eq + 1)..].Trim();
            }
            const string arcFolder = "azmi-emulator arc tokens folder ";
            if (line.StartsWith(arcFolder, StringComparison.Ordinal))
            {
                ArcTokensDir = line[arcFolder.Length..].Trim();
            }
        }
        return found;
    }

    private static void DeleteQuietly(string? file)
    {
        try
        {
            if (file is not null)
            {
                File.Delete(file);
            }
        }
        catch (IOException)
        {
            // A leftover temporary file is harmless.
        }
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone: nothing to clean up.
        }
    }

    [GeneratedRegex(@"^http://127\.0\.0\.1:(\d+)/metadata/identity/oauth2/token$")]
    private static partial Regex PortInUrl();
}

/// <summary>The answer of GET /admin/counters.</summary>
public sealed record EmulatorCounters(
    [property: System.Text.Json.Serialization.JsonPropertyName("token_requests")] long TokenRequests,
    [property: System.Text.Json.Serialization.JsonPropertyName("tokens_issued")] long TokensIssued);

/// <summary>The answer of GET /admin/service-counters (bytes are request and response body bytes).</summary>
public sealed record ServiceCounters(
    [property: System.Text.Json.Serialization.JsonPropertyName("requests")] long Requests,
    [property: System.Text.Json.Serialization.JsonPropertyName("bytes_received")] long BytesReceived,
    [property: System.Text.Json.Serialization.JsonPropertyName("bytes_sent")] long BytesSent,
    [property: System.Text.Json.Serialization.JsonPropertyName("claims_challenges")] long ClaimsChallenges = 0);

/// <summary>One entry of GET /admin/requests or /admin/service-requests.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers)
{
    /// <summary>A header's value; names compare case-insensitively like HTTP does.</summary>
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>The decoded values of a query parameter, in order.</summary>
    public IReadOnlyList<string> QueryValues(string name) =>
        Query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Where(kv => Uri.UnescapeDataString(kv[0]) == name)
            .Select(kv => kv.Length > 1 ? Uri.UnescapeDataString(kv[1].Replace('+', ' ')) : "")
            .ToList();

    internal static RecordedRequest From(JsonNode? node)
    {
        JsonObject o = node?.AsObject() ?? throw new InvalidDataException("null entry in /admin/requests");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (o["headers"] is JsonObject h)
        {
            foreach ((string key, JsonNode? value) in h)
            {
                headers[key] = value?.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value?.ToJsonString() ?? "";
            }
        }
        return new RecordedRequest(
            (string?)o["method"] ?? "",
            (string?)o["path"] ?? "",
            (string?)o["query"] ?? "",
            headers);
    }
}
