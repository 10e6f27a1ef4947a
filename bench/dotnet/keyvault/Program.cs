// Key Vault per-call benchmark (bench/keyvault-bench.sh). Figures, not a test.
//
//   KeyVaultBench sdk  <vault-url> <secret> <calls> <warm-up> <ca-file>
//   KeyVaultBench azmi <vault-url> <secret> <calls> <warm-up> <libazmi.so>
//
// sdk:  Azure.Security.KeyVault.Secrets' SecretClient.GetSecret (synchronous) with
//       ManagedIdentityCredential (system-assigned; IMDS from AZURE_POD_IDENTITY_AUTHORITY_HOST),
//       its HttpClient trusting the emulator's CA, DisableChallengeResourceVerification (the
//       challenge names https://vault.azure.net; the vault is on 127.0.0.1); otherwise defaults.
// azmi: azmi_keyvault_get through DllImport (the CA and IMDS from AZMI_CA_FILE /
//       AZMI_IMDS_ENDPOINT), the value copied into a .NET string as a .NET caller would.
// Both: <warm-up> calls first (challenge, token, connection), then <calls> timed calls.
// Prints "<tool> <calls> calls mean <µs> median <µs> p99 <µs> min <µs> total <s>". Never the value.
using System.Diagnostics;
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;

if (args.Length != 6 || (args[0] != "sdk" && args[0] != "azmi"))
{
    Console.Error.WriteLine("usage: KeyVaultBench sdk|azmi <vault-url> <secret> <calls> <warm-up> <ca-file|libazmi.so>");
    return 2;
}
string vault = args[1], name = args[2];
int calls = int.Parse(args[3]), warmup = int.Parse(args[4]);

Func<int> get;
if (args[0] == "sdk")
{
    X509Certificate2 ca = X509Certificate2.CreateFromPem(File.ReadAllText(args[5]));
    var handler = new HttpClientHandler
    {
        ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null) return false;
            if (errors == SslPolicyErrors.None) return true;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && chain.Build(certificate);
        },
    };
    var options = new SecretClientOptions
    {
        Transport = new HttpClientTransport(handler),
        DisableChallengeResourceVerification = true,
    };
    var client = new SecretClient(new Uri(vault), new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned), options);
    get = () => client.GetSecret(name).Value.Value.Length;
}
else
{
    string lib = Path.GetFullPath(args[5]);
    NativeLibrary.SetDllImportResolver(Assembly.GetExecutingAssembly(),
        (libraryName, _, _) => libraryName == "azmi" ? NativeLibrary.Load(lib) : IntPtr.Zero);
    get = () =>
    {
        uint status = Azmi.azmi_keyvault_get(vault, name, null, null, IntPtr.Zero, IntPtr.Zero, out IntPtr secret, out IntPtr err);
        if (status != 0)
        {
            string message = Marshal.PtrToStringUTF8(Azmi.azmi_error_message(err)) ?? "";
            Azmi.azmi_error_free(err);
            throw new InvalidOperationException($"azmi_keyvault_get: {Marshal.PtrToStringUTF8(Azmi.azmi_status_name(status))}: {message}");
        }
        try
        {
            string value = Marshal.PtrToStringUTF8(Azmi.azmi_secret_value(secret), (int)Azmi.azmi_secret_value_len(secret));
            return value.Length;
        }
        finally
        {
            Azmi.azmi_secret_free(secret);
        }
    };
}

int expected = 0;
for (int i = 0; i < warmup; i++) expected = get();
var us = new double[calls];
double tick = 1e6 / Stopwatch.Frequency;
long start = Stopwatch.GetTimestamp();
for (int i = 0; i < calls; i++)
{
    long t0 = Stopwatch.GetTimestamp();
    int length = get();
    us[i] = (Stopwatch.GetTimestamp() - t0) * tick;
    if (length != expected) throw new InvalidOperationException("the value's length changed");
}
double total = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
Array.Sort(us);
int p99 = Math.Min(calls - 1, (int)(calls * 0.99));
Console.WriteLine(FormattableString.Invariant(
    $"{(args[0] == "sdk" ? "secretclient" : "azmi-dotnet")} {calls} calls mean {us.Average():F1} median {us[calls / 2]:F1} p99 {us[p99]:F1} min {us[0]:F1} total {total:F3}"));
return 0;

static class Azmi
{
    [DllImport("azmi")]
    public static extern uint azmi_keyvault_get([MarshalAs(UnmanagedType.LPUTF8Str)] string vault,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string? version,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string? apiVersion, IntPtr identity, IntPtr cancel, out IntPtr secret, out IntPtr err);
    [DllImport("azmi")] public static extern IntPtr azmi_secret_value(IntPtr secret);
    [DllImport("azmi")] public static extern nuint azmi_secret_value_len(IntPtr secret);
    [DllImport("azmi")] public static extern void azmi_secret_free(IntPtr secret);
    [DllImport("azmi")] public static extern IntPtr azmi_status_name(uint status);
    [DllImport("azmi")] public static extern IntPtr azmi_error_message(IntPtr err);
    [DllImport("azmi")] public static extern void azmi_error_free(IntPtr err);
}
