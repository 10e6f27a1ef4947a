using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Security;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Set-AzMiKeyVaultSecret</c>: a new version of a secret (a new secret when the name is
/// new), its value a SecureString that never becomes a managed string; content type, tags,
/// expiry, not-before and disabled, as Az.KeyVault's Set-AzKeyVaultSecret. Supports -WhatIf and
/// -Confirm; writes the version as the vault stored it. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Set, "AzMiKeyVaultSecret", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(KeyVaultSecret))]
public sealed class SetAzMiKeyVaultSecretCommand : KeyVaultCmdlet
{
    /// <summary>The secret's name (1 to 127 letters, digits and hyphens).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("SecretName")]
    public string Name { get; set; } = string.Empty;

    /// <summary>The value (at most 25 KiB in UTF-8). Never printed, logged or kept.</summary>
    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    public SecureString SecretValue { get; set; } = new SecureString();

    /// <summary>E.g. text/plain; none when absent.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? ContentType { get; set; }

    /// <summary>Tags (name → value; values written as text): at most 15.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("Tags")]
    public Hashtable? Tag { get; set; }

    /// <summary>After this time the version should not be used (local time unless given as UTC).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DateTime? Expires { get; set; }

    /// <summary>Before this time the version should not be used.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public DateTime? NotBefore { get; set; }

    /// <summary>Writes the version disabled: it cannot be read until it is enabled.</summary>
    [Parameter]
    public SwitchParameter Disable { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var settings = new NativeKeyVault.SetSettings
        {
            ContentType = ContentType,
            TagsJson = Tag is null || Tag.Count == 0 ? null : JsonText.StringObject(TagText(Tag)),
            NotBefore = NotBefore,
            Expires = Expires,
            Disabled = Disable.IsPresent,
        };
        string action = Disable.IsPresent ? "Set (a new, disabled version)" : "Set (a new version)";
        if (!ShouldProcess($"secret '{Name}' in vault {VaultShown()}", action))
        {
            return;
        }

        Invoke($"{Name} in {VaultName}", (identity, cancel) =>
        {
            NativeKeyVault.SecretProperties secret = NativeKeyVault.Set(VaultName, Name, SecretValue, settings, ApiVersion, identity, cancel);
            if (VerboseShown)
            {
                WriteVerbose($"Wrote version {secret.Version} of secret '{secret.Name}' to {VaultName}{ApiVersionNote()}.");
            }

            WriteObject(ToOutput(secret));
        }, Advice);
    }

    /// <summary>
    /// A name held by a deleted secret (409 Conflict) is the commonest surprise of a vault with
    /// soft delete: say what can be done.
    /// </summary>
    private string? Advice(AzMiException e) =>
        e.StatusCode == AzMiStatus.Conflict
            ? $"The vault keeps the deleted secret '{Name}' recoverable: recover it (e.g. Undo-AzKeyVaultSecretRemoval) and set it again, ask the vault's owner to purge it, or use another name."
            : ApiVersionAdvice(e);

    /// <summary>The tags as text: strings as they are, dates in ISO 8601, numbers invariant.</summary>
    private static IEnumerable<KeyValuePair<string, string>> TagText(Hashtable tags)
    {
        foreach (DictionaryEntry entry in tags)
        {
            object? value = entry.Value is PSObject ps ? ps.BaseObject : entry.Value;
            string text = value switch
            {
                null => string.Empty,
                DateTime time => time.ToString("o", CultureInfo.InvariantCulture),
                DateTimeOffset time => time.ToString("o", CultureInfo.InvariantCulture),
                IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? string.Empty,
            };
            yield return new KeyValuePair<string, string>(entry.Key?.ToString() ?? string.Empty, text);
        }
    }
}
