using System;
using System.IO;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// What every Data Lake cmdlet shares: <c>-Account</c>, <c>-Protocol</c>, the identity options
/// of Get-AzMiToken, opening the account per call, Ctrl+C, and turning azmi's errors into
/// ErrorRecords (ErrorId <c>AzMi.&lt;status name&gt;</c>).
/// </summary>
public abstract class DataLakeCmdlet : PSCmdlet
{
    // StopProcessing runs on another thread while ProcessRecord is blocked in azmi.
    private readonly object _stopGate = new object();
    private CancelHandle? _pendingCall;
    private bool _stopRequested;

    /// <summary>
    /// A Gen1 account name (<c>contoso</c>: https://contoso.azuredatalakestore.net) or the URL of
    /// an account: https://contoso.azuredatalakestore.net, https://namenode:9871/webhdfs/v1,
    /// https://account.dfs.core.windows.net/filesystem.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("AccountName")]
    public string Account { get; set; } = string.Empty;

    /// <summary>WebHdfs or Dfs for hosts whose URL does not tell (emulators, Hadoop, other clouds).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DataLakeProtocol Protocol { get; set; } = DataLakeProtocol.Auto;

    // As in Get-AzMiToken: no parameter sets keep these apart, azmi rejects more than one.

    /// <summary>Client id of a user-assigned identity.</summary>
    [Parameter]
    public string? ClientId { get; set; }

    /// <summary>Object (principal) id of a user-assigned identity.</summary>
    [Parameter]
    public string? ObjectId { get; set; }

    /// <summary>Azure resource id of a user-assigned identity.</summary>
    [Parameter]
    public string? ResourceId { get; set; }

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        lock (_stopGate)
        {
            _stopRequested = true;
            _pendingCall?.Cancel();
        }
    }

    /// <summary>
    /// "/a/b" for "a/b", "/a/b" or "/a/b/"; "/" for "" or "/". Spaces are kept: they may be
    /// part of a name.
    /// </summary>
    protected static string NormalizePath(string path)
    {
        string rooted = path.StartsWith("/", StringComparison.Ordinal) ? path : "/" + path;
        string trimmed = rooted.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    /// <summary>The last segment of a Data Lake path ("" for the root).</summary>
    protected static string LeafOf(string path)
    {
        string normalized = NormalizePath(path);
        return normalized.Substring(normalized.LastIndexOf('/') + 1);
    }

    /// <summary>The ShouldProcess target: the path and the account as the user gave it.</summary>
    protected string TargetOf(string path) => $"{path} in {Account}";

    /// <summary>
    /// Runs <paramref name="operation"/> against the account, opened for this call with the
    /// identity options, with a cancel handle that Ctrl+C cancels. azmi's errors become
    /// ErrorRecords whose target is <paramref name="target"/> (a path): argument errors end the
    /// command, the others are written and the command goes on with its next input. Returns
    /// whether the operation completed.
    /// </summary>
    private protected bool Run(string target, Action<NativeDataLake, CancelHandle> operation, Func<AzMiException, string?>? advice = null)
    {
        try
        {
            NativeLibraryLoader.EnsureLoaded();
            CaFileEnvironment.Apply(SessionState.Path.CurrentFileSystemLocation.ProviderPath, WriteVerbose);
            using NativeIdentity identity = NativeIdentity.CreateFromEnvironment(ClientId, ObjectId, ResourceId, WriteVerbose);
            using NativeDataLake account = NativeDataLake.Open(Account, Protocol, identity);
            WriteVerbose($"Data Lake account: {account.BaseUrl} ({account.Protocol}).");

            using CancelHandle cancel = new CancelHandle();
            lock (_stopGate)
            {
                if (_stopRequested)
                {
                    cancel.Cancel();
                }

                _pendingCall = cancel;
            }

            try
            {
                operation(account, cancel);
                return true;
            }
            finally
            {
                lock (_stopGate)
                {
                    _pendingCall = null;
                }
            }
        }
        catch (AzMiException e) when (e.StatusCode == AzMiStatus.Cancelled && IsStopRequested())
        {
            // Ctrl+C (or PowerShell.Stop): end the pipeline the way every cmdlet does.
            throw new PipelineStoppedException();
        }
        catch (AzMiException e)
        {
            ErrorRecord record = AzMiErrorRecords.From(e, target);
            string? recommended = advice?.Invoke(e);
            if (recommended is not null)
            {
                string message = e.Message.TrimEnd();
                string separator = message.EndsWith(".", StringComparison.Ordinal) ? " " : ". ";
                record.ErrorDetails = new ErrorDetails(message + separator + recommended) { RecommendedAction = recommended };
            }

            if (AzMiErrorRecords.IsTerminating(e))
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
            return false;
        }
        catch (Exception e) when (e is FileNotFoundException || e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "AzMi.NativeLibraryNotLoaded", ErrorCategory.NotInstalled, NativeLibraryLoader.LibraryPath));
            return false;
        }
    }

    /// <summary>Advice for a conflict without -Force: -Force replaces an existing file.</summary>
    private protected string? ForceAdvice(AzMiException e) =>
        e.StatusCode == AzMiStatus.Conflict && !MyInvocation.BoundParameters.ContainsKey("Force")
            ? "To replace an existing file, use -Force."
            : null;

    /// <summary>
    /// Resolves a local PowerShell path (relative to the current location, PSDrives, ~) to a
    /// file-system path, without wildcards. Writes an error and returns null for other providers.
    /// </summary>
    protected string? ResolveLocalPath(string path)
    {
        string resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
        if (provider.Name != "FileSystem")
        {
            WriteError(new ErrorRecord(
                new ArgumentException($"{path} is on the {provider.Name} provider; the Data Lake cmdlets copy from and to the file system only."),
                "AzMi.NotAFileSystemPath",
                ErrorCategory.InvalidArgument,
                path));
            return null;
        }

        return resolved;
    }

    private bool IsStopRequested()
    {
        lock (_stopGate)
        {
            return _stopRequested;
        }
    }
}
