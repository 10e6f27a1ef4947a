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

    /// <summary>
    /// Tags (a JSON object of strings, as Key Vault defines them) as a Hashtable of strings.
    /// Read here directly when the text is exactly that, else through ConvertFrom-Json
    /// (<see cref="ToHashtable"/>): starting a nested pipeline for ConvertFrom-Json costs about a
    /// millisecond, twenty times the rest of a Get-AzMiKeyVaultSecret call.
    /// </summary>
    internal static Hashtable Tags(PSCmdlet cmdlet, string json) =>
        TryParseStringMap(json, out Hashtable? table) ? table! : ToHashtable(Parse(cmdlet, json));

    /// <summary>
    /// Parses <c>{"name": "value", …}</c> (strings only, RFC 8259 escapes) into a Hashtable with
    /// case-insensitive keys; false for any other JSON, or text that is not JSON at all.
    /// </summary>
    internal static bool TryParseStringMap(string json, out Hashtable? table)
    {
        table = null;
        var result = new Hashtable(System.StringComparer.OrdinalIgnoreCase);
        int i = SkipSpace(json, 0);
        if (i >= json.Length || json[i] != '{')
        {
            return false;
        }

        i = SkipSpace(json, i + 1);
        if (i < json.Length && json[i] == '}')
        {
            i++;
        }
        else
        {
            while (true)
            {
                if (!TryReadString(json, ref i, out string? name))
                {
                    return false;
                }

                i = SkipSpace(json, i);
                if (i >= json.Length || json[i] != ':')
                {
                    return false;
                }

                i = SkipSpace(json, i + 1);
                if (!TryReadString(json, ref i, out string? value))
                {
                    return false;
                }

                result[name!] = value;
                i = SkipSpace(json, i);
                if (i < json.Length && json[i] == ',')
                {
                    i = SkipSpace(json, i + 1);
                    continue;
                }

                if (i < json.Length && json[i] == '}')
                {
                    i++;
                    break;
                }

                return false;
            }
        }

        if (SkipSpace(json, i) != json.Length)
        {
            return false;
        }

        table = result;
        return true;
    }

    private static int SkipSpace(string json, int i)
    {
        while (i < json.Length && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        {
            i++;
        }

        return i;
    }

    /// <summary>A JSON string literal at <paramref name="i"/>; moves past it.</summary>
    private static bool TryReadString(string json, ref int i, out string? value)
    {
        value = null;
        if (i >= json.Length || json[i] != '"')
        {
            return false;
        }

        var builder = new System.Text.StringBuilder();
        for (i++; i < json.Length; i++)
        {
            char c = json[i];
            if (c == '"')
            {
                i++;
                value = builder.ToString();
                return true;
            }

            if (c < 0x20)
            {
                return false;
            }

            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (++i >= json.Length)
            {
                return false;
            }

            switch (json[i])
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case '/': builder.Append('/'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u':
                    if (i + 4 >= json.Length
                        || !ushort.TryParse(json.Substring(i + 1, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out ushort code))
                    {
                        return false;
                    }

                    builder.Append((char)code);
                    i += 4;
                    break;
                default:
                    return false;
            }
        }

        return false;
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
