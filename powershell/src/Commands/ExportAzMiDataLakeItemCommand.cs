using System.IO;
using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// <c>Export-AzMiDataLakeItem</c>: downloads a Data Lake file to a local file, with progress,
/// and returns the local file. A failed download leaves an existing file as it was.
/// Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsData.Export, "AzMiDataLakeItem", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportAzMiDataLakeItemCommand : DataLakeCmdlet
{
    /// <summary>The Data Lake file.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The local file, or an existing local directory to download into under the remote name.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Replace an existing local file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string remote = NormalizePath(Path);
        string? local = ResolveLocalPath(Destination);
        if (local is null)
        {
            return;
        }

        if (Directory.Exists(local))
        {
            string leaf = LeafOf(remote);
            if (leaf.Length == 0)
            {
                WriteError(new ErrorRecord(
                    new IOException("The root is a directory; Export-AzMiDataLakeItem downloads one file."),
                    "AzMi.NotAFile",
                    ErrorCategory.InvalidArgument,
                    remote));
                return;
            }

            local = System.IO.Path.Combine(local, leaf);
        }

        string action = Force.IsPresent
            ? $"Download {remote} from {Account}, replacing an existing file"
            : $"Download {remote} from {Account}";
        if (!ShouldProcess(local, action))
        {
            return;
        }

        bool done = Run(
            remote,
            (account, cancel) =>
            {
                var progress = new TransferProgress(this, 2, $"Downloading {remote}", $"from {account.BaseUrl} to {local}");
                try
                {
                    account.Download(remote, local, Force.IsPresent, cancel, progress.Report);
                }
                finally
                {
                    progress.Complete();
                }
            },
            ForceAdvice);
        if (done)
        {
            WriteObject(InvokeProvider.Item.Get(new[] { local }, force: true, literalPath: true), enumerateCollection: true);
        }
    }
}
