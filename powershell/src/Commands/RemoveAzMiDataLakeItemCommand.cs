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
            if (!Confirmed(TargetOf(path), action))
            {
                continue;
            }

            Run(path, (account, cancel) => account.Remove(path, Recurse.IsPresent, cancel));
        }
    }

    /// <summary>
    /// ShouldProcess, except that -Force (without an explicit -Confirm) skips the prompt that
    /// ConfirmImpact High brings; -WhatIf is honoured either way.
    /// </summary>
    private bool Confirmed(string target, string action)
    {
        bool confirmGiven = MyInvocation.BoundParameters.ContainsKey("Confirm");
        if (Force.IsPresent && !confirmGiven && !IsWhatIf())
        {
            WriteVerbose($"Performing the operation \"{action}\" on target \"{target}\".");
            return true;
        }

        return ShouldProcess(target, action);
    }

    private bool IsWhatIf() =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? whatIf)
            ? LanguagePrimitives.IsTrue(whatIf)
            : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
}
