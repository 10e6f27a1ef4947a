using System;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>
/// One <c>azmi_adls</c>: a Data Lake account and the identity whose tokens it uses. Owned by one
/// cmdlet call and freed by <see cref="Dispose"/> (use it in a using block). Every operation
/// blocks until done, throws <see cref="AzMiException"/> on failure and takes the
/// <see cref="CancelHandle"/> that StopProcessing cancels.
/// </summary>
/// <remarks>
/// Progress callbacks run on the calling thread while azmi's call is on the stack, so they may
/// write progress. Nothing may unwind through azmi's frames, so every callback catches
/// everything, remembers it, tells azmi to stop (returning false, or cancelling the call), and
/// the exception is rethrown after azmi has returned (<see cref="NativeProgress"/>). Listing is
/// different: see <see cref="List"/>.
/// </remarks>
internal sealed class NativeDataLake : IDisposable
{
    private IntPtr _handle;

    private NativeDataLake(IntPtr handle)
    {
        _handle = handle;
        BaseUrl = Utf8.ReadLent(NativeMethods.azmi_adls_base_url(handle)) ?? string.Empty;
        Protocol = (DataLakeProtocol)NativeMethods.azmi_adls_protocol(handle);
    }

    /// <summary>The URL below which paths are addressed (azmi_adls_base_url).</summary>
    internal string BaseUrl { get; }

    /// <summary>WebHdfs or Dfs, never Auto.</summary>
    internal DataLakeProtocol Protocol { get; }

