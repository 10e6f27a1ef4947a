using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AzMi.Interop;

/// <summary>Which Data Lake API an <see cref="AzMiDataLake"/> speaks (<c>azmi_adls_new</c>'s protocol).</summary>
public enum AzMiDataLakeProtocol : uint
{
    /// <summary>From the account's form: a name, <c>*.azuredatalakestore.net</c> or <c>…/webhdfs/v1</c> is Gen1; <c>*.dfs.core.windows.net/&lt;fs&gt;</c> is Gen2.</summary>
    Auto = NativeMethods.AZMI_ADLS_AUTO,

    /// <summary>Data Lake Storage Gen1 (WebHDFS).</summary>
    Gen1 = NativeMethods.AZMI_ADLS_WEBHDFS,

    /// <summary>Data Lake Storage Gen2 (DFS); the URL's path names the filesystem.</summary>
    Gen2 = NativeMethods.AZMI_ADLS_DFS,
}

/// <summary>A file or directory, copied out of an <c>azmi_adls_item</c>.</summary>
/// <param name="Name">The last segment of the path ("" for the root).</param>
/// <param name="Path">The full path from the root, e.g. <c>/TestFolder/Test1.txt</c>.</param>
/// <param name="IsDirectory">Whether it is a directory.</param>
/// <param name="Length">Bytes (0 for directories).</param>
/// <param name="Modified">The last modification, or null when the service did not say.</param>
/// <param name="Permission">As the service gives it: Gen1 octal ("770"), Gen2 symbolic ("rw-r-----").</param>
/// <param name="Owner">The owner's object id.</param>
/// <param name="Group">The owning group.</param>
public sealed record AzMiDataLakeItem(
    string Name, string Path, bool IsDirectory, long Length, DateTimeOffset? Modified, string Permission, string Owner, string Group)
{
    /// <summary>
    /// Copies an item, owned or lent. A lent item (in an item callback) is valid only during the
    /// callback, so everything is copied before it returns.
    /// </summary>
    internal static AzMiDataLakeItem Read(IntPtr item)
    {
        long modified = NativeMethods.azmi_adls_item_modified(item);
        return new AzMiDataLakeItem(
            Marshal.PtrToStringUTF8(NativeMethods.azmi_adls_item_name(item)) ?? "",
            Marshal.PtrToStringUTF8(NativeMethods.azmi_adls_item_path(item)) ?? "",
            NativeMethods.azmi_adls_item_is_directory(item),
            checked((long)NativeMethods.azmi_adls_item_length(item)),
            modified == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(modified),
            Marshal.PtrToStringUTF8(NativeMethods.azmi_adls_item_permission(item)) ?? "",
            Marshal.PtrToStringUTF8(NativeMethods.azmi_adls_item_owner(item)) ?? "",
            Marshal.PtrToStringUTF8(NativeMethods.azmi_adls_item_group(item)) ?? "");
    }
}

/// <summary>
/// A Data Lake Storage account (Gen1 or Gen2) reached with the machine's managed identity
/// through libazmi's <c>azmi_adls_*</c> functions.
/// </summary>
/// <remarks>
/// <para>Thread-safe: one instance may serve any number of threads at once. Every call blocks its
/// thread until done; each takes a <see cref="CancellationToken"/> that ends it at once from any
/// thread (<see cref="OperationCanceledException"/>). Failures are <see cref="AzMiException"/>
/// (<see cref="AzMiStatus.NotFound"/>, <see cref="AzMiStatus.Conflict"/>, …).</para>
/// <para>Callbacks (list items, progress) run on the calling thread, inside the native call. The
/// runtime cannot unwind an exception through azmi's frames (the process would end), so the
/// wrapper catches whatever a callback throws, stops the call (the item callback returns
/// false; for progress, the call's azmi_cancel is cancelled) and rethrows the exception once
/// the native call has returned. For the same reason a callback must not call azmi itself
/// (<see cref="AzMiStatus.RuntimeError"/>); the body of a <c>foreach</c> over
/// <see cref="List(string, bool, CancellationToken)"/> is not a callback and may.</para>
/// </remarks>
public sealed class AzMiDataLake : IDisposable
{
    /// <summary>Items buffered between the listing thread and a slow consumer.</summary>
    private const int ListBuffer = 1024;

