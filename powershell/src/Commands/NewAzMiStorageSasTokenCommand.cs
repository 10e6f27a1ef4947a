using System;
using System.Management.Automation;
using System.Text;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>New-AzMiStorageSasToken</c>: a service SAS for a blob container (or one blob), minted by
/// Resource Manager's listServiceSas with the managed identity (which needs e.g. Storage Account
/// Contributor); the account key never leaves Azure. Like New-AzStorageContainerSASToken, it
/// returns the token as a String (no leading '?'). Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.New, "AzMiStorageSasToken")]
[OutputType(typeof(string))]
public sealed class NewAzMiStorageSasTokenCommand : StorageSasCmdlet
{
    private const string ContainerOrder = "racwdl";
    private const string BlobOrder = "racwd";

    /// <summary>The container.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [Alias("Name")]
    public string Container { get; set; } = string.Empty;

    /// <summary>A blob in the container: a blob SAS instead of a container SAS.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Blob { get; set; }

    /// <summary>A stored access policy of the container.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Policy { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string target = $"{Container}{(Blob is null ? string.Empty : "/" + Blob)} in {StorageAccountName}";

        // Checked here, before any request (azmi checks again).
        string permission = PermissionInOrder(Blob is null ? ContainerOrder : BlobOrder, Blob is null ? "a container" : "a blob", target);
        (DateTime expiry, DateTime? start) = Lifetime(target);

        var body = new StringBuilder("{");
        string resource = $"/blob/{StorageAccountName}/{Container}{(Blob is null ? string.Empty : "/" + Blob)}";
        body.Append("\"canonicalizedResource\":").Append(Json.Quote(resource));
        body.Append(",\"signedResource\":").Append(Blob is null ? "\"c\"" : "\"b\"");
        AppendCommonFields(body, permission, expiry, start);
        if (Policy is not null)
        {
            body.Append(",\"signedIdentifier\":").Append(Json.Quote(Policy));
        }

        body.Append('}');

        InvokeArm(target, (identity, cancel) =>
        {
            string sas = NativeArm.ListServiceSas(SubscriptionId, ResourceGroupName, StorageAccountName, body.ToString(), identity, cancel);
            // Never the token: only what it allows.
            if (VerboseShown)
            {
                WriteVerbose($"SAS for {resource}: permissions {permission}, expires {expiry:u}.");
            }

            WriteObject(sas);
        });
    }
}
