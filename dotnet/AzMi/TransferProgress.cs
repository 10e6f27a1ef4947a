namespace AzMi;

/// <summary>
/// Progress of an upload or download, reported through <see cref="System.IProgress{T}"/>.
/// </summary>
/// <remarks>
/// Reports are made synchronously on the thread running the transfer, while azmi's call is on
/// the stack, after each chunk or block: <c>Report</c> must return quickly and must not call
/// azmi (it would fail with <see cref="AzMiStatus.RuntimeError"/>). An exception it throws
/// stops the transfer and is rethrown by the transfer's task. <see cref="System.Progress{T}"/>
/// posts the reports to its synchronization context (a UI thread) as usual.
/// </remarks>
public readonly struct TransferProgress
{
    /// <summary>A report.</summary>
    /// <param name="bytesTransferred">Bytes sent or received so far.</param>
    /// <param name="totalBytes">The total, or null when unknown.</param>
    public TransferProgress(long bytesTransferred, long? totalBytes)
    {
        BytesTransferred = bytesTransferred;
        TotalBytes = totalBytes;
    }

    /// <summary>Bytes sent or received so far.</summary>
    public long BytesTransferred { get; }

    /// <summary>The transfer's total size in bytes, or null when unknown.</summary>
    public long? TotalBytes { get; }

    /// <summary>E.g. "1048576 of 8388608 bytes".</summary>
    /// <returns>The progress for people.</returns>
    public override string ToString() =>
        TotalBytes is long total ? $"{BytesTransferred} of {total} bytes" : $"{BytesTransferred} bytes";
}
