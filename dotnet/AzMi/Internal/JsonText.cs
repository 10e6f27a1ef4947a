using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace AzMi.Internal;

/// <summary>
/// The little JSON this package writes (tags: an object of strings); the package has no JSON
/// library, and azmi parses what it is given.
/// </summary>
internal static class JsonText
{
    /// <summary><c>{"name":"value",…}</c>, names and values escaped as JSON strings.</summary>
    internal static string StringObject(IEnumerable<KeyValuePair<string, string>> members)
    {
        var json = new StringBuilder("{");
        foreach (KeyValuePair<string, string> member in members)
        {
            if (json.Length > 1)
            {
                json.Append(',');
            }

            AppendString(json, member.Key);
            json.Append(':');
            AppendString(json, member.Value);
        }

        return json.Append('}').ToString();
    }

    private static void AppendString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                default:
                    if (c < ' ')
                    {
                        json.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        json.Append(c);
                    }

                    break;
            }
        }

        json.Append('"');
    }
}
