using System.Management.Automation;
using System.Threading;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiManagedIdentity</c>: which managed identity source this process sees (or -Source
/// chooses), its endpoint, the identity options it serves, whether it answers a token request
/// within <see cref="ProbeTimeoutMs"/> (for -Resource, by default the cloud's Resource
/// Manager), and which identity the token is for: tenant, object id, client id and resource id
/// from its claims, read and not verified. Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiManagedIdentity")]
[OutputType(typeof(ManagedIdentityInfo))]
public sealed class GetAzMiManagedIdentityCommand : AzMiCmdlet
{
    /// <summary>How long the probe may take before the source counts as not answering.</summary>
    private const int ProbeTimeoutMs = 5000;

    /// <summary>
    /// The resource of the probe's token (a resource URI or a /.default scope); the cloud's
    /// Resource Manager when absent.
    /// </summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("ResourceUrl")]
    public string? Resource { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        Invoke(Resource ?? "Resource Manager", (identity, cancel) =>
        {
            string resource = Resource ?? CloudEnvironment.ResourceOf(ResourceTypeName.Arm, identity.Environment);
            bool available = false;
            string? detail = null;
            NativeIdentity.TokenClaims? claims = null;
            // A host without the source answers slowly or never (IMDS off Azure): give up in time.
            using (new Timer(_ => cancel.Cancel(), null, ProbeTimeoutMs, Timeout.Infinite))
            {
                try
                {
                    claims = identity.ProbeClaims(resource, cancel);
                    available = true;
                }
                catch (AzMiException e) when (e.StatusCode == AzMiStatus.InvalidArgument)
                {
                    throw; // a malformed -Resource: the command's error, not the source's
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
                identity.Environment,
                resource,
                claims,
                NativeProxySetting.TokenRoute(identity),
                ProxySetting.FromJson(Json.Parse(this, NativeProxySetting.Json())).Description));
        });
    }
}
