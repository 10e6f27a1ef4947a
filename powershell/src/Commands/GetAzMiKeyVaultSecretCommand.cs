using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiKeyVaultSecret</c>: a secret of a Key Vault (SecretValue as SecureString, or the
/// value as a String with -AsPlainText), every secret of the vault, or every version of a
/// secret. Like Az.KeyVault's Get-AzKeyVaultSecret. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiKeyVaultSecret", DefaultParameterSetName = ByVaultName)]
[OutputType(typeof(KeyVaultSecret), ParameterSetName = new[] { ByVaultName, BySecretName, BySecretVersions })]
[OutputType(typeof(string), ParameterSetName = new[] { BySecretName })]
public sealed class GetAzMiKeyVaultSecretCommand : AzMiCmdlet
{
    private const string ByVaultName = "ByVaultName";
    private const string BySecretName = "BySecretName";
    private const string BySecretVersions = "BySecretVersions";

    /// <summary>
    /// The vault's name (<c>contoso</c>: https://contoso.vault.azure.net), host or URI
    /// (https://contoso.vault.azure.cn, <c>$env:AZMI_KEYVAULT_URL</c> of azmi-emulator).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("VaultUri")]
    public string VaultName { get; set; } = string.Empty;

    /// <summary>The secret; without it, every secret of the vault (without values).</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = BySecretName, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = BySecretVersions, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("SecretName")]
    public string Name { get; set; } = string.Empty;

    /// <summary>A version id; the latest when absent (or empty, as in listed secrets).</summary>
    [Parameter(Position = 2, ParameterSetName = BySecretName, ValueFromPipelineByPropertyName = true)]
    [Alias("SecretVersion")]
    [AllowEmptyString]
    public string? Version { get; set; }

    /// <summary>Every version of the secret (without values).</summary>
    [Parameter(Mandatory = true, ParameterSetName = BySecretVersions)]
    public SwitchParameter IncludeVersions { get; set; }

    /// <summary>Return the value as a String instead of the secret object.</summary>
    [Parameter(ParameterSetName = BySecretName)]
    public SwitchParameter AsPlainText { get; set; }

    /// <summary>
    /// The Key Vault REST api-version to ask for (e.g. 7.4, 7.6-preview.1); azmi's default, 7.5,
    /// when absent. azmi checks its form before any request; the vault says whether it knows it.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ApiVersion { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        switch (ParameterSetName)
        {
            case BySecretName:
                string? version = string.IsNullOrEmpty(Version) ? null : Version;
                Invoke($"{Name} in {VaultName}", (identity, cancel) =>
                {
                    VerboseRoute("Key Vault", VaultUrl());
                    NativeKeyVault.SecretProperties secret = NativeKeyVault.Get(VaultName, Name, version, ApiVersion, AsPlainText.IsPresent, identity, cancel);
                    // Never the value: only what was read.
                    if (VerboseShown)
                    {
                        WriteVerbose($"Read version {secret.Version} of secret '{secret.Name}' from {VaultName}{ApiVersionNote()}.");
                    }

                    WriteObject(AsPlainText.IsPresent ? secret.Value : ToOutput(secret));
                }, ApiVersionAdvice);
                break;

            case BySecretVersions:
                Invoke($"{Name} in {VaultName}", (identity, cancel) =>
                {
                    VerboseRoute("Key Vault", VaultUrl());
                    NativeKeyVault.List(VaultName, Name, ApiVersion, identity, cancel, WriteSecret);
                }, ApiVersionAdvice);
                break;

            default:
                Invoke(VaultName, (identity, cancel) =>
                {
                    VerboseRoute("Key Vault", VaultUrl());
                    NativeKeyVault.List(VaultName, null, ApiVersion, identity, cancel, WriteSecret);
                }, ApiVersionAdvice);
                break;
        }
    }

    /// <summary>
    /// The vault's URL as azmi reads -VaultName (a name is in the public cloud, a host is
    /// https://), for -Verbose's proxy line; azmi itself checks the name.
    /// </summary>
    private string VaultUrl() =>
        VaultName.Contains("://") ? VaultName
        : VaultName.Contains(".") ? "https://" + VaultName
        : $"https://{VaultName.ToLowerInvariant()}.vault.azure.net";

    private string ApiVersionNote() => ApiVersion is null ? string.Empty : $" (api-version {ApiVersion})";

    /// <summary>
    /// The vault refuses an api-version it does not know with 400 BadParameter; when the user
    /// chose the version, say which parameter to change.
    /// </summary>
    private string? ApiVersionAdvice(AzMiException e) =>
        ApiVersion is not null && e.HttpStatus == 400 && e.ServiceErrorCode == "BadParameter"
            ? "Give -ApiVersion a version this vault supports, or leave it out for the default (7.5)."
            : null;

    private bool WriteSecret(NativeKeyVault.SecretProperties secret)
    {
        WriteObject(ToOutput(secret));
        return true;
    }

    private KeyVaultSecret ToOutput(NativeKeyVault.SecretProperties secret) => new KeyVaultSecret(
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
