using System;
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
    internal static unsafe string? ReadLent(IntPtr text)
    {
        if (text == IntPtr.Zero)
        {
            return null;
        }

        byte* bytes = (byte*)text;
        int length = LengthOf(bytes);
        return length == 0 ? string.Empty : Encoding.UTF8.GetString(bytes, length);
    }

    /// <summary>
    /// <see cref="ReadLent(IntPtr)"/> ("" for NULL), but when the text is exactly
    /// <paramref name="likely"/> (e.g. the resource that was asked for) that string is returned
    /// instead of a new copy: a warm token call then decodes nothing but the token.
    /// </summary>
    internal static unsafe string ReadLent(IntPtr text, string likely)
    {
        if (text == IntPtr.Zero)
        {
            return string.Empty;
        }

        byte* bytes = (byte*)text;
        int i = 0;
        for (; i < likely.Length; i++)
        {
            // Only ASCII can match byte for char; anything else is decoded below.
            if (bytes[i] == 0 || bytes[i] != likely[i])
            {
                return ReadLent(text)!;
            }
        }

        return bytes[i] == 0 ? likely : ReadLent(text)!;
    }

    /// <summary>
    /// Copies token text of <paramref name="length"/> bytes straight from native memory into a
    /// read-only SecureString, so that no managed string of the token ever exists. A token is
    /// printable ASCII (azmi rejects any other), so each byte is one char.
    /// </summary>
    internal static unsafe SecureString ReadAsciiSecure(IntPtr text, int length)
    {
        // One bulk ASCII decode into an intermediate buffer, then one SecureString(char*, int): no
        // per-byte Marshal.ReadByte, and no AppendChar (which re-protects the whole buffer each
        // time). The buffer is on the stack for a token of usual size (no garbage-collected copy
        // left behind, none to collect), pinned on the heap beyond; wiped before it is released.
        if (length <= StackTokenChars)
        {
            char* onStack = stackalloc char[Math.Max(length, 1)];
            try
            {
                return DecodeSecure(text, length, onStack);
            }
            finally
            {
                Wipe(onStack, length);
            }
        }

        var chars = new char[length];
        fixed (char* buffer = chars)
        {
            try
            {
                return DecodeSecure(text, length, buffer);
            }
            finally
            {
                Array.Clear(chars, 0, chars.Length);
            }
        }
    }

    /// <summary>Tokens up to this many chars (16 KiB of stack) are decoded on the stack; Entra tokens are 1 to 4 KiB.</summary>
    private const int StackTokenChars = 8 * 1024;

    private static unsafe SecureString DecodeSecure(IntPtr text, int length, char* buffer)
    {
        DecodeAscii(text, length, buffer);
        var secure = new SecureString(buffer, length);
        secure.MakeReadOnly();
        return secure;
    }

    /// <summary>Zeroes <paramref name="length"/> chars, a word at a time (writes through a pointer, which the JIT keeps).</summary>
    private static unsafe void Wipe(char* buffer, int length)
    {
        long* words = (long*)buffer;
        int wordCount = length / 4;
        for (int i = 0; i < wordCount; i++)
        {
            words[i] = 0;
        }

        for (int i = wordCount * 4; i < length; i++)
        {
            buffer[i] = '\0';
        }
    }

    /// <summary>
    /// Copies token text into a managed string: only for -AsPlainText, where the caller asked
    /// for exactly that. Decoded straight into the string, with no intermediate buffer.
    /// </summary>
    internal static unsafe string ReadAsciiPlain(IntPtr text, int length)
    {
        if (length == 0)
        {
            return string.Empty;
        }

        try
        {
            return StrictAscii.GetString((byte*)text, length);
        }
        catch (DecoderFallbackException)
        {
            throw NotAscii();
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

    /// <summary>
    /// ASCII that throws on any other byte instead of putting '?' in its place. Decoding with it
    /// is one vectorised widening pass on .NET; the check costs nothing extra.
    /// </summary>
    private static readonly Encoding StrictAscii =
        Encoding.GetEncoding("us-ascii", EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);

    private static unsafe void DecodeAscii(IntPtr text, int length, char* buffer)
    {
        if (length == 0)
        {
            return;
        }

        try
        {
            StrictAscii.GetChars((byte*)text, length, buffer, length);
        }
        catch (DecoderFallbackException)
        {
            throw NotAscii();
        }
    }

    // Never the exception from the decoder: it holds the offending bytes, part of a secret.
    private static Exception NotAscii() =>
        new InvalidOperationException("azmi returned token text that is not ASCII; it was discarded.");

    private static unsafe int LengthOf(byte* text)
    {
        int length = 0;
        while (text[length] != 0)
        {
            length++;
        }

        return length;
    }
}
