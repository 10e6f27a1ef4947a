using System;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiProxy</c>: the proxy of this process's service requests and where the setting
/// came from; with -Uri, which way a request to each URL goes now (through which proxy, or
/// direct and why). Credentials are never shown. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiProxy", DefaultParameterSetName = Setting)]
[OutputType(typeof(ProxySetting), ParameterSetName = new[] { Setting })]
[OutputType(typeof(ProxyRoute), ParameterSetName = new[] { ByUri })]
public sealed class GetAzMiProxyCommand : ProxyCmdlet
{
    private const string Setting = "Setting";
    private const string ByUri = "Uri";

    /// <summary>Service URLs (https://myvault.vault.azure.net, …) to say the way of.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByUri, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public Uri[] Uri { get; set; } = Array.Empty<Uri>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (ParameterSetName != ByUri)
        {
            Run(null, () => WriteObject(CurrentSetting()));
            return;
        }

        foreach (Uri uri in Uri)
        {
            // One URL's error (not http(s)) is written, and the others are still answered.
            Run(uri, () =>
            {
                string text = uri.IsAbsoluteUri ? uri.AbsoluteUri : uri.OriginalString;
                WriteObject(new ProxyRoute(uri, NativeProxySetting.Route(text)));
            }, perItem: true);
        }
    }
}