    // Static delegates: never collected while native code may still hold their thunks. The
    // per-call state travels in userdata as a GCHandle.
    private static readonly NativeMethods.AzMiAdlsItemCallback s_onItem = OnItem;
    private static readonly NativeMethods.AzMiProgressCallback s_onProgress = OnProgress;

    private readonly AzMiAdlsHandle _adls;

    /// <summary>Opens an account (nothing is sent until an operation runs).</summary>
    /// <param name="account">
    /// A Gen1 account name, or a URL: <c>https://contoso.azuredatalakestore.net</c>,
    /// <c>https://host:port/webhdfs/v1</c>, <c>https://contoso.dfs.core.windows.net/&lt;filesystem&gt;</c>.
    /// </param>
    /// <param name="protocol">Needed for hosts whose name does not tell (emulators, other clouds).</param>
    /// <param name="identity">
    /// The identity whose tokens are used (copied, so it may be disposed afterwards), or null for
    /// the system-assigned identity at the endpoint of the process's native environment.
    /// </param>
    /// <exception cref="AzMiException">A malformed account, or plain http to a non-loopback host.</exception>
    public AzMiDataLake(string account, AzMiDataLakeProtocol protocol = AzMiDataLakeProtocol.Auto, AzMiIdentityHandle? identity = null)
    {
        ArgumentNullException.ThrowIfNull(account);
        AzMiStatus status = NativeMethods.azmi_adls_new(
            account, (uint)protocol, identity ?? AzMiIdentityHandle.Null, out AzMiAdlsHandle adls, out AzMiErrorHandle error);
        using (error)
        {
            if (status != AzMiStatus.Ok)
            {
                adls.Dispose();
                throw AzMiException.From(status, error);
            }
        }
        _adls = adls;
    }

    /// <summary>The URL below which paths are addressed (<c>…/webhdfs/v1</c> or <c>…/&lt;filesystem&gt;</c>).</summary>
    public string BaseUrl => NativeMethods.Lent(NativeMethods.azmi_adls_base_url(_adls), _adls) ?? "";

    /// <summary>The protocol in use (never <see cref="AzMiDataLakeProtocol.Auto"/>).</summary>
    public AzMiDataLakeProtocol Protocol => (AzMiDataLakeProtocol)NativeMethods.azmi_adls_protocol(_adls);

    /// <summary>
    /// Bytes per upload request for calls started afterwards (Gen2 appends; Gen1 sends at most
    /// 4 MiB whatever this says); 0 restores the default (8 MiB).
    /// </summary>
    public void SetChunkSize(uint bytes)
    {
        using var call = new NativeCall(this, default);
        call.Complete(NativeMethods.azmi_adls_set_chunk_size(_adls, bytes, out AzMiErrorHandle error), error);
    }