    /// <summary>azmi_adls_new: nothing is sent yet. The identity is copied by azmi.</summary>
    internal static NativeDataLake Open(string account, DataLakeProtocol protocol, NativeIdentity identity)
    {
        byte[] accountUtf8 = Utf8.Encode(account, "The account")!;
        uint status = NativeMethods.azmi_adls_new(accountUtf8, (uint)protocol, identity.Handle, out IntPtr handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return new NativeDataLake(handle);
    }

    /// <summary>azmi_adls_stat.</summary>
    internal DataLakeItem Stat(string path, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_adls_stat(_handle, EncodePath(path), cancel.Handle, out IntPtr item, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        try
        {
            return ReadItem(item);
        }
        finally
        {
            NativeMethods.azmi_adls_item_free(item);
        }
    }

    /// <summary>
    /// azmi_adls_list: <paramref name="onItem"/> gets each item, on the calling thread, soon
    /// after its page arrives, and returns false to stop early (then this returns normally).
    /// An exception thrown by <paramref name="onItem"/> (e.g. PipelineStoppedException from
    /// WriteObject when a downstream <c>Select-Object -First</c> has enough) stops the listing
    /// and is rethrown here, once azmi has returned.
    /// </summary>
    /// <remarks>
    /// Through <see cref="NativeListing"/>: azmi_adls_list runs on a worker thread, so that an
    /// item piped into another AzMi cmdlet (<c>| Remove-AzMiDataLakeItem</c>) is handled
    /// outside azmi.
    /// </remarks>
    internal void List(string path, bool recursive, CancelHandle cancel, Func<DataLakeItem, bool> onItem)
    {
        byte[] pathUtf8 = EncodePath(path);
        uint flags = recursive ? NativeMethods.AdlsRecursive : 0;
        NativeListing.Run(
            cancel,
            ReadItem,
            (Func<IntPtr, bool> onNativeItem, out IntPtr err) =>
            {
                NativeMethods.AdlsItemCallback callback = (_, item) => onNativeItem(item);
                uint status = NativeMethods.azmi_adls_list(_handle, pathUtf8, flags, cancel.Handle, callback, IntPtr.Zero, out err);
                GC.KeepAlive(callback);
                return status;
            },
            onItem,
            "AzMi Data Lake listing");
    }

    /// <summary>azmi_adls_create (missing parents are created).</summary>
    internal void Create(string path, byte[] data, bool overwrite, CancelHandle cancel)
    {
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        uint status = NativeMethods.azmi_adls_create(_handle, EncodePath(path), data, new UIntPtr((ulong)data.Length), flags, cancel.Handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>azmi_adls_mkdir (missing parents are created; an existing directory is fine).</summary>
    internal void CreateDirectory(string path, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_adls_mkdir(_handle, EncodePath(path), cancel.Handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>azmi_adls_append to an existing file.</summary>
    internal void Append(string path, byte[] data, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_adls_append(_handle, EncodePath(path), data, new UIntPtr((ulong)data.Length), cancel.Handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>azmi_adls_read into a managed array; <paramref name="length"/> -1 reads to the end.</summary>
    internal byte[] Read(string path, long offset, long length, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_adls_read(_handle, EncodePath(path), (ulong)offset, length, cancel.Handle, out IntPtr bytes, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.Take(
            bytes,
            count => $"{path} gave {count} bytes, more than a .NET array holds; read it in parts with -Offset and -Length, or use Export-AzMiDataLakeItem.");
    }

    /// <summary>
    /// azmi_adls_upload of a local file; <paramref name="progress"/> gets (bytes sent, total or
    /// -1) on this thread. An exception it throws cancels the upload and is rethrown here.
    /// </summary>
    internal void Upload(string localPath, string remotePath, bool overwrite, CancelHandle cancel, Action<ulong, long> progress)
    {
        byte[] local = Utf8.Encode(localPath, "The local path")!;
        byte[] remote = EncodePath(remotePath);
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        NativeProgress.Run(cancel, progress, (NativeMethods.ProgressCallback callback, out IntPtr err) =>
            NativeMethods.azmi_adls_upload(_handle, local, remote, flags, cancel.Handle, callback, IntPtr.Zero, out err));
    }

    /// <summary>
    /// azmi_adls_download to a local file (through a temporary file renamed at the end, so an
    /// existing file is never damaged); progress as <see cref="Upload"/>.
    /// </summary>
    internal void Download(string remotePath, string localPath, bool overwrite, CancelHandle cancel, Action<ulong, long> progress)
    {
        byte[] remote = EncodePath(remotePath);
        byte[] local = Utf8.Encode(localPath, "The local path")!;
        uint flags = overwrite ? NativeMethods.AdlsOverwrite : 0;
        NativeProgress.Run(cancel, progress, (NativeMethods.ProgressCallback callback, out IntPtr err) =>
            NativeMethods.azmi_adls_download(_handle, remote, local, flags, cancel.Handle, callback, IntPtr.Zero, out err));
    }

    /// <summary>azmi_adls_move within the account.</summary>
    internal void Move(string from, string to, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_adls_move(_handle, EncodePath(from), EncodePath(to), cancel.Handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    /// <summary>azmi_adls_remove; <paramref name="recursive"/> for a non-empty directory.</summary>
    internal void Remove(string path, bool recursive, CancelHandle cancel)
    {
        uint flags = recursive ? NativeMethods.AdlsRecursive : 0;
        uint status = NativeMethods.azmi_adls_remove(_handle, EncodePath(path), flags, cancel.Handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    public void Dispose()
    {
        NativeMethods.azmi_adls_free(_handle);
        _handle = IntPtr.Zero;
    }

    private static byte[] EncodePath(string path) => Utf8.Encode(path, "The path")!;

    private DataLakeItem ReadItem(IntPtr item)
    {
        long modified = NativeMethods.azmi_adls_item_modified(item);
        ulong length = NativeMethods.azmi_adls_item_length(item);
        return new DataLakeItem(
            Utf8.ReadLent(NativeMethods.azmi_adls_item_name(item)) ?? string.Empty,
            Utf8.ReadLent(NativeMethods.azmi_adls_item_path(item)) ?? string.Empty,
            NativeMethods.azmi_adls_item_is_directory(item) ? DataLakeItemType.Directory : DataLakeItemType.File,
            length > long.MaxValue ? long.MaxValue : (long)length,
            modified == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(modified),
            Utf8.ReadLent(NativeMethods.azmi_adls_item_permission(item)) ?? string.Empty,
            Utf8.ReadLent(NativeMethods.azmi_adls_item_owner(item)) ?? string.Empty,
            Utf8.ReadLent(NativeMethods.azmi_adls_item_group(item)) ?? string.Empty,
            BaseUrl,
            Protocol);
    }
}
