using System;
using System.Globalization;
using System.Management.Automation;
using System.Text;

namespace AzMi.Commands;

/// <summary>
/// What the SAS cmdlets share: the storage account's address in Resource Manager, the token's
/// permission letters and lifetime, protocol and IP range (Az.Storage's parameter names), their
/// checks before any request (azmi checks again, but these messages name the cmdlet's
/// parameters) and the listServiceSas / listAccountSas body fields they become.
/// </summary>
public abstract class StorageSasCmdlet : ArmCmdlet
{
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

    /// <summary>The permission letters, in any order (each cmdlet says which).</summary>
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

    /// <summary>
    /// <see cref="Permission"/>'s letters in <paramref name="order"/>, the order the service
    /// requires (Az takes them in any order, and so do these cmdlets). Unknown or repeated
    /// letters end the command with a message that lists the letters allowed for
    /// <paramref name="kind"/> (e.g. "a container", "an account SAS").
    /// </summary>
    private protected string PermissionInOrder(string order, string kind, string target)
    {
        foreach (char letter in Permission)
        {
            if (order.IndexOf(letter) < 0 || Permission.IndexOf(letter) != Permission.LastIndexOf(letter))
            {
                ThrowInvalidArgument(
                    $"-Permission '{Permission}' is not valid for {kind}: give each of the letters {order} at most once, in any order.",
                    target);
            }
        }

        var ordered = new StringBuilder();
        foreach (char letter in order)
        {
            if (Permission.IndexOf(letter) >= 0)
            {
                ordered.Append(letter);
            }
        }

        return ordered.ToString();
    }

    /// <summary>
    /// The token's lifetime in UTC: <see cref="ExpiryTime"/> (default now + 1 h), which must be
    /// in the future, and <see cref="StartTime"/>, which must be before it.
    /// </summary>
    private protected (DateTime Expiry, DateTime? Start) Lifetime(string target)
    {
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

        return (expiry, start);
    }

    /// <summary>
    /// Appends the fields both SAS requests share to a JSON object under construction (after
    /// its own first field): signedPermission, signedProtocol, signedExpiry, and signedStart and
    /// signedIp when given.
    /// </summary>
    private protected void AppendCommonFields(StringBuilder body, string permission, DateTime expiry, DateTime? start)
    {
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
    }

    private static DateTime ToUtc(DateTime time) =>
        time.Kind == DateTimeKind.Utc ? time : time.ToUniversalTime(); // Unspecified counts as local, as in Az.

    private static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
