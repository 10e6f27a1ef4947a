using System.Management.Automation;
using System.Text;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Add-AzMiDataLakeItemContent</c>: appends to a file, creating it (and its parents) when
/// missing, as Add-AzDataLakeStoreItemContent does. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Add, "AzMiDataLakeItemContent", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class AddAzMiDataLakeItemContentCommand : DataLakeCmdlet
{
    /// <summary>The file.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>What to append: a string (encoded with -Encoding) or a byte array.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [AllowEmptyString]
    [AllowEmptyCollection]
    public object Value { get; set; } = string.Empty;

    /// <summary>The encoding of a string -Value (default UTF-8; no byte order mark is written).</summary>
    [Parameter]
    [EncodingTransformation]
    [ArgumentCompleter(typeof(EncodingCompleter))]
    public Encoding? Encoding { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string path = NormalizePath(Path);
        byte[] data;
        try
        {
            data = TextContent.ToBytes(Value, Encoding ?? TextContent.Utf8NoBom, withPreamble: false);
        }
        catch (System.ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "AzMi.InvalidArgument", ErrorCategory.InvalidArgument, Value));
            return;
        }

        if (!ShouldProcess(TargetOf(path), $"Append {data.Length} bytes"))
        {
            return;
        }

        Run(path, (account, cancel) =>
        {
            try
            {
                account.Append(path, data, cancel);
            }
            catch (AzMiException e) when (e.StatusCode == AzMiStatus.NotFound)
            {
                WriteVerbose($"{path} does not exist: creating it.");
                try
                {
                    account.Create(path, data, overwrite: false, cancel);
                }
                catch (AzMiException conflict) when (conflict.StatusCode == AzMiStatus.Conflict)
                {
                    account.Append(path, data, cancel); // Created meanwhile by someone else.
                }
            }
        });
    }
}
