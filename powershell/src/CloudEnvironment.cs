using System;

namespace AzMi;

/// <summary>
/// The Azure cloud a cmdlet works in, by the Az modules' names: <c>-Environment</c>, else
/// <c>$env:AZMI_ENVIRONMENT</c> (PowerShell's environment, read at each call), else AzureCloud.
/// azmi validates the name and knows each cloud's suffixes and endpoints; the module gives the
/// name to every identity it builds (azmi_identity_set_environment), so the native environment
/// never decides, and keeps here only what PowerShell itself needs: the resources behind
/// <c>-ResourceTypeName</c> and the vault suffix shown by -WhatIf.
/// </summary>
internal static class CloudEnvironment
{
    internal const string Variable = "AZMI_ENVIRONMENT";

    internal const string Public = "AzureCloud";
    internal const string UsGovernment = "AzureUSGovernment";
    internal const string China = "AzureChinaCloud";

    /// <summary>The -Environment values.</summary>
    internal static readonly string[] Names = { Public, UsGovernment, China };

    /// <summary>The environment a call uses, and where it came from (for -Verbose).</summary>
    internal static (string Name, string From) Resolve(string? parameter)
    {
        if (!string.IsNullOrEmpty(parameter))
        {
            return (parameter!, "-Environment");
        }

        string? value = Environment.GetEnvironmentVariable(Variable);
        return string.IsNullOrWhiteSpace(value)
            ? (Public, "the default")
            : (value!.Trim(), "$env:" + Variable);
    }

    /// <summary>
    /// The resource Entra ID knows a <see cref="ResourceTypeName"/> by in the cloud
    /// <paramref name="environment"/> (azmi's canonical name). Data Lake Storage Gen1 existed
    /// only in the public cloud.
    /// </summary>
    internal static string ResourceOf(ResourceTypeName name, string environment) => (name, environment) switch
    {
        (ResourceTypeName.Arm, UsGovernment) => "https://management.usgovcloudapi.net/",
        (ResourceTypeName.Arm, China) => "https://management.chinacloudapi.cn/",
        (ResourceTypeName.Arm, _) => "https://management.azure.com/",
        (ResourceTypeName.KeyVault, UsGovernment) => "https://vault.usgovcloudapi.net",
        (ResourceTypeName.KeyVault, China) => "https://vault.azure.cn",
        (ResourceTypeName.KeyVault, _) => "https://vault.azure.net",
        (ResourceTypeName.Storage, _) => "https://storage.azure.com/",
        (ResourceTypeName.DataLake, Public) => "https://datalake.azure.net/",
        (ResourceTypeName.DataLake, _) => throw AzMiException.InvalidArgument(
            $"-ResourceTypeName DataLake is Data Lake Storage Gen1, which only AzureCloud had ({environment} never did); Data Lake Storage Gen2 uses -ResourceTypeName Storage."),
        (ResourceTypeName.Sql, UsGovernment) => "https://database.usgovcloudapi.net/",
        (ResourceTypeName.Sql, China) => "https://database.chinacloudapi.cn/",
        (ResourceTypeName.Sql, _) => "https://database.windows.net/",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not a known resource type name."),
    };

    /// <summary>
    /// The canonical name of a cloud name as azmi reads it (letter case ignored; the Instance
    /// Metadata Service's AzurePublicCloud and AzureUSGovernmentCloud too); anything else as given.
    /// </summary>
    internal static string Canonical(string name)
    {
        string trimmed = name.Trim();
        foreach (string known in Names)
        {
            if (string.Equals(trimmed, known, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        return trimmed.ToLowerInvariant() switch
        {
            "azurepubliccloud" => Public,
            "azureusgovernmentcloud" => UsGovernment,
            _ => trimmed,
        };
    }

    /// <summary>
    /// The vault URI a -VaultName stands for in <paramref name="environment"/>: a name gets the
    /// cloud's suffix (as azmi gives it); a host or URI is shown as given.
    /// </summary>
    internal static string VaultShown(string vault, string environment)
    {
        string given = vault.Trim();
        bool isName = given.Length > 0 && given.IndexOf('.') < 0 && given.IndexOf(':') < 0 && given.IndexOf('/') < 0;
        if (!isName)
        {
            return given;
        }

        string suffix = Canonical(environment) switch
        {
            UsGovernment => "vault.usgovcloudapi.net",
            China => "vault.azure.cn",
            _ => "vault.azure.net",
        };
        return $"https://{given.ToLowerInvariant()}.{suffix}";
    }
}
