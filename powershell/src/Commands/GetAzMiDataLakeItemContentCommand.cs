using System.Management.Automation;
using System.Text;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiDataLakeItemContent</c>: a file's content as text (or bytes), read into memory.
/// Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiDataLakeItemContent")]
[OutputType(typeof(string), typeof(byte[]))]
public sealed class GetAzMiDataLakeItemContentCommand : DataLakeCmdlet
{
    /// <summary>Files larger than this need -Length (or Export-AzMiDataLakeItem).</summary>
    internal const long MaxWholeFile = 64L * 1024 * 1024;

    /// <summary>The file.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The first byte to read (default 0).</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long Offset { get; set; }

    /// <summary>How many bytes to read at most (default: to the end).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public long Length { get; set; } = -1;

    /// <summary>The text's encoding (default: from a byte order mark, else UTF-8).</summary>
    [Parameter]
    [EncodingTransformation]
    [ArgumentCompleter(typeof(EncodingCompleter))]
    public Encoding? Encoding { get; set; }

    /// <summary>Return the bytes (one byte[]) instead of text.</summary>
    [Parameter]
    public SwitchParameter AsByteStream { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string path = NormalizePath(Path);
        Run(path, (account, cancel) =>
        {
            if (Length < 0)
            {
                DataLakeItem item = account.Stat(path, cancel);
                if (item.IsDirectory)
                {
                    WriteError(new ErrorRecord(
                        new System.InvalidOperationException($"{path} in {account.BaseUrl} is a directory; Get-AzMiDataLakeChildItem lists it."),
                        "AzMi.NotAFile",
                        ErrorCategory.InvalidOperation,
                        path));
                    return;
                }

                if (item.Length - Offset > MaxWholeFile)
                {
                    WriteError(new ErrorRecord(
                        new System.InvalidOperationException(
                            $"{path} in {account.BaseUrl} is {TransferProgress.FormatBytes((ulong)item.Length)}; " +
                            $"Get-AzMiDataLakeItemContent reads at most {TransferProgress.FormatBytes(MaxWholeFile)} into memory without -Length. " +
                            "Use Export-AzMiDataLakeItem to download it to a file, or -Offset and -Length to read a part."),
                        "AzMi.FileTooLarge",
                        ErrorCategory.LimitsExceeded,
                        path));
                    return;
                }
            }

            byte[] data = account.Read(path, Offset, Length, cancel);
            if (AsByteStream.IsPresent)
            {
                WriteObject(data, enumerateCollection: false);
            }
            else
            {
                WriteObject(TextContent.Decode(data, Encoding, atStart: Offset == 0));
            }
        });
    }
}
