using System;
using System.Threading;
using AzMi.Native;

namespace AzMi.Internal;

/// <summary>Turns a failed call's status and <c>azmi_error</c> into an exception.</summary>
internal static class NativeErrors
{
    /// <summary>
    /// Throws for any status other than Ok, after reading and freeing <paramref name="err"/>.
    /// A Cancelled status caused by <paramref name="cancellationToken"/> is an
    /// <see cref="OperationCanceledException"/> for that token, as .NET callers expect.
    /// </summary>
    internal static void ThrowIfFailed(uint status, IntPtr err, CancellationToken cancellationToken = default)
    {
        if (status == (uint)AzMiStatus.Ok)
        {
            NativeMethods.azmi_error_free(err); // azmi writes none on success; free defensively.
            return;
        }

        AzMiException e = Take(status, err);
        if (e.Status == AzMiStatus.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(e.Message, e, cancellationToken);
        }

        throw e;
    }

    /// <summary>Reads everything out of <paramref name="err"/> (which may be NULL) and frees it.</summary>
    internal static AzMiException Take(uint status, IntPtr err)
    {
        using var owner = new SafeErrorHandle();
        owner.Own(err);
        if (err == IntPtr.Zero)
        {
            string name = NativeText.ReadLent(NativeMethods.azmi_status_name(status)) ?? "Unknown";
            return AzMiException.Create((AzMiStatus)status, $"azmi failed with {name} but gave no error details.", 0, null);
        }

        status = NativeMethods.azmi_error_status(err);
        string message = NativeText.ReadLentOrEmpty(NativeMethods.azmi_error_message(err));
        int http = NativeMethods.azmi_error_http_status(err);
        string? serviceCode = NativeText.ReadLent(NativeMethods.azmi_error_service_code(err));
        string? claims = NativeText.ReadLent(NativeMethods.azmi_error_claims(err));
        return AzMiException.Create((AzMiStatus)status, message, http, serviceCode, claims);
    }
}
