using System;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>An <c>azmi_bytes</c> or <c>azmi_string</c> copied into managed memory and freed.</summary>
internal static class NativeBytes
{
    /// <summary>Copies an azmi_string and frees (wipes) it.</summary>
    internal static string TakeString(IntPtr s)
    {
        try
        {
            return Utf8.ReadUtf8(NativeMethods.azmi_string_data(s), Utf8.CheckedLength(NativeMethods.azmi_string_len(s), "text"));
        }
        finally
        {
            NativeMethods.azmi_string_free(s);
        }
    }

    /// <summary>
    /// Copies and frees <paramref name="bytes"/>. More than a .NET array holds is an
    /// InvalidArgument error: <paramref name="tooLarge"/> gets the count and gives its message.
    /// </summary>
    internal static byte[] Take(IntPtr bytes, Func<ulong, string> tooLarge)
    {
        try
        {
            ulong count = NativeMethods.azmi_bytes_len(bytes).ToUInt64();
            if (count > int.MaxValue)
            {
                throw AzMiException.InvalidArgument(tooLarge(count));
            }

            var data = new byte[count];
            if (count > 0)
            {
                Marshal.Copy(NativeMethods.azmi_bytes_data(bytes), data, 0, (int)count);
            }

            return data;
        }
        finally
        {
            NativeMethods.azmi_bytes_free(bytes);
        }
    }
}
