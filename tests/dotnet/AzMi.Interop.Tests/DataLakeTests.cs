using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>Data Lake Storage Gen1 (WebHDFS at <c>https://127.0.0.1:port/webhdfs/v1</c>).</summary>
public sealed class Gen1DataLakeTests(EmulatorFixture emulator)
    : DataLakeTests(emulator, AzMiDataLakeProtocol.Gen1), IClassFixture<EmulatorFixture>
{
    protected override string AccountUrl => Emulator.Gen1Url;
    protected override string FilePermission => "770";
    protected override string NotFoundCode => "FileNotFoundException";
    protected override int PageSize => 4000;

    protected override Func<RecordedRequest, bool> IsListingOf(string path) => r =>
        r.Path == "/webhdfs/v1" + path && r.QueryValues("op").Any(op => op.Equals("LISTSTATUS", StringComparison.OrdinalIgnoreCase));

    [Fact]
    public void Auto_RecognisesAWebHdfsUrl()
    {
        using var lake = new AzMiDataLake(AccountUrl, AzMiDataLakeProtocol.Auto, Identity);

        Assert.Equal(AzMiDataLakeProtocol.Gen1, lake.Protocol);
        Assert.Equal(AccountUrl, lake.BaseUrl);
    }
}

/// <summary>Data Lake Storage Gen2 (DFS, filesystem <c>fs</c> at <c>https://127.0.0.1:port/fs</c>).</summary>
public sealed class Gen2DataLakeTests(EmulatorFixture emulator)
    : DataLakeTests(emulator, AzMiDataLakeProtocol.Gen2), IClassFixture<EmulatorFixture>
{
    protected override string AccountUrl => Emulator.Gen2Url;
    protected override string FilePermission => "rw-r-----";
    protected override string NotFoundCode => "PathNotFound";
    protected override int PageSize => 5000;

    protected override Func<RecordedRequest, bool> IsListingOf(string path) => r =>
        r.Method == "GET" && r.Path == "/fs" && r.QueryValues("directory").Any(d => d.TrimStart('/') == path.TrimStart('/'));
}

/// <summary>
/// The Data Lake functions of include/azmi.h from C#, through <see cref="AzMiDataLake"/> (and
/// the raw ABI where the test is about the ABI), against azmi-emulator over HTTPS. Every test
/// runs for Gen1 and Gen2; each class has its own emulator, whose CA azmi is told to trust
/// with azmi_set_ca_file.
/// </summary>
public abstract class DataLakeTests : IDisposable
{
    private const int TwentyMegabytes = 20 * 1024 * 1024;
    private static readonly TimeSpan CancelDeadline = TimeSpan.FromSeconds(2);

    private readonly AzMiDataLakeProtocol _protocol;
    private readonly TempFolder _local = new();

    protected DataLakeTests(EmulatorFixture emulator, AzMiDataLakeProtocol protocol)
    {
        Emulator = emulator;
        _protocol = protocol;
        EmulatorCa.Trust(emulator);
        Identity = Native.Identity(emulator);
    }

    protected EmulatorFixture Emulator { get; }

    /// <summary>The system-assigned identity at this class's emulator.</summary>
    protected AzMiIdentityHandle Identity { get; }

    protected abstract string AccountUrl { get; }

    /// <summary>The permission string a new file gets (the protocol's own notation).</summary>
    protected abstract string FilePermission { get; }

    /// <summary>The service's error code for a missing path.</summary>
    protected abstract string NotFoundCode { get; }

    /// <summary>Items per page of the service's listing (Gen1 LISTSTATUS 4000, Gen2 5000).</summary>
    protected abstract int PageSize { get; }

    /// <summary>Whether a recorded service request lists the directory <paramref name="path"/>.</summary>
    protected abstract Func<RecordedRequest, bool> IsListingOf(string path);

    protected AzMiDataLake Open(AzMiIdentityHandle? identity = null) => new(AccountUrl, _protocol, identity ?? Identity);

    public void Dispose()
    {
        Identity.Dispose();
        _local.Dispose();
        GC.SuppressFinalize(this);
    }

    // ---- the tutorial ------------------------------------------------------------------------

    [Fact]
    public void Tutorial_ListRoot_MakeFolder_UploadFile_ListIt_ReadItBack()
    {
        using AzMiDataLake lake = Open();
        Assert.Equal(_protocol, lake.Protocol);
        Assert.Equal(AccountUrl, lake.BaseUrl);

        List<AzMiDataLakeItem> root = lake.List("/").ToList();
        Assert.DoesNotContain(root, i => i.Name == "TestFolder");

        lake.Mkdir("/TestFolder");
        AzMiDataLakeItem folder = Assert.Single(lake.List("/"), i => i.Name == "TestFolder");
        Assert.True(folder.IsDirectory);
        Assert.Equal("/TestFolder", folder.Path);

        string local = _local.File("Test1.txt");
        File.WriteAllText(local, "Test file.");
        lake.Upload(local, "/TestFolder/Test1.txt");

        AzMiDataLakeItem file = Assert.Single(lake.List("/TestFolder"));
        Assert.Equal("Test1.txt", file.Name);
        Assert.Equal("/TestFolder/Test1.txt", file.Path);
        Assert.False(file.IsDirectory);
        Assert.Equal(10, file.Length);
        Assert.Equal(KnownIdentities.SystemObjectId, file.Owner);
        Assert.Equal(FilePermission, file.Permission);
        Assert.NotNull(file.Modified);
        Assert.InRange(file.Modified!.Value, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));

        Assert.Equal("Test file.", lake.ReadText("/TestFolder/Test1.txt"));
        AzMiDataLakeItem stat = lake.Stat("/TestFolder/Test1.txt");
        Assert.Equal((file.Name, file.Path, file.Length, file.IsDirectory), (stat.Name, stat.Path, stat.Length, stat.IsDirectory));
    }

    // ---- errors --------------------------------------------------------------------------------

    [Fact]
    public void ExistingFile_IsConflict_WithoutOverwrite_AndStaysAsItWas()
    {
        using AzMiDataLake lake = Open();
        const string remote = "/conflict/a.txt";
        lake.Create(remote, "first");
        string local = _local.File("second.txt");
        File.WriteAllText(local, "second");

        var create = Assert.Throws<AzMiException>(() => lake.Create(remote, "other"));
        var upload = Assert.Throws<AzMiException>(() => lake.Upload(local, remote));

        Assert.Equal(AzMiStatus.Conflict, create.Status);
        Assert.Equal(AzMiStatus.Conflict, upload.Status);
        Assert.Equal("first", lake.ReadText(remote));

        lake.Upload(local, remote, overwrite: true);
        Assert.Equal("second", lake.ReadText(remote));
        lake.Create(remote, "third", overwrite: true);
        Assert.Equal("third", lake.ReadText(remote));

        // Downloads refuse to replace a local file the same way.
        var download = Assert.Throws<AzMiException>(() => lake.Download(remote, local));
        Assert.Equal(AzMiStatus.Conflict, download.Status);
        Assert.Equal("second", File.ReadAllText(local));
        lake.Download(remote, local, overwrite: true);
        Assert.Equal("third", File.ReadAllText(local));
    }

    [Fact]
    public void MissingPath_IsNotFound_AndTheMessageNamesThePath()
    {
        using AzMiDataLake lake = Open();
        lake.Mkdir("/not-found");
        const string missing = "/not-found/missing-file.txt";
        var operations = new (string Name, Action Call)[]
        {
            ("Stat", () => lake.Stat(missing)),
            ("Read", () => lake.Read(missing)),
            ("List", () => lake.List(missing).ToList()),
            ("Append", () => lake.Append(missing, "x"u8)),
            ("Download", () => lake.Download(missing, _local.File("never.txt"))),
            ("Move", () => lake.Move(missing, "/not-found/elsewhere.txt")),
            ("Remove", () => lake.Remove(missing)),
        };

        var problems = new List<string>();
        foreach ((string name, Action call) in operations)
        {
            var ex = Record.Exception(call);
            if (ex is not AzMiException azmi)
            {
                problems.Add($"{name}: expected AzMiException NotFound, got {ex?.GetType().Name ?? "no exception"}: {ex?.Message}");
                continue;
            }
            if (azmi.Status != AzMiStatus.NotFound)
            {
                problems.Add($"{name}: status {azmi.Status}, expected NotFound: {azmi.Message}");
            }
            if (!azmi.Message.Contains(missing, StringComparison.Ordinal))
            {
                problems.Add($"{name}: the message does not name {missing}: {azmi.Message}");
            }
            if (azmi.HttpStatus != 404)
            {
                problems.Add($"{name}: HTTP status {azmi.HttpStatus}, expected 404");
            }
        }

        Assert.Empty(problems);
        Assert.False(File.Exists(_local.File("never.txt")));
        Assert.Empty(DataLakeFiles.Partials(_local.Path));
        Assert.Equal(NotFoundCode, Assert.Throws<AzMiException>(() => lake.Read(missing)).ServiceErrorCode);
        Assert.False(lake.Exists(missing));
    }

    // ---- names ---------------------------------------------------------------------------------

    public static readonly string[] SpecialNames =
    [
        "with space.txt",
        "plus+sign.txt",
        "comma,semi;colon.txt",
        "hash#question?.txt",
        "percent%20literal%.txt",
        "amp&equals=.txt",
        "quote'paren(bracket)[x]{y}.txt",
        "at@dollar$bang!tilde~.txt",
        "ümlaut-日本語-😀.txt",
    ];

    [Fact]
    public void SpecialCharacterNames_RoundTrip()
    {
        using AzMiDataLake lake = Open();
        const string folder = "/special chars & ünïcode + more";
        var problems = new List<string>();

        foreach (string name in SpecialNames)
        {
            string path = $"{folder}/{name}";
            try
            {
                lake.Create(path, name);
                AzMiDataLakeItem stat = lake.Stat(path);
                if (stat.Name != name || stat.Path != path || stat.Length != Encoding.UTF8.GetByteCount(name))
                {
                    problems.Add($"{name}: stat gave name '{stat.Name}', path '{stat.Path}', length {stat.Length}");
                }
                if (lake.ReadText(path) != name)
                {
                    problems.Add($"{name}: read back other content");
                }
                string local = _local.File("download.txt");
                lake.Download(path, local, overwrite: true);
                if (File.ReadAllText(local) != name)
                {
                    problems.Add($"{name}: downloaded other content");
                }
                string moved = $"{folder}/moved {name}";
                lake.Move(path, moved);
                if (lake.Exists(path) || lake.ReadText(moved) != name)
                {
                    problems.Add($"{name}: the move did not take");
                }
            }
            catch (AzMiException ex)
            {
                problems.Add($"{name}: {ex.Status}: {ex.Message}");
            }
        }

        // The folder's own name is special too, and the listing decodes every name.
        List<string> listed = lake.List(folder).Select(i => i.Name).Order(StringComparer.Ordinal).ToList();
        List<string> expected = SpecialNames.Select(n => "moved " + n).Order(StringComparer.Ordinal).ToList();
        Assert.Empty(problems);
        Assert.Equal(expected, listed);
        Assert.Contains(lake.List("/"), i => i.Name == folder[1..] && i.IsDirectory);

        lake.Remove(folder, recursive: true);
        Assert.False(lake.Exists(folder));
    }

    // ---- large transfers ------------------------------------------------------------------

    [Fact]
    public void Upload_And_Download_20MB_WithMonotonicProgress()
    {
        using AzMiDataLake lake = Open();
        byte[] data = DataLakeFiles.RandomBytes(TwentyMegabytes, seed: 20);
        string source = _local.File("20MB.bin"), target = _local.File("20MB.copy");
        File.WriteAllBytes(source, data);
        const string remote = "/large/20MB.bin";
        int thread = Environment.CurrentManagedThreadId;

        var up = new ProgressLog();
        lake.Upload(source, remote, progress: up);

        // Gen1 sends at most 4 MiB per request, Gen2 8 MiB appends: several reports either way.
        up.AssertMonotonicTo(data.Length, thread, minReports: 3);
        Assert.Equal(data.Length, lake.Stat(remote).Length);

        var down = new ProgressLog();
        lake.Download(remote, target, progress: down);

        down.AssertMonotonicTo(data.Length, thread, minReports: 2);
        Assert.Equal(DataLakeFiles.Digest(data), DataLakeFiles.Digest(File.ReadAllBytes(target)));
        Assert.Empty(DataLakeFiles.Partials(_local.Path));
    }

    [Fact]
    public async Task FailedDownload_LeavesTheExistingFileByteIdentical()
    {
        byte[] remoteData = DataLakeFiles.RandomBytes(6 * 1024 * 1024, seed: 6);
        byte[] existing = DataLakeFiles.RandomBytes(100_000, seed: 7);
        string source = _local.File("remote.bin"), target = _local.File("existing.bin");
        File.WriteAllBytes(source, remoteData);
        File.WriteAllBytes(target, existing);
        DateTime writtenAt = File.GetLastWriteTimeUtc(target);
        const string remote = "/faulty/remote.bin";

        // A short retry budget, so that the service's failures end the download quickly.
        using AzMiIdentityHandle impatient = Native.Identity(Emulator);
        AzMiIdentityHandleExtensions.SetTimeouts(impatient, probeTimeoutMs: 1000, retryBudgetMs: 300, retryInitialDelayMs: 50);
        using AzMiDataLake lake = Open(impatient);
        lake.Upload(source, remote);
        lake.Stat(remote); // token cached; the next service request is the download's own stat

        AzMiException ex;
        await using (await Emulator.InjectServiceFaultsAsync(new { delay_ms = 0 }, new { status = 500, count = 1000 }))
        {
            ex = Assert.Throws<AzMiException>(() => lake.Download(remote, target, overwrite: true));
        }

        Assert.Equal(AzMiStatus.ServiceError, ex.Status);
        Assert.Equal(500, ex.HttpStatus);
        Assert.Contains(remote, ex.Message);
        Assert.Equal(DataLakeFiles.Digest(existing), DataLakeFiles.Digest(File.ReadAllBytes(target)));
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(target));
        Assert.Empty(DataLakeFiles.Partials(_local.Path));

        // With the service back, the same call replaces the file.
        lake.Download(remote, target, overwrite: true);
        Assert.Equal(DataLakeFiles.Digest(remoteData), DataLakeFiles.Digest(File.ReadAllBytes(target)));
    }

    // ---- cancellation ---------------------------------------------------------------------

    [Fact]
    public async Task Upload_CancelledFromAnotherThread_EndsAtOnce()
    {
        using AzMiDataLake lake = Open();
        string source = _local.File("held.bin");
        File.WriteAllBytes(source, DataLakeFiles.RandomBytes(1024 * 1024, seed: 1));
        lake.Mkdir("/cancel"); // token cached: what follows waits only for the held request
        long before = (await Emulator.GetServiceCountersAsync()).Requests;
        await using IAsyncDisposable faults = await Emulator.InjectServiceFaultsAsync(new { delay_ms = 30000 });

        using var cts = new CancellationTokenSource();
        Task upload = Task.Factory.StartNew(
            () => lake.Upload(source, "/cancel/held.bin", cancellationToken: cts.Token), TaskCreationOptions.LongRunning);
        await Native.WaitUntilAsync(async () => (await Emulator.GetServiceCountersAsync()).Requests > before,
            TimeSpan.FromSeconds(5), "the held request");
        Assert.False(upload.IsCompleted, "the upload returned before the 30 s delay could hold it");
        var clock = Stopwatch.StartNew();

        cts.Cancel();

        Assert.Same(upload, await Task.WhenAny(upload, Task.Delay(CancelDeadline)));
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => upload);
        Assert.True(clock.Elapsed < CancelDeadline, $"the cancelled upload took {clock.Elapsed.TotalSeconds:F2} s to return");
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(AzMiStatus.Cancelled, Assert.IsType<AzMiException>(ex.InnerException).Status);
    }

    [Fact]
    public void Download_CancelledMidTransferFromAnotherThread_LeavesTheExistingFile()
    {
        using AzMiDataLake lake = Open();
        byte[] existing = DataLakeFiles.RandomBytes(1000, seed: 3);
        string source = _local.File("big.bin"), target = _local.File("keep.bin");
        File.WriteAllBytes(source, DataLakeFiles.RandomBytes(TwentyMegabytes, seed: 2));
        File.WriteAllBytes(target, existing);
        lake.Upload(source, "/cancel/big.bin");

        using var cts = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        using var cancelled = new ManualResetEventSlim();
        // The first report after data arrived holds the download (briefly, on azmi's calling
        // thread) until another thread has cancelled it, so the cancel lands mid-transfer
        // however fast loopback is.
        var progress = new ProgressLog(done =>
        {
            if (done > 0 && !started.IsSet)
            {
                started.Set();
                cancelled.Wait(TimeSpan.FromSeconds(10));
            }
        });
        var canceller = new Thread(() =>
        {
            started.Wait(TimeSpan.FromSeconds(30));
            cts.Cancel();
            cancelled.Set();
        })
        { IsBackground = true, Name = "canceller" };
        canceller.Start();

        var ex = Assert.ThrowsAny<OperationCanceledException>(
            () => lake.Download("/cancel/big.bin", target, overwrite: true, progress, cts.Token));

        Assert.True(canceller.Join(TimeSpan.FromSeconds(5)));
        Assert.True(started.IsSet, "no progress report arrived with data");
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.InRange(progress.Values[^1], 1, TwentyMegabytes - 1);
        Assert.Equal(DataLakeFiles.Digest(existing), DataLakeFiles.Digest(File.ReadAllBytes(target)));
        Assert.Empty(DataLakeFiles.Partials(_local.Path));
    }

    [Fact]
    public void ProgressThatThrows_StopsTheUpload_AndTheExceptionIsRethrownAfterTheCall()
    {
        using AzMiDataLake lake = Open();
        string source = _local.File("progress.bin");
        File.WriteAllBytes(source, DataLakeFiles.RandomBytes(10 * 1024 * 1024, seed: 4));
        var boom = new InvalidOperationException("thrown by IProgress.Report");
        int reports = 0;
        var progress = new ProgressLog(done =>
        {
            reports++;
            if (done > 0)
            {
                throw boom;
            }
        });

        var thrown = Assert.Throws<InvalidOperationException>(() => lake.Upload(source, "/progress/throws.bin", progress: progress));

        Assert.Same(boom, thrown);
        Assert.Equal(2, reports); // 0, then the first chunk: nothing after the throw
        // The account is still usable, and the process survived the exception in a callback.
        lake.Upload(source, "/progress/throws.bin", overwrite: true);
        Assert.Equal(10 * 1024 * 1024, lake.Stat("/progress/throws.bin").Length);
    }

    // ---- listing ---------------------------------------------------------------------------

    private void CreateFiles(AzMiDataLake lake, string folder, int count)
    {
        for (int i = 0; i < count; i++)
        {
            lake.Create($"{folder}/f{i:D2}", $"{i}", overwrite: true);
        }
    }

    [Fact]
    public void RawList_CallbackReturningFalse_StopsWithCancelled()
    {
        using AzMiDataLake lake = Open();
        CreateFiles(lake, "/stream-raw", 10);
        using var adls = OpenRaw();
        var names = new List<string>();
        NativeMethods.AzMiAdlsItemCallback callback = (_, item) =>
        {
            try
            {
                names.Add(Marshal.PtrToStringUTF8(NativeMethods.azmi_adls_item_name(item)) ?? "");
                return names.Count < 3;
            }
            catch
            {
                return false; // nothing may unwind into azmi
            }
        };

        AzMiStatus status = NativeMethods.azmi_adls_list(adls, "/stream-raw", 0, AzMiCancelHandle.Null, callback, IntPtr.Zero, out AzMiErrorHandle error);
        using (error)
        {
            GC.KeepAlive(callback);
            Assert.Equal(AzMiStatus.Cancelled, status);
            Assert.False(error.IsInvalid, "no error written for AZMI_CANCELLED");
            Assert.Equal(AzMiStatus.Cancelled, error.Status);
        }
        Assert.Equal(["f00", "f01", "f02"], names);
    }

    [Fact]
    public async Task RawList_CancelledFromAnotherThread()
    {
        using AzMiDataLake lake = Open();
        CreateFiles(lake, "/stream-cancel", 3);
        using AzMiAdlsHandle adls = OpenRaw();
        using AzMiCancelHandle cancel = AzMiCancelHandle.Create();
        int items = 0;
        NativeMethods.AzMiAdlsItemCallback callback = (_, _) => { items++; return true; };
        long before = (await Emulator.GetServiceCountersAsync()).Requests;
        await using IAsyncDisposable faults = await Emulator.InjectServiceFaultsAsync(new { delay_ms = 30000 });

        Task<AzMiStatus> call = Task.Factory.StartNew(() =>
        {
            AzMiStatus status = NativeMethods.azmi_adls_list(adls, "/stream-cancel", 0, cancel, callback, IntPtr.Zero, out AzMiErrorHandle error);
            error.Dispose();
            return status;
        }, TaskCreationOptions.LongRunning);
        await Native.WaitUntilAsync(async () => (await Emulator.GetServiceCountersAsync()).Requests > before,
            TimeSpan.FromSeconds(5), "the held listing request");
        Assert.False(call.IsCompleted, "the listing returned before the 30 s delay could hold it");
        var clock = Stopwatch.StartNew();

        cancel.Cancel();

        Assert.Same(call, await Task.WhenAny(call, Task.Delay(CancelDeadline)));
        Assert.True(clock.Elapsed < CancelDeadline, $"the cancelled listing took {clock.Elapsed.TotalSeconds:F2} s to return");
        Assert.Equal(AzMiStatus.Cancelled, await call);
        Assert.Equal(0, items);
        GC.KeepAlive(callback);
    }

    [Fact]
    public void List_Enumerable_StopsEarly_WithoutException()
    {
        using AzMiDataLake lake = Open();
        CreateFiles(lake, "/stream", 10);

        List<string> firstThree = lake.List("/stream").Take(3).Select(i => i.Name).ToList();

        Assert.Equal(["f00", "f01", "f02"], firstThree);
        // The stopped listing left nothing behind: the next one sees everything.
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"f{i:D2}"), lake.List("/stream").Select(i => i.Name));
    }

    [Fact]
    public void List_Callback_ReturnsFalse_AfterThree()
    {
        using AzMiDataLake lake = Open();
        CreateFiles(lake, "/stream-cb", 10);
        var seen = new List<string>();

        bool complete = lake.List("/stream-cb", item => { seen.Add(item.Name); return seen.Count < 3; });

        Assert.False(complete);
        Assert.Equal(["f00", "f01", "f02"], seen);
        Assert.True(lake.List("/stream-cb", _ => true));
    }

    [Fact]
    public void List_CallbackThatThrows_StopsTheListing_AndTheSameExceptionIsRethrown()
    {
        using AzMiDataLake lake = Open();
        CreateFiles(lake, "/stream-throw", 10);
        var boom = new InvalidOperationException("thrown in the item callback");
        int calls = 0;

        var thrown = Assert.Throws<InvalidOperationException>(() => lake.List("/stream-throw", _ =>
        {
            if (++calls == 3)
            {
                throw boom;
            }
            return true;
        }));

        Assert.Same(boom, thrown);
        Assert.Equal(3, calls);
        Assert.Equal(10, lake.List("/stream-throw").Count());
    }

    [Fact]
    public void List_LoopBodyMayCallAzmi_ButACallbackMayNot()
    {
        using AzMiDataLake lake = Open();
        CreateFiles(lake, "/stream-nested", 3);

        // foreach: the body runs on this thread, outside azmi's callback.
        var contents = new List<string>();
        foreach (AzMiDataLakeItem item in lake.List("/stream-nested"))
        {
            contents.Add(lake.ReadText(item.Path));
        }
        Assert.Equal(["0", "1", "2"], contents);

        // A callback runs inside the native call: azmi refuses to block there.
        var ex = Assert.Throws<AzMiException>(() => lake.List("/stream-nested", item => lake.ReadText(item.Path) != ""));
        Assert.Equal(AzMiStatus.RuntimeError, ex.Status);
    }

    [Fact]
    public async Task List_FollowsPages_AndStoppingEarlyFetchesNoFurtherPage()
    {
        using AzMiDataLake lake = Open();
        int count = PageSize + 7;
        // Created from four threads: a few seconds of small requests otherwise.
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            i => lake.Create($"/pages/p{i:D5}", ReadOnlySpan<byte>.Empty));

        List<string> names = lake.List("/pages").Select(i => i.Name).ToList();

        Assert.Equal(Enumerable.Range(0, count).Select(i => $"p{i:D5}"), names);
        Assert.Equal(2, (await Emulator.GetServiceRequestsAsync()).Count(IsListingOf("/pages")));

        await Emulator.ResetAsync();
        Assert.Equal(["p00000", "p00001", "p00002"], lake.List("/pages").Take(3).Select(i => i.Name));
        Assert.Equal(1, (await Emulator.GetServiceRequestsAsync()).Count(IsListingOf("/pages")));
    }

    [Fact]
    public void List_Recursive_ListsEverythingBelow()
    {
        using AzMiDataLake lake = Open();
        lake.Create("/tree/a/b/c.txt", "c");
        lake.Create("/tree/d.txt", "d");

        List<string> paths = lake.List("/tree", recursive: true).Select(i => i.Path).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(["/tree/a", "/tree/a/b", "/tree/a/b/c.txt", "/tree/d.txt"], paths);
    }

    // ---- other operations --------------------------------------------------------------

    [Fact]
    public void Append_ReadRanges_Move_Remove()
    {
        using AzMiDataLake lake = Open();
        lake.Create("/ops/log.txt", "Hello");
        lake.Append("/ops/log.txt", " world"u8);

        Assert.Equal("Hello world", lake.ReadText("/ops/log.txt"));
        Assert.Equal("world"u8.ToArray(), lake.Read("/ops/log.txt", offset: 6, length: 5));
        Assert.Empty(lake.Read("/ops/log.txt", offset: 11));
        lake.Create("/ops/empty.txt", ReadOnlySpan<byte>.Empty);
        Assert.Equal(0, lake.Stat("/ops/empty.txt").Length);
        Assert.Empty(lake.Read("/ops/empty.txt"));

        lake.Move("/ops/log.txt", "/ops/moved.txt");
        Assert.False(lake.Exists("/ops/log.txt"));
        Assert.Equal("Hello world", lake.ReadText("/ops/moved.txt"));
        Assert.Equal(AzMiStatus.Conflict, Assert.Throws<AzMiException>(() => lake.Move("/ops/moved.txt", "/ops/empty.txt")).Status);
        Assert.Equal("Hello world", lake.ReadText("/ops/moved.txt"));

        lake.Mkdir("/ops/deep/er/est");
        Assert.True(lake.Stat("/ops/deep/er").IsDirectory);
        lake.Mkdir("/ops/deep/er/est"); // an existing directory is fine

        Assert.Equal(AzMiStatus.Conflict, Assert.Throws<AzMiException>(() => lake.Remove("/ops")).Status);
        Assert.True(lake.Exists("/ops/moved.txt"));
        lake.Remove("/ops/moved.txt");
        Assert.False(lake.Exists("/ops/moved.txt"));
        lake.Remove("/ops", recursive: true);
        Assert.False(lake.Exists("/ops"));
    }

    [Fact]
    public void Mkdir_OverAFile_IsConflict()
    {
        using AzMiDataLake lake = Open();
        lake.Create("/mkdir-over-file/f", "x");

        var ex = Assert.Throws<AzMiException>(() => lake.Mkdir("/mkdir-over-file/f"));

        Assert.Equal(AzMiStatus.Conflict, ex.Status);
        Assert.False(lake.Stat("/mkdir-over-file/f").IsDirectory);
    }

    [Fact]
    public void DisposedAccount_ThrowsObjectDisposed()
    {
        AzMiDataLake lake = Open();
        lake.Dispose();

        Assert.Throws<ObjectDisposedException>(() => lake.Stat("/"));
        Assert.Throws<ObjectDisposedException>(() => lake.List("/"));
    }

    // ---- threads ---------------------------------------------------------------------------

    [Fact]
    public void ManyThreads_ShareOneAccount()
    {
        const int threads = 8;
        using AzMiDataLake lake = Open();
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(threads);

        Thread[] workers = Enumerable.Range(0, threads).Select(n => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                string folder = $"/threads/t{n}";
                byte[] data = DataLakeFiles.RandomBytes(1024 * 1024 + n, seed: 100 + n);
                string source = _local.File($"t{n}.bin"), target = _local.File($"t{n}.copy");
                File.WriteAllBytes(source, data);

                lake.Create($"{folder}/note.txt", $"thread {n}");
                lake.Upload(source, $"{folder}/data.bin");
                lake.Append($"{folder}/note.txt", "!"u8);
                if (lake.ReadText($"{folder}/note.txt") != $"thread {n}!")
                {
                    failures.Enqueue($"thread {n}: read another thread's note");
                }
                if (lake.List(folder).Count() != 2 || lake.Stat($"{folder}/data.bin").Length != data.Length)
                {
                    failures.Enqueue($"thread {n}: wrong listing or length");
                }
                lake.Download($"{folder}/data.bin", target);
                if (DataLakeFiles.Digest(File.ReadAllBytes(target)) != DataLakeFiles.Digest(data))
                {
                    failures.Enqueue($"thread {n}: downloaded other bytes");
                }
                lake.Move($"{folder}/data.bin", $"{folder}/done.bin");
                lake.Remove(folder, recursive: true);
            }
            catch (Exception ex)
            {
                failures.Enqueue($"thread {n}: {ex.GetType().Name}: {ex.Message}");
            }
        })
        { IsBackground = true, Name = $"adls-caller-{n}" }).ToArray();

        foreach (Thread t in workers)
        {
            t.Start();
        }
        foreach (Thread t in workers)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(60)), $"{t.Name} did not finish within 60 s");
        }

        Assert.Empty(failures);
        Assert.Empty(lake.List("/threads"));
    }

    /// <summary>A raw azmi_adls for tests of the ABI itself.</summary>
    private AzMiAdlsHandle OpenRaw()
    {
        AzMiStatus status = NativeMethods.azmi_adls_new(AccountUrl, (uint)_protocol, Identity, out AzMiAdlsHandle adls, out AzMiErrorHandle error);
        using (error)
        {
            Assert.True(status == AzMiStatus.Ok, $"azmi_adls_new: {status}: {error.Message}");
        }
        return adls;
    }
}

internal static class AzMiIdentityHandleExtensions
{
    /// <summary>azmi_identity_set_timeouts, asserting success.</summary>
    public static void SetTimeouts(AzMiIdentityHandle identity, uint probeTimeoutMs, uint retryBudgetMs, uint retryInitialDelayMs)
    {
        AzMiStatus status = NativeMethods.azmi_identity_set_timeouts(identity, probeTimeoutMs, retryBudgetMs, retryInitialDelayMs, out AzMiErrorHandle error);
        using (error)
        {
            Assert.True(status == AzMiStatus.Ok, $"azmi_identity_set_timeouts: {status}: {error.Message}");
        }
    }
}
