using System;
using System.Runtime.InteropServices;

namespace AzMi.Native;

/// <summary>An <c>azmi_bytes</c> copied into a managed array and freed.</summary>
internal static class NativeBytes
{
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
