using System;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// The base of the Resource Manager cmdlets: <see cref="AzMiCmdlet"/>, plus
/// <c>$env:AZMI_ARM_ENDPOINT</c> forwarded to azmi before each call.
/// </summary>
public abstract class ArmCmdlet : AzMiCmdlet
{
    /// <summary>As <see cref="AzMiCmdlet.Invoke"/>, after forwarding $env:AZMI_ARM_ENDPOINT.</summary>
    private protected bool InvokeArm(object target, Action<NativeIdentity, CancelHandle> operation) =>
        Invoke(target, (identity, cancel) =>
        {
            string endpoint = ArmEndpointEnvironment.Apply(WriteVerbose);
            VerboseRoute("Resource Manager", endpoint);
            operation(identity, cancel);
        });

    /// <summary>A path segment, escaped.</summary>
    private protected static string Segment(string value) => Uri.EscapeDataString(value);
}
