using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// A Key Vault's secrets, read and written with a managed identity's tokens (the vault's 401
/// challenge names the token resource, as in every cloud). Cheap, immutable, safe from any
/// thread.
/// </summary>
public sealed class KeyVaultClient
{
    private readonly AzMiIdentity _identity;
    private readonly byte[] _vault;

    internal KeyVaultClient(AzMiIdentity identity, string vault, string? apiVersion = null)
    {
        _identity = identity;
        Vault = vault;
        ApiVersion = apiVersion;
        _vault = NativeText.EncodeRequired(vault, nameof(vault));
        NativeText.Encode(apiVersion, nameof(apiVersion));
    }

    /// <summary>The vault as given: a name, host or URI.</summary>
    public string Vault { get; }

    /// <summary>The Key Vault REST api-version asked for, or null for azmi's default (7.5).</summary>
    public string? ApiVersion { get; }

    /// <summary>
    /// The same vault with another Key Vault REST api-version (e.g. "7.4" or "7.6-preview.1");
    /// its form is checked by azmi before anything is sent (InvalidArgument), and a version the
    /// vault does not know is its 400 (service code "BadParameter").
    /// </summary>
    /// <param name="apiVersion">The api-version, or null for azmi's default.</param>
    /// <returns>A new client; this one is unchanged.</returns>
    public KeyVaultClient WithApiVersion(string? apiVersion) => new KeyVaultClient(_identity, Vault, apiVersion);

    /// <summary>
    /// The latest value of the secret <paramref name="name"/> as a string. A managed string
    /// cannot be wiped: use <see cref="GetSecretWithPropertiesAsync"/> for a value you clear.
    /// </summary>
    /// <param name="name">The secret's name.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The value, decoded as UTF-8.</returns>
    /// <exception cref="AzMiNotFoundException">No such secret (service code "SecretNotFound").</exception>
    /// <exception cref="AzMiPermissionDeniedException">No access, or a disabled version.</exception>
    /// <exception cref="AzMiException">Any other error of azmi_keyvault_get.</exception>
    public async Task<string> GetSecretAsync(string name, CancellationToken cancellationToken = default)
    {
        using AzMiSecret secret = await GetSecretWithPropertiesAsync(name, version: null, cancellationToken).ConfigureAwait(false);
        return secret.ValueAsString();
    }

    /// <summary>A secret's value (as bytes you clear with Dispose) and properties.</summary>
    /// <param name="name">The secret's name.</param>
    /// <param name="version">A version id, or null for the latest.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The secret; dispose it to clear the value.</returns>
    /// <exception cref="AzMiNotFoundException">No such secret or version.</exception>
    /// <exception cref="AzMiException">Any other error of azmi_keyvault_get.</exception>
    public Task<AzMiSecret> GetSecretWithPropertiesAsync(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        byte[] nameUtf8 = NativeText.EncodeRequired(name, nameof(name));
        byte[]? versionUtf8 = NativeText.Encode(version, nameof(version));
        byte[]? api = NativeText.Encode(ApiVersion, nameof(ApiVersion));
        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr pointer;
            IntPtr err;
            using (HandleLease identity = _identity.Lease())
            {
                status = NativeMethods.azmi_keyvault_get(_vault, nameUtf8, versionUtf8, api, identity.Pointer, scope.Pointer, out pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
            return TakeSecret(pointer);
        }, cancellationToken);
    }

