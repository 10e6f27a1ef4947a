using System.IO;
using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// <c>Import-AzMiDataLakeItem</c>: uploads a local file in chunks, with progress, and returns
/// the new Data Lake item. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsData.Import, "AzMiDataLakeItem", SupportsShouldProcess = true)]
[OutputType(typeof(DataLakeItem))]
public sealed class ImportAzMiDataLakeItemCommand : DataLakeCmdlet
{
    /// <summary>The local file (no wildcards).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("FullName", "LiteralPath")]
    public string Path { get; set; } = string.Empty;

    /// <summary>The Data Lake path of the file; ending in "/": into that directory, under the local name.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Replace an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string? local = ResolveLocalPath(Path);
        if (local is null)
        {
            return;
        }

        if (Directory.Exists(local))
        {
            WriteError(new ErrorRecord(
                new IOException($"{local} is a directory; Import-AzMiDataLakeItem uploads one file (pipe Get-ChildItem -File into it for many)."),
                "AzMi.NotAFile",
                ErrorCategory.InvalidArgument,
                Path));
            return;
        }

        string remote = Destination.EndsWith("/", System.StringComparison.Ordinal)
            ? NormalizePath(Destination + System.IO.Path.GetFileName(local))
            : NormalizePath(Destination);
        string action = Force.IsPresent ? $"Upload {local}, replacing an existing file" : $"Upload {local}";
        if (!ShouldProcess(TargetOf(remote), action))
        {
            return;
        }

        Run(
            remote,
            (account, cancel) =>
            {
                var progress = new TransferProgress(this, 1, $"Uploading {local}", $"to {remote} in {account.BaseUrl}");
                try
                {
                    account.Upload(local, remote, Force.IsPresent, cancel, progress.Report);
                }
                finally
                {
                    progress.Complete();
                }

                WriteObject(account.Stat(remote, cancel));
            },
            ForceAdvice);
    }
}
