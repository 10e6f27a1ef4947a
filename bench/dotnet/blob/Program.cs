// .NET side of bench/blob-bench.sh: Azure.Storage.Blobs, and azmi through its .NET package.
// Figures, not a test.
//
//   BlobBench upload        <account-url> <ca-bundle> <local> <container> <name>
//   BlobBench download      <account-url> <ca-bundle> <container> <name> <local>
//   BlobBench azmi-upload   <account-url> <ca-bundle> <local> <container> <name>
//   BlobBench azmi-download <account-url> <ca-bundle> <container> <name> <local>
//
// upload/download: BlobClient.UploadAsync(path, overwrite: true) / DownloadToAsync(path) with the
// SDK's default transfer options, as a user would call them; ManagedIdentityCredential
// (system-assigned) from the managed identity endpoint the environment names
// (bench/blob-bench.sh gives it App Service's, served by an azmi-emulator). The HttpClient
// trusts the certificates of <ca-bundle> (azmi-emulator's CA and Azurite's self-signed
// certificate) for this client only.
// azmi-upload/azmi-download: the AzMi package (dotnet/AzMi, built from source with the native
// library of target/release) as a .NET user calls it: AzMiBlobClient.UploadFromAsync(path,
// overwrite: true) / DownloadToAsync(path, overwrite: true), the system-assigned identity from
// AZMI_IMDS_ENDPOINT, AzMiLibrary.SetCaFile(<ca-bundle>).
// Before the clock: creating the container (the token request and the first connection), as
// blob_bench does. Prints "<op> <bytes> bytes <seconds> s" for the transfer call only (and
// "setup <seconds> s" on stderr).
using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage.Blobs;

string[] ops = ["upload", "download", "azmi-upload", "azmi-download"];
if (args.Length != 6 || !ops.Contains(args[0]))
{
    Console.Error.WriteLine("usage: BlobBench [azmi-]upload <account-url> <ca-bundle> <local> <container> <name>\n" +
                            "       BlobBench [azmi-]download <account-url> <ca-bundle> <container> <name> <local>");
    return 2;
}
if (args[0].StartsWith("azmi-", StringComparison.Ordinal))
{
    return await AzMiBench.Run(args);
}
// BLOB_BENCH_LOG=1: the SDK's event log on stderr (diagnostics; never set for figures).
using var listener = Environment.GetEnvironmentVariable("BLOB_BENCH_LOG") == "1"
    ? Azure.Core.Diagnostics.AzureEventSourceListener.CreateConsoleLogger(System.Diagnostics.Tracing.EventLevel.Informational)
    : null;
string op = args[0], account = args[1].TrimEnd('/');
var trusted = new X509Certificate2Collection();
trusted.ImportFromPemFile(args[2]);
var thumbprints = trusted.Select(c => c.Thumbprint).ToHashSet();
var handler = new HttpClientHandler
{
    ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
    {
        if (certificate is null) return false;
        if (errors == SslPolicyErrors.None) return true;
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        // Azurite's certificate is self-signed: trusted as itself; otherwise a chain to the bundle.
        if (thumbprints.Contains(certificate.Thumbprint)) return true;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    },
};
var options = new BlobClientOptions { Transport = new HttpClientTransport(handler) };
var service = new BlobServiceClient(new Uri(account), new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned), options);

long setupStart = Stopwatch.GetTimestamp();
string container = op == "upload" ? args[4] : args[3];
string name = op == "upload" ? args[5] : args[4];
var containerClient = service.GetBlobContainerClient(container);
await containerClient.CreateIfNotExistsAsync();
var blob = containerClient.GetBlobClient(name);
// Set-up (token, connection, container) on stderr: not part of the transfer figure.
Console.Error.WriteLine(FormattableString.Invariant($"setup {Stopwatch.GetElapsedTime(setupStart).TotalSeconds:F3} s"));

long start = Stopwatch.GetTimestamp();
string local;
if (op == "upload")
{
    local = args[3];
    await blob.UploadAsync(local, overwrite: true);
}
else
{
    local = args[5];
    await blob.DownloadToAsync(local);
}
double secs = Stopwatch.GetElapsedTime(start).TotalSeconds;
Console.WriteLine(FormattableString.Invariant($"{op} {new FileInfo(local).Length} bytes {secs:F3} s"));
return 0;

/// <summary>The AzMi package's transfer calls, timed as the SDK's are.</summary>
static class AzMiBench
{
    public static async Task<int> Run(string[] args)
    {
        bool upload = args[0] == "azmi-upload";
        string account = args[1].TrimEnd('/');
        string container = upload ? args[4] : args[3];
        string name = upload ? args[5] : args[4];
        string local = upload ? args[3] : args[5];
        AzMi.AzMiLibrary.SetCaFile(args[2]);
        using var id = AzMi.ManagedIdentity.CreateSystemAssigned();

        long setupStart = Stopwatch.GetTimestamp();
        using (var accountClient = id.BlobAccount(account))
        {
            await accountClient.CreateContainerAsync(container);
        }
        using var blob = id.Blob(account, container, name);
        Console.Error.WriteLine(FormattableString.Invariant($"setup {Stopwatch.GetElapsedTime(setupStart).TotalSeconds:F3} s"));

        long start = Stopwatch.GetTimestamp();
        if (upload)
        {
            await blob.UploadFromAsync(local, overwrite: true);
        }
        else
        {
            await blob.DownloadToAsync(local, overwrite: true);
        }
        double secs = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Console.WriteLine(FormattableString.Invariant($"{args[0]} {new FileInfo(local).Length} bytes {secs:F3} s"));
        return 0;
    }
}
