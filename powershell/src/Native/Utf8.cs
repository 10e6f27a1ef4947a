using System;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;

namespace AzMi.Native;

/// <summary>
/// Strings across the boundary. netstandard2.0 has neither UTF-8 string marshalling nor
/// Marshal.PtrToStringUTF8, so both directions are done by hand here.
/// </summary>
internal static class Utf8
{
    /// <summary>
    /// A NUL-terminated UTF-8 copy of <paramref name="value"/>; null stays null (C NULL).
    /// <paramref name="what"/> names the value in the error for an embedded NUL, which C would
    /// silently read as the end of the string.
    /// </summary>
    internal static byte[]? Encode(string? value, string what)
    {
        if (value is null)
        {
            return null;
        }

        if (value.IndexOf('\0') >= 0)
        {
            throw AzMiException.InvalidArgument($"{what} contains a NUL character.");
        }

        int count = Encoding.UTF8.GetByteCount(value);
        var bytes = new byte[count + 1];
        Encoding.UTF8.GetBytes(value, 0, value.Length, bytes, 0);
        return bytes;
    }

    /// <summary>
    /// Copies a NUL-terminated UTF-8 string lent by azmi (valid only while its owner lives).
    /// NULL gives null.
    /// </summary>
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

        if (length == 0)
        {
            return string.Empty;
        }

        var bytes = new byte[length];
        Marshal.Copy(text, bytes, 0, length);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// Copies token text of <paramref name="length"/> bytes straight from native memory into a
    /// read-only SecureString, byte by byte, so that no managed string of the token ever exists.
    /// A token is ASCII (base64url and dots), so each byte is one char.
    /// </summary>
    internal static unsafe SecureString ReadAsciiSecure(IntPtr text, int length)
    {
        // One SecureString(char*, int) instead of AppendChar per character: AppendChar
        // re-protects the whole buffer each time, which made a warm-cache call several times
        // slower. The pinned intermediate buffer is wiped before it is released.
        var chars = new char[length];
        fixed (char* buffer = chars)
        {
            try
            {
                for (int i = 0; i < length; i++)
                {
                    buffer[i] = AsciiAt(text, i);
                }

                var secure = new SecureString(buffer, length);
                secure.MakeReadOnly();
                return secure;
            }
            finally
            {
                Array.Clear(chars, 0, chars.Length);
            }
        }
    }

    /// <summary>
    /// Copies token text into a managed string: only for -AsPlainText, where the caller asked
    /// for exactly that. The intermediate buffer is wiped.
    /// </summary>
    internal static string ReadAsciiPlain(IntPtr text, int length)
    {
        var chars = new char[length];
        try
        {
            for (int i = 0; i < length; i++)
            {
                chars[i] = AsciiAt(text, i);
            }

            return new string(chars);
        }
        finally
        {
            Array.Clear(chars, 0, chars.Length);
        }
    }

    /// <summary>
    /// Decodes <paramref name="length"/> bytes of UTF-8 secret text (which may hold any
    /// character, NUL included) straight from native memory into a read-only SecureString: no
    /// managed string of it ever exists, and the pinned intermediate buffer is wiped.
    /// </summary>
    internal static unsafe SecureString ReadUtf8Secure(IntPtr text, int length)
    {
        byte* bytes = (byte*)text;
        int count = length == 0 ? 0 : Encoding.UTF8.GetCharCount(bytes, length);
        var chars = new char[Math.Max(count, 1)];
        fixed (char* buffer = chars)
        {
            try
            {
                if (count > 0)
                {
                    Encoding.UTF8.GetChars(bytes, length, buffer, count);
                }

                var secure = new SecureString(buffer, count);
                secure.MakeReadOnly();
                return secure;
            }
            finally
            {
                Array.Clear(chars, 0, chars.Length);
            }
        }
    }

    /// <summary>
    /// Decodes <paramref name="length"/> bytes of UTF-8 (any character, NUL included) from
    /// native memory into a String: for -AsPlainText secrets, SAS tokens and JSON.
    /// </summary>
    internal static unsafe string ReadUtf8(IntPtr text, int length) =>
        length == 0 ? string.Empty : Encoding.UTF8.GetString((byte*)text, length);

    /// <summary>A length from azmi as an int, or an error for text too large for .NET.</summary>
    internal static int CheckedLength(UIntPtr length, string what)
    {
        ulong value = length.ToUInt64();
        if (value > int.MaxValue)
        {
            throw new InvalidOperationException($"azmi returned {what} too long to handle.");
        }

        return (int)value;
    }

    private static char AsciiAt(IntPtr text, int offset)
    {
        byte b = Marshal.ReadByte(text, offset);
        if (b == 0 || b > 0x7F)
        {
            // Never include the byte or its neighbours: they are part of a secret.
            throw new InvalidOperationException(
                "azmi returned token text that is not printable ASCII; it was discarded.");
        }

        return (char)b;
    }
}