    /// <summary>
    /// Sets the secret <paramref name="name"/> to <paramref name="value"/>: a new version, the
    /// current one from now on (a new secret when the name is new), with exactly the
    /// <paramref name="settings"/> given (nothing is inherited from the previous version). A
    /// managed string cannot be wiped: the <c>byte[]</c> overload takes a value you clear.
    /// </summary>
    /// <param name="name">The secret's name.</param>
    /// <param name="value">The value (at most 25 KiB in UTF-8).</param>
    /// <param name="settings">Content type, tags, enabled, expiry, not-before; null for none.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The version as the vault stored it, value included; dispose it to clear the value.</returns>
    /// <exception cref="AzMiConflictException">The name is held by a deleted secret (HTTP 409, service code "Conflict") until it is recovered or purged.</exception>
    /// <exception cref="AzMiPermissionDeniedException">The identity may not set secrets (e.g. it has Key Vault Secrets User only).</exception>
    /// <exception cref="AzMiException">InvalidArgument (limits checked before anything is sent; a time not after 1970) or any other error of azmi_keyvault_set.</exception>
    public Task<AzMiSecret> SetSecretAsync(string name, string value, AzMiSecretSettings? settings = null, CancellationToken cancellationToken = default)
    {
        if (value is null)
        {
            throw new ArgumentNullException(nameof(value));
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        return SetAndClearAsync(name, utf8, settings, cancellationToken);
    }

    /// <summary>
    /// <see cref="SetSecretAsync(string, string, AzMiSecretSettings?, CancellationToken)"/> with
    /// the value as UTF-8 bytes, which azmi reads during the call only: clear the array when
    /// done (this method does not).
    /// </summary>
    /// <param name="name">The secret's name.</param>
    /// <param name="utf8Value">The value as UTF-8 (at most 25 KiB).</param>
    /// <param name="settings">Content type, tags, enabled, expiry, not-before; null for none.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The version as the vault stored it, value included; dispose it to clear the value.</returns>
    /// <exception cref="AzMiException">As the string overload; InvalidArgument for bytes that are not UTF-8.</exception>
    public Task<AzMiSecret> SetSecretAsync(string name, byte[] utf8Value, AzMiSecretSettings? settings = null, CancellationToken cancellationToken = default)
    {
        if (utf8Value is null)
        {
            throw new ArgumentNullException(nameof(utf8Value));
        }

        byte[] nameUtf8 = NativeText.EncodeRequired(name, nameof(name));
        byte[]? api = NativeText.Encode(ApiVersion, nameof(ApiVersion));
        AzMiSecretSettings given = settings ?? new AzMiSecretSettings();
        byte[]? contentType = NativeText.Encode(given.ContentType, nameof(AzMiSecretSettings.ContentType));
        byte[]? tags = given.Tags.Count == 0 ? null : NativeText.Encode(JsonText.StringObject(given.Tags), nameof(AzMiSecretSettings.Tags));
        long notBefore = UnixSeconds(given.NotBefore);
        long expires = UnixSeconds(given.ExpiresOn);
        uint flags = given.Enabled ? 0 : NativeMethods.AZMI_SECRET_DISABLED;
        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr pointer;
            IntPtr err;
            GCHandle pinned = GCHandle.Alloc(utf8Value, GCHandleType.Pinned);
            try
            {
                using HandleLease identity = _identity.Lease();
                status = NativeMethods.azmi_keyvault_set(
                    _vault, nameUtf8, pinned.AddrOfPinnedObject(), (UIntPtr)utf8Value.Length, contentType, tags,
                    notBefore, expires, flags, api, identity.Pointer, scope.Pointer, out pointer, out err);
            }
            finally
            {
                pinned.Free();
            }

            scope.ThrowIfFailed(status, err);
            return TakeSecret(pointer);
        }, cancellationToken);
    }

    /// <summary>
    /// Deletes the secret <paramref name="name"/>, every version of it. The vault keeps it
    /// recoverable (soft delete) until its scheduled purge date, and its name cannot be set
    /// meanwhile; purging is the vault owner's business. A delete is not repeated once the
    /// vault may have acted on it.
    /// </summary>
    /// <param name="name">The secret's name.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>Where the deleted secret waits, and until when.</returns>
    /// <exception cref="AzMiNotFoundException">No such secret, or already deleted.</exception>
    /// <exception cref="AzMiPermissionDeniedException">The identity may not delete secrets.</exception>
    /// <exception cref="AzMiException">Any other error of azmi_keyvault_delete.</exception>
    public Task<AzMiDeletedSecret> DeleteSecretAsync(string name, CancellationToken cancellationToken = default)
    {
        byte[] nameUtf8 = NativeText.EncodeRequired(name, nameof(name));
        byte[]? api = NativeText.Encode(ApiVersion, nameof(ApiVersion));
        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr pointer;
            IntPtr err;
            using (HandleLease identity = _identity.Lease())
            {
                status = NativeMethods.azmi_keyvault_delete(_vault, nameUtf8, api, identity.Pointer, scope.Pointer, out pointer, out err);
            }

            scope.ThrowIfFailed(status, err);
            using var deleted = new SafeSecretHandle();
            deleted.Own(pointer);
            return new AzMiDeletedSecret(
                AzMiSecretProperties.Read(pointer),
                NativeText.ReadLentOrEmpty(NativeMethods.azmi_secret_recovery_id(pointer)),
                AzMiSecretProperties.Time(NativeMethods.azmi_secret_deleted_on(pointer)),
                AzMiSecretProperties.Time(NativeMethods.azmi_secret_scheduled_purge(pointer)));
        }, cancellationToken);
    }

    private async Task<AzMiSecret> SetAndClearAsync(string name, byte[] utf8, AzMiSecretSettings? settings, CancellationToken cancellationToken)
    {
        try
        {
            return await SetSecretAsync(name, utf8, settings, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Array.Clear(utf8, 0, utf8.Length);
        }
    }

    private static long UnixSeconds(DateTimeOffset? time)
    {
        if (time is null)
        {
            return 0;
        }

        long seconds = time.Value.ToUnixTimeSeconds();
        // 0 means "none" to azmi: 1970-01-01T00:00:00Z itself cannot be asked for.
        return seconds <= 0
            ? throw new AzMiException(AzMiStatus.InvalidArgument, $"{time.Value:o} is not after 1970-01-01T00:00:00Z: give a later time, or null for none.")
            : seconds;
    }

    /// <summary>Copies an owned azmi_secret (value included) and frees (wipes) it.</summary>
    private static AzMiSecret TakeSecret(IntPtr pointer)
    {
        using var secret = new SafeSecretHandle();
        secret.Own(pointer);
        int length = NativeText.CheckedLength(NativeMethods.azmi_secret_value_len(pointer), "a secret");
        byte[] value = NativeText.CopyBytes(NativeMethods.azmi_secret_value(pointer), length);
        return new AzMiSecret(value, AzMiSecretProperties.Read(pointer));
    }

    /// <summary>The vault's secrets (without values), every page, as each page arrives.</summary>
    /// <returns>The listing; enumerating it sends the requests.</returns>
    public AzMiListing<AzMiSecretProperties> ListSecretsAsync()
    {
        byte[]? api = NativeText.Encode(ApiVersion, nameof(ApiVersion));
        return new AzMiListing<AzMiSecretProperties>(
            (IntPtr cancel, IntPtr userdata, out IntPtr err) =>
            {
                using HandleLease identity = _identity.Lease();
                return NativeMethods.azmi_keyvault_list(_vault, api, identity.Pointer, cancel, ListingCallbacks.Secret, userdata, out err);
            },
            AzMiSecretProperties.Read);
    }

    /// <summary>The versions of the secret <paramref name="name"/> (without values), every page.</summary>
    /// <param name="name">The secret's name.</param>
    /// <returns>The listing; enumerating it sends the requests.</returns>
    public AzMiListing<AzMiSecretProperties> ListSecretVersionsAsync(string name)
    {
        byte[] nameUtf8 = NativeText.EncodeRequired(name, nameof(name));
        byte[]? api = NativeText.Encode(ApiVersion, nameof(ApiVersion));
        return new AzMiListing<AzMiSecretProperties>(
            (IntPtr cancel, IntPtr userdata, out IntPtr err) =>
            {
                using HandleLease identity = _identity.Lease();
                return NativeMethods.azmi_keyvault_list_versions(_vault, nameUtf8, api, identity.Pointer, cancel, ListingCallbacks.Secret, userdata, out err);
            },
            AzMiSecretProperties.Read);
    }
}

