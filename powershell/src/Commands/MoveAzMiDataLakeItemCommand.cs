using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// <c>Move-AzMiDataLakeItem</c>: renames or moves a file or directory within the account.
/// Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Move, "AzMiDataLakeItem", SupportsShouldProcess = true)]
[OutputType(typeof(DataLakeItem))]
public sealed class MoveAzMiDataLakeItemCommand : DataLakeCmdlet
{
    /// <summary>The item to move.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>Its new path (which must not exist; Gen1 moves into an existing directory).</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Return the item at its new path.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string from = NormalizePath(Path);
        string to = NormalizePath(Destination);
        if (!ShouldProcess(TargetOf(from), $"Move to {to}"))
        {
            return;
        }

        Run(from, (account, cancel) =>
        {
            account.Move(from, to, cancel);
            if (PassThru.IsPresent)
            {
                WriteObject(account.Stat(to, cancel));
            }
        });
    }
}
