using System;
using System.Management.Automation;
using System.Threading;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiManagedIdentity</c>: which managed identity source this process sees (or -Source
/// chooses), its endpoint, the identity options it serves, and whether it answers a token
/// request for Resource Manager within <see cref="ProbeTimeoutMs"/>. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiManagedIdentity")]
[OutputType(typeof(ManagedIdentityInfo))]
public sealed class GetAzMiManagedIdentityCommand : AzMiCmdlet
{
    /// <summary>How long the probe may take before the source counts as not answering.</summary>
    private const int ProbeTimeoutMs = 5000;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        string resource = ResourceTypeNames.ToResource(ResourceTypeName.Arm);
        Invoke(resource, (identity, cancel) =>
        {
            bool available = false;
            string? detail = null;
            // A host without the source answers slowly or never (IMDS off Azure): give up in time.
            using (new Timer(_ => cancel.Cancel(), null, ProbeTimeoutMs, Timeout.Infinite))
            {
                try
                {
                    // A new token, not azmi's cache: the question is whether the endpoint answers.
                    AccessToken token = identity.GetToken(resource, forceRefresh: true, asPlainText: false, cancel, out _);
                    (token.Token as IDisposable)?.Dispose();
                    available = true;
                }
                catch (AzMiException e) when (e.StatusCode != AzMiStatus.Cancelled || !Stopping)
                {
                    detail = e.StatusCode == AzMiStatus.Cancelled
                        ? $"No answer within {ProbeTimeoutMs / 1000} s."
                        : e.Message;
                }
            }

            WriteObject(new ManagedIdentityInfo(
                identity.Source,
                identity.Endpoint,
                identity.Description,
                SourceEnvironment.IdentityOptions(identity.Source),
                available,
                detail,
                NativeProxySetting.TokenRoute(identity),
                ProxySetting.FromJson(Json.Parse(this, NativeProxySetting.Json())).Description));
        });
    }
}
