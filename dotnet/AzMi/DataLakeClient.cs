using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>The protocol of a Data Lake account.</summary>
public enum DataLakeProtocol
{
    /// <summary>Decided from the account's form (a name or <c>…azuredatalakestore.net</c> or <c>…/webhdfs/v1</c> is WebHDFS, <c>…dfs.core.windows.net/&lt;fs&gt;</c> is DFS).</summary>
    Auto = 0,

    /// <summary>Data Lake Storage Gen1, or Hadoop WebHDFS.</summary>
    WebHdfs = 1,

    /// <summary>Data Lake Storage Gen2 (the DFS endpoint; the URL's path names the filesystem).</summary>
    Dfs = 2,
}

/// <summary>
/// A Data Lake account (Gen1/WebHDFS or Gen2/DFS) with a managed identity's tokens: list,
/// create, append, read, upload and download with progress, move, delete. Immutable, safe
/// from any number of threads; dispose it when done.
/// </summary>
public sealed class DataLakeClient : IDisposable
{
    /// <summary>The bytes per append when <see cref="CreateFileAsync(string, Stream, bool, IProgress{TransferProgress}, CancellationToken)"/> copies a stream.</summary>
    private const int StreamChunk = 4 * 1024 * 1024;

    private readonly SafeDataLakeHandle _handle;

    private DataLakeClient(SafeDataLakeHandle handle)
    {
        _handle = handle;
        using HandleLease lease = _handle.Lease();
        BaseUrl = new Uri(NativeText.ReadLentOrEmpty(NativeMethods.azmi_adls_base_url(lease.Pointer)));
        Protocol = (DataLakeProtocol)NativeMethods.azmi_adls_protocol(lease.Pointer);
    }

    /// <summary>The URL below which paths are addressed, e.g. <c>https://contoso.azuredatalakestore.net/webhdfs/v1</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The protocol in use (never <see cref="DataLakeProtocol.Auto"/>).</summary>
    public DataLakeProtocol Protocol { get; }

    /// <summary>
    /// Bytes sent per upload request for calls started afterwards (Gen2 appends of files over
    /// 256 MiB, and once set also the largest Gen2 upload sent as one append; Gen1 sends at
    /// most 4 MiB whatever this says): 1024 to 268435456, or 0 for the default (8 MiB).
    /// </summary>
    /// <param name="bytes">The chunk size.</param>
    /// <exception cref="AzMiException">InvalidArgument: out of range.</exception>
    public void SetChunkSize(int bytes)
    {
        if (bytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        using HandleLease lease = _handle.Lease();
        uint status = NativeMethods.azmi_adls_set_chunk_size(lease.Pointer, (uint)bytes, out IntPtr err);
        NativeErrors.ThrowIfFailed(status, err);
    }

    /// <summary>The directory's items (a file lists as itself), every page, as each page arrives.</summary>
    /// <param name="path">The directory, e.g. "/" or "/TestFolder".</param>
    /// <param name="recursive">Everything below too.</param>
    /// <returns>The listing; enumerating it sends the requests.</returns>
    public AzMiListing<DataLakeItem> ListAsync(string path = "/", bool recursive = false)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        uint flags = recursive ? NativeMethods.AdlsRecursive : 0;
        return new AzMiListing<DataLakeItem>(
            (IntPtr cancel, IntPtr userdata, out IntPtr err) =>
            {
                using HandleLease adls = _handle.Lease();
                return NativeMethods.azmi_adls_list(adls.Pointer, pathUtf8, flags, cancel, ListingCallbacks.AdlsItem, userdata, out err);
            },
            DataLakeItem.Read);
    }

    /// <summary>The properties of a file or directory.</summary>
    /// <param name="path">The path.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The item.</returns>
    /// <exception cref="AzMiNotFoundException">No such path.</exception>
    public Task<DataLakeItem> GetItemAsync(string path, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr pointer;
            IntPtr err;
            using (HandleLease adls = _handle.Lease())
            {
                status = NativeMethods.azmi_adls_stat(adls.Pointer, pathUtf8, scope.Pointer, out pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
            using var item = new SafeDataLakeItemHandle();
            item.Own(pointer);
            return DataLakeItem.Read(pointer);
        }, cancellationToken);
    }

