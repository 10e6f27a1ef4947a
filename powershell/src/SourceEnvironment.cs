using System;
using System.IO;
using System.Runtime.InteropServices;

namespace AzMi;

/// <summary>
/// The managed identity sources other than IMDS, as PowerShell's environment shows them
/// (azmi detects which one from the native environment; see include/azmi.h,
/// azmi_identity_new), and the names the cmdlets show for azmi's source ids.
/// </summary>
internal static class SourceEnvironment
{
    /// <summary>
    /// Whether a variable of App Service / Functions / Automation, Service Fabric, Azure Arc
    /// (IDENTITY_ENDPOINT), Azure ML or Cloud Shell (MSI_ENDPOINT), AKS workload identity
    /// (AZURE_FEDERATED_TOKEN_FILE), or the Arc agent on disk, is there.
    /// </summary>
    internal static bool NamesAnotherSource() =>
        IsSet("IDENTITY_ENDPOINT") || IsSet("MSI_ENDPOINT") || IsSet("AZURE_FEDERATED_TOKEN_FILE") || ArcAgentInstalled();

    /// <summary>azmi's source id ("app_service") as the token's Source shows it ("AppService").</summary>
    internal static string DisplayName(string? id) => id switch
    {
        "imds" => "Imds",
        "app_service" => "AppService",
        "service_fabric" => "ServiceFabric",
        "azure_ml" => "AzureML",
        "cloud_shell" => "CloudShell",
        "arc" => "Arc",
        "workload_identity" => "WorkloadIdentity",
        null or "" => "Imds",
        _ => id,
    };

    /// <summary>The -Source values, in the order azmi detects them (IMDS last).</summary>
    internal static readonly string[] Names = { "AppService", "ServiceFabric", "AzureML", "CloudShell", "Arc", "WorkloadIdentity", "Imds" };

    /// <summary>A -Source value ("AppService") as azmi's source id ("app_service"); null stays null.</summary>
    internal static string? ToId(string? name) => name?.ToLowerInvariant() switch
    {
        null => null,
        "imds" => "imds",
        "appservice" => "app_service",
        "servicefabric" => "service_fabric",
        "azureml" => "azure_ml",
        "cloudshell" => "cloud_shell",
        "arc" => "arc",
        "workloadidentity" => "workload_identity",
        _ => name,
    };

    /// <summary>
    /// Which identity options a source serves: IMDS and App Service every one; Azure ML and
    /// workload identity a client id; Cloud Shell, Arc and Service Fabric the system-assigned
    /// identity only.
    /// </summary>
    internal static string[] IdentityOptions(string displayName) => displayName switch
    {
        "Imds" or "AppService" => new[] { "SystemAssigned", "ClientId", "ObjectId", "ResourceId" },
        "AzureML" => new[] { "SystemAssigned", "ClientId" },
        "WorkloadIdentity" => new[] { "ClientId" },
        _ => new[] { "SystemAssigned" },
    };

    private static bool IsSet(string name) => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name));

    private static bool ArcAgentInstalled()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            string programFiles = Environment.GetEnvironmentVariable("ProgramFiles") ?? string.Empty;
            return programFiles.Length > 0 && File.Exists(Path.Combine(programFiles, "AzureConnectedMachineAgent", "himds.exe"));
        }

        return File.Exists("/opt/azcmagent/bin/himds");
    }
}
