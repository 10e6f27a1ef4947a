using System;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Set-AzMiProxy</c>: the proxy of this process's service requests (Key Vault, Blob, Data
/// Lake, Resource Manager, workload identity's exchange at Entra ID): one given explicitly
/// (-Uri, with -Credential and -NoProxy), none (-None), or the proxy variables of PowerShell's
/// environment read again (-FromEnvironment). Managed identity endpoints never go through a
/// proxy. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Set, "AzMiProxy", DefaultParameterSetName = ByUri, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ProxySetting))]
public sealed class SetAzMiProxyCommand : ProxyCmdlet
{
    private const string ByUri = "Uri";
    private const string Off = "None";
    private const string Environment = "FromEnvironment";

    /// <summary>The proxy: http://host:port (no port: 1080, as curl) or https://host:port.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByUri, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [Alias("Proxy")]
    public Uri Uri { get; set; } = null!;

    /// <summary>The proxy's user name and password (Basic), sent to the proxy only.</summary>
    [Parameter(ParameterSetName = ByUri, ValueFromPipelineByPropertyName = true)]
    [Credential]
    [ValidateNotNull]
    public PSCredential? Credential { get; set; }

    /// <summary>Hosts that go direct, in curl's NO_PROXY syntax: names (with subdomains), addresses, CIDR ranges, or *.</summary>
    [Parameter(ParameterSetName = ByUri, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNull]
    [AllowEmptyCollection]
    [Alias("Bypass")]
    public string[] NoProxy { get; set; } = Array.Empty<string>();

    /// <summary>No proxy, whatever the environment says.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Off)]
    public SwitchParameter None { get; set; }

    /// <summary>The proxy variables of PowerShell's environment, read again now.</summary>
    [Parameter(Mandatory = true, ParameterSetName = Environment)]
    public SwitchParameter FromEnvironment { get; set; }

    /// <summary>Output the new setting (as Get-AzMiProxy does).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        (string target, string action) = ParameterSetName switch
        {
            Off => ("service requests of this process", "Send direct, without a proxy"),
            Environment => ("service requests of this process", "Use the proxy variables of the environment"),
            _ => (Shown(Uri), "Send service requests of this process through the proxy"),
        };
        if (!ShouldProcess(target, action))
        {
            return;
        }

        Run(target, () =>
        {
            switch (ParameterSetName)
            {
                case Off:
                    NativeProxySetting.Set(string.Empty, null, null);
                    break;
                case Environment:
                    NativeProxySetting.SetFromEnvironment();
                    break;
                default:
                    string? list = NoProxy.Length == 0 ? null : string.Join(",", NoProxy);
                    NativeProxySetting.Set(Uri.OriginalString, list, Credential);
                    break;
            }

            if (PassThru.IsPresent || VerbosePreferenceCheck.IsVerboseShown(this))
            {
                ProxySetting setting = CurrentSetting();
                WriteVerbose($"Proxy: {setting.Description}.");
                if (PassThru.IsPresent)
                {
                    WriteObject(setting);
                }
            }
        });
    }

    /// <summary>The URI without credentials, for messages.</summary>
    private static string Shown(Uri uri) =>
        uri.IsAbsoluteUri && uri.UserInfo.Length > 0
            ? new UriBuilder(uri) { UserName = string.Empty, Password = string.Empty }.Uri.ToString()
            : uri.OriginalString;
}