    /// <summary>Creates the file <paramref name="path"/> holding <paramref name="content"/>; missing parent directories are created.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="content">The bytes (null or empty: an empty file).</param>
    /// <param name="overwrite">Replace an existing file (else it is a conflict and stays as it was).</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when the file exists.</returns>
    /// <exception cref="AzMiConflictException">The file exists and <paramref name="overwrite"/> is false.</exception>
    public Task CreateFileAsync(string path, byte[]? content, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            uint status = NativeMethods.azmi_adls_create(adls.Pointer, pathUtf8, content, (UIntPtr)(content?.Length ?? 0), flags, scope.Pointer, out IntPtr err);
            scope.ThrowIfFailed(status, err);
        }, cancellationToken, longRunning: content is { Length: > StreamChunk });
    }

#if NET8_0_OR_GREATER
    /// <summary>Creates the file <paramref name="path"/> holding <paramref name="content"/> (pinned for the call, not copied by .NET).</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="overwrite">Replace an existing file.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when the file exists.</returns>
    public Task CreateFileAsync(string path, ReadOnlyMemory<byte> content, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            uint status;
            IntPtr err;
            unsafe
            {
                using System.Buffers.MemoryHandle pin = content.Pin();
                status = NativeMethods.azmi_adls_create(adls.Pointer, pathUtf8, (IntPtr)pin.Pointer, (UIntPtr)content.Length, flags, scope.Pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
        }, cancellationToken, longRunning: content.Length > StreamChunk);
    }

    /// <summary>Appends <paramref name="content"/> (pinned for the call) to the existing file <paramref name="path"/>.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when the bytes are appended.</returns>
    public Task AppendAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        return NativeCall.RunAsync(scope => AppendPinned(pathUtf8, content, scope), cancellationToken);
    }

    private void AppendPinned(byte[] pathUtf8, ReadOnlyMemory<byte> content, CancelScope scope)
    {
        using HandleLease adls = _handle.Lease();
        uint status;
        IntPtr err;
        unsafe
        {
            using System.Buffers.MemoryHandle pin = content.Pin();
            status = NativeMethods.azmi_adls_append(adls.Pointer, pathUtf8, (IntPtr)pin.Pointer, (UIntPtr)content.Length, scope.Pointer, out err);
        }

        scope.ThrowIfFailed(status, err);
    }
