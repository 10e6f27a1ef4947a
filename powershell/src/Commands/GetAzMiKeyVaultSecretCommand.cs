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
public sealed class GetAzMiKeyVaultSecretCommand : KeyVaultCmdlet
{
    private const string ByVaultName = "ByVaultName";
    private const string BySecretName = "BySecretName";
    private const string BySecretVersions = "BySecretVersions";

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

    private bool WriteSecret(NativeKeyVault.SecretProperties secret)
    {
        WriteObject(ToOutput(secret));
        return true;
    }
}
