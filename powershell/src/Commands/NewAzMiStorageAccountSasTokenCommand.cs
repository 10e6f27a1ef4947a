using System;
using System.Globalization;
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
public sealed class NewAzMiStorageAccountSasTokenCommand : ArmCmdlet
{
    /// <summary>The account SAS permission letters, in the order the service requires.</summary>
    private const string PermissionOrder = "rwdlacup";

    /// <summary>The subscription id.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string SubscriptionId { get; set; } = string.Empty;

    /// <summary>The storage account's resource group.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string ResourceGroupName { get; set; } = string.Empty;

    /// <summary>The storage account.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    [Alias("AccountName")]
    public string StorageAccountName { get; set; } = string.Empty;

    /// <summary>The services the token covers: Blob, File, Queue, Table (e.g. Blob,File).</summary>
    [Parameter(Mandatory = true)]
    public SharedAccessAccountServices Service { get; set; }

    /// <summary>The resource types the token covers: Service, Container, Object.</summary>
    [Parameter(Mandatory = true)]
    public SharedAccessAccountResourceTypes ResourceType { get; set; }

    /// <summary>Letters of rwdlacup, in any order.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Permission { get; set; } = string.Empty;

    /// <summary>HttpsOnly (default) or HttpsOrHttp.</summary>
    [Parameter]
    [ValidateSet("HttpsOnly", "HttpsOrHttp", IgnoreCase = true)]
    public string Protocol { get; set; } = "HttpsOnly";

    /// <summary>An IPv4 address or range (a.b.c.d-e.f.g.h) the token is valid from.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IPAddressOrRange { get; set; }

    /// <summary>When the token becomes valid.</summary>
    [Parameter]
    public DateTime? StartTime { get; set; }

    /// <summary>When the token expires; one hour from now by default.</summary>
    [Parameter]
    public DateTime? ExpiryTime { get; set; }

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

        string permission = InServiceOrder(Permission, target);

        DateTime expiry = ToUtc(ExpiryTime ?? DateTime.UtcNow.AddHours(1));
        if (expiry <= DateTime.UtcNow)
        {
            ThrowInvalidArgument($"-ExpiryTime {expiry:u} is not in the future: give a later time, e.g. -ExpiryTime (Get-Date).AddHours(1).", target);
        }

        DateTime? start = StartTime is null ? null : ToUtc(StartTime.Value);
        if (start is not null && start >= expiry)
        {
            ThrowInvalidArgument($"-StartTime {start:u} is not before -ExpiryTime {expiry:u}: give an earlier start or a later expiry.", target);
        }

        var body = new StringBuilder("{");
        body.Append("\"signedServices\":").Append(Json.Quote(services));
        body.Append(",\"signedResourceTypes\":").Append(Json.Quote(resourceTypes));
        body.Append(",\"signedPermission\":").Append(Json.Quote(permission));
        body.Append(",\"signedProtocol\":").Append(string.Equals(Protocol, "HttpsOrHttp", StringComparison.OrdinalIgnoreCase) ? "\"https,http\"" : "\"https\"");
        body.Append(",\"signedExpiry\":").Append(Json.Quote(Iso(expiry)));
        if (start is not null)
        {
            body.Append(",\"signedStart\":").Append(Json.Quote(Iso(start.Value)));
        }

        if (IPAddressOrRange is not null)
        {
            body.Append(",\"signedIp\":").Append(Json.Quote(IPAddressOrRange));
        }

        body.Append('}');

        InvokeArm(target, (identity, cancel) =>
        {
            string sas = NativeArm.ListAccountSas(SubscriptionId, ResourceGroupName, StorageAccountName, body.ToString(), identity, cancel);
            // Never the token: only what it allows.
            WriteVerbose($"Account SAS for {StorageAccountName}: services {services}, resource types {resourceTypes}, permissions {permission}, expires {expiry:u}.");
            WriteObject(sas);
        });
    }

    /// <summary>
    /// The letters of <paramref name="given"/> in the order rwdlacup, which listAccountSas
    /// requires; Az takes them in any order (its examples write racwdlup), and so does this
    /// cmdlet. Unknown or repeated letters end the command.
    /// </summary>
    private string InServiceOrder(string given, string target)
    {
        foreach (char letter in given)
        {
            if (PermissionOrder.IndexOf(letter) < 0 || given.IndexOf(letter) != given.LastIndexOf(letter))
            {
                ThrowInvalidArgument(
                    $"-Permission '{given}' is not valid for an account SAS: give each of the letters {PermissionOrder} (read, write, delete, list, add, create, update, process) at most once, in any order.",
                    target);
            }
        }

        var ordered = new StringBuilder();
        foreach (char letter in PermissionOrder)
        {
            if (given.IndexOf(letter) >= 0)
            {
                ordered.Append(letter);
            }
        }

        return ordered.ToString();
    }

    private static DateTime ToUtc(DateTime time) =>
        time.Kind == DateTimeKind.Utc ? time : time.ToUniversalTime(); // Unspecified counts as local, as in Az.

    private static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
