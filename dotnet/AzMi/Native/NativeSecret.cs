using System;
using System.Runtime.InteropServices;
using System.Security;

namespace AzMi.Native;

/// <summary>
/// A secret (a proxy's password) as NUL-terminated UTF-8 in unmanaged memory, for azmi to copy:
/// made from a <see cref="SecureString"/> without a managed string of it ever existing, zeroed
/// and freed on <see cref="Dispose"/>. Shared by the package and the module.
/// </summary>
internal sealed class NativeSecret : IDisposable
{
    private readonly int _capacity;

    private NativeSecret(IntPtr pointer, int capacity)
    {
        Pointer = pointer;
        _capacity = capacity;
    }

    /// <summary>The UTF-8 text, NUL-terminated; valid until <see cref="Dispose"/>.</summary>
    internal IntPtr Pointer { get; private set; }

    /// <summary>
    /// Copies <paramref name="secret"/> as UTF-8 (an unpaired surrogate becomes U+FFFD). A NUL
    /// character, which C would read as the end, is an <see cref="ArgumentException"/>.
    /// </summary>
    internal static NativeSecret From(SecureString secret, string parameterName)
    {
        IntPtr utf16 = Marshal.SecureStringToGlobalAllocUnicode(secret);
        IntPtr utf8 = IntPtr.Zero;
        try
        {
            int units = secret.Length;
            // At most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2), and the NUL.
            int capacity = (units * 3) + 1;
            utf8 = Marshal.AllocHGlobal(capacity);
            int o = 0;
            for (int i = 0; i < units; i++)
            {
                int c = (ushort)Marshal.ReadInt16(utf16, i * 2);
                if (c == 0)
                {
                    throw new ArgumentException("The value contains a NUL character.", parameterName);
                }

                if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units)
                {
                    int low = (ushort)Marshal.ReadInt16(utf16, (i + 1) * 2);
                    if (low >= 0xDC00 && low <= 0xDFFF)
                    {
                        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                        i++;
                    }
                    else
                    {
                        c = 0xFFFD;
                    }
                }
                else if (c >= 0xD800 && c <= 0xDFFF)
                {
                    c = 0xFFFD;
                }

                o = Write(utf8, o, c);
            }

            Marshal.WriteByte(utf8, o, 0);
            var result = new NativeSecret(utf8, capacity);
            utf8 = IntPtr.Zero;
            return result;
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(utf16);
            if (utf8 != IntPtr.Zero)
            {
                Clear(utf8, (secret.Length * 3) + 1);
                Marshal.FreeHGlobal(utf8);
            }
        }
    }

    /// <summary>Zeroes and frees the copy.</summary>
    public void Dispose()
    {
        if (Pointer != IntPtr.Zero)
        {
            Clear(Pointer, _capacity);
            Marshal.FreeHGlobal(Pointer);
            Pointer = IntPtr.Zero;
        }
    }

    private static int Write(IntPtr buffer, int o, int c)
    {
        if (c < 0x80)
        {
            Marshal.WriteByte(buffer, o++, (byte)c);
        }
        else if (c < 0x800)
        {
            Marshal.WriteByte(buffer, o++, (byte)(0xC0 | (c >> 6)));
            Marshal.WriteByte(buffer, o++, (byte)(0x80 | (c & 0x3F)));
        }
        else if (c < 0x10000)
        {
            Marshal.WriteByte(buffer, o++, (byte)(0xE0 | (c >> 12)));
            Marshal.WriteByte(buffer, o++, (byte)(0x80 | ((c >> 6) & 0x3F)));
            Marshal.WriteByte(buffer, o++, (byte)(0x80 | (c & 0x3F)));
        }
        else
        {
            Marshal.WriteByte(buffer, o++, (byte)(0xF0 | (c >> 18)));
            Marshal.WriteByte(buffer, o++, (byte)(0x80 | ((c >> 12) & 0x3F)));
            Marshal.WriteByte(buffer, o++, (byte)(0x80 | ((c >> 6) & 0x3F)));
            Marshal.WriteByte(buffer, o++, (byte)(0x80 | (c & 0x3F)));
        }

        return o;
    }

    private static void Clear(IntPtr buffer, int length)
    {
        for (int i = 0; i < length; i++)
        {
            Marshal.WriteByte(buffer, i, 0);
        }
    }
}