/// <summary>
/// A secret's value and properties. The value is a <c>byte[]</c> (it may hold any byte, NUL
/// included) that <see cref="Dispose"/> clears; never log it.
/// </summary>
public sealed class AzMiSecret : IDisposable
{
    private byte[]? _value;

    internal AzMiSecret(byte[] value, AzMiSecretProperties properties)
    {
        _value = value;
        Properties = properties;
    }

    /// <summary>The secret's properties.</summary>
    public AzMiSecretProperties Properties { get; }

    /// <summary>The value's bytes (the array itself: cleared by <see cref="Dispose"/>).</summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public byte[] Value => _value ?? throw new ObjectDisposedException(nameof(AzMiSecret));

    /// <summary>The value decoded as UTF-8: a managed string, which cannot be wiped.</summary>
    /// <returns>The value.</returns>
    public string ValueAsString() => Encoding.UTF8.GetString(Value);

    /// <summary>Clears the value.</summary>
    public void Dispose()
    {
        byte[]? value = Interlocked.Exchange(ref _value, null);
        if (value is not null)
        {
            Array.Clear(value, 0, value.Length);
        }
    }

    /// <summary>The secret's id, never its value.</summary>
    /// <returns>The id.</returns>
    public override string ToString() => Properties.ToString();
}

/// <summary>A secret's (or version's) properties, as Key Vault gives them.</summary>
public sealed class AzMiSecretProperties
{
    private AzMiSecretProperties(string name, string version, string id, string contentType, bool enabled, DateTimeOffset? created, DateTimeOffset? updated, DateTimeOffset? expires, DateTimeOffset? notBefore, string tagsJson)
    {
        Name = name;
        Version = version;
        Id = id;
        ContentType = contentType;
        Enabled = enabled;
        Created = created;
        Updated = updated;
        Expires = expires;
        NotBefore = notBefore;
        TagsJson = tagsJson;
    }

