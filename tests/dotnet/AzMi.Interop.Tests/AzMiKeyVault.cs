using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace AzMi.Interop;

/// <summary>A secret's properties (what a listing gives; no value), copied out of an <c>azmi_secret</c>.</summary>
/// <param name="Name">The secret's name.</param>
/// <param name="Version">The version id ("" in a listing of secrets).</param>
/// <param name="Id"><c>https://&lt;vault&gt;/secrets/&lt;name&gt;[/&lt;version&gt;]</c>.</param>
/// <param name="ContentType">"" when not set.</param>
/// <param name="Enabled">Whether the secret (version) is enabled.</param>
/// <param name="Created">Null when absent.</param>
/// <param name="Updated">Null when absent.</param>
/// <param name="Expires">Null when absent.</param>
/// <param name="NotBefore">Null when absent.</param>
/// <param name="TagsJson">The tags as a JSON object text (<c>{}</c> when none).</param>
public sealed record AzMiSecretProperties(
    string Name, string Version, string Id, string ContentType, bool Enabled,
    DateTimeOffset? Created, DateTimeOffset? Updated, DateTimeOffset? Expires, DateTimeOffset? NotBefore, string TagsJson)
{
    /// <summary>Copies the properties of an owned or lent secret (valid only during a callback when lent).</summary>
    internal static AzMiSecretProperties Read(IntPtr secret) => new(
        Marshal.PtrToStringUTF8(NativeMethods.azmi_secret_name(secret)) ?? "",
        Marshal.PtrToStringUTF8(NativeMethods.azmi_secret_version(secret)) ?? "",
        Marshal.PtrToStringUTF8(NativeMethods.azmi_secret_id(secret)) ?? "",
        Marshal.PtrToStringUTF8(NativeMethods.azmi_secret_content_type(secret)) ?? "",
        NativeMethods.azmi_secret_enabled(secret),
        Time(NativeMethods.azmi_secret_created(secret)),
        Time(NativeMethods.azmi_secret_updated(secret)),
        Time(NativeMethods.azmi_secret_expires(secret)),
        Time(NativeMethods.azmi_secret_not_before(secret)),
        Marshal.PtrToStringUTF8(NativeMethods.azmi_secret_tags(secret)) ?? "{}");

    private static DateTimeOffset? Time(long unixSeconds) => unixSeconds == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
}

/// <summary>
/// A secret with its value as bytes. The value lives in a <c>byte[]</c> the caller controls, not
/// in an immutable <c>string</c> (nor a SecureString, which .NET no longer recommends): Dispose
/// clears it, as azmi_secret_free wiped azmi's copy.
/// </summary>
public sealed class AzMiSecret : IDisposable
{
    private readonly byte[] _value;

    internal AzMiSecret(AzMiSecretProperties properties, byte[] value)
    {
        Properties = properties;
        _value = value;
    }

    public AzMiSecretProperties Properties { get; }

    /// <summary>The value's bytes (UTF-8 for text secrets; may hold NUL bytes). Valid until Dispose. Never log it.</summary>
    public ReadOnlySpan<byte> Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            return _value;
        }
    }

    public bool Disposed { get; private set; }

    /// <summary>Zeroes the value.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_value);
        Disposed = true;
    }

    /// <summary>Never the value.</summary>
    public override string ToString() => $"AzMiSecret {Properties.Name}/{Properties.Version} ({_value.Length} bytes)";
}

/// <summary>
/// Key Vault secrets read with the machine's managed identity through libazmi's
/// <c>azmi_keyvault_*</c> functions. Thread-safe; every call blocks its thread until done.
/// Failures are <see cref="AzMiException"/> (<see cref="AzMiStatus.NotFound"/>,
/// <see cref="AzMiStatus.PermissionDenied"/>, …) whose messages name the vault and the secret,
/// never the value.
/// </summary>
/// <param name="vault">A vault name (<c>contoso</c>), host or URL (<c>https://127.0.0.1:port</c>).</param>
/// <param name="identity">The identity whose tokens are used (kept, not copied: keep it alive), or null for the system-assigned identity of the native environment.</param>
/// <param name="apiVersion">The Key Vault REST api-version every call asks for (e.g. "7.4", "7.6-preview.1"), or null for libazmi's default, 7.5.</param>
public sealed class AzMiKeyVault(string vault, AzMiIdentityHandle? identity = null, string? apiVersion = null)
{
    // Static: never collected while native code may still call it. State travels in userdata.
    private static readonly NativeMethods.AzMiSecretCallback s_onSecret = OnSecret;

    private readonly string _vault = vault ?? throw new ArgumentNullException(nameof(vault));
    private readonly AzMiIdentityHandle _identity = identity ?? AzMiIdentityHandle.Null;
    private readonly string? _apiVersion = apiVersion;

    /// <summary>The latest version of secret <paramref name="name"/>, or <paramref name="version"/>. Dispose it to clear the value.</summary>
    public AzMiSecret GetSecret(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        using var call = new AzMiCall(cancellationToken);
        AzMiStatus status = NativeMethods.azmi_keyvault_get(_vault, name, version, _apiVersion, _identity, call.Cancel, out AzMiSecretHandle secret, out AzMiErrorHandle error);
        using (secret)
        {
            call.Complete(status, error);
            return secret.Use(raw =>
            {
                int length = checked((int)NativeMethods.azmi_secret_value_len(raw));
                var value = new byte[length];
                if (length > 0)
                {
                    Marshal.Copy(NativeMethods.azmi_secret_value(raw), value, 0, length);
                }
                return new AzMiSecret(AzMiSecretProperties.Read(raw), value);
            });
        }
    }

    /// <summary>Every secret of the vault (every page), without values.</summary>
    public IReadOnlyList<AzMiSecretProperties> ListSecrets(CancellationToken cancellationToken = default) =>
        Collect(cancellationToken, (AzMiCall call, out AzMiErrorHandle error) =>
            NativeMethods.azmi_keyvault_list(_vault, _apiVersion, _identity, call.Cancel, s_onSecret, call.UserData, out error));

    /// <summary>Every version of secret <paramref name="name"/>, without values.</summary>
    public IReadOnlyList<AzMiSecretProperties> ListVersions(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Collect(cancellationToken, (AzMiCall call, out AzMiErrorHandle error) =>
            NativeMethods.azmi_keyvault_list_versions(_vault, name, _apiVersion, _identity, call.Cancel, s_onSecret, call.UserData, out error));
    }

    private delegate AzMiStatus ListCall(AzMiCall call, out AzMiErrorHandle error);

    private static IReadOnlyList<AzMiSecretProperties> Collect(CancellationToken cancellationToken, ListCall list)
    {
        var state = new ListState();
        using var call = new AzMiCall(cancellationToken, state);
        AzMiStatus status = list(call, out AzMiErrorHandle error);
        call.Complete(status, error);
        return state.Items;
    }

    private static bool OnSecret(IntPtr userdata, IntPtr secret)
    {
        ListState? state = null;
        try
        {
            state = AzMiCall.State<ListState>(userdata);
            state.Items.Add(AzMiSecretProperties.Read(secret));
            return true;
        }
        catch (Exception ex)
        {
            state?.Fail(ex); // never let it unwind through azmi
            return false;
        }
    }

    private sealed class ListState : AzMiCall.CallbackState
    {
        public List<AzMiSecretProperties> Items { get; } = [];
    }
}
