using System.Collections;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiResourceGroup</c>: one resource group of a subscription, or all of them (every
/// page). Like Az.Resources' Get-AzResourceGroup. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiResourceGroup")]
[OutputType(typeof(ResourceGroup))]
public sealed class GetAzMiResourceGroupCommand : ArmCmdlet
{
    /// <summary>The subscription id.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string SubscriptionId { get; set; } = string.Empty;

    /// <summary>The group; every group of the subscription when absent.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("ResourceGroupName")]
    public string? Name { get; set; }

    /// <summary>The Microsoft.Resources api-version.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ApiVersion { get; set; } = "2021-04-01";

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string path = $"/subscriptions/{Segment(SubscriptionId)}/resourcegroups";
        if (Name is not null)
        {
            path += "/" + Segment(Name);
        }

        InvokeArm(path, (identity, cancel) =>
        {
            string json = NativeArm.Request("GET", path, ApiVersion, null, identity, cancel);
            object? parsed = Json.Parse(this, json);
            if (Name is not null)
            {
                WriteObject(ToGroup(parsed));
                return;
            }

            if (Json.Property(parsed, "value") is IEnumerable items)
            {
                foreach (object? item in items)
                {
                    WriteObject(ToGroup(item));
                }
            }
        });
    }

    private static ResourceGroup ToGroup(object? json)
    {
        object? properties = Json.Property(json, "properties");
        return new ResourceGroup(
            Json.Property(json, "name")?.ToString() ?? string.Empty,
            Json.Property(json, "location")?.ToString() ?? string.Empty,
            Json.Property(properties, "provisioningState")?.ToString() ?? string.Empty,
            Json.ToHashtable(Json.Property(json, "tags")),
            Json.Property(json, "id")?.ToString() ?? string.Empty,
            Json.Property(json, "managedBy")?.ToString());
    }
}