#endif

    /// <summary>Appends <paramref name="content"/> to the existing file <paramref name="path"/>.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when the bytes are appended.</returns>
    /// <exception cref="AzMiNotFoundException">No such file.</exception>
    public Task AppendAsync(string path, byte[] content, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        if (content is null)
        {
            throw new ArgumentNullException(nameof(content));
        }

        return NativeCall.RunAsync(scope => Append(pathUtf8, content, content.Length, scope), cancellationToken);
    }

    /// <summary>
    /// Creates the file <paramref name="path"/> from a stream, appending 4 MiB at a time (the
    /// stream is never held in memory).
    /// </summary>
    /// <param name="path">The file's path.</param>
    /// <param name="content">The data, read to its end.</param>
    /// <param name="overwrite">Replace an existing file.</param>
    /// <param name="progress">Bytes sent after each chunk, or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the whole stream is in the file.</returns>
    public async Task CreateFileAsync(string path, Stream content, bool overwrite = false, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (content is null)
        {
            throw new ArgumentNullException(nameof(content));
        }

        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        await CreateFileAsync(path, (byte[]?)null, overwrite, cancellationToken).ConfigureAwait(false);
        long? total = content.CanSeek ? content.Length - content.Position : null;
        var buffer = new byte[StreamChunk];
        long sent = 0;
        while (true)
        {
            int filled = 0;
            int read;
            while (filled < buffer.Length && (read = await content.ReadAsync(buffer, filled, buffer.Length - filled, cancellationToken).ConfigureAwait(false)) > 0)
            {
                filled += read;
            }

            if (filled == 0)
            {
                break;
            }

            int count = filled;
            await NativeCall.RunAsync(scope => Append(pathUtf8, buffer, count, scope), cancellationToken).ConfigureAwait(false);
            sent += count;
            progress?.Report(new TransferProgress(sent, total));
        }
    }

    /// <summary>Creates the directory <paramref name="path"/> and its missing parents (an existing directory is fine).</summary>
    /// <param name="path">The directory's path.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when the directory exists.</returns>
    /// <exception cref="AzMiConflictException">A file has that path.</exception>
    public Task CreateDirectoryAsync(string path, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            uint status = NativeMethods.azmi_adls_mkdir(adls.Pointer, pathUtf8, scope.Pointer, out IntPtr err);
            scope.ThrowIfFailed(status, err);
        }, cancellationToken);
    }

    /// <summary>Reads bytes of a file into memory (for large files use <see cref="DownloadAsync"/>).</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="offset">The first byte.</param>
    /// <param name="length">How many bytes, or -1 to the end. At or past the end gives none.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="AzMiNotFoundException">No such file.</exception>
    public Task<byte[]> ReadAsync(string path, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        if (offset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr pointer;
            IntPtr err;
            using (HandleLease adls = _handle.Lease())
            {
                status = NativeMethods.azmi_adls_read(adls.Pointer, pathUtf8, (ulong)offset, length, scope.Pointer, out pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
            return BytesReader.Take(pointer);
        }, cancellationToken);
    }

    /// <summary>Opens a file for reading: its bytes (to the end) in a <see cref="MemoryStream"/>.</summary>
    /// <param name="path">The file's path.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A read-only stream at position 0.</returns>
    public async Task<Stream> OpenReadAsync(string path, CancellationToken cancellationToken = default) =>
        new MemoryStream(await ReadAsync(path, 0, -1, cancellationToken).ConfigureAwait(false), writable: false);

    /// <summary>Uploads a local file in chunks, never holding it in memory.</summary>
    /// <param name="localPath">The local file.</param>
    /// <param name="remotePath">The file to create.</param>
    /// <param name="overwrite">Replace an existing remote file.</param>
    /// <param name="progress">Bytes sent after each chunk (synchronously, on the transfer's thread), or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the file is uploaded.</returns>
    /// <exception cref="AzMiConflictException">The remote file exists and <paramref name="overwrite"/> is false.</exception>
    /// <exception cref="AzMiException">IoError: the local file cannot be read; any other error.</exception>
    public Task UploadAsync(string localPath, string remotePath, bool overwrite = false, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        byte[] local = NativeText.EncodeRequired(localPath is null ? null : Path.GetFullPath(localPath), nameof(localPath));
        byte[] remote = NativeText.EncodeRequired(remotePath, nameof(remotePath));
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            ProgressBridge.Run(progress, scope, (NativeMethods.ProgressCallback? callback, IntPtr userdata, out IntPtr err) =>
                NativeMethods.azmi_adls_upload(adls.Pointer, local, remote, flags, scope.Pointer, callback!, userdata, out err));
        }, cancellationToken, longRunning: true);
    }

    /// <summary>
    /// Downloads a file to a local file: into a temporary file in the same folder, checked,
    /// then renamed, so an existing file is never damaged by a failed or cancelled download.
    /// </summary>
    /// <param name="remotePath">The file to download.</param>
    /// <param name="localPath">The local file to write.</param>
    /// <param name="overwrite">Replace an existing local file.</param>
    /// <param name="progress">Bytes received as data arrives (synchronously, on the transfer's thread), or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the local file is complete.</returns>
    /// <exception cref="AzMiNotFoundException">No such remote file.</exception>
    /// <exception cref="AzMiConflictException">The local file exists and <paramref name="overwrite"/> is false.</exception>
    public Task DownloadAsync(string remotePath, string localPath, bool overwrite = false, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        byte[] remote = NativeText.EncodeRequired(remotePath, nameof(remotePath));
        byte[] local = NativeText.EncodeRequired(localPath is null ? null : Path.GetFullPath(localPath), nameof(localPath));
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            ProgressBridge.Run(progress, scope, (NativeMethods.ProgressCallback? callback, IntPtr userdata, out IntPtr err) =>
                NativeMethods.azmi_adls_download(adls.Pointer, remote, local, flags, scope.Pointer, callback!, userdata, out err));
        }, cancellationToken, longRunning: true);
    }

    /// <summary>Renames (moves) <paramref name="from"/> to <paramref name="to"/> within the account.</summary>
    /// <param name="from">The existing path.</param>
    /// <param name="to">The new path (an existing one is a conflict).</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when moved.</returns>
    public Task MoveAsync(string from, string to, CancellationToken cancellationToken = default)
    {
        byte[] fromUtf8 = NativeText.EncodeRequired(from, nameof(from));
        byte[] toUtf8 = NativeText.EncodeRequired(to, nameof(to));
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            uint status = NativeMethods.azmi_adls_move(adls.Pointer, fromUtf8, toUtf8, scope.Pointer, out IntPtr err);
            scope.ThrowIfFailed(status, err);
        }, cancellationToken);
    }

    /// <summary>Deletes a file or directory (never the root).</summary>
    /// <param name="path">The path.</param>
    /// <param name="recursive">Needed for a non-empty directory (else a conflict).</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when deleted.</returns>
    /// <exception cref="AzMiNotFoundException">No such path.</exception>
    public Task DeleteAsync(string path, bool recursive = false, CancellationToken cancellationToken = default)
    {
        byte[] pathUtf8 = NativeText.EncodeRequired(path, nameof(path));
        uint flags = recursive ? NativeMethods.AdlsRecursive : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease adls = _handle.Lease();
            uint status = NativeMethods.azmi_adls_remove(adls.Pointer, pathUtf8, flags, scope.Pointer, out IntPtr err);
            scope.ThrowIfFailed(status, err);
        }, cancellationToken);
    }

    /// <summary>Frees the native account (after the calls using it returned: they keep it alive).</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>The base URL.</summary>
    /// <returns><see cref="BaseUrl"/>.</returns>
    public override string ToString() => BaseUrl.ToString();

    internal static DataLakeClient Create(AzMiIdentity identity, string account, DataLakeProtocol protocol)
    {
        byte[] accountUtf8 = NativeText.EncodeRequired(account, nameof(account));
        AzMiLibrary.EnsureInitialized();
        uint status;
        IntPtr pointer;
        IntPtr err;
        using (HandleLease id = identity.Lease())
        {
            status = NativeMethods.azmi_adls_new(accountUtf8, (uint)protocol, id.Pointer, out pointer, out err);
        }

        NativeErrors.ThrowIfFailed(status, err);
        var handle = new SafeDataLakeHandle();
        handle.Own(pointer);
        return new DataLakeClient(handle);
    }

    private void Append(byte[] pathUtf8, byte[] buffer, int count, CancelScope scope)
    {
        using HandleLease adls = _handle.Lease();
        uint status = NativeMethods.azmi_adls_append(adls.Pointer, pathUtf8, buffer, (UIntPtr)count, scope.Pointer, out IntPtr err);
        scope.ThrowIfFailed(status, err);
    }
}

