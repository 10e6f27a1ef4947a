using System;
using System.Management.Automation;
using System.Text;

namespace AzMi.Commands;

/// <summary>
/// <c>New-AzMiDataLakeItem</c>: creates a file (with content) or a directory and returns it.
/// An existing file is a conflict unless -Force. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.New, "AzMiDataLakeItem", SupportsShouldProcess = true, DefaultParameterSetName = FileSet)]
[OutputType(typeof(DataLakeItem))]
public sealed class NewAzMiDataLakeItemCommand : DataLakeCmdlet
{
    private const string FileSet = "File";
    private const string FolderSet = "Folder";

    /// <summary>The path of the new item; missing parent directories are created.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The content: a string (encoded with -Encoding) or a byte array. None: an empty file.</summary>
    [Parameter(Position = 2, ParameterSetName = FileSet)]
    [AllowNull]
    [AllowEmptyString]
    public object? Value { get; set; }

    /// <summary>The encoding of a string -Value (default UTF-8 without BOM).</summary>
    [Parameter(ParameterSetName = FileSet)]
    [EncodingTransformation]
    [ArgumentCompleter(typeof(EncodingCompleter))]
    public Encoding? Encoding { get; set; }

    /// <summary>Create a directory instead of a file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = FolderSet)]
    public SwitchParameter Folder { get; set; }

    /// <summary>Replace an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string path = NormalizePath(Path);
        if (Folder.IsPresent)
        {
            if (ShouldProcess(TargetOf(path), "Create directory"))
            {
                Run(path, (account, cancel) =>
                {
                    account.CreateDirectory(path, cancel);
                    WriteObject(account.Stat(path, cancel));
                });
            }

            return;
        }

        byte[] data;
        try
        {
            data = TextContent.ToBytes(Value, Encoding ?? TextContent.Utf8NoBom, withPreamble: true);
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "AzMi.InvalidArgument", ErrorCategory.InvalidArgument, Value));
            return;
        }

        string action = Force.IsPresent
            ? $"Create file ({data.Length} bytes), replacing an existing one"
            : $"Create file ({data.Length} bytes)";
        if (ShouldProcess(TargetOf(path), action))
        {
            Run(
                path,
                (account, cancel) =>
                {
                    account.Create(path, data, Force.IsPresent, cancel);
                    WriteObject(account.Stat(path, cancel));
                },
                ForceAdvice);
        }
    }
}
