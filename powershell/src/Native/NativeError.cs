using System;

namespace AzMi.Native;

/// <summary>Turns a failed call's status and <c>azmi_error</c> into an <see cref="AzMiException"/>.</summary>
internal static class NativeError
{
    /// <summary>
    /// Reads everything out of <paramref name="err"/> (which may be NULL) and frees it.
    /// </summary>
    internal static AzMiException Take(uint status, IntPtr err)
    {
        try
        {
            if (err != IntPtr.Zero)
            {
                status = NativeMethods.azmi_error_status(err);
            }

            string name = Utf8.ReadLent(NativeMethods.azmi_status_name(status)) ?? "Unknown";
            if (err == IntPtr.Zero)
            {
                // azmi promises an error object for every failure when err_out is given.
                return new AzMiException((AzMiStatus)status, name, $"azmi failed with {name} but gave no error details.", 0, null);
            }

            string message = Utf8.ReadLent(NativeMethods.azmi_error_message(err)) ?? string.Empty;
            int http = NativeMethods.azmi_error_http_status(err);
            string? serviceCode = Utf8.ReadLent(NativeMethods.azmi_error_service_code(err));
            string? claims = Utf8.ReadLent(NativeMethods.azmi_error_claims(err));
            return new AzMiException((AzMiStatus)status, name, message, http, serviceCode, claims);
        }
        finally
        {
            NativeMethods.azmi_error_free(err);
        }
    }

    /// <summary>Throws for any status other than Ok; frees <paramref name="err"/> either way.</summary>
    internal static void ThrowIfFailed(uint status, IntPtr err)
    {
        if (status != (uint)AzMiStatus.Ok)
        {
            throw Take(status, err);
        }

        // On success azmi writes no error, but free defensively: azmi_error_free(NULL) is a no-op.
        NativeMethods.azmi_error_free(err);
    }
}
