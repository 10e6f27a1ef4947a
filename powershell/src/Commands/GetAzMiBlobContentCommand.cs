using System;
using System.IO;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiBlobContent</c> (<c>Get-AzStorageBlobContent</c>): downloads a blob to a local
/// file with progress and returns the file; without -Destination, returns its text (UTF-8) or
/// bytes (-AsByteStream), at most 64 MiB. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiBlobContent", SupportsShouldProcess = true, DefaultParameterSetName = AccountSet)]
[OutputType(typeof(FileInfo), typeof(string), typeof(byte[]))]
public sealed class GetAzMiBlobContentCommand : BlobCmdlet
{
    /// <summary>The most read into memory without -Destination.</summary>
    internal const long MaxInMemory = 64L * 1024 * 1024;

    /// <summary>The blob's name (may contain '/').</summary>
    [Parameter(Mandatory = true, ParameterSetName = AccountSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("BlobName", "Name")]
    public string Blob { get; set; } = string.Empty;

    /// <summary>The local file, or an existing folder to download into under the blob's last segment.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Alias("LocalPath")]
    public string? Destination { get; set; }

    /// <summary>Without -Destination: the bytes (byte[]) instead of the text.</summary>
    [Parameter]
    public SwitchParameter AsByteStream { get; set; }

    /// <summary>Replace an existing local file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        BlobAddress address = Address(ParameterSetName == AccountSet ? Blob : null, null);
        if (Destination is null)
        {
            ReadIntoMemory(address);
            return;
        }

        string? local = ResolveLocalPath(Destination);
        if (local is null)
        {
            return;
        }

        if (Directory.Exists(local))
        {
            string leaf = address.Name.TrimEnd('/');
            local = System.IO.Path.Combine(local, leaf.Substring(leaf.LastIndexOf('/') + 1));
        }

        string action = Force.IsPresent
            ? $"Download {address.BlobUrl}, replacing an existing file"
            : $"Download {address.BlobUrl}";
        if (!ShouldProcess(local, action))
        {
            return;
        }

        bool done = Run(
            address,
            (account, cancel) =>
            {
                var progress = new TransferProgress(this, 4, $"Downloading {address.BlobUrl}", $"to {local}");
                try
                {
                    account.Download(address.Container, address.Name, local, Force.IsPresent, cancel, progress.Report);
                }
                finally
                {
                    progress.Complete();
                }
            },
            e => e.StatusCode == AzMiStatus.Conflict && !Force.IsPresent ? $"{local} exists; to replace it, use -Force." : null);
        if (done)
        {
            WriteObject(InvokeProvider.Item.Get(new[] { local }, force: true, literalPath: true), enumerateCollection: true);
        }
    }

    /// <summary>
    /// The blob's text or bytes. Downloaded through a private temporary folder (deleted at
    /// once), because azmi tells the length before any data arrives only to the progress
    /// callback: a blob over 64 MiB is refused there, before its data is read.
    /// </summary>
    private void ReadIntoMemory(BlobAddress address)
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "azmi-blob-" + Guid.NewGuid().ToString("N"));
        string temporary = System.IO.Path.Combine(folder, "content");
        long tooLarge = -1;
        byte[]? data = null;
        try
        {
            Directory.CreateDirectory(folder);
            Run(address, (account, cancel) =>
            {
                var progress = new TransferProgress(this, 4, $"Reading {address.BlobUrl}", "into memory");
                try
                {
                    account.Download(address.Container, address.Name, temporary, overwrite: false, cancel, (done, total) =>
                    {
                        if (total > MaxInMemory)
                        {
                            tooLarge = total;
                            throw new BlobTooLargeException();
                        }

                        progress.Report(done, total);
                    });
                }
                catch (BlobTooLargeException)
                {
                    return;
                }
                finally
                {
                    progress.Complete();
                }

                data = System.IO.File.ReadAllBytes(temporary);
            });
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        if (tooLarge >= 0)
        {
            WriteError(new ErrorRecord(
                new InvalidOperationException(
                    $"{address.BlobUrl} is {TransferProgress.FormatBytes((ulong)tooLarge)}, more than the 64 MiB Get-AzMiBlobContent returns without -Destination; download it to a file with -Destination."),
                "AzMi.BlobTooLarge",
                ErrorCategory.LimitsExceeded,
                address.BlobUrl));
            return;
        }

        if (data is null)
        {
            return;
        }

        if (AsByteStream.IsPresent)
        {
            WriteObject(data, enumerateCollection: false);
        }
        else
        {
            WriteObject(TextContent.Decode(data, null, atStart: true));
        }
    }

    /// <summary>Stops a download from its progress callback when the blob is too large to return.</summary>
    private sealed class BlobTooLargeException : Exception
    {
    }
}
