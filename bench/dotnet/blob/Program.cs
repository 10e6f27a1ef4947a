// Azure.Storage.Blobs side of bench/blob-bench.sh. Figures, not a test.
//
//   BlobBench upload   <account-url> <ca-bundle> <local> <container> <name>
//   BlobBench download <account-url> <ca-bundle> <container> <name> <local>
//
// BlobClient.UploadAsync(path, overwrite: true) / DownloadToAsync(path) with the SDK's default
// transfer options, as a user would call them; ManagedIdentityCredential (system-assigned; IMDS
// from AZURE_POD_IDENTITY_AUTHORITY_HOST), the same token source azmi uses. The HttpClient
// trusts the certificates of <ca-bundle> (azmi-emulator's CA and Azurite's self-signed
// certificate) for this client only. Before the clock: CreateIfNotExists on the container (the
// token request and the first connection), as blob_bench does. Prints
// "<op> <bytes> bytes <seconds> s" for the transfer call only (and "setup <seconds> s" on stderr).
using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Azure.Core.Pipeline;
using Azure.Identity;
using Azure.Storage.Blobs;

if (args.Length != 6 || (args[0] != "upload" && args[0] != "download"))
{
    Console.Error.WriteLine("usage: BlobBench upload <account-url> <ca-bundle> <local> <container> <name>\n" +
                            "       BlobBench download <account-url> <ca-bundle> <container> <name> <local>");
    return 2;
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
