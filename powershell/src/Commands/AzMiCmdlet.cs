using System;
using System.IO;
using System.Management.Automation;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// What every AzMi cmdlet that calls a service shares: the identity options of Get-AzMiToken
/// and -Environment,
/// <c>$env:AZMI_CA_FILE</c>, Ctrl+C (StopProcessing cancels the azmi call in flight), and
/// azmi's errors as ErrorRecords (ErrorId <c>AzMi.&lt;status name&gt;</c>).
/// </summary>
public abstract class AzMiCmdlet : PSCmdlet
{
    // StopProcessing runs on another thread while ProcessRecord is blocked in azmi.
    private readonly object _stopGate = new object();
    private CancelHandle? _pendingCall;
    private bool _stopRequested;
    private bool? _verboseShown;

    // As in Get-AzMiToken: no parameter sets keep these apart, azmi rejects more than one.

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
    /// The Azure cloud (AzureCloud, AzureUSGovernment, AzureChinaCloud): what vault and storage
    /// account names stand for, and where Resource Manager is. Default: $env:AZMI_ENVIRONMENT,
    /// else AzureCloud. A URL given explicitly is used as it is.
    /// </summary>
    [Parameter]
    [ValidateNameIn("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")]
    [ArgumentCompleter(typeof(EnvironmentCompleter))]
    public string? Environment { get; set; }

    /// <summary>
    /// Whether WriteVerbose output is shown (or recorded): build verbose text only then. Asked
    /// once per command, as PowerShell itself does.
    /// </summary>
    private protected bool VerboseShown => _verboseShown ??= VerbosePreferenceCheck.IsVerboseShown(this);

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        lock (_stopGate)
        {
            _stopRequested = true;
            _pendingCall?.Cancel();
        }
    }

    /// <summary>
    /// Runs <paramref name="operation"/> with the identity of the identity options (token
    /// endpoint from PowerShell's environment; cached, see <see cref="IdentityCache"/>), after
    /// forwarding <c>$env:AZMI_CA_FILE</c>, with a cancel handle that Ctrl+C cancels. azmi's
    /// errors become ErrorRecords whose target is <paramref name="target"/>: argument errors end
    /// the command, the others are written and the command goes on with its next input.
    /// Returns whether the operation completed.
    /// </summary>
    private protected bool Invoke(object target, Action<NativeIdentity, CancelHandle> operation, Func<AzMiException, string?>? advice = null)
    {
        try
        {
            NativeLibraryLoader.EnsureLoaded();
            NativeProxySetting.ApplyEnvironmentOnce();
            ModuleFormats.EnsureLoaded(this);
            Action<string>? verbose = VerboseShown ? WriteVerbose : null;
            CaFileEnvironment.Apply(SessionState, verbose);
            using IdentityCache.Lease lease = IdentityCache.AcquireFromEnvironment(ClientId, ObjectId, ResourceId, verbose, Source, Environment);
            verbose?.Invoke($"Token requests to {lease.Identity.Endpoint} go {NativeProxySetting.TokenRoute(lease.Identity)}.");

            using CancelHandle cancel = new CancelHandle();
            lock (_stopGate)
            {
                if (_stopRequested)
                {
                    cancel.Cancel();
                }

                _pendingCall = cancel;
            }

            try
            {
                operation(lease.Identity, cancel);
                return true;
            }
            finally
            {
                lock (_stopGate)
                {
                    _pendingCall = null;
                }
            }
        }
        catch (AzMiException e) when (e.StatusCode == AzMiStatus.Cancelled && IsStopRequested())
        {
            // Ctrl+C (or PowerShell.Stop): end the pipeline the way every cmdlet does.
            throw new PipelineStoppedException();
        }
        catch (AzMiException e)
        {
            ErrorRecord record = AzMiErrorRecords.From(e, target);
            string? recommended = advice?.Invoke(e) ?? AzMiErrorRecords.Advice(e);
            if (recommended is not null)
            {
                string message = e.Message.TrimEnd();
                string separator = message.EndsWith(".", StringComparison.Ordinal) ? " " : ". ";
                record.ErrorDetails = new ErrorDetails(message + separator + recommended) { RecommendedAction = recommended };
            }

            if (AzMiErrorRecords.IsTerminating(e))
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
            return false;
        }
        catch (Exception e) when (e is FileNotFoundException || e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "AzMi.NativeLibraryNotLoaded", ErrorCategory.NotInstalled, NativeLibraryLoader.LibraryPath));
            return false;
        }
    }

    /// <summary>
    /// ShouldProcess, except that <paramref name="force"/> (-Force without an explicit
    /// -Confirm) skips the prompt that ConfirmImpact High brings; -WhatIf is honoured either way.
    /// </summary>
    private protected bool ConfirmedOrForced(string target, string action, bool force)
    {
        bool confirmGiven = MyInvocation.BoundParameters.ContainsKey("Confirm");
        if (force && !confirmGiven && !IsWhatIf())
        {
            if (VerboseShown)
            {
                WriteVerbose($"Performing the operation \"{action}\" on target \"{target}\".");
            }

            return true;
        }

        return ShouldProcess(target, action);
    }

    private bool IsWhatIf() =>
        MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? whatIf)
            ? LanguagePrimitives.IsTrue(whatIf)
            : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

    /// <summary>
    /// With -Verbose: which way requests to <paramref name="serviceUrl"/> go (through which
    /// proxy, or direct and why), as azmi decides it for each request.
    /// </summary>
    private protected void VerboseRoute(string service, string serviceUrl)
    {
        if (!VerboseShown)
        {
            return;
        }

        try
        {
            WriteVerbose($"Requests to {service} {serviceUrl} go {NativeProxySetting.Route(serviceUrl)}.");
        }
        catch (AzMiException)
        {
            // Not a URL azmi can send to: the call itself says so, better than this would.
        }
    }

    /// <summary>An argument error found before any request: ends the command (AzMi.InvalidArgument).</summary>
    private protected void ThrowInvalidArgument(string message, object? target) =>
        ThrowTerminatingError(AzMiErrorRecords.From(AzMiException.InvalidArgument(message), target));

    /// <summary>Advice for a conflict without -Force: -Force replaces an existing file.</summary>
    private protected string? ForceAdvice(AzMiException e) =>
        e.StatusCode == AzMiStatus.Conflict && !MyInvocation.BoundParameters.ContainsKey("Force")
            ? "To replace an existing file, use -Force."
            : null;

    /// <summary>
    /// Resolves a local PowerShell path (relative to the current location, PSDrives, ~) to a
    /// file-system path, without wildcards. Writes an error and returns null for other providers.
    /// </summary>
    protected string? ResolveLocalPath(string path)
    {
        string resolved = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out ProviderInfo provider, out _);
        if (provider.Name != "FileSystem")
        {
            WriteError(new ErrorRecord(
                new ArgumentException($"{path} is on the {provider.Name} provider; AzMi copies from and to the file system only."),
                "AzMi.NotAFileSystemPath",
                ErrorCategory.InvalidArgument,
                path));
            return null;
        }

        return resolved;
    }

    private bool IsStopRequested()
    {
        lock (_stopGate)
        {
            return _stopRequested;
        }
    }
}
