using System.Runtime.InteropServices;

namespace AzMi.Interop;

/// <summary>
/// A storage account's blobs through libazmi's <c>azmi_blob_*</c> functions, with the machine's
/// managed identity or a SAS. Thread-safe; every call blocks its thread until done. Failures are
/// <see cref="AzMiException"/> (<see cref="AzMiStatus.Conflict"/> for an existing blob or local
/// file without <c>overwrite</c>, <see cref="AzMiStatus.NotFound"/>, …).
/// </summary>
public sealed class AzMiBlob : IDisposable
{
    private static readonly NativeMethods.AzMiProgressCallback s_onProgress = OnProgress;

    private readonly AzMiBlobHandle _blob;

    /// <summary>Opens an account (nothing is sent until an operation runs).</summary>
    /// <param name="account">A name (<c>contoso</c>) or blob URL (<c>https://127.0.0.1:10000/devstoreaccount1</c>).</param>
    /// <param name="sas">A SAS (copied by azmi; never in its messages), or null to use <paramref name="identity"/>'s tokens.</param>
    /// <param name="identity">Copied (may be disposed afterwards); null: the system-assigned identity of the native environment. Ignored with a SAS.</param>
    public AzMiBlob(string account, string? sas = null, AzMiIdentityHandle? identity = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        using var call = new AzMiCall(default);
        AzMiStatus status = NativeMethods.azmi_blob_new(account, sas, identity ?? AzMiIdentityHandle.Null, out AzMiBlobHandle blob, out AzMiErrorHandle error);
        try
        {
            call.Complete(status, error);
        }
        catch
        {
            blob.Dispose();
            throw;
        }
        _blob = blob;
    }

    /// <summary>Creates a container; false when it existed already.</summary>
    public bool CreateContainer(string container, CancellationToken cancellationToken = default)
    {
        using var call = Start(cancellationToken);
        call.Complete(NativeMethods.azmi_blob_create_container(_blob, container, call.Cancel, out bool created, out AzMiErrorHandle error), error);
        return created;
    }

    /// <summary>Uploads a local file to <paramref name="container"/>/<paramref name="name"/>, streaming it.</summary>
    public void Upload(string localPath, string container, string name, bool overwrite = false, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        using var call = Start(cancellationToken, progress);
        call.Complete(NativeMethods.azmi_blob_upload(
            _blob, localPath, container, name, Flags(overwrite), call.Cancel,
            progress is null ? null : s_onProgress, call.UserData, out AzMiErrorHandle error), error);
    }

    /// <summary>Downloads a blob to a local file (through a temporary file, checked, then renamed).</summary>
    public void Download(string container, string name, string localPath, bool overwrite = false, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        using var call = Start(cancellationToken, progress);
        call.Complete(NativeMethods.azmi_blob_download(
            _blob, container, name, localPath, Flags(overwrite), call.Cancel,
            progress is null ? null : s_onProgress, call.UserData, out AzMiErrorHandle error), error);
    }

    /// <summary>The whole blob in memory (at most 256 MiB).</summary>
    public byte[] Read(string container, string name, CancellationToken cancellationToken = default)
    {
        using var call = Start(cancellationToken);
        AzMiStatus status = NativeMethods.azmi_blob_read(_blob, container, name, call.Cancel, out AzMiBytesHandle bytes, out AzMiErrorHandle error);
        using (bytes)
        {
            call.Complete(status, error);
            return bytes.ToArray();
        }
    }

    /// <summary>Writes <paramref name="data"/> (pinned for the call, copied by azmi) as a block blob.</summary>
    public void Write(string container, string name, ReadOnlySpan<byte> data, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        using var call = Start(cancellationToken);
        call.Complete(NativeMethods.azmi_blob_write(
            _blob, container, name, in MemoryMarshal.GetReference(data), (nuint)data.Length, Flags(overwrite), call.Cancel, out AzMiErrorHandle error), error);
    }

    /// <summary>Frees the account. A call still running keeps it alive until it returns (SafeHandle reference counting).</summary>
    public void Dispose() => _blob.Dispose();

    private AzMiCall Start(CancellationToken cancellationToken, IProgress<long>? progress = null)
    {
        ObjectDisposedException.ThrowIf(_blob.IsClosed, this);
        return new AzMiCall(cancellationToken, progress is null ? null : new ProgressState(progress));
    }

    private static uint Flags(bool overwrite) => overwrite ? NativeMethods.AZMI_BLOB_OVERWRITE : 0;

    private static void OnProgress(IntPtr userdata, ulong done, long total)
    {
        ProgressState? state = null;
        try
        {
            state = AzMiCall.State<ProgressState>(userdata);
            if (state.Failure is null)
            {
                state.Progress.Report(checked((long)done));
            }
        }
        catch (Exception ex)
        {
            state?.Fail(ex); // cancels the call; rethrown once azmi has returned
        }
    }

    private sealed class ProgressState(IProgress<long> progress) : AzMiCall.CallbackState
    {
        public IProgress<long> Progress { get; } = progress;
    }
}
