using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiDataLakeChildItem</c>: the items of a Data Lake directory, written to the
/// pipeline as each page of the listing arrives. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiDataLakeChildItem")]
[OutputType(typeof(DataLakeItem))]
public sealed class GetAzMiDataLakeChildItemCommand : DataLakeCmdlet
{
    /// <summary>The directories to list (a file lists as itself); the root by default.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = { "/" };

    /// <summary>Everything below the directory too.</summary>
    [Parameter]
    public SwitchParameter Recurse { get; set; }

    /// <summary>Files only.</summary>
    [Parameter]
    public SwitchParameter File { get; set; }

    /// <summary>Directories only.</summary>
    [Parameter]
    public SwitchParameter Directory { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string raw in Path)
        {
            string path = NormalizePath(raw);
            Run(path, (account, cancel) => account.List(path, Recurse.IsPresent, cancel, item =>
            {
                bool wanted = item.IsDirectory ? !File.IsPresent || Directory.IsPresent : !Directory.IsPresent || File.IsPresent;
                if (wanted)
                {
                    WriteObject(item);
                }

                return true;
            }));
        }
    }
}
