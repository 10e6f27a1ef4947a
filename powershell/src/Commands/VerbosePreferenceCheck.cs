using System;
using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// Whether a cmdlet's WriteVerbose would show (or record) anything, so that verbose text is
/// built only then: building it costs string formatting on every call, verbose or not.
/// </summary>
/// <remarks>
/// The same rule as PowerShell's own command runtime: -Verbose (or -Verbose:$false) decides
/// when given, -Debug turns verbose output on, else <c>$VerbosePreference</c> as seen from the
/// caller's scope. Only SilentlyContinue and Ignore are off; anything unexpected counts as on,
/// so an unusual preference never hides a message.
/// </remarks>
internal static class VerbosePreferenceCheck
{
    internal static bool IsVerboseShown(PSCmdlet cmdlet)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        if (bound.TryGetValue("Verbose", out object? verbose))
        {
            return IsOn(verbose);
        }

        if (bound.TryGetValue("Debug", out object? debug) && IsOn(debug))
        {
            return true;
        }

        object? preference = cmdlet.GetVariableValue("VerbosePreference");
        if (preference is PSObject wrapped)
        {
            preference = wrapped.BaseObject;
        }

        ActionPreference value;
        switch (preference)
        {
            case ActionPreference typed:
                value = typed;
                break;
            case null:
                return false; // Not set anywhere: PowerShell's default, SilentlyContinue.
            default:
                if (!Enum.TryParse(preference.ToString(), ignoreCase: true, out value))
                {
                    return true;
                }

                break;
        }

        return value != ActionPreference.SilentlyContinue && value != ActionPreference.Ignore;
    }

    private static bool IsOn(object? value) => value switch
    {
        SwitchParameter switchParameter => switchParameter.IsPresent,
        bool flag => flag,
        _ => LanguagePrimitives.IsTrue(value),
    };
}
