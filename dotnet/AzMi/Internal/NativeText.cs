using System;
using System.Runtime.InteropServices;
using System.Text;

namespace AzMi.Internal;

/// <summary>
/// Strings across the boundary. netstandard2.0 has neither UTF-8 string marshalling nor
/// Marshal.PtrToStringUTF8, so both directions are done by hand (as the module does).
/// </summary>
internal static class NativeText
{
    /// <summary>
    /// A NUL-terminated UTF-8 copy of <paramref name="value"/>; null stays null (C NULL). An
    /// embedded NUL, which C would read as the end, is an <see cref="ArgumentException"/>.
    /// </summary>
    internal static byte[]? Encode(string? value, string parameterName)
    {
        if (value is null)
        {
            return null;
        }

        if (value.IndexOf('\0') >= 0)
        {
            throw new ArgumentException("The value contains a NUL character.", parameterName);
        }

        int count = Encoding.UTF8.GetByteCount(value);
        var bytes = new byte[count + 1];
        Encoding.UTF8.GetBytes(value, 0, value.Length, bytes, 0);
        return bytes;
    }

    /// <summary><see cref="Encode"/> for a required value: null is an <see cref="ArgumentNullException"/>.</summary>
    internal static byte[] EncodeRequired(string? value, string parameterName) =>
        Encode(value ?? throw new ArgumentNullException(parameterName), parameterName)!;

    /// <summary>Copies a NUL-terminated UTF-8 string lent by azmi; NULL gives null.</summary>
    internal static string? ReadLent(IntPtr text)
    {
        if (text == IntPtr.Zero)
        {
            return null;
        }

        int length = 0;
        while (Marshal.ReadByte(text, length) != 0)
        {
            length++;
        }

        return Read(text, length);
    }

    /// <summary><see cref="ReadLent"/>, with "" for NULL.</summary>
    internal static string ReadLentOrEmpty(IntPtr text) => ReadLent(text) ?? string.Empty;

    /// <summary>Decodes <paramref name="length"/> bytes of UTF-8 (any character, NUL included).</summary>
    internal static string Read(IntPtr text, int length)
    {
        if (length == 0)
        {
            return string.Empty;
        }

        var bytes = CopyBytes(text, length);
        try
        {
            return Encoding.UTF8.GetString(bytes);
        }
        finally
        {
            Array.Clear(bytes, 0, bytes.Length); // May be a SAS or a secret.
        }
    }

    /// <summary>Copies <paramref name="length"/> bytes from native memory.</summary>
    internal static byte[] CopyBytes(IntPtr data, int length)
    {
        var bytes = new byte[length];
        if (length > 0)
        {
            Marshal.Copy(data, bytes, 0, length);
        }

        return bytes;
    }

    /// <summary>A length from azmi as an int, or an error for data too large for one .NET array.</summary>
    internal static int CheckedLength(UIntPtr length, string what)
    {
        ulong value = length.ToUInt64();
        if (value > int.MaxValue)
        {
            throw new InvalidOperationException($"azmi returned {what} too long for one .NET array.");
        }

        return (int)value;
    }
}
