using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text;

namespace AzMi;

/// <summary>
/// File content for the Data Lake cmdlets: <c>-Value</c> (a string or bytes) to bytes, bytes to
/// text, and the <c>-Encoding</c> names PowerShell 7's file cmdlets take.
/// </summary>
internal static class TextContent
{
    /// <summary>UTF-8 without a byte order mark: the default, as in PowerShell 7.</summary>
    internal static readonly Encoding Utf8NoBom = new UTF8Encoding(false);

    /// <summary>The names -Encoding completes to (a code page number or name works too).</summary>
    internal static readonly string[] Names =
    {
        "utf8", "utf8NoBOM", "utf8BOM", "ascii", "unicode", "bigendianunicode", "utf32", "bigendianutf32", "latin1",
    };

    /// <summary>An encoding by PowerShell name, code page number or .NET name.</summary>
    internal static Encoding FromName(string name)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "utf8":
            case "utf8nobom":
            case "utf-8":
            case "default":
                return Utf8NoBom;
            case "utf8bom":
                return new UTF8Encoding(true);
            case "ascii":
                return Encoding.ASCII;
            case "unicode":
                return Encoding.Unicode;
            case "bigendianunicode":
                return Encoding.BigEndianUnicode;
            case "utf32":
                return Encoding.UTF32;
            case "bigendianutf32":
                return new UTF32Encoding(bigEndian: true, byteOrderMark: true);
            case "latin1":
                return Encoding.GetEncoding(28591);
        }

        return int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out int codePage)
            ? Encoding.GetEncoding(codePage)
            : Encoding.GetEncoding(name);
    }

    /// <summary>
    /// The bytes of a -Value: a byte[] as is, a string encoded with <paramref name="encoding"/>
    /// (with its byte order mark first when <paramref name="withPreamble"/>: a new file), any
    /// other single value as its string form, null as no bytes. Arrays other than byte[] are
    /// refused: joining lines is the caller's choice.
    /// </summary>
    internal static byte[] ToBytes(object? value, Encoding encoding, bool withPreamble)
    {
        object? unwrapped = value is PSObject ps ? ps.BaseObject : value;
        switch (unwrapped)
        {
            case null:
                return Array.Empty<byte>();
            case byte[] bytes:
                return bytes;
            case string text:
                byte[] preamble = withPreamble ? encoding.GetPreamble() : Array.Empty<byte>();
                byte[] body = encoding.GetBytes(text);
                return preamble.Length == 0 ? body : preamble.Concat(body).ToArray();
            case IEnumerable enumerable when IsAllBytes(enumerable, out byte[] fromArray):
                return fromArray;
            case IEnumerable:
                throw new ArgumentException(
                    "-Value takes a string or a byte array. For lines, join them first (-Value ($lines -join \"`n\")); for bytes, cast to [byte[]].");
            default:
                return ToBytes(LanguagePrimitives.ConvertTo<string>(unwrapped), encoding, withPreamble);
        }
    }

    /// <summary>
    /// Text from bytes read from the start of a file (<paramref name="atStart"/>) or from an
    /// offset. Without an encoding, a UTF-8/UTF-16/UTF-32 byte order mark at the start chooses
    /// it, else UTF-8. A byte order mark of the encoding is not part of the text.
    /// </summary>
    internal static string Decode(byte[] bytes, Encoding? encoding, bool atStart)
    {
        encoding ??= atStart ? Detect(bytes) : Utf8NoBom;
        int skip = 0;
        if (atStart)
        {
            byte[] preamble = encoding.GetPreamble();
            if (preamble.Length == 0 && encoding.CodePage == Encoding.UTF8.CodePage)
            {
                preamble = Encoding.UTF8.GetPreamble(); // UTF-8 without BOM still skips one.
            }

            if (preamble.Length > 0 && bytes.Length >= preamble.Length && bytes.Take(preamble.Length).SequenceEqual(preamble))
            {
                skip = preamble.Length;
            }
        }

        return encoding.GetString(bytes, skip, bytes.Length - skip);
    }

    private static Encoding Detect(byte[] b)
    {
        if (b.Length >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        {
            return Encoding.UTF8;
        }

        if (b.Length >= 4 && b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0)
        {
            return Encoding.UTF32;
        }

        if (b.Length >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF)
        {
            return new UTF32Encoding(bigEndian: true, byteOrderMark: true);
        }

        if (b.Length >= 2 && b[0] == 0xFF && b[1] == 0xFE)
        {
            return Encoding.Unicode;
        }

        if (b.Length >= 2 && b[0] == 0xFE && b[1] == 0xFF)
        {
            return Encoding.BigEndianUnicode;
        }

        return Utf8NoBom;
    }

    private static bool IsAllBytes(IEnumerable values, out byte[] bytes)
    {
        var list = new List<byte>();
        foreach (object? item in values)
        {
            object? unwrapped = item is PSObject ps ? ps.BaseObject : item;
            if (unwrapped is byte b)
            {
                list.Add(b);
            }
            else
            {
                bytes = Array.Empty<byte>();
                return false;
            }
        }

        bytes = list.ToArray();
        return list.Count > 0;
    }
}

/// <summary>
/// Lets <c>-Encoding</c> take an Encoding, a PowerShell name (utf8, utf8BOM, unicode, …), a code
/// page number or a .NET encoding name.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class EncodingTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object? value = inputData is PSObject ps ? ps.BaseObject : inputData;
        try
        {
            return value switch
            {
                Encoding encoding => encoding,
                int codePage => Encoding.GetEncoding(codePage),
                string name => TextContent.FromName(name),
                _ => throw new ArgumentException($"{value} is not an encoding."),
            };
        }
        catch (Exception e) when (e is ArgumentException || e is NotSupportedException)
        {
            throw new ArgumentTransformationMetadataException(
                $"'{value}' is not an encoding: use one of {string.Join(", ", TextContent.Names)}, a code page number or an encoding name.",
                e);
        }
    }
}

/// <summary>Tab completion of -Encoding.</summary>
public sealed class EncodingCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName,
        string parameterName,
        string wordToComplete,
        CommandAst commandAst,
        IDictionary fakeBoundParameters)
    {
        string prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return TextContent.Names
            .Where(n => n.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
