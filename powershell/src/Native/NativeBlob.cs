using System;

namespace AzMi.Native;

/// <summary>
/// One <c>azmi_blob</c>: a storage account's blobs and the credential used with them (a SAS, or
/// the identity's tokens). Owned by one cmdlet call and freed by <see cref="Dispose"/>. Every
/// operation blocks until done, throws <see cref="AzMiException"/> on failure and takes the
/// <see cref="CancelHandle"/> that StopProcessing cancels; progress as in
/// <see cref="NativeProgress"/>.
/// </summary>
internal sealed class NativeBlob : IDisposable
{
    private IntPtr _handle;

    private NativeBlob(IntPtr handle) => _handle = handle;

    /// <summary>
    /// azmi_blob_new: nothing is sent yet. <paramref name="sas"/> (null: the identity's tokens)
    /// and the identity are copied by azmi; the SAS never appears in its messages.
    /// </summary>
    internal static NativeBlob Open(string account, string? sas, NativeIdentity identity)
    {
        byte[] accountUtf8 = Utf8.Encode(account, "The storage account")!;
        byte[]? sasUtf8 = Utf8.Encode(sas, "The SAS token");
        try
        {
            uint status = NativeMethods.azmi_blob_new(accountUtf8, sasUtf8, identity.Handle, out IntPtr handle, out IntPtr err);
            NativeError.ThrowIfFailed(status, err);
            return new NativeBlob(handle);
        }
        finally
        {
            if (sasUtf8 is not null)
            {
                Array.Clear(sasUtf8, 0, sasUtf8.Length);
            }
        }
    }

    /// <summary>azmi_blob_create_container: whether it was created (false: it existed).</summary>
    internal bool CreateContainer(string container, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_blob_create_container(_handle, Container(container), cancel.Handle, out bool created, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return created;
    }

    /// <summary>azmi_blob_upload of a local file (one Put Blob, or 8 MiB blocks).</summary>
    internal void Upload(string localPath, string container, string name, bool overwrite, CancelHandle cancel, Action<ulong, long> progress)
    {
        byte[] local = Utf8.Encode(localPath, "The local path")!;
        byte[] containerUtf8 = Container(container);
        byte[] nameUtf8 = Name(name);
        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        NativeProgress.Run(cancel, progress, (NativeMethods.ProgressCallback callback, out IntPtr err) =>
            NativeMethods.azmi_blob_upload(_handle, local, containerUtf8, nameUtf8, flags, cancel.Handle, callback, IntPtr.Zero, out err));
    }

    /// <summary>
    /// azmi_blob_download to a local file (through a temporary file renamed at the end, so an
    /// existing file is never damaged); progress as <see cref="Upload"/>.
    /// </summary>
    internal void Download(string container, string name, string localPath, bool overwrite, CancelHandle cancel, Action<ulong, long> progress)
    {
        byte[] containerUtf8 = Container(container);
        byte[] nameUtf8 = Name(name);
        byte[] local = Utf8.Encode(localPath, "The local path")!;
        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        NativeProgress.Run(cancel, progress, (NativeMethods.ProgressCallback callback, out IntPtr err) =>
            NativeMethods.azmi_blob_download(_handle, containerUtf8, nameUtf8, local, flags, cancel.Handle, callback, IntPtr.Zero, out err));
    }

    /// <summary>azmi_blob_read: the whole blob (azmi refuses more than 256 MiB).</summary>
    internal byte[] Read(string container, string name, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_blob_read(_handle, Container(container), Name(name), cancel.Handle, out IntPtr bytes, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.Take(bytes, count => $"{container}/{name} gave {count} bytes, more than a .NET array holds; use -Destination.");
    }

    /// <summary>azmi_blob_write of bytes in memory.</summary>
    internal void Write(string container, string name, byte[] data, bool overwrite, CancelHandle cancel)
    {
        uint flags = overwrite ? NativeMethods.BlobOverwrite : 0;
        uint status = NativeMethods.azmi_blob_write(_handle, Container(container), Name(name), data, new UIntPtr((ulong)data.Length), flags, cancel.Handle, out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
    }

    public void Dispose()
    {
        NativeMethods.azmi_blob_free(_handle);
        _handle = IntPtr.Zero;
    }

    private static byte[] Container(string container) => Utf8.Encode(container, "The container")!;

    private static byte[] Name(string name) => Utf8.Encode(name, "The blob name")!;
}
