using System.Security.Cryptography;
using System.Text;
using AzMi.Testing;

namespace AzMi.Package.Tests;

/// <summary>
/// Data Lake Storage through the package against the emulator: Gen2 (DFS) create, list, read,
/// append, stat, conflict, delete and PathNotFound; Gen1 (WebHDFS) upload and download of a
/// local file with IProgress and a Stream copied in chunks.
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class DataLakeTests(PackageEnvironment env) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("azmi-package-adls-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Gen2_CreateListReadAppendStatDelete()
    {
        using DataLakeClient lake = ManagedIdentity.SystemAssigned.DataLake(env.Emulator.Gen2Url, DataLakeProtocol.Dfs);
        Assert.Equal(DataLakeProtocol.Dfs, lake.Protocol);
        string dir = "/pkg-" + Guid.NewGuid().ToString("N")[..8];

        await lake.CreateFileAsync($"{dir}/Test1.txt", Encoding.UTF8.GetBytes("Hello"));
        await lake.AppendAsync($"{dir}/Test1.txt", " world"u8.ToArray());
        await lake.AppendAsync($"{dir}/Test1.txt", new ReadOnlyMemory<byte>("!!"u8.ToArray()));
        await lake.CreateDirectoryAsync($"{dir}/Sub");

        List<DataLakeItem> items = await lake.ListAsync(dir).ToListAsync();
        Assert.Equal(["Sub", "Test1.txt"], items.Select(i => i.Name).Order(StringComparer.Ordinal));
        DataLakeItem file = items.Single(i => i.Name == "Test1.txt");
        Assert.False(file.IsDirectory);
        Assert.Equal(13, file.Length);
        Assert.Equal($"{dir}/Test1.txt", file.Path);
        Assert.True(items.Single(i => i.Name == "Sub").IsDirectory);

        Assert.Equal("Hello world!!", Encoding.UTF8.GetString(await lake.ReadAsync($"{dir}/Test1.txt")));
        Assert.Equal("world", Encoding.UTF8.GetString(await lake.ReadAsync($"{dir}/Test1.txt", offset: 6, length: 5)));
        DataLakeItem stat = await lake.GetItemAsync($"{dir}/Test1.txt");
        Assert.Equal(13, stat.Length);
        Assert.NotNull(stat.LastModified);

        var conflict = await Assert.ThrowsAsync<AzMiConflictException>(() => lake.CreateFileAsync($"{dir}/Test1.txt", new byte[] { 1 }));
        Assert.Equal(AzMiStatus.Conflict, conflict.Status);
        await lake.CreateFileAsync($"{dir}/Test1.txt", new byte[] { 1 }, overwrite: true);
        Assert.Equal(new byte[] { 1 }, await lake.ReadAsync($"{dir}/Test1.txt"));

        await lake.DeleteAsync(dir, recursive: true);
        var missing = await Assert.ThrowsAsync<AzMiNotFoundException>(() => lake.ReadAsync($"{dir}/Test1.txt"));
        Assert.Equal(404, missing.HttpStatus);
        Assert.Equal("PathNotFound", missing.ServiceErrorCode);
    }

    [Fact]
    public async Task Gen1_UploadAndDownloadAFile_WithProgress()
    {
        using AzMiIdentity id = ManagedIdentity.ForClientId(KnownIdentities.UamiClientId);
        using DataLakeClient lake = id.DataLake(env.Emulator.Gen1Url);
        Assert.Equal(DataLakeProtocol.WebHdfs, lake.Protocol);
        byte[] content = RandomNumberGenerator.GetBytes(9 * 1024 * 1024 + 17); // three Gen1 chunks
        string local = Path.Combine(_folder, "big.bin");
        File.WriteAllBytes(local, content);
        string remote = "/pkg-upload-" + Guid.NewGuid().ToString("N")[..8] + "/big.bin";

        var up = new ProgressLog();
        await lake.UploadAsync(local, remote, progress: up);
        Assert.True(up.Reports.Count >= 3, $"{up.Reports.Count} reports");
        Assert.Equal(content.Length, up.Reports[^1].BytesTransferred);
        Assert.Equal(content.Length, up.Reports[^1].TotalBytes);
        Assert.Equal(up.Reports.Select(r => r.BytesTransferred).Order(), up.Reports.Select(r => r.BytesTransferred));

        string copy = Path.Combine(_folder, "copy.bin");
        var down = new ProgressLog();
        await lake.DownloadAsync(remote, copy, progress: down);
        Assert.Equal(content.Length, down.Reports[^1].BytesTransferred);
        Assert.True(SHA256.HashData(content).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(copy))), "the copy differs");

        await Assert.ThrowsAsync<AzMiConflictException>(() => lake.DownloadAsync(remote, copy));
    }

    [Fact]
    public async Task Gen1_CreateFromAStream_InChunks()
    {
        using DataLakeClient lake = ManagedIdentity.SystemAssigned.DataLake(env.Emulator.Gen1Url);
        byte[] content = RandomNumberGenerator.GetBytes(5 * 1024 * 1024);
        string remote = "/pkg-stream-" + Guid.NewGuid().ToString("N")[..8] + ".bin";
        var progress = new ProgressLog();

        await lake.CreateFileAsync(remote, new MemoryStream(content), progress: progress);

        Assert.Equal([4 * 1024 * 1024, content.Length], progress.Reports.Select(r => r.BytesTransferred));
        await using Stream read = await lake.OpenReadAsync(remote);
        Assert.Equal(content.Length, read.Length);
        Assert.True(SHA256.HashData(content).AsSpan().SequenceEqual(SHA256.HashData(read)), "the file differs");
    }

    [Fact]
    public async Task CancellationToken_StopsAHeldUpload_AtOnce()
    {
        using DataLakeClient lake = ManagedIdentity.SystemAssigned.DataLake(env.Emulator.Gen1Url);
        string local = Path.Combine(_folder, "held.bin");
        File.WriteAllBytes(local, new byte[64 * 1024]);
        await using IAsyncDisposable faults = await env.Emulator.InjectServiceFaultsAsync(new { delay_ms = 30000, count = 50 });
        using var cts = new CancellationTokenSource();

        Task upload = lake.UploadAsync(local, "/pkg-held-" + Guid.NewGuid().ToString("N")[..8] + ".bin", cancellationToken: cts.Token);
        await Task.Delay(500);
        Assert.False(upload.IsCompleted, "the upload returned before the service delay could hold it");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => upload);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {clock.Elapsed}");
    }

    [Fact]
    public async Task ProgressThatThrows_StopsTheUpload_AndItsExceptionComesBack()
    {
        using DataLakeClient lake = ManagedIdentity.SystemAssigned.DataLake(env.Emulator.Gen1Url);
        string local = Path.Combine(_folder, "stop.bin");
        File.WriteAllBytes(local, new byte[9 * 1024 * 1024]);
        var progress = new ProgressLog(_ => throw new InvalidTimeZoneException("stop here"));

        var e = await Assert.ThrowsAsync<InvalidTimeZoneException>(
            () => lake.UploadAsync(local, "/pkg-stop-" + Guid.NewGuid().ToString("N")[..8] + ".bin", progress: progress));

        Assert.Equal("stop here", e.Message);
        Assert.Single(progress.Reports);
    }
}

/// <summary>Records every report synchronously, on the thread azmi reports from.</summary>
internal sealed class ProgressLog(Action<TransferProgress>? onReport = null) : IProgress<TransferProgress>
{
    private readonly List<TransferProgress> _reports = [];

    public IReadOnlyList<TransferProgress> Reports
    {
        get { lock (_reports) { return _reports.ToList(); } }
    }

    public void Report(TransferProgress value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
        onReport?.Invoke(value);
    }
}
