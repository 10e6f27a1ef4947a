using System;
using System.Runtime.InteropServices;
using System.Security;
using System.Text;

namespace AzMi.Native;

/// <summary>
/// azmi's Key Vault calls. Every call blocks until done, throws <see cref="AzMiException"/> on
/// failure (messages name the vault and the secret, never the value) and takes the
/// <see cref="CancelHandle"/> that StopProcessing cancels.
/// </summary>
internal static class NativeKeyVault
{
    /// <summary>A secret's properties, copied out of a lent or owned azmi_secret; its tags as JSON text.</summary>
    internal sealed class SecretProperties
    {
        internal string Name = string.Empty;
        internal string Version = string.Empty;
        internal string Id = string.Empty;
        internal string ContentType = string.Empty;
        internal bool Enabled;
        internal DateTime? Created;
        internal DateTime? Updated;
        internal DateTime? Expires;
        internal DateTime? NotBefore;
        internal string TagsJson = "{}";
        internal object? Value; // SecureString, or String for -AsPlainText; null for listed ones.
    }

    /// <summary>
    /// azmi_keyvault_get: the latest version, or <paramref name="version"/>, at
    /// <paramref name="apiVersion"/> (null: azmi's default). The value is decoded straight into
    /// a SecureString (a String when <paramref name="asPlainText"/>) and azmi's copy is wiped
    /// before this returns.
    /// </summary>
    internal static SecretProperties Get(string vault, string name, string? version, string? apiVersion, bool asPlainText, NativeIdentity identity, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_keyvault_get(
            Utf8.Encode(vault, "The vault name")!,
            Utf8.Encode(name, "The secret name")!,
            Utf8.Encode(version, "The version"),
            Utf8.Encode(apiVersion, "The api-version"),
            identity.Handle,
            cancel.Handle,
            out IntPtr secret,
            out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return TakeSecret(secret, asPlainText);
    }

    /// <summary>
    /// Copies an owned azmi_secret, its value decoded straight into a SecureString (a String
    /// when <paramref name="asPlainText"/>), and frees it, which wipes azmi's copy.
    /// </summary>
    private static SecretProperties TakeSecret(IntPtr secret, bool asPlainText)
    {
        try
        {
            SecretProperties properties = Read(secret);
            int length = Utf8.CheckedLength(NativeMethods.azmi_secret_value_len(secret), "a secret");
            IntPtr value = NativeMethods.azmi_secret_value(secret);
            properties.Value = asPlainText ? Utf8.ReadUtf8(value, length) : (object)Utf8.ReadUtf8Secure(value, length);
            return properties;
        }
        finally
        {
            NativeMethods.azmi_secret_free(secret);
        }
    }

    /// <summary>What Set-AzMiKeyVaultSecret writes beside the value.</summary>
    internal sealed class SetSettings
    {
        internal string? ContentType;
        internal string? TagsJson;
        internal DateTime? NotBefore;
        internal DateTime? Expires;
        internal bool Disabled;
    }

    /// <summary>
    /// azmi_keyvault_set: the value goes from the SecureString to native memory as UTF-8 without
    /// any managed string of it; both unmanaged copies are wiped before this returns. Returns
    /// the version as the vault stored it (its value as a SecureString).
    /// </summary>
    internal static unsafe SecretProperties Set(string vault, string name, SecureString value, SetSettings settings, string? apiVersion, NativeIdentity identity, CancelHandle cancel)
    {
        byte[] vaultUtf8 = Utf8.Encode(vault, "The vault name")!;
        byte[] nameUtf8 = Utf8.Encode(name, "The secret name")!;
        byte[]? contentType = Utf8.Encode(settings.ContentType, "The content type");
        byte[]? tags = Utf8.Encode(settings.TagsJson, "The tags");
        byte[]? api = Utf8.Encode(apiVersion, "The api-version");
        long notBefore = UnixSeconds(settings.NotBefore, "-NotBefore");
        long expires = UnixSeconds(settings.Expires, "-Expires");
        uint flags = settings.Disabled ? NativeMethods.AZMI_SECRET_DISABLED : 0;

        IntPtr utf16 = Marshal.SecureStringToGlobalAllocUnicode(value);
        IntPtr utf8 = IntPtr.Zero;
        int byteCount = 0;
        try
        {
            char* chars = (char*)utf16;
            byteCount = value.Length == 0 ? 0 : Encoding.UTF8.GetByteCount(chars, value.Length);
            utf8 = Marshal.AllocHGlobal(Math.Max(byteCount, 1));
            if (byteCount > 0)
            {
                Encoding.UTF8.GetBytes(chars, value.Length, (byte*)utf8, byteCount);
            }

            uint status = NativeMethods.azmi_keyvault_set(
                vaultUtf8, nameUtf8, utf8, (UIntPtr)byteCount, contentType, tags, notBefore, expires, flags,
                api, identity.Handle, cancel.Handle, out IntPtr secret, out IntPtr err);
            NativeError.ThrowIfFailed(status, err);
            return TakeSecret(secret, asPlainText: false);
        }
        finally
        {
            if (utf8 != IntPtr.Zero)
            {
                byte* bytes = (byte*)utf8;
                for (int i = 0; i < byteCount; i++)
                {
                    bytes[i] = 0;
                }

                Marshal.FreeHGlobal(utf8);
            }

            Marshal.ZeroFreeGlobalAllocUnicode(utf16);
        }
    }

    /// <summary>What Remove-AzMiKeyVaultSecret learns of a deleted secret.</summary>
    internal sealed class Deleted
    {
        internal SecretProperties Properties = new SecretProperties();
        internal string RecoveryId = string.Empty;
        internal DateTime? DeletedOn;
        internal DateTime? ScheduledPurge;
    }

    /// <summary>azmi_keyvault_delete: the secret, every version, into the vault's deleted store.</summary>
    internal static Deleted Delete(string vault, string name, string? apiVersion, NativeIdentity identity, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_keyvault_delete(
            Utf8.Encode(vault, "The vault name")!,
            Utf8.Encode(name, "The secret name")!,
            Utf8.Encode(apiVersion, "The api-version"),
            identity.Handle,
            cancel.Handle,
            out IntPtr deleted,
            out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        try
        {
            return new Deleted
            {
                Properties = Read(deleted),
                RecoveryId = Utf8.ReadLent(NativeMethods.azmi_secret_recovery_id(deleted)) ?? string.Empty,
                DeletedOn = Time(NativeMethods.azmi_secret_deleted_on(deleted)),
                ScheduledPurge = Time(NativeMethods.azmi_secret_scheduled_purge(deleted)),
            };
        }
        finally
        {
            NativeMethods.azmi_secret_free(deleted);
        }
    }

    private static long UnixSeconds(DateTime? time, string parameter)
    {
        if (time is null)
        {
            return 0;
        }

        // Unspecified (what Get-Date and [datetime]'2030-01-01' give) is local time, as in PowerShell.
        long seconds = new DateTimeOffset(time.Value.Kind == DateTimeKind.Utc ? time.Value : time.Value.ToUniversalTime()).ToUnixTimeSeconds();
        return seconds > 0
            ? seconds
            : throw AzMiException.InvalidArgument($"{parameter} {time.Value:o} is not after 1970-01-01T00:00:00Z.");
    }

    /// <summary>
    /// azmi_keyvault_list (<paramref name="name"/> null) or azmi_keyvault_list_versions at
    /// <paramref name="apiVersion"/> (null: azmi's default), through <see cref="NativeListing"/>:
    /// <paramref name="onItem"/> runs on this thread.
    /// </summary>
    internal static void List(string vault, string? name, string? apiVersion, NativeIdentity identity, CancelHandle cancel, Func<SecretProperties, bool> onItem)
    {
        byte[] vaultUtf8 = Utf8.Encode(vault, "The vault name")!;
        byte[]? nameUtf8 = Utf8.Encode(name, "The secret name");
        byte[]? apiVersionUtf8 = Utf8.Encode(apiVersion, "The api-version");
        NativeListing.Run(
            cancel,
            Read,
            (Func<IntPtr, bool> onNativeItem, out IntPtr err) =>
            {
                NativeMethods.SecretCallback callback = (_, secret) => onNativeItem(secret);
                uint status = nameUtf8 is null
                    ? NativeMethods.azmi_keyvault_list(vaultUtf8, apiVersionUtf8, identity.Handle, cancel.Handle, callback, IntPtr.Zero, out err)
                    : NativeMethods.azmi_keyvault_list_versions(vaultUtf8, nameUtf8, apiVersionUtf8, identity.Handle, cancel.Handle, callback, IntPtr.Zero, out err);
                GC.KeepAlive(callback);
                return status;
            },
            onItem,
            "AzMi Key Vault listing");
    }

    private static SecretProperties Read(IntPtr secret) => new SecretProperties
    {
        Name = Utf8.ReadLent(NativeMethods.azmi_secret_name(secret)) ?? string.Empty,
        Version = Utf8.ReadLent(NativeMethods.azmi_secret_version(secret)) ?? string.Empty,
        Id = Utf8.ReadLent(NativeMethods.azmi_secret_id(secret)) ?? string.Empty,
        ContentType = Utf8.ReadLent(NativeMethods.azmi_secret_content_type(secret)) ?? string.Empty,
        Enabled = NativeMethods.azmi_secret_enabled(secret),
        Created = Time(NativeMethods.azmi_secret_created(secret)),
        Updated = Time(NativeMethods.azmi_secret_updated(secret)),
        Expires = Time(NativeMethods.azmi_secret_expires(secret)),
        NotBefore = Time(NativeMethods.azmi_secret_not_before(secret)),
        TagsJson = Utf8.ReadLent(NativeMethods.azmi_secret_tags(secret)) is { Length: > 0 } tags ? tags : "{}",
    };

    private static DateTime? Time(long unixSeconds) =>
        unixSeconds == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime;
}

/// <summary>azmi's Resource Manager calls, as <see cref="NativeKeyVault"/>.</summary>
internal static class NativeArm
{
    /// <summary>azmi_arm_request: the answer's JSON text ("null" for an empty answer).</summary>
    internal static string Request(string method, string pathOrUrl, string? apiVersion, string? jsonBody, NativeIdentity identity, CancelHandle cancel)
    {
        uint status = NativeMethods.azmi_arm_request(
            Utf8.Encode(method, "The method")!,
            Utf8.Encode(pathOrUrl, "The path")!,
            Utf8.Encode(apiVersion, "The api-version"),
            Utf8.Encode(jsonBody, "The body"),
            identity.Handle,
            cancel.Handle,
            out IntPtr json,
            out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.TakeString(json);
    }

    /// <summary>azmi_arm_list_sas: the SAS token (no leading '?').</summary>
    internal static string ListServiceSas(string subscription, string resourceGroup, string account, string requestJson, NativeIdentity identity, CancelHandle cancel) =>
        ListSas(NativeMethods.azmi_arm_list_sas, subscription, resourceGroup, account, requestJson, identity, cancel);

    /// <summary>azmi_arm_list_account_sas: the account SAS token (no leading '?').</summary>
    internal static string ListAccountSas(string subscription, string resourceGroup, string account, string requestJson, NativeIdentity identity, CancelHandle cancel) =>
        ListSas(NativeMethods.azmi_arm_list_account_sas, subscription, resourceGroup, account, requestJson, identity, cancel);

    /// <summary>The shape of azmi_arm_list_sas and azmi_arm_list_account_sas.</summary>
    private delegate uint SasCall(byte[] subscription, byte[] resourceGroup, byte[] account, byte[] requestJson, IntPtr identity, IntPtr cancel, out IntPtr sas, out IntPtr err);

    private static string ListSas(SasCall call, string subscription, string resourceGroup, string account, string requestJson, NativeIdentity identity, CancelHandle cancel)
    {
        uint status = call(
            Utf8.Encode(subscription, "The subscription id")!,
            Utf8.Encode(resourceGroup, "The resource group name")!,
            Utf8.Encode(account, "The storage account name")!,
            Utf8.Encode(requestJson, "The SAS request")!,
            identity.Handle,
            cancel.Handle,
            out IntPtr sas,
            out IntPtr err);
        NativeError.ThrowIfFailed(status, err);
        return NativeBytes.TakeString(sas);
    }
}