/// <summary>A file or directory of a Data Lake account.</summary>
public sealed class DataLakeItem
{
    private DataLakeItem(string name, string path, bool isDirectory, long length, DateTimeOffset? lastModified, string permission, string owner, string group)
    {
        Name = name;
        Path = path;
        IsDirectory = isDirectory;
        Length = length;
        LastModified = lastModified;
        Permission = permission;
        Owner = owner;
        Group = group;
    }

    /// <summary>The last segment of the path, e.g. "Test1.txt" ("" for the root).</summary>
    public string Name { get; }

    /// <summary>The full path from the root, e.g. "/TestFolder/Test1.txt".</summary>
    public string Path { get; }

    /// <summary>Whether it is a directory.</summary>
    public bool IsDirectory { get; }

    /// <summary>The length in bytes (0 for directories).</summary>
    public long Length { get; }

    /// <summary>The last modification, when known.</summary>
    public DateTimeOffset? LastModified { get; }

    /// <summary>The permissions as the service gives them: Gen1 octal ("770"), Gen2 symbolic ("rwxr-x---").</summary>
    public string Permission { get; }

    /// <summary>The owner (an object id).</summary>
    public string Owner { get; }

    /// <summary>The owning group (an object id).</summary>
    public string Group { get; }

    /// <summary>The path.</summary>
    /// <returns><see cref="Path"/>.</returns>
    public override string ToString() => Path;

    /// <summary>Copies an item (owned or lent) while it lives.</summary>
    internal static DataLakeItem Read(IntPtr item)
    {
        long modified = NativeMethods.azmi_adls_item_modified(item);
        return new DataLakeItem(
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_adls_item_name(item)),
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_adls_item_path(item)),
            NativeMethods.azmi_adls_item_is_directory(item),
            (long)NativeMethods.azmi_adls_item_length(item),
            modified == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(modified),
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_adls_item_permission(item)),
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_adls_item_owner(item)),
            NativeText.ReadLentOrEmpty(NativeMethods.azmi_adls_item_group(item)));
    }
}