    /// <summary>
    /// The items of directory <paramref name="path"/> (a file lists as itself), streamed: pages are
    /// fetched while the caller enumerates, so a folder of any size never sits in memory.
    /// </summary>
    /// <remarks>
    /// azmi hands items to a callback on the thread that called azmi_adls_list, during the call,
    /// so an iterator cannot <c>yield</c> from it. The listing therefore runs on its own thread
    /// and passes items through a bounded buffer; stopping the enumeration early (break,
    /// <c>Take</c>, an exception, Dispose) makes the callback return false and waits until the
    /// native call has returned. The loop body runs on the caller's thread, outside any
    /// callback, so it may call azmi.
    /// </remarks>
    /// <exception cref="AzMiException">From the first <c>MoveNext</c> on: the listing failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IEnumerable<AzMiDataLakeItem> List(string path = "/", bool recursive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ObjectDisposedException.ThrowIf(_adls.IsClosed, this);
        return Stream(path, recursive, cancellationToken);
    }

    private IEnumerable<AzMiDataLakeItem> Stream(string path, bool recursive, CancellationToken cancellationToken)
    {
        using var buffer = new BlockingCollection<AzMiDataLakeItem>(ListBuffer);
        using var consumerGone = new CancellationTokenSource();
        ExceptionDispatchInfo? failure = null;

        var producer = new Thread(() =>
        {
            try
            {
                List(path, item =>
                {
                    try
                    {
                        buffer.Add(item, consumerGone.Token);
                        return true;
                    }
                    catch (OperationCanceledException) when (consumerGone.IsCancellationRequested)
                    {
                        return false; // the enumeration ended early: stop the listing
                    }
                }, recursive, cancellationToken);
            }
            catch (Exception ex)
            {
                failure = ExceptionDispatchInfo.Capture(ex);
            }
            finally
            {
                buffer.CompleteAdding();
            }
        })
        { IsBackground = true, Name = "azmi-adls-list" };
        producer.Start();

        try
        {
            foreach (AzMiDataLakeItem item in buffer.GetConsumingEnumerable())
            {
                yield return item;
            }
            producer.Join();
            failure?.Throw();
        }
        finally
        {
            // Early exit: unblock the callback and let the native call return before the
            // buffer (and possibly this instance) goes away.
            consumerGone.Cancel();
            producer.Join();
        }
    }

    /// <summary>
    /// Lists <paramref name="path"/>, handing each item to <paramref name="onItem"/> on this
    /// thread as its page arrives; <paramref name="onItem"/> returns false to stop.
    /// </summary>
    /// <returns>True when every item was seen; false when <paramref name="onItem"/> stopped the listing.</returns>
    /// <exception cref="Exception">Whatever <paramref name="onItem"/> threw (the listing stops there).</exception>
    public bool List(string path, Func<AzMiDataLakeItem, bool> onItem, bool recursive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(onItem);
        uint flags = recursive ? NativeMethods.AZMI_ADLS_RECURSIVE : 0;
        using var call = new NativeCall(this, cancellationToken, new CallbackState { OnItem = onItem });
        AzMiStatus status = NativeMethods.azmi_adls_list(_adls, path, flags, call.Cancel, s_onItem, call.UserData, out AzMiErrorHandle error);
        return call.Complete(status, error);
    }

    /// <summary>The properties of a file or directory.</summary>
    public AzMiDataLakeItem Stat(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var call = new NativeCall(this, cancellationToken);
        AzMiStatus status = NativeMethods.azmi_adls_stat(_adls, path, call.Cancel, out AzMiAdlsItemHandle item, out AzMiErrorHandle error);
        using (item)
        {
            call.Complete(status, error);
            return item.Read();
        }
    }

    /// <summary>Whether <paramref name="path"/> exists (a Stat that maps NotFound to false).</summary>
    public bool Exists(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            Stat(path, cancellationToken);
            return true;
        }
        catch (AzMiException ex) when (ex.Status == AzMiStatus.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Creates the file <paramref name="path"/> with <paramref name="data"/> (missing parents are
    /// created). An existing file is <see cref="AzMiStatus.Conflict"/> unless <paramref name="overwrite"/>.
    /// </summary>
    public void Create(string path, ReadOnlySpan<byte> data, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        uint flags = overwrite ? NativeMethods.AZMI_ADLS_OVERWRITE : 0;
        using var call = new NativeCall(this, cancellationToken);
        // The span's first byte goes in by reference: pinned for the call, passed as a pointer
        // (NULL for an empty span, which azmi accepts with length 0). No copy on this side.
        AzMiStatus status = NativeMethods.azmi_adls_create(
            _adls, path, in MemoryMarshal.GetReference(data), (nuint)data.Length, flags, call.Cancel, out AzMiErrorHandle error);
        call.Complete(status, error);
    }

    /// <summary>Creates the file <paramref name="path"/> holding <paramref name="text"/> as UTF-8.</summary>
    public void Create(string path, string text, bool overwrite = false, CancellationToken cancellationToken = default) =>
        Create(path, Encoding.UTF8.GetBytes(text), overwrite, cancellationToken);

    /// <summary>Creates the directory <paramref name="path"/> and its missing parents (an existing directory is fine).</summary>
    public void Mkdir(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var call = new NativeCall(this, cancellationToken);
        call.Complete(NativeMethods.azmi_adls_mkdir(_adls, path, call.Cancel, out AzMiErrorHandle error), error);
    }

    /// <summary>Appends <paramref name="data"/> to the existing file <paramref name="path"/>.</summary>
    public void Append(string path, ReadOnlySpan<byte> data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var call = new NativeCall(this, cancellationToken);
        AzMiStatus status = NativeMethods.azmi_adls_append(
            _adls, path, in MemoryMarshal.GetReference(data), (nuint)data.Length, call.Cancel, out AzMiErrorHandle error);
        call.Complete(status, error);
    }

    /// <summary>
    /// Reads <paramref name="length"/> bytes (-1: to the end) from <paramref name="offset"/> into
    /// memory; at or past the end gives none. Use <see cref="Download"/> for large files.
    /// </summary>
    public byte[] Read(string path, long offset = 0, long length = -1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, -1);
        using var call = new NativeCall(this, cancellationToken);
        AzMiStatus status = NativeMethods.azmi_adls_read(_adls, path, (ulong)offset, length, call.Cancel, out AzMiBytesHandle bytes, out AzMiErrorHandle error);
        using (bytes)
        {
            call.Complete(status, error);
            return bytes.ToArray();
        }
    }

    /// <summary>Reads the whole file as UTF-8 text.</summary>
    public string ReadText(string path, CancellationToken cancellationToken = default) =>
        Encoding.UTF8.GetString(Read(path, cancellationToken: cancellationToken));

    /// <summary>
    /// Uploads the local file <paramref name="localPath"/> to <paramref name="remotePath"/> in
    /// chunks (never whole in memory). <paramref name="progress"/> gets the bytes sent so far,
    /// on this thread, during the call (so a <c>Progress&lt;T&gt;</c>, which posts elsewhere,
    /// sees them late and possibly out of order).
    /// </summary>
    public void Upload(string localPath, string remotePath, bool overwrite = false, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(localPath);
        ArgumentNullException.ThrowIfNull(remotePath);
        uint flags = overwrite ? NativeMethods.AZMI_ADLS_OVERWRITE : 0;
        using var call = new NativeCall(this, cancellationToken, progress is null ? null : new CallbackState { Progress = progress });
        AzMiStatus status = NativeMethods.azmi_adls_upload(
            _adls, localPath, remotePath, flags, call.Cancel, progress is null ? null : s_onProgress, call.UserData, out AzMiErrorHandle error);
        call.Complete(status, error);
    }

    /// <summary>
    /// Downloads <paramref name="remotePath"/> to <paramref name="localPath"/> through a temporary
    /// file renamed into place at the end, so a failed or cancelled download leaves an existing
    /// file as it was. <paramref name="progress"/> gets the bytes received so far.
    /// </summary>
    public void Download(string remotePath, string localPath, bool overwrite = false, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remotePath);
        ArgumentNullException.ThrowIfNull(localPath);
        uint flags = overwrite ? NativeMethods.AZMI_ADLS_OVERWRITE : 0;
        using var call = new NativeCall(this, cancellationToken, progress is null ? null : new CallbackState { Progress = progress });
        AzMiStatus status = NativeMethods.azmi_adls_download(
            _adls, remotePath, localPath, flags, call.Cancel, progress is null ? null : s_onProgress, call.UserData, out AzMiErrorHandle error);
        call.Complete(status, error);
    }

    /// <summary>Renames <paramref name="from"/> to <paramref name="to"/>; an existing <paramref name="to"/> is a conflict.</summary>
    public void Move(string from, string to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        using var call = new NativeCall(this, cancellationToken);
        call.Complete(NativeMethods.azmi_adls_move(_adls, from, to, call.Cancel, out AzMiErrorHandle error), error);
    }

    /// <summary>Deletes a file or directory (<paramref name="recursive"/> for a non-empty one). Missing is NotFound.</summary>
    public void Remove(string path, bool recursive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        uint flags = recursive ? NativeMethods.AZMI_ADLS_RECURSIVE : 0;
        using var call = new NativeCall(this, cancellationToken);
        call.Complete(NativeMethods.azmi_adls_remove(_adls, path, flags, call.Cancel, out AzMiErrorHandle error), error);
    }

    /// <summary>
    /// Frees the native account. Calls still running keep it alive until they return
    /// (SafeHandle reference counting); later calls throw ObjectDisposedException.
    /// </summary>
    public void Dispose() => _adls.Dispose();

    // ---- plumbing ---------------------------------------------------------------------------

    /// <summary>
    /// The frame of one native call: an azmi_cancel bridged to the CancellationToken, the
    /// callback state pinned in a GCHandle for userdata, and the mapping of the outcome to a
    /// return value or an exception. Dispose (end of the method's <c>using</c>) releases them in
    /// the right order: the registration first (its Dispose waits for a cancel callback already
    /// running, so azmi_cancel_cancel never sees a freed handle), then the handle, then the state.
    /// </summary>
    private sealed class NativeCall : IDisposable
    {
        private readonly CancellationToken _token;
        private readonly CallbackState? _state;
        private readonly CancellationTokenRegistration _registration;
        private GCHandle _userData;

        public NativeCall(AzMiDataLake owner, CancellationToken token, CallbackState? state = null)
        {
            ObjectDisposedException.ThrowIf(owner._adls.IsClosed, owner);
            token.ThrowIfCancellationRequested();
            _token = token;
            _state = state;
            // A handle when the token can fire, or when a callback may have to stop the call.
            Cancel = token.CanBeCanceled || state is not null ? AzMiCancelHandle.Create() : AzMiCancelHandle.Null;
            if (token.CanBeCanceled)
            {
                _registration = token.UnsafeRegister(static s => ((AzMiCancelHandle)s!).Cancel(), Cancel);
            }
            if (state is not null)
            {
                state.Cancel = Cancel;
                _userData = GCHandle.Alloc(state);
            }
        }

        /// <summary>The call's azmi_cancel (NULL when nothing can cancel it).</summary>
        public AzMiCancelHandle Cancel { get; }

        /// <summary>userdata for the callbacks: the state's GCHandle, or NULL.</summary>
        public IntPtr UserData => _userData.IsAllocated ? GCHandle.ToIntPtr(_userData) : IntPtr.Zero;

        /// <summary>Returns, or throws what the call's outcome means. Frees <paramref name="error"/>.</summary>
        /// <returns>False only when the caller's item callback asked to stop; true on success.</returns>
        public bool Complete(AzMiStatus status, AzMiErrorHandle error)
        {
            using (error)
            {
                // What a callback threw explains the outcome best (the call stopped for it).
                _state?.Failure?.Throw();
                if (status == AzMiStatus.Ok)
                {
                    return true;
                }
                if (status == AzMiStatus.Cancelled && _state is { StoppedByCallback: true })
                {
                    return false;
                }
                if (status == AzMiStatus.Cancelled && _token.IsCancellationRequested)
                {
                    throw new OperationCanceledException("the azmi call was cancelled", AzMiException.From(status, error), _token);
                }
                throw AzMiException.From(status, error);
            }
        }

        public void Dispose()
        {
            _registration.Dispose();
            Cancel.Dispose();
            if (_userData.IsAllocated)
            {
                _userData.Free();
            }
        }
    }

    /// <summary>What a callback needs during one call, reached through userdata.</summary>
    private sealed class CallbackState
    {
        public Func<AzMiDataLakeItem, bool>? OnItem { get; init; }
        public IProgress<long>? Progress { get; init; }
        public AzMiCancelHandle? Cancel { get; set; }
        public ExceptionDispatchInfo? Failure { get; private set; }
        public bool StoppedByCallback { get; set; }

        /// <summary>Keeps the first exception and stops the call through its cancel handle.</summary>
        public void Fail(Exception ex)
        {
            Failure ??= ExceptionDispatchInfo.Capture(ex);
            Cancel?.Cancel();
        }

        public static CallbackState? From(IntPtr userdata) =>
            userdata == IntPtr.Zero ? null : GCHandle.FromIntPtr(userdata).Target as CallbackState;
    }

    // The callbacks: nothing may escape them (see the class remarks).

    private static bool OnItem(IntPtr userdata, IntPtr item)
    {
        CallbackState? state = null;
        try
        {
            state = CallbackState.From(userdata);
            if (state?.OnItem is null || state.Failure is not null)
            {
                return false;
            }
            if (state.OnItem(AzMiDataLakeItem.Read(item)))
            {
                return true;
            }
            state.StoppedByCallback = true;
            return false;
        }
        catch (Exception ex)
        {
            state?.Fail(ex);
            return false;
        }
    }

    private static void OnProgress(IntPtr userdata, ulong done, long total)
    {
        CallbackState? state = null;
        try
        {
            state = CallbackState.From(userdata);
            if (state?.Progress is null || state.Failure is not null)
            {
                return;
            }
            state.Progress.Report(checked((long)done));
        }
        catch (Exception ex)
        {
            state?.Fail(ex);
        }
    }
}
