using System.Text;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// Blob storage through <see cref="AzMiBlob"/> against Azurite (HTTPS, <c>--oauth basic</c>):
/// the tutorials' flows. Storage: upload hello_world.txt with the managed identity's token and
/// read "Hello world! :)" back. SAS: mint a service SAS with listServiceSas (azmi-emulator's
/// Resource Manager, Azurite's account key), upload test.txt with it, download it to
/// test2.txt, same bytes.
/// </summary>
[Collection(ArmEndpointCollection.Name)]
public sealed class BlobTests : IClassFixture<EmulatorFixture>, IClassFixture<AzuriteFixture>, IDisposable
{
    private static readonly byte[] HelloWorld = Encoding.UTF8.GetBytes("Hello world! :)");

    private readonly AzuriteFixture _azurite;
    private readonly AzMiIdentityHandle _system;
    private readonly TempFolder _local = new();

    public BlobTests(EmulatorFixture emulator, AzuriteFixture azurite)
    {
        _azurite = azurite;
        EmulatorCa.Trust(emulator);
        EmulatorCa.Trust(azurite.CertFile);
        AzMiArm.SetEndpoint(emulator.ArmEndpoint);
        _system = Native.Identity(emulator);
    }

    public void Dispose()
    {
        _system.Dispose();
        _local.Dispose();
    }

    /// <summary>listServiceSas's body for read, create and write on <paramref name="container"/>, an hour long.</summary>
    internal static object SasRequest(string container) => new
    {
        canonicalizedResource = $"/blob/{AzuriteFixture.Account}/{container}",
        signedResource = "c",
        signedPermission = "rcw",
        signedProtocol = "https",
        signedExpiry = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public void Storage_UploadHelloWorldWithTheToken_ReadItBack()
    {
        using var blob = new AzMiBlob(_azurite.Url, identity: _system);
        Assert.True(blob.CreateContainer("tutorial"));
        Assert.False(blob.CreateContainer("tutorial"));

        string local = _local.File("hello_world.txt");
        File.WriteAllBytes(local, HelloWorld);
        var progress = new ProgressLog();
        blob.Upload(local, "tutorial", "hello_world.txt", progress: progress);
        Assert.Equal(HelloWorld.Length, progress.Values[^1]);

        Assert.Equal("Hello world! :)", Encoding.UTF8.GetString(blob.Read("tutorial", "hello_world.txt")));

        string copy = _local.File("hello_world_copy.txt");
        blob.Download("tutorial", "hello_world.txt", copy);
        Assert.Equal(HelloWorld, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Sas_FromListServiceSas_UploadTestTxt_DownloadTestTxt2_SameBytes()
    {
        using (var withToken = new AzMiBlob(_azurite.Url, identity: _system))
        {
            withToken.CreateContainer("sas");
        }
        string sas = new AzMiArm(_system).ListServiceSas(KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, SasRequest("sas"));
        Assert.StartsWith("sv=", sas);
        Assert.Contains("sig=", sas);

        using var blob = new AzMiBlob(_azurite.Url, sas);
        string test = _local.File("test.txt");
        byte[] content = Encoding.UTF8.GetBytes("Hello world! :)\n" + new string('x', 100_000));
        File.WriteAllBytes(test, content);
        blob.Upload(test, "sas", "test.txt");

        string test2 = _local.File("test2.txt");
        blob.Download("sas", "test.txt", test2);
        Assert.Equal(DataLakeFiles.Digest(File.ReadAllBytes(test)), DataLakeFiles.Digest(File.ReadAllBytes(test2)));
        Assert.Equal(content.Length, new FileInfo(test2).Length);
    }

    [Fact]
    public void Sas_ForAnotherContainer_IsRefused_AndNeverShown()
    {
        using (var withToken = new AzMiBlob(_azurite.Url, identity: _system))
        {
            withToken.CreateContainer("other");
        }
        string sas = new AzMiArm(_system).ListServiceSas(KnownIdentities.SubscriptionId, "azmi-rg", AzuriteFixture.Account, SasRequest("sas-elsewhere"));
        using var blob = new AzMiBlob(_azurite.Url, sas);

        AzMiException e = Assert.Throws<AzMiException>(() => blob.Write("other", "x.txt", HelloWorld));
        Assert.Equal(AzMiStatus.PermissionDenied, e.Status);
        string signature = sas.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..];
        Assert.DoesNotContain(signature, e.Message);
        Assert.DoesNotContain(Uri.UnescapeDataString(signature), e.Message);
    }

    [Fact]
    public void Overwrite_IsRefusedWithoutTheFlag_AndDoneWithIt()
    {
        using var blob = new AzMiBlob(_azurite.Url, identity: _system);
        blob.CreateContainer("overwrite");
        blob.Write("overwrite", "file.txt", "first"u8);

        AzMiException e = Assert.Throws<AzMiException>(() => blob.Write("overwrite", "file.txt", "second"u8));
        Assert.Equal(AzMiStatus.Conflict, e.Status);
        Assert.Equal("first", Encoding.UTF8.GetString(blob.Read("overwrite", "file.txt")));

        string local = _local.File("second.txt");
        File.WriteAllText(local, "second");
        e = Assert.Throws<AzMiException>(() => blob.Upload(local, "overwrite", "file.txt"));
        Assert.Equal(AzMiStatus.Conflict, e.Status);
        blob.Upload(local, "overwrite", "file.txt", overwrite: true);
        Assert.Equal("second", Encoding.UTF8.GetString(blob.Read("overwrite", "file.txt")));

        // A download never replaces an existing local file without the flag either.
        string target = _local.File("existing.txt");
        File.WriteAllText(target, "keep me");
        e = Assert.Throws<AzMiException>(() => blob.Download("overwrite", "file.txt", target));
        Assert.Equal(AzMiStatus.Conflict, e.Status);
        Assert.Equal("keep me", File.ReadAllText(target));
        blob.Download("overwrite", "file.txt", target, overwrite: true);
        Assert.Equal("second", File.ReadAllText(target));
    }

    [Fact]
    public void Read_MissingBlob_IsNotFound()
    {
        using var blob = new AzMiBlob(_azurite.Url, identity: _system);
        blob.CreateContainer("missing");
        AzMiException e = Assert.Throws<AzMiException>(() => blob.Read("missing", "nothing.txt"));
        Assert.Equal(AzMiStatus.NotFound, e.Status);
        Assert.Equal(404, e.HttpStatus);
    }
}
