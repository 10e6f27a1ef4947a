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
