using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// A storage account's blobs, with a managed identity's tokens (resource
/// <c>https://storage.azure.com/</c>) or a SAS. Immutable, safe from any number of threads;
/// dispose it when done.
/// </summary>
public sealed class BlobAccountClient : IDisposable
{
    private readonly SafeBlobHandle _handle;

    private BlobAccountClient(SafeBlobHandle handle, string account)
    {
        _handle = handle;
        Account = account;
    }

    /// <summary>The account as given: a name or its blob URL.</summary>
    public string Account { get; }

    /// <summary>One blob of this account (the account stays yours to dispose).</summary>
    /// <param name="container">The container.</param>
    /// <param name="name">The blob's name.</param>
    /// <returns>The blob.</returns>
    public AzMiBlobClient Blob(string container, string name) => new AzMiBlobClient(this, container, name, ownsAccount: false);

    /// <summary>Creates a container.</summary>
    /// <param name="container">The container's name.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>True when created, false when it existed already.</returns>
    public Task<bool> CreateContainerAsync(string container, CancellationToken cancellationToken = default)
    {
        byte[] containerUtf8 = NativeText.EncodeRequired(container, nameof(container));
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease blob = _handle.Lease();
            uint status = NativeMethods.azmi_blob_create_container(blob.Pointer, containerUtf8, scope.Pointer, out bool created, out IntPtr err);
            scope.ThrowIfFailed(status, err);
            return created;
        }, cancellationToken);
    }

    /// <summary>Frees the native account (after the calls using it returned: they keep it alive).</summary>
    public void Dispose() => _handle.Dispose();

    internal static BlobAccountClient Create(AzMiIdentity identity, string account, string? sas)
    {
        byte[] accountUtf8 = NativeText.EncodeRequired(account, nameof(account));
        byte[]? sasUtf8 = NativeText.Encode(sas, nameof(sas));
        AzMiLibrary.EnsureInitialized();
        uint status;
        IntPtr pointer;
        IntPtr err;
        using (HandleLease id = identity.Lease())
        {
            status = NativeMethods.azmi_blob_new(accountUtf8, sasUtf8, id.Pointer, out pointer, out err);
        }

        NativeErrors.ThrowIfFailed(status, err);
        var handle = new SafeBlobHandle();
        handle.Own(pointer);
        return new BlobAccountClient(handle, account);
    }

    internal HandleLease Lease() => _handle.Lease();
}

/// <summary>
/// One block blob: upload from and download to local files with progress (never held in
/// memory), read and write small blobs in memory. Dispose it when done.
/// </summary>
public sealed class AzMiBlobClient : IDisposable
{
    private readonly BlobAccountClient _account;
    private readonly bool _ownsAccount;
    private readonly byte[] _container;
    private readonly byte[] _name;

    internal AzMiBlobClient(BlobAccountClient account, string container, string name, bool ownsAccount)
    {
        _account = account;
        _ownsAccount = ownsAccount;
        ContainerName = container;
        Name = name;
        _container = NativeText.EncodeRequired(container, nameof(container));
        _name = NativeText.EncodeRequired(name, nameof(name));
    }

    /// <summary>The container's name.</summary>
    public string ContainerName { get; }

    /// <summary>The blob's name.</summary>
    public string Name { get; }

    /// <summary>The account (for <see cref="BlobAccountClient.CreateContainerAsync"/>).</summary>
    public BlobAccountClient Account => _account;

