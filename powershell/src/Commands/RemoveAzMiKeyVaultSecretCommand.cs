using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Remove-AzMiKeyVaultSecret</c>: deletes a secret, every version of it. The vault keeps it
/// recoverable (soft delete) until its scheduled purge date. ConfirmImpact High: it asks first
/// unless -Force or -Confirm:$false; -PassThru writes where the deleted secret waits. Help:
/// en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "AzMiKeyVaultSecret", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(DeletedKeyVaultSecret))]
public sealed class RemoveAzMiKeyVaultSecretCommand : KeyVaultCmdlet
{
    /// <summary>The secret's name.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("SecretName")]
    public string Name { get; set; } = string.Empty;

    /// <summary>Do not ask for confirmation (-WhatIf still only shows what would happen).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Write the deleted secret (its recovery id and dates).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (!ConfirmedOrForced($"secret '{Name}' in vault {VaultShown()}", "Remove (every version; recoverable until purged)", Force.IsPresent))
        {
            return;
        }

        Invoke($"{Name} in {VaultName}", (identity, cancel) =>
        {
            NativeKeyVault.Deleted deleted = NativeKeyVault.Delete(VaultName, Name, ApiVersion, identity, cancel);
            if (VerboseShown)
            {
                WriteVerbose($"Deleted secret '{deleted.Properties.Name}' from {VaultName}{ApiVersionNote()}; recoverable at {deleted.RecoveryId} until {deleted.ScheduledPurge:u}.");
            }

            if (PassThru.IsPresent)
            {
                NativeKeyVault.SecretProperties p = deleted.Properties;
                WriteObject(new DeletedKeyVaultSecret(
                    VaultName, p.Name, p.Version, p.Id, deleted.RecoveryId, deleted.DeletedOn, deleted.ScheduledPurge,
                    p.ContentType, p.Enabled, p.Created, p.Updated, p.Expires, p.NotBefore, Json.Tags(this, p.TagsJson)));
            }
        }, ApiVersionAdvice);
    }
}
