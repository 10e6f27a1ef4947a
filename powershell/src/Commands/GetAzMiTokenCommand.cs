using System;
using System.IO;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// <c>Get-AzMiToken</c>: an access token for a resource from this machine's managed identity.
/// Help: en-US/AzMi.dll-Help.xml.
/// </summary>
[Cmdlet(VerbsCommon.Get, "AzMiToken", DefaultParameterSetName = ByResource)]
[OutputType(typeof(AccessToken))]
public sealed class GetAzMiTokenCommand : PSCmdlet
{
    private const string ByResource = "Resource";
    private const string ByResourceTypeName = "ResourceTypeName";

    // StopProcessing runs on another thread while ProcessRecord is blocked in azmi.
    private readonly object _stopGate = new object();
    private CancelHandle? _pendingCall;
    private bool _stopRequested;
    private bool? _verboseShown;

    /// <summary>The resource URI (or a scope ending in /.default).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByResource, ValueFromPipelineByPropertyName = true)]
    [Alias("ResourceUrl")]
    public string Resource { get; set; } = string.Empty;

    /// <summary>
    /// A well-known resource by name (a <see cref="AzMi.ResourceTypeName"/>: Arm, KeyVault,
    /// Storage, DataLake, Sql), in the cloud -Environment names. A string, not the enum, so that
    /// its completer (which shows each name's resource) is the one PowerShell uses.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = ByResourceTypeName)]
    [ValidateNameIn("Arm", "KeyVault", "Storage", "DataLake", "Sql")]
    [ArgumentCompleter(typeof(ResourceTypeNameCompleter))]
    public string ResourceTypeName { get; set; } = string.Empty;

    // No parameter sets keep ClientId, ObjectId and ResourceId apart, on purpose: azmi rejects
    // more than one with its own message, which is the one users should see everywhere.

    /// <summary>Client id of a user-assigned identity.</summary>
    [Parameter]
    public string? ClientId { get; set; }

    /// <summary>Object (principal) id of a user-assigned identity.</summary>
    [Parameter]
    public string? ObjectId { get; set; }

    /// <summary>Azure resource id of a user-assigned identity.</summary>
    [Parameter]
    public string? ResourceId { get; set; }

    /// <summary>
    /// The managed identity source to use instead of the detected one (hosts that set the
    /// variables of several sources). Imds keeps the endpoint variables' logic.
    /// </summary>
    [Parameter]
    [ValidateNameIn("Imds", "AppService", "ServiceFabric", "AzureML", "CloudShell", "Arc", "WorkloadIdentity")]
    [ArgumentCompleter(typeof(SourceCompleter))]
    public string? Source { get; set; }

    /// <summary>
    /// The Azure cloud whose resource -ResourceTypeName names (AzureCloud, AzureUSGovernment,
    /// AzureChinaCloud). Default: $env:AZMI_ENVIRONMENT, else AzureCloud.
    /// </summary>
    [Parameter]
    [ValidateNameIn("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    /// <summary>Return Token as a String instead of a SecureString.</summary>
    [Parameter]
    public SwitchParameter AsPlainText { get; set; }

    /// <summary>Ask the endpoint for a new token instead of using azmi's cache.</summary>
    [Parameter]
    public SwitchParameter ForceRefresh { get; set; }

    /// <summary>
    /// The claims of a resource's claims challenge (continuous access evaluation), as JSON or in
    /// the challenge's base64 form: a new token carrying them, replacing the cached one.
    /// </summary>
    [Parameter]
    public string? Claims { get; set; }

    /// <summary>
    /// Client capabilities to declare (e.g. cp1: the caller answers claims challenges); tokens
    /// asked with them are cached apart where the source sends them.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ClientCapability { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        // The target of errors: the resource, or the name until its cloud's resource is known.
        object target = ParameterSetName == ByResourceTypeName ? ResourceTypeName : Resource;
        try
        {
            NativeLibraryLoader.EnsureLoaded();
            NativeProxySetting.ApplyEnvironmentOnce();
            ModuleFormats.EnsureLoaded(this);
            WriteObject(GetToken(ref target));
        }
        catch (AzMiException e) when (e.StatusCode == AzMiStatus.Cancelled && IsStopRequested())
        {
            // Ctrl+C (or PowerShell.Stop): end the pipeline the way every cmdlet does.
            throw new PipelineStoppedException();
        }
        catch (AzMiException e)
        {
            ErrorRecord record = AzMiErrorRecords.From(e, target);
            if (AzMiErrorRecords.IsTerminating(e))
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
        }
        catch (Exception e) when (e is FileNotFoundException || e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "AzMi.NativeLibraryNotLoaded", ErrorCategory.NotInstalled, NativeLibraryLoader.LibraryPath));
        }
    }

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        lock (_stopGate)
        {
            _stopRequested = true;
            _pendingCall?.Cancel();
        }
    }

    private AccessToken GetToken(ref object target)
    {
        // Asked once per command, as PowerShell itself does: verbose text is built only when shown.
        bool verbose = _verboseShown ??= VerbosePreferenceCheck.IsVerboseShown(this);
        using IdentityCache.Lease lease = IdentityCache.AcquireFromEnvironment(ClientId, ObjectId, ResourceId, verbose ? WriteVerbose : null, Source, Environment, Capabilities());
        if (verbose)
        {
            WriteVerbose($"Token requests to {lease.Identity.Endpoint} go {NativeProxySetting.TokenRoute(lease.Identity)}.");
        }

        string resource = ParameterSetName == ByResourceTypeName
            ? CloudEnvironment.ResourceOf((ResourceTypeName)Enum.Parse(typeof(ResourceTypeName), ResourceTypeName, ignoreCase: true), lease.Identity.Environment)
            : Resource;
        target = resource;

        CancelHandle cancel = CancelHandle.Rent();
        lock (_stopGate)
        {
            if (_stopRequested)
            {
                cancel.Cancel();
            }

            _pendingCall = cancel;
        }

        AccessToken token;
        bool fromCache;
        try
        {
            token = lease.Identity.GetToken(resource, ForceRefresh.IsPresent, AsPlainText.IsPresent, cancel, out fromCache, Claims);
        }
        finally
        {
            lock (_stopGate)
            {
                _pendingCall = null;
            }

            // StopProcessing cancels only the pending call: from here on no other thread can.
            cancel.Return();
        }

        // Never the token itself: only where it came from and when it expires.
        if (verbose)
        {
            WriteVerbose(fromCache
                ? $"Token for '{token.Resource}' came from azmi's cache; it expires {token.ExpiresOn:u}."
                : $"Token for '{token.Resource}' was issued by the endpoint; it expires {token.ExpiresOn:u}.");
        }

        return token;
    }

    /// <summary>
    /// -ClientCapability as azmi takes it ("cp1,cp2"); null without it. A comma inside one
    /// name is refused here: azmi would read it as two.
    /// </summary>
    private string? Capabilities()
    {
        if (ClientCapability is null)
        {
            return null;
        }

        foreach (string capability in ClientCapability)
        {
            if (capability is null || capability.IndexOf(',') >= 0)
            {
                ThrowTerminatingError(AzMiErrorRecords.From(
                    AzMiException.InvalidArgument($"'{capability}' is not a client capability; give one name per element, e.g. -ClientCapability cp1"),
                    capability));
            }
        }

        return string.Join(",", ClientCapability);
    }

    private bool IsStopRequested()
    {
        lock (_stopGate)
        {
            return _stopRequested;
        }
    }
}
