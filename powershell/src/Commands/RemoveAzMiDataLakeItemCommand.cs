using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// <c>Remove-AzMiDataLakeItem</c>: deletes files or directories (-Recurse for a non-empty one).
/// ConfirmImpact High: it asks first unless -Force or -Confirm:$false. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "AzMiDataLakeItem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(void))]
public sealed class RemoveAzMiDataLakeItemCommand : DataLakeCmdlet
{
    /// <summary>The items to delete (never the root).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("Paths")]
    public string[] Path { get; set; } = System.Array.Empty<string>();

    /// <summary>Delete a non-empty directory with everything in it.</summary>
    [Parameter]
    public SwitchParameter Recurse { get; set; }

    /// <summary>Do not ask for confirmation (-WhatIf still only shows what would happen).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (string raw in Path)
        {
            string path = NormalizePath(raw);
            string action = Recurse.IsPresent ? "Remove (with everything below it)" : "Remove";
            if (!ConfirmedOrForced(TargetOf(path), action, Force.IsPresent))
            {
                continue;
            }

            Run(path, (account, cancel) => account.Remove(path, Recurse.IsPresent, cancel));
        }
    }
}
