using System.Security.Cryptography;
using System.Text;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Blob storage through the package against Azurite (HTTPS, <c>--oauth basic</c>): the README's
/// <c>id.Blob(uri).DownloadToAsync(path, progress, ct)</c> with the identity's token, and the
/// SAS tutorial (listServiceSas, then a blob URL carrying the SAS).
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class BlobTests : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly AzuriteFixture _azurite;
    private readonly string _folder = Directory.CreateTempSubdirectory("azmi-package-blob-").FullName;

    public BlobTests(PackageEnvironment env, AzuriteFixture azurite)
    {
        _azurite = azurite;
        env.Trust(azurite.CertFile); // AzMiLibrary.SetCaFile with the bundle
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task UploadFrom_DownloadTo_WithProgress_ByUrl()
    {
        using AzMiIdentity id = ManagedIdentity.CreateSystemAssigned();
        using (BlobAccountClient account = id.BlobAccount(_azurite.Url))
        {
            await account.CreateContainerAsync("tutorial");
            Assert.False(await account.CreateContainerAsync("tutorial"));
        }

        byte[] content = RandomNumberGenerator.GetBytes(9 * 1024 * 1024); // one Put Blob streamed from the file
        string local = Path.Combine(_folder, "x.bin");
        File.WriteAllBytes(local, content);
        using AzMiBlobClient blob = id.Blob(new Uri($"{_azurite.Url}/tutorial/x.bin"));
        Assert.Equal("tutorial/x.bin", blob.ToString());

        var up = new ProgressLog();
        await blob.UploadFromAsync(local, up, CancellationToken.None);
        Assert.Equal(content.Length, up.Reports[^1].BytesTransferred);

        string copy = Path.Combine(_folder, "copy.bin");
        var down = new ProgressLog();
        await blob.DownloadToAsync(copy, down, CancellationToken.None);
        Assert.Equal(content.Length, down.Reports[^1].BytesTransferred);
        Assert.True(SHA256.HashData(content).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(copy))), "the copy differs");

        await Assert.ThrowsAsync<AzMiConflictException>(() => blob.UploadFromAsync(local));
        await blob.WriteAsync("small"u8.ToArray(), overwrite: true);
        Assert.Equal("small", Encoding.UTF8.GetString(await blob.ReadAsync()));
    }

    [Fact]
    public async Task Sas_FromListServiceSas_UploadAndDownload()
    {
        using (BlobAccountClient account = ManagedIdentity.SystemAssigned.BlobAccount(_azurite.Url))
        {
            await account.CreateContainerAsync("sas");
        }
        string sas = await ManagedIdentity.SystemAssigned.Arm.ListServiceSasAsync(
            KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, ArmTests.SasRequest("sas"));

        string test = Path.Combine(_folder, "test.txt");
        File.WriteAllText(test, "Hello world! :)\n");
        using AzMiBlobClient blob = ManagedIdentity.SystemAssigned.Blob(new Uri($"{_azurite.Url}/sas/test.txt?{sas}"));
        await blob.UploadFromAsync(test);
        string test2 = Path.Combine(_folder, "test2.txt");
        await blob.DownloadToAsync(test2);
        Assert.Equal("Hello world! :)\n", File.ReadAllText(test2));

        using AzMiBlobClient elsewhere = ManagedIdentity.SystemAssigned.Blob(_azurite.Url, "tutorial", "denied.txt", sas);
        var e = await Assert.ThrowsAsync<AzMiPermissionDeniedException>(() => elsewhere.WriteAsync(new byte[] { 1 }));
        string signature = sas.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..];
        Assert.False(e.Message.Contains(signature, StringComparison.Ordinal), "the message shows the SAS signature");
    }

    [Fact]
    public async Task MissingBlob_IsAzMiNotFoundException()
    {
        using AzMiBlobClient blob = ManagedIdentity.SystemAssigned.Blob(_azurite.Url, "tutorial", "nothing-" + Guid.NewGuid().ToString("N"));
        await blob.Account.CreateContainerAsync("tutorial");
        var e = await Assert.ThrowsAsync<AzMiNotFoundException>(() => blob.ReadAsync());
        Assert.Equal(404, e.HttpStatus);
    }
}
