using System.IO;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Set-AzMiBlobContent</c> (<c>Set-AzStorageBlobContent</c>): uploads a local file to a
/// block blob, with progress, and returns the blob. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Set, "AzMiBlobContent", SupportsShouldProcess = true, DefaultParameterSetName = AccountSet)]
[OutputType(typeof(StorageBlob))]
public sealed class SetAzMiBlobContentCommand : BlobCmdlet
{
    /// <summary>The local file (no wildcards); FullName binds from Get-ChildItem.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("FullName", "LiteralPath", "Path")]
    public string File { get; set; } = string.Empty;

    /// <summary>The blob's name (may contain '/'); default: the file's name.</summary>
    [Parameter(ParameterSetName = AccountSet)]
    [ValidateNotNullOrEmpty]
    [Alias("BlobName")]
    public string? Blob { get; set; }

    /// <summary>Replace an existing blob.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string? local = ResolveLocalPath(File);
        if (local is null)
        {
            return;
        }

        if (Directory.Exists(local) || !System.IO.File.Exists(local))
        {
            bool isDirectory = Directory.Exists(local);
            WriteError(new ErrorRecord(
                isDirectory
                    ? new IOException($"{local} is a directory; Set-AzMiBlobContent uploads one file (pipe Get-ChildItem -File into it for many).")
                    : new FileNotFoundException($"{local} does not exist.", local),
                isDirectory ? "AzMi.NotAFile" : "AzMi.FileNotFound",
                isDirectory ? ErrorCategory.InvalidArgument : ErrorCategory.ObjectNotFound,
                File));
            return;
        }

        BlobAddress address = Address(Blob, System.IO.Path.GetFileName(local));
        string action = Force.IsPresent ? $"Upload {local}, replacing an existing blob" : $"Upload {local}";
        if (!ShouldProcess(address.BlobUrl, action))
        {
            return;
        }

        long length = new FileInfo(local).Length;
        Run(
            address,
            (account, cancel) =>
            {
                var progress = new TransferProgress(this, 3, $"Uploading {local}", $"to {address.BlobUrl}");
                try
                {
                    account.Upload(local, address.Container, address.Name, Force.IsPresent, cancel, progress.Report);
                }
                finally
                {
                    progress.Complete();
                }

                WriteObject(new StorageBlob(address.Name, address.Container, length, address.Account, address.BlobUrl));
            },
            e => e.StatusCode == AzMiStatus.Conflict && !Force.IsPresent ? "To replace an existing blob, use -Force." : null);
    }
}
