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
public abstract class DataLakeCmdlet : AzMiCmdlet
{
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
    private protected bool Run(string target, Action<NativeDataLake, CancelHandle> operation, Func<AzMiException, string?>? advice = null) =>
        Invoke(target, (identity, cancel) =>
        {
            using NativeDataLake account = NativeDataLake.Open(Account, Protocol, identity);
            WriteVerbose($"Data Lake account: {account.BaseUrl} ({account.Protocol}).");
            VerboseRoute("Data Lake", account.BaseUrl);
            operation(account, cancel);
        }, advice);
}
