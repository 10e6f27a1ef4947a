using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiDataLakeItem</c>: the properties of Data Lake files or directories.
/// Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiDataLakeItem")]
[OutputType(typeof(DataLakeItem))]
public sealed class GetAzMiDataLakeItemCommand : DataLakeCmdlet
{
    /// <summary>The paths, from the root.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = System.Array.Empty<string>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string raw in Path)
        {
            string path = NormalizePath(raw);
            Run(path, (account, cancel) => WriteObject(account.Stat(path, cancel)));
        }
    }
}
