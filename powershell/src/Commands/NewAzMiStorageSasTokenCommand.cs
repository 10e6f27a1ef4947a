using System;
using System.Globalization;
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
public sealed class NewAzMiStorageSasTokenCommand : ArmCmdlet
{
    private const string ContainerOrder = "racwdl";
    private const string BlobOrder = "racwd";

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

    /// <summary>The container.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    [Alias("Name")]
    public string Container { get; set; } = string.Empty;

    /// <summary>A blob in the container: a blob SAS instead of a container SAS.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Blob { get; set; }

    /// <summary>Letters of racwdl (container) or racwd (blob), in any order.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Permission { get; set; } = string.Empty;

    /// <summary>When the token expires; one hour from now by default.</summary>
    [Parameter]
    public DateTime? ExpiryTime { get; set; }

    /// <summary>When the token becomes valid.</summary>
    [Parameter]
    public DateTime? StartTime { get; set; }

    /// <summary>HttpsOnly (default) or HttpsOrHttp.</summary>
    [Parameter]
    [ValidateSet("HttpsOnly", "HttpsOrHttp", IgnoreCase = true)]
    public string Protocol { get; set; } = "HttpsOnly";

    /// <summary>An IPv4 address or range (a.b.c.d-e.f.g.h) the token is valid from.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IPAddressOrRange { get; set; }

    /// <summary>A stored access policy of the container.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Policy { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string target = $"{Container}{(Blob is null ? string.Empty : "/" + Blob)} in {StorageAccountName}";

        // Checked here, before any request (azmi checks again): the letters, once each, put in
        // the service's order; an expiry in the future.
        string order = Blob is null ? ContainerOrder : BlobOrder;
        foreach (char letter in Permission)
        {
            if (order.IndexOf(letter) < 0 || Permission.IndexOf(letter) != Permission.LastIndexOf(letter))
            {
                ThrowInvalidArgument(
                    $"-Permission '{Permission}' is not valid for a {(Blob is null ? "container" : "blob")}: give each of the letters {order} at most once.",
                    target);
            }
        }

        var permission = new StringBuilder();
        foreach (char letter in order)
        {
            if (Permission.IndexOf(letter) >= 0)
            {
                permission.Append(letter);
            }
        }

        DateTime expiry = ToUtc(ExpiryTime ?? DateTime.UtcNow.AddHours(1));
        if (expiry <= DateTime.UtcNow)
        {
            ThrowInvalidArgument($"-ExpiryTime {expiry:u} is not in the future.", target);
        }

        DateTime? start = StartTime is null ? null : ToUtc(StartTime.Value);
        if (start is not null && start >= expiry)
        {
            ThrowInvalidArgument($"-StartTime {start:u} is not before -ExpiryTime {expiry:u}.", target);
        }

        var body = new StringBuilder("{");
        string resource = $"/blob/{StorageAccountName}/{Container}{(Blob is null ? string.Empty : "/" + Blob)}";
        body.Append("\"canonicalizedResource\":").Append(Json.Quote(resource));
        body.Append(",\"signedResource\":").Append(Blob is null ? "\"c\"" : "\"b\"");
        body.Append(",\"signedPermission\":").Append(Json.Quote(permission.ToString()));
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

        if (Policy is not null)
        {
            body.Append(",\"signedIdentifier\":").Append(Json.Quote(Policy));
        }

        body.Append('}');

        InvokeArm(target, (identity, cancel) =>
        {
            string sas = NativeArm.ListServiceSas(SubscriptionId, ResourceGroupName, StorageAccountName, body.ToString(), identity, cancel);
            // Never the token: only what it allows.
            WriteVerbose($"SAS for {resource}: permissions {permission}, expires {expiry:u}.");
            WriteObject(sas);
        });
    }

    private static DateTime ToUtc(DateTime time) =>
        time.Kind == DateTimeKind.Utc ? time : time.ToUniversalTime(); // Unspecified counts as local, as in Az.

    private static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
