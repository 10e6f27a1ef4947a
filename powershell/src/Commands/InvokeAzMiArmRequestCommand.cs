using System;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Invoke-AzMiArmRequest</c>: any Resource Manager request with the managed identity's
/// token; the answer parsed as ConvertFrom-Json would (a GET of a list follows every nextLink
/// and returns one <c>value</c> with every item). azmi waits for long-running operations
/// (Azure-AsyncOperation, 202 + Location) before it returns; Ctrl+C stops the wait.
/// Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "AzMiArmRequest", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(PSObject))]
public sealed class InvokeAzMiArmRequestCommand : ArmCmdlet
{
    /// <summary>A path from the endpoint's root, or a full URL on the endpoint's host.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("Uri", "Id")]
    public string Path { get; set; } = string.Empty;

    /// <summary>GET (default), PUT, POST, PATCH or DELETE.</summary>
    [Parameter]
    [ValidateSet("GET", "PUT", "POST", "PATCH", "DELETE", IgnoreCase = true)]
    public string Method { get; set; } = "GET";

    /// <summary>The api-version; may be left out when the path has one.</summary>
    [Parameter]
    public string? ApiVersion { get; set; }

    /// <summary>The body: JSON text as is, or any other object converted with ConvertTo-Json.</summary>
    [Parameter]
    public object? Body { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string method = Method.ToUpperInvariant();
        string? body = Body switch
        {
            null => null,
            PSObject { BaseObject: string text } => text,
            string text => text,
            _ => Json.Serialize(this, Body),
        };

        if (method != "GET" && !ShouldProcess(Path, method))
        {
            return;
        }

        InvokeArm(Path, (identity, cancel) =>
        {
            string json = NativeArm.Request(method, Path, string.IsNullOrEmpty(ApiVersion) ? null : ApiVersion, body, identity, cancel);
            if (VerboseShown)
            {
                WriteVerbose($"{method} {Path}: {json.Length} characters of JSON.");
            }

            object? parsed = Json.Parse(this, json);
            if (parsed is not null)
            {
                WriteObject(parsed, parsed is Array);
            }
        });
    }
}
