using System;
using AzMi.Native;

namespace AzMi.Internal;

/// <summary>Copies and frees an <c>azmi_bytes</c> / <c>azmi_string</c> that a call returned.</summary>
internal static class BytesReader
{
    /// <summary>The bytes of an owned <c>azmi_bytes</c>, which is freed.</summary>
    internal static byte[] Take(IntPtr bytes)
    {
        using var owner = new SafeBytesHandle();
        owner.Own(bytes);
        int length = NativeText.CheckedLength(NativeMethods.azmi_bytes_len(bytes), "data");
        return NativeText.CopyBytes(NativeMethods.azmi_bytes_data(bytes), length);
    }

    /// <summary>The text of an owned <c>azmi_string</c>, which is wiped and freed.</summary>
    internal static string TakeString(IntPtr text)
    {
        using var owner = new SafeStringHandle();
        owner.Own(text);
        int length = NativeText.CheckedLength(NativeMethods.azmi_string_len(text), "text");
        return NativeText.Read(NativeMethods.azmi_string_data(text), length);
    }
}