    /// <summary>
    /// Uploads a local file, never holding it in memory: up to 256 MiB as one Put Blob streamed
    /// from the file (its MD5 checked against the service's), larger in 8 MiB blocks, four in
    /// flight at once, and one Put Block List sent only when every block has succeeded.
    /// </summary>
    /// <param name="localPath">The local file.</param>
    /// <param name="progress">Bytes sent as the data goes (after each block, or as one request is sent; synchronously, on the transfer's thread), or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the blob is written.</returns>
    /// <exception cref="AzMiConflictException">The blob exists (use the overload with overwrite).</exception>
    /// <exception cref="AzMiNotFoundException">No such container.</exception>
    public Task UploadFromAsync(string localPath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        UploadFromAsync(localPath, overwrite: false, progress, cancellationToken);

    /// <summary>Uploads a local file, replacing an existing blob when <paramref name="overwrite"/>.</summary>
    /// <param name="localPath">The local file.</param>
    /// <param name="overwrite">Replace an existing blob (else it is a conflict).</param>
    /// <param name="progress">Bytes sent as the data goes, or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the blob is written.</returns>
    public Task UploadFromAsync(string localPath, bool overwrite, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        byte[] local = NativeText.EncodeRequired(localPath is null ? null : Path.GetFullPath(localPath), nameof(localPath));
        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease blob = _account.Lease();
            ProgressBridge.Run(progress, scope, (NativeMethods.ProgressCallback? callback, IntPtr userdata, out IntPtr err) =>
                NativeMethods.azmi_blob_upload(blob.Pointer, local, _container, _name, flags, scope.Pointer, callback!, userdata, out err));
        }, cancellationToken, longRunning: true);
    }

    /// <summary>
    /// Downloads the blob to a local file: into a temporary file in the same folder, checked
    /// against the blob's length and MD5, then renamed (an existing file is never damaged).
    /// </summary>
    /// <param name="localPath">The local file to write (an existing one is a conflict).</param>
    /// <param name="progress">Bytes received as data arrives (synchronously, on the transfer's thread), or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the local file is complete.</returns>
    /// <exception cref="AzMiNotFoundException">No such blob or container.</exception>
    public Task DownloadToAsync(string localPath, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default) =>
        DownloadToAsync(localPath, overwrite: false, progress, cancellationToken);

    /// <summary>Downloads the blob to a local file, replacing it when <paramref name="overwrite"/>.</summary>
    /// <param name="localPath">The local file to write.</param>
    /// <param name="overwrite">Replace an existing local file.</param>
    /// <param name="progress">Bytes received as data arrives, or null.</param>
    /// <param name="cancellationToken">Ends the transfer at once.</param>
    /// <returns>A task completing when the local file is complete.</returns>
    public Task DownloadToAsync(string localPath, bool overwrite, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        byte[] local = NativeText.EncodeRequired(localPath is null ? null : Path.GetFullPath(localPath), nameof(localPath));
        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease blob = _account.Lease();
            ProgressBridge.Run(progress, scope, (NativeMethods.ProgressCallback? callback, IntPtr userdata, out IntPtr err) =>
                NativeMethods.azmi_blob_download(blob.Pointer, _container, _name, local, flags, scope.Pointer, callback!, userdata, out err));
        }, cancellationToken, longRunning: true);
    }

    /// <summary>Reads the whole blob into memory (at most 256 MiB), checked against its MD5.</summary>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="AzMiNotFoundException">No such blob.</exception>
    public Task<byte[]> ReadAsync(CancellationToken cancellationToken = default) =>
        NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr pointer;
            IntPtr err;
            using (HandleLease blob = _account.Lease())
            {
                status = NativeMethods.azmi_blob_read(blob.Pointer, _container, _name, scope.Pointer, out pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
            return BytesReader.Take(pointer);
        }, cancellationToken);

    /// <summary>Writes <paramref name="content"/> as the blob.</summary>
    /// <param name="content">The bytes.</param>
    /// <param name="overwrite">Replace an existing blob (else it is a conflict and stays as it was).</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when written.</returns>
    /// <exception cref="AzMiConflictException">The blob exists and <paramref name="overwrite"/> is false.</exception>
    public Task WriteAsync(byte[] content, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        if (content is null)
        {
            throw new ArgumentNullException(nameof(content));
        }

        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease blob = _account.Lease();
            uint status = NativeMethods.azmi_blob_write(blob.Pointer, _container, _name, content, (UIntPtr)content.Length, flags, scope.Pointer, out IntPtr err);
            scope.ThrowIfFailed(status, err);
        }, cancellationToken);
    }

#if NET8_0_OR_GREATER
    /// <summary>Writes <paramref name="content"/> (pinned for the call) as the blob.</summary>
    /// <param name="content">The bytes.</param>
    /// <param name="overwrite">Replace an existing blob.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>A task completing when written.</returns>
    public Task WriteAsync(ReadOnlyMemory<byte> content, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        return NativeCall.RunAsync(scope =>
        {
            using HandleLease blob = _account.Lease();
            uint status;
            IntPtr err;
            unsafe
            {
                using System.Buffers.MemoryHandle pin = content.Pin();
                status = NativeMethods.azmi_blob_write(blob.Pointer, _container, _name, (IntPtr)pin.Pointer, (UIntPtr)content.Length, flags, scope.Pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
        }, cancellationToken);
    }
#endif

    /// <summary>Frees the account when this blob was made from a URL (<see cref="AzMiIdentity.Blob(Uri)"/>).</summary>
    public void Dispose()
    {
        if (_ownsAccount)
        {
            _account.Dispose();
        }
    }

    /// <summary>The container and name (never a SAS).</summary>
    /// <returns>"container/name".</returns>
    public override string ToString() => ContainerName + "/" + Name;

    /// <summary>
    /// Splits a blob URL into the account URL, container and name; path-style on an IP address
    /// or localhost (Azurite, emulators), where the first segment is the account.
    /// </summary>
    internal static AzMiBlobClient FromUri(AzMiIdentity identity, Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException("A blob URL must be absolute.", nameof(uri));
        }

        string[] segments = uri.AbsolutePath.Trim('/').Split('/');
        bool pathStyle = uri.HostNameType == UriHostNameType.IPv4 || uri.HostNameType == UriHostNameType.IPv6
            || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase);
        int first = pathStyle ? 1 : 0;
        if (segments.Length < first + 2 || segments[first].Length == 0)
        {
            throw new ArgumentException(
                pathStyle ? "Expected https://host:port/<account>/<container>/<name>." : "Expected https://<account>.blob.core.windows.net/<container>/<name>.",
                nameof(uri));
        }

        string account = uri.GetLeftPart(UriPartial.Authority) + (pathStyle ? "/" + segments[0] : string.Empty);
        string container = Uri.UnescapeDataString(segments[first]);
        string name = Uri.UnescapeDataString(string.Join("/", segments, first + 1, segments.Length - first - 1));
        string? sas = uri.Query.Length > 1 ? uri.Query.Substring(1) : null;
        return new AzMiBlobClient(BlobAccountClient.Create(identity, account, sas), container, name, ownsAccount: true);
    }
}
