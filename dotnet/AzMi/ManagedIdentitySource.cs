using System;

namespace AzMi;

/// <summary>
/// Where a managed identity's tokens come from. azmi detects it from the process's native
/// environment when an identity is created, in the order the Azure SDKs use: App Service /
/// Functions, Service Fabric, Azure ML, Cloud Shell, Azure Arc, AKS workload identity, else
/// IMDS. <see cref="ManagedIdentity.ForSource"/> and <see cref="AzMiIdentity.WithSource"/> name
/// one explicitly.
/// </summary>
public enum ManagedIdentitySource
{
    /// <summary>The Instance Metadata Service of a VM, scale set or AKS node (also AAD Pod Identity and azmi's own endpoint override).</summary>
    Imds,

    /// <summary>App Service, Functions, Container Apps, Automation (<c>IDENTITY_ENDPOINT</c> + <c>IDENTITY_HEADER</c>).</summary>
    AppService,

    /// <summary>Service Fabric (<c>IDENTITY_ENDPOINT</c> + <c>IDENTITY_HEADER</c> + <c>IDENTITY_SERVER_THUMBPRINT</c>).</summary>
    ServiceFabric,

    /// <summary>Azure Machine Learning (<c>MSI_ENDPOINT</c> + <c>MSI_SECRET</c>).</summary>
    AzureML,

    /// <summary>Azure Cloud Shell (<c>MSI_ENDPOINT</c>); system-assigned only.</summary>
    CloudShell,

    /// <summary>Azure Arc-enabled servers (<c>IDENTITY_ENDPOINT</c> + <c>IMDS_ENDPOINT</c>, or the agent installed); system-assigned only.</summary>
    Arc,

    /// <summary>AKS workload identity (<c>AZURE_FEDERATED_TOKEN_FILE</c> + <c>AZURE_CLIENT_ID</c> + <c>AZURE_TENANT_ID</c>).</summary>
    WorkloadIdentity,
}

/// <summary>The C ABI's source ids ("imds", "app_service", …) and back.</summary>
internal static class ManagedIdentitySourceNames
{
    /// <summary>The id azmi_identity_set_source takes.</summary>
    internal static string ToNative(ManagedIdentitySource source) => source switch
    {
        ManagedIdentitySource.Imds => "imds",
        ManagedIdentitySource.AppService => "app_service",
        ManagedIdentitySource.ServiceFabric => "service_fabric",
        ManagedIdentitySource.AzureML => "azure_ml",
        ManagedIdentitySource.CloudShell => "cloud_shell",
        ManagedIdentitySource.Arc => "arc",
        ManagedIdentitySource.WorkloadIdentity => "workload_identity",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "Not a managed identity source."),
    };

    /// <summary>The source of an id azmi returned; an id this version does not know is an error, not a guess.</summary>
    internal static ManagedIdentitySource FromNative(string id) => id switch
    {
        "imds" => ManagedIdentitySource.Imds,
        "app_service" => ManagedIdentitySource.AppService,
        "service_fabric" => ManagedIdentitySource.ServiceFabric,
        "azure_ml" => ManagedIdentitySource.AzureML,
        "cloud_shell" => ManagedIdentitySource.CloudShell,
        "arc" => ManagedIdentitySource.Arc,
        "workload_identity" => ManagedIdentitySource.WorkloadIdentity,
        _ => throw new InvalidOperationException($"azmi reported an unknown managed identity source '{id}'."),
    };
}
