using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace AzMi;

/// <summary>
/// Tab completion of -Environment, -Source and -ResourceTypeName: fixed lists with a tooltip
/// each, filtered by what was typed. Nothing is read from the network, the disk or azmi while
/// a user presses Tab.
/// </summary>
public abstract class StaticCompleter : IArgumentCompleter
{
    /// <summary>The values and their tooltips, given what the command line binds so far.</summary>
    private protected abstract IEnumerable<KeyValuePair<string, string>> Values(IDictionary fakeBoundParameters);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName,
        string parameterName,
        string wordToComplete,
        CommandAst commandAst,
        IDictionary fakeBoundParameters)
    {
        string typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        foreach (KeyValuePair<string, string> value in Values(fakeBoundParameters ?? new Hashtable()))
        {
            if (value.Key.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            {
                yield return new CompletionResult(value.Key, value.Key, CompletionResultType.ParameterValue, value.Value);
            }
        }
    }
}

/// <summary>-Environment: the three Azure clouds by the Az modules' names.</summary>
public sealed class EnvironmentCompleter : StaticCompleter
{
    private static readonly KeyValuePair<string, string>[] Clouds =
    {
        Pair(CloudEnvironment.Public, "The public cloud: management.azure.com, <vault>.vault.azure.net, <account>.blob.core.windows.net."),
        Pair(CloudEnvironment.UsGovernment, "Azure Government: management.usgovcloudapi.net, <vault>.vault.usgovcloudapi.net, <account>.blob.core.usgovcloudapi.net."),
        Pair(CloudEnvironment.China, "Azure China (21Vianet): management.chinacloudapi.cn, <vault>.vault.azure.cn, <account>.blob.core.chinacloudapi.cn."),
    };

    private protected override IEnumerable<KeyValuePair<string, string>> Values(IDictionary fakeBoundParameters) => Clouds;

    internal static KeyValuePair<string, string> Pair(string value, string tooltip) => new KeyValuePair<string, string>(value, tooltip);
}

/// <summary>-Source: the managed identity sources, with what detects each.</summary>
public sealed class SourceCompleter : StaticCompleter
{
    private static readonly KeyValuePair<string, string>[] Sources =
    {
        EnvironmentCompleter.Pair("Imds", "Azure VMs and scale sets: IMDS at 169.254.169.254, or $env:AZMI_IMDS_ENDPOINT / $env:AZURE_POD_IDENTITY_AUTHORITY_HOST."),
        EnvironmentCompleter.Pair("AppService", "App Service, Functions, Automation: $env:IDENTITY_ENDPOINT and $env:IDENTITY_HEADER."),
        EnvironmentCompleter.Pair("ServiceFabric", "Service Fabric: $env:IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT."),
        EnvironmentCompleter.Pair("AzureML", "Azure Machine Learning: $env:MSI_ENDPOINT and $env:MSI_SECRET (client id only)."),
        EnvironmentCompleter.Pair("CloudShell", "Cloud Shell: $env:MSI_ENDPOINT (the signed-in user's identity only)."),
        EnvironmentCompleter.Pair("Arc", "Azure Arc-enabled servers: $env:IDENTITY_ENDPOINT and $env:IMDS_ENDPOINT, or the agent (system-assigned only)."),
        EnvironmentCompleter.Pair("WorkloadIdentity", "AKS workload identity: $env:AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID."),
    };

    private protected override IEnumerable<KeyValuePair<string, string>> Values(IDictionary fakeBoundParameters) => Sources;
}

/// <summary>
/// -ResourceTypeName: each name with the resource it stands for in the cloud the command line
/// names (-Environment, else $env:AZMI_ENVIRONMENT, else AzureCloud).
/// </summary>
public sealed class ResourceTypeNameCompleter : StaticCompleter
{
    private protected override IEnumerable<KeyValuePair<string, string>> Values(IDictionary fakeBoundParameters)
    {
        string? given = fakeBoundParameters["Environment"] as string;
        string cloud = CloudEnvironment.Canonical(CloudEnvironment.Resolve(given).Name);
        foreach (ResourceTypeName name in (ResourceTypeName[])Enum.GetValues(typeof(ResourceTypeName)))
        {
            string tooltip;
            try
            {
                tooltip = $"{CloudEnvironment.ResourceOf(name, cloud)} ({cloud})";
            }
            catch (AzMiException e)
            {
                tooltip = e.Message;
            }

            yield return EnvironmentCompleter.Pair(name.ToString(), tooltip);
        }
    }
}

/// <summary>
/// Accepts only one of <see cref="ValidValues"/> (letter case ignored), with PowerShell's
/// ParameterArgumentValidationError otherwise, as ValidateSet does; unlike ValidateSet it leaves
/// tab completion to the parameter's ArgumentCompleter, which PowerShell consults only when a
/// parameter has neither a ValidateSet nor an enum type.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateNameInAttribute : ValidateEnumeratedArgumentsAttribute
{
    /// <summary>The names accepted.</summary>
    /// <param name="validValues">The names, in the order messages list them.</param>
    public ValidateNameInAttribute(params string[] validValues) => ValidValues = validValues;

    /// <summary>The names accepted.</summary>
    public IList<string> ValidValues { get; }

    /// <inheritdoc />
    protected override void ValidateElement(object element)
    {
        string given = element?.ToString() ?? string.Empty;
        foreach (string valid in ValidValues)
        {
            if (string.Equals(valid, given, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        throw new ValidationMetadataException($"'{given}' is not one of {string.Join(", ", ValidValues)}.");
    }
}