    /// <summary>The secret's name.</summary>
    public string Name { get; }

    /// <summary>The version id ("" in <see cref="KeyVaultClient.ListSecretsAsync"/>, which lists secrets).</summary>
    public string Version { get; }

    /// <summary>The id, <c>https://&lt;vault&gt;/secrets/&lt;name&gt;[/&lt;version&gt;]</c>.</summary>
    public string Id { get; }

    /// <summary>The content type ("" when not set).</summary>
    public string ContentType { get; }

    /// <summary>Whether the secret (version) is enabled.</summary>
    public bool Enabled { get; }

    /// <summary>Creation time, when known.</summary>
    public DateTimeOffset? Created { get; }

    /// <summary>Last update, when known.</summary>
    public DateTimeOffset? Updated { get; }

    /// <summary>Expiry, when set.</summary>
    public DateTimeOffset? Expires { get; }

    /// <summary>Not-before, when set.</summary>
    public DateTimeOffset? NotBefore { get; }

    /// <summary>The tags as a JSON object text, e.g. <c>{"purpose":"azmi-tests"}</c> (<c>{}</c> when none).</summary>
    public string TagsJson { get; }

    /// <summary>The id.</summary>
    /// <returns><see cref="Id"/>.</returns>
    public override string ToString() => Id;

    /// <summary>Copies the properties of a secret (owned or lent) while it lives.</summary>
    internal static AzMiSecretProperties Read(IntPtr secret) => new AzMiSecretProperties(
        NativeText.ReadLentOrEmpty(NativeMethods.azmi_secret_name(secret)),
        NativeText.ReadLentOrEmpty(NativeMethods.azmi_secret_version(secret)),
        NativeText.ReadLentOrEmpty(NativeMethods.azmi_secret_id(secret)),
        NativeText.ReadLentOrEmpty(NativeMethods.azmi_secret_content_type(secret)),
        NativeMethods.azmi_secret_enabled(secret),
        Time(NativeMethods.azmi_secret_created(secret)),
        Time(NativeMethods.azmi_secret_updated(secret)),
        Time(NativeMethods.azmi_secret_expires(secret)),
        Time(NativeMethods.azmi_secret_not_before(secret)),
        NativeText.ReadLentOrEmpty(NativeMethods.azmi_secret_tags(secret)));

    internal static DateTimeOffset? Time(long unixSeconds) =>
        unixSeconds == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
}

/// <summary>
/// What <see cref="KeyVaultClient.SetSecretAsync(string, string, AzMiSecretSettings?, CancellationToken)"/>
/// writes beside the value. Limits (checked before anything is sent): at most 15 tags, names 1
/// to 512 characters, values at most 256; a content type of at most 255 characters.
/// </summary>
public sealed class AzMiSecretSettings
{
    /// <summary>E.g. "text/plain"; null for none.</summary>
    public string? ContentType { get; set; }

    /// <summary>The tags (name → value).</summary>
    public IDictionary<string, string> Tags { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Whether the version can be read (true by default).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>After this the version should not be used; null for never.</summary>
    public DateTimeOffset? ExpiresOn { get; set; }

    /// <summary>Before this the version should not be used; null for no such time.</summary>
    public DateTimeOffset? NotBefore { get; set; }
}

/// <summary>A secret as <see cref="KeyVaultClient.DeleteSecretAsync"/> leaves it: recoverable until purged.</summary>
public sealed class AzMiDeletedSecret
{
    internal AzMiDeletedSecret(AzMiSecretProperties properties, string recoveryId, DateTimeOffset? deletedOn, DateTimeOffset? scheduledPurgeDate)
    {
        Properties = properties;
        RecoveryId = recoveryId;
        DeletedOn = deletedOn;
        ScheduledPurgeDate = scheduledPurgeDate;
    }

    /// <summary>The deleted current version's properties (no value).</summary>
    public AzMiSecretProperties Properties { get; }

    /// <summary><c>https://&lt;vault&gt;/deletedsecrets/&lt;name&gt;</c>: where it is recovered or purged.</summary>
    public string RecoveryId { get; }

    /// <summary>When it was deleted.</summary>
    public DateTimeOffset? DeletedOn { get; }

    /// <summary>When the vault purges it for good.</summary>
    public DateTimeOffset? ScheduledPurgeDate { get; }

    /// <summary>The recovery id.</summary>
    /// <returns><see cref="RecoveryId"/>.</returns>
    public override string ToString() => RecoveryId;
}
