using System;
using System.Management.Automation;
using System.Text;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>New-AzMiStorageAccountSasToken</c>: an account SAS (services, resource types, permissions
/// across the storage account), minted by Resource Manager's listAccountSas with the managed
/// identity (which needs e.g. Storage Account Contributor); the account key never leaves Azure.
/// Like Az.Storage's New-AzStorageAccountSASToken, it returns the token as a String (no leading
/// '?'). Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.New, "AzMiStorageAccountSasToken")]
[OutputType(typeof(string))]
public sealed class NewAzMiStorageAccountSasTokenCommand : StorageSasCmdlet
{
    /// <summary>The account SAS permission letters, in the order the service requires.</summary>
    private const string PermissionOrder = "rwdlacup";

    /// <summary>The services the token covers: Blob, File, Queue, Table (e.g. Blob,File).</summary>
    [Parameter(Mandatory = true)]
    public SharedAccessAccountServices Service { get; set; }

    /// <summary>The resource types the token covers: Service, Container, Object.</summary>
    [Parameter(Mandatory = true)]
    public SharedAccessAccountResourceTypes ResourceType { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string target = StorageAccountName;

        // Checked here, before any request (azmi checks again), so that the message names this
        // cmdlet's parameters: at least one service and resource type; the permission letters,
        // once each, put in the service's order; an expiry in the future, after the start.
        string services = AccountSasLetters.Of(Service);
        if (services.Length == 0)
        {
            ThrowInvalidArgument("-Service names no service: give one or more of Blob, File, Queue and Table, e.g. -Service Blob,File.", target);
        }

        string resourceTypes = AccountSasLetters.Of(ResourceType);
        if (resourceTypes.Length == 0)
        {
            ThrowInvalidArgument("-ResourceType names no resource type: give one or more of Service, Container and Object, e.g. -ResourceType Container,Object.", target);
        }

        string permission = PermissionInOrder(PermissionOrder, "an account SAS (read, write, delete, list, add, create, update, process)", target);
        (DateTime expiry, DateTime? start) = Lifetime(target);

        var body = new StringBuilder("{");
        body.Append("\"signedServices\":").Append(Json.Quote(services));
        body.Append(",\"signedResourceTypes\":").Append(Json.Quote(resourceTypes));
        AppendCommonFields(body, permission, expiry, start);
        body.Append('}');

        InvokeArm(target, (identity, cancel) =>
        {
            string sas = NativeArm.ListAccountSas(SubscriptionId, ResourceGroupName, StorageAccountName, body.ToString(), identity, cancel);
            // Never the token: only what it allows.
            if (VerboseShown)
            {
                WriteVerbose($"Account SAS for {StorageAccountName}: services {services}, resource types {resourceTypes}, permissions {permission}, expires {expiry:u}.");
            }

            WriteObject(sas);
        });
    }
}
