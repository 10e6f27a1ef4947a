using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace AzMi;

/// <summary>
/// JSON through PowerShell's own ConvertFrom-Json and ConvertTo-Json (module-qualified, so a
/// user's function of the same name is never called): the module has no JSON library of its own
/// and its objects are exactly what a PowerShell user gets from Invoke-RestMethod. Only on the
/// pipeline thread.
/// </summary>
internal static class Json
{
    /// <summary>The parsed JSON (PSCustomObjects, arrays, values), or null for <c>null</c>.</summary>
    internal static object? Parse(PSCmdlet cmdlet, string json)
    {
        if (string.IsNullOrWhiteSpace(json) || json.Trim() == "null")
        {
            return null;
        }

        Collection<PSObject> result = cmdlet.InvokeCommand.InvokeScript(
            "param($json) Microsoft.PowerShell.Utility\\ConvertFrom-Json -InputObject $json",
            true,
            PipelineResultTypes.None,
            null,
            json);
        if (result.Count == 1)
        {
            return result[0];
        }

        var items = new object?[result.Count];
        for (int i = 0; i < result.Count; i++)
        {
            items[i] = result[i];
        }

        return items;
    }

    /// <summary>Compressed JSON of <paramref name="value"/> (depth 100).</summary>
    internal static string Serialize(PSCmdlet cmdlet, object value)
    {
        Collection<PSObject> result = cmdlet.InvokeCommand.InvokeScript(
            "param($value) Microsoft.PowerShell.Utility\\ConvertTo-Json -InputObject $value -Depth 100 -Compress",
            true,
            PipelineResultTypes.None,
            null,
            value);
        return result.Count == 0 ? "null" : result[0]?.BaseObject?.ToString() ?? "null";
    }

    /// <summary>The properties of a parsed JSON object as a Hashtable (tags); empty for anything else.</summary>
    internal static Hashtable ToHashtable(object? parsed)
    {
        var table = new Hashtable(System.StringComparer.OrdinalIgnoreCase);
        if (parsed is PSObject obj && obj.BaseObject is PSCustomObject)
        {
            foreach (PSPropertyInfo property in obj.Properties)
            {
                table[property.Name] = property.Value is PSObject value ? value.BaseObject : property.Value;
            }
        }

        return table;
    }

    /// <summary>A property of a parsed JSON object, or null.</summary>
    internal static object? Property(object? parsed, string name)
    {
        if (parsed is PSObject obj)
        {
            object? value = obj.Properties[name]?.Value;
            return value is PSObject inner && inner.BaseObject is not PSCustomObject ? inner.BaseObject : value;
        }

        return null;
    }

    /// <summary>A JSON string literal of <paramref name="value"/>, quotes included.</summary>
    internal static string Quote(string value)
    {
        var builder = new System.Text.StringBuilder(value.Length + 2);
        builder.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (c < 0x20)
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4"));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        return builder.Append('"').ToString();
    }
}
