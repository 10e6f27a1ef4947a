using System;
using System.Collections;
using System.Security;

namespace AzMi;

/// <summary>
/// What Get-AzMiKeyVaultSecret returns, shaped after Az.KeyVault's PSKeyVaultSecret: the value
/// as a read-only SecureString (null for listed secrets and versions), and the properties.
/// AzMi.format.ps1xml defines its views; none shows the value.
/// </summary>
public sealed class KeyVaultSecret
{
    internal KeyVaultSecret(
        string vaultName,
        string name,
        string version,
        string id,
        SecureString? secretValue,
        string contentType,
        bool enabled,
        DateTime? created,
        DateTime? updated,
        DateTime? expires,
        DateTime? notBefore,
        Hashtable tags)
    {
        VaultName = vaultName;
        Name = name;
        Version = version;
        Id = id;
        SecretValue = secretValue;
        ContentType = contentType;
        Enabled = enabled;
        Created = created;
        Updated = updated;
        Expires = expires;
        NotBefore = notBefore;
        Tags = tags;
    }

    /// <summary>The vault as the user named it (a name or a URI).</summary>
    public string VaultName { get; }

    /// <summary>The secret's name.</summary>
    public string Name { get; }

    /// <summary>The version id; empty for a secret from a listing of the vault.</summary>
    public string Version { get; }

    /// <summary>https://&lt;vault&gt;/secrets/&lt;name&gt;[/&lt;version&gt;].</summary>
    public string Id { get; }

    /// <summary>The value, read-only; null for listed secrets and versions.</summary>
    public SecureString? SecretValue { get; }

    /// <summary>The content type, or empty.</summary>
    public string ContentType { get; }

    /// <summary>Whether the secret (version) is enabled.</summary>
    public bool Enabled { get; }

    /// <summary>Creation time (UTC).</summary>
    public DateTime? Created { get; }

    /// <summary>Last update (UTC).</summary>
    public DateTime? Updated { get; }

    /// <summary>Expiry (UTC); reported, not enforced.</summary>
    public DateTime? Expires { get; }

    /// <summary>Not before (UTC); reported, not enforced.</summary>
    public DateTime? NotBefore { get; }

    /// <summary>The tags (name → value).</summary>
    public Hashtable Tags { get; }

    /// <summary>Never the value.</summary>
    public override string ToString() => Id;
}

/// <summary>
/// What Remove-AzMiKeyVaultSecret -PassThru returns, shaped after Az.KeyVault's
/// PSDeletedKeyVaultSecret: the deleted secret's properties (no value), where it waits and
/// until when.
/// </summary>
public sealed class DeletedKeyVaultSecret
{
    internal DeletedKeyVaultSecret(
        string vaultName,
        string name,
        string version,
        string id,
        string recoveryId,
        DateTime? deletedDate,
        DateTime? scheduledPurgeDate,
        string contentType,
        bool enabled,
        DateTime? created,
        DateTime? updated,
        DateTime? expires,
        DateTime? notBefore,
        Hashtable tags)
    {
        VaultName = vaultName;
        Name = name;
        Version = version;
        Id = id;
        RecoveryId = recoveryId;
        DeletedDate = deletedDate;
        ScheduledPurgeDate = scheduledPurgeDate;
        ContentType = contentType;
        Enabled = enabled;
        Created = created;
        Updated = updated;
        Expires = expires;
        NotBefore = notBefore;
        Tags = tags;
    }

    /// <summary>The vault as the user named it.</summary>
    public string VaultName { get; }

    /// <summary>The secret's name.</summary>
    public string Name { get; }

    /// <summary>The version that was current when it was deleted.</summary>
    public string Version { get; }

    /// <summary>https://&lt;vault&gt;/secrets/&lt;name&gt;/&lt;version&gt;.</summary>
    public string Id { get; }

    /// <summary>https://&lt;vault&gt;/deletedsecrets/&lt;name&gt;: where it is recovered or purged.</summary>
    public string RecoveryId { get; }

    /// <summary>When it was deleted (UTC).</summary>
    public DateTime? DeletedDate { get; }

    /// <summary>When the vault purges it for good (UTC).</summary>
    public DateTime? ScheduledPurgeDate { get; }

    /// <summary>The content type, or empty.</summary>
    public string ContentType { get; }

    /// <summary>Whether the version was enabled.</summary>
    public bool Enabled { get; }

    /// <summary>Creation time (UTC).</summary>
    public DateTime? Created { get; }

    /// <summary>Last update (UTC).</summary>
    public DateTime? Updated { get; }

    /// <summary>Expiry (UTC).</summary>
    public DateTime? Expires { get; }

    /// <summary>Not before (UTC).</summary>
    public DateTime? NotBefore { get; }

    /// <summary>The tags (name → value).</summary>
    public Hashtable Tags { get; }

    /// <inheritdoc />
    public override string ToString() => RecoveryId;
}

/// <summary>
/// What Get-AzMiResourceGroup returns, shaped after Az.Resources' PSResourceGroup.
/// </summary>
public sealed class ResourceGroup
{
    internal ResourceGroup(string resourceGroupName, string location, string provisioningState, Hashtable tags, string resourceId, string? managedBy)
    {
        ResourceGroupName = resourceGroupName;
        Location = location;
        ProvisioningState = provisioningState;
        Tags = tags;
        ResourceId = resourceId;
        ManagedBy = managedBy;
    }

    /// <summary>The group's name.</summary>
    public string ResourceGroupName { get; }

    /// <summary>Its region, e.g. eastus.</summary>
    public string Location { get; }

    /// <summary>Usually Succeeded.</summary>
    public string ProvisioningState { get; }

    /// <summary>The tags (name → value).</summary>
    public Hashtable Tags { get; }

    /// <summary>/subscriptions/&lt;id&gt;/resourceGroups/&lt;name&gt;.</summary>
    public string ResourceId { get; }

    /// <summary>The resource managing the group, if any.</summary>
    public string? ManagedBy { get; }

    /// <inheritdoc />
    public override string ToString() => ResourceId;
}
