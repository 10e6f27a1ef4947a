namespace AzMi.Package.Tests;

/// <summary>
/// <c>id.Blob(Uri)</c> splits a blob URL the way the storage service does: virtual-host style
/// on a DNS name, path-style (account first) on an IP address or localhost. Nothing is sent
/// until an operation runs, so these need no service.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class BlobUriTests
{
    [Theory]
    [InlineData("https://acct.blob.core.windows.net/c/x.bin", "c", "x.bin")]
    [InlineData("https://acct.blob.core.windows.net/data/2026/01/report%20final.csv?sv=2023-11-03&sig=abc", "data", "2026/01/report final.csv")]
    [InlineData("https://127.0.0.1:10000/devstoreaccount1/tutorial/hello_world.txt", "tutorial", "hello_world.txt")]
    [InlineData("https://localhost:10000/devstoreaccount1/tutorial/a/b.txt", "tutorial", "a/b.txt")]
    public void BlobUrl_GivesContainerAndName(string url, string container, string name)
    {
        using AzMiBlobClient blob = ManagedIdentity.SystemAssigned.Blob(new Uri(url));
        Assert.Equal(container, blob.ContainerName);
        Assert.Equal(name, blob.Name);
        Assert.DoesNotContain("sig", blob.ToString());
    }

    [Theory]
    [InlineData("https://acct.blob.core.windows.net/containeronly")]
    [InlineData("https://127.0.0.1:10000/devstoreaccount1/tutorial")]
    public void BlobUrl_WithoutAName_IsAnArgumentException(string url)
    {
        Assert.Throws<ArgumentException>(() => ManagedIdentity.SystemAssigned.Blob(new Uri(url)));
    }

    [Fact]
    public void PlainHttp_OffLoopback_IsInsecureRequest()
    {
        var e = Assert.Throws<AzMiException>(() => ManagedIdentity.SystemAssigned.Blob(new Uri("http://acct.blob.core.windows.net/c/x.bin")));
        Assert.Equal(AzMiStatus.InsecureRequest, e.Status);
    }
}
