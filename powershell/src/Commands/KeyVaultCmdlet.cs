using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// What the Key Vault cmdlets share: the vault (-VaultName), the REST api-version (-ApiVersion)
/// and the advice when the vault does not know it, and the secret objects they write.
/// </summary>
public abstract class KeyVaultCmdlet : AzMiCmdlet
{
    /// <summary>
    /// The vault's name (<c>contoso</c>: https://contoso.vault.azure.net), host or URI
    /// (https://contoso.vault.azure.cn, <c>$env:AZMI_KEYVAULT_URL</c> of azmi-emulator).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("VaultUri")]
    public string VaultName { get; set; } = string.Empty;

    /// <summary>
    /// The Key Vault REST api-version to ask for (e.g. 7.4, 7.6-preview.1); azmi's default, 7.5,
    /// when absent. azmi checks its form before any request; the vault says whether it knows it.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ApiVersion { get; set; }

    /// <summary>
    /// The vault as -WhatIf and -Confirm name it: a name with the suffix of the cloud the call
    /// uses (-Environment, else $env:AZMI_ENVIRONMENT), so that the prompt says where the change
    /// would go; a URI as given.
    /// </summary>
    private protected string VaultShown() => CloudEnvironment.VaultShown(VaultName, CloudEnvironment.Resolve(Environment).Name);

    /// <summary>
    /// The vault's URL as azmi reads -VaultName (a name in the call's cloud, a host as https://),
    /// for -Verbose's proxy line; azmi itself checks the name.
    /// </summary>
    private protected string VaultUrl()
    {
        string shown = VaultShown();
        return shown.Contains("://") ? shown : "https://" + shown;
    }

    /// <summary>" (api-version x)" for verbose messages when -ApiVersion was given.</summary>
    private protected string ApiVersionNote() => ApiVersion is null ? string.Empty : $" (api-version {ApiVersion})";

    /// <summary>
    /// The vault refuses an api-version it does not know with 400 BadParameter; when the user
    /// chose the version, say which parameter to change.
    /// </summary>
    private protected string? ApiVersionAdvice(AzMiException e) =>
        ApiVersion is not null && e.HttpStatus == 400 && e.ServiceErrorCode == "BadParameter"
            ? "Give -ApiVersion a version this vault supports, or leave it out for the default (7.5)."
            : null;

    /// <summary>The output object of a secret (its value a SecureString, or none).</summary>
    private protected KeyVaultSecret ToOutput(NativeKeyVault.SecretProperties secret) => new KeyVaultSecret(
        VaultName,
        secret.Name,
        secret.Version,
        secret.Id,
        secret.Value as System.Security.SecureString,
        secret.ContentType,
        secret.Enabled,
        secret.Created,
        secret.Updated,
        secret.Expires,
        secret.NotBefore,
        Json.Tags(this, secret.TagsJson));
}
