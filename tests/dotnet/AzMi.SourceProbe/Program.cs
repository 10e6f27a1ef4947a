using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace AzMi.SourceProbe;

/// <summary>
/// Runs one check per argument and prints a JSON array with one object per check. A check is
/// <c>&lt;client id or -&gt;/&lt;source or -&gt;</c>: azmi_identity_new with that client id (the
/// source detected from this process's environment), then azmi_identity_set_source when a
/// source is named, then a token for <c>https://vault.azure.net</c>. The object holds the
/// step that failed, the status name and message, and the sources the identity and the token
/// report: never the token. Exit code 0 whenever every check ran (failed checks included).
/// </summary>
internal static class Program
{
    private const string Resource = "https://vault.azure.net";

    private static int Main(string[] args)
    {
        NativeLibrary.SetDllImportResolver(typeof(Program).Assembly, Resolve);
        var results = new List<Dictionary<string, object?>>();
        foreach (string check in args)
        {
            results.Add(check.StartsWith("cae:", StringComparison.Ordinal) ? RunClaims(check)
                : check.StartsWith("pkg:", StringComparison.Ordinal) ? RunPackage(check)
                : Run(check));
        }
        Console.WriteLine(JsonSerializer.Serialize(results));
        return 0;
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string? path = Environment.GetEnvironmentVariable("AZMI_NATIVE_LIB");
        return libraryName == Native.LibraryName && !string.IsNullOrEmpty(path) ? NativeLibrary.Load(path) : IntPtr.Zero;
    }

    private static Dictionary<string, object?> Run(string check)
    {
        var result = new Dictionary<string, object?> { ["check"] = check };
        string[] parts = check.Split('/', 2);
        string? clientId = parts[0] == "-" ? null : parts[0];
        string? source = parts.Length < 2 || parts[1] == "-" ? null : parts[1];

        uint status = Native.azmi_identity_new(Utf8(clientId), null, null, out IntPtr identity, out IntPtr err);
        if (Failed(result, "new", status, err))
        {
            return result;
        }
        try
        {
            result["detectedSource"] = Lent(Native.azmi_identity_source(identity));
            if (source is not null)
            {
                status = Native.azmi_identity_set_source(identity, Utf8(source), out err);
                if (Failed(result, "set_source", status, err))
                {
                    return result;
                }
            }
            result["identitySource"] = Lent(Native.azmi_identity_source(identity));

            status = Native.azmi_get_token(Utf8(Resource)!, identity, Native.FlagForceRefresh, IntPtr.Zero, out IntPtr token, out err);
            if (Failed(result, "get_token", status, err))
            {
                return result;
            }
            try
            {
                result["tokenSource"] = Lent(Native.azmi_token_source(token));
                result["tokenLength"] = (long)(ulong)Native.azmi_token_access_token_len(token);
                result["status"] = Lent(Native.azmi_status_name(0));
            }
            finally
            {
                Native.azmi_token_free(token);
            }
        }
        finally
        {
            Native.azmi_identity_free(identity);
        }
        return result;
    }

    /// <summary>
    /// The same check through the AzMi package: ManagedIdentity.CreateSystemAssigned or
    /// ForClientId, then WithSource when a source (a <see cref="AzMi.ManagedIdentitySource"/>
    /// name) is given, then GetTokenAsync.
    /// </summary>
    private static Dictionary<string, object?> RunPackage(string check)
    {
        var result = new Dictionary<string, object?> { ["check"] = check };
        string[] parts = check["pkg:".Length..].Split('/', 2);
        string? clientId = parts[0] == "-" ? null : parts[0];
        string? source = parts.Length < 2 || parts[1] == "-" ? null : parts[1];
        string step = "new";
        try
        {
            using AzMi.AzMiIdentity detected = clientId is null ? AzMi.ManagedIdentity.CreateSystemAssigned() : AzMi.ManagedIdentity.ForClientId(clientId);
            result["detectedSource"] = detected.Source.ToString();
            step = "set_source";
            using AzMi.AzMiIdentity identity = source is null ? detected.WithTimeouts(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200))
                : detected.WithSource(Enum.Parse<AzMi.ManagedIdentitySource>(source));
            result["identitySource"] = identity.Source.ToString();
            step = "get_token";
            using AzMi.AccessToken token = identity.GetTokenAsync(Resource, forceRefresh: true).GetAwaiter().GetResult();
            result["tokenSource"] = token.Source.ToString();
            result["tokenLength"] = (long)token.Length;
            result["status"] = "Ok";
        }
        catch (AzMi.AzMiException e)
        {
            result["step"] = step;
            result["status"] = e.Status.ToString();
            result["message"] = e.Message;
        }
        return result;
    }

    /// <summary>
    /// Claims and capabilities through the AzMi package, with the detected source's system
    /// identity (<c>cae:</c>): a token, a forced refresh, a token with claims, and one from the
    /// identity declaring cp1. Reports whether the refresh got the same token (the endpoint's
    /// own cache), whether the claims got a new one, whether the cp1 token came from azmi's
    /// cache and carries the xms_cc claim: booleans, never a token.
    /// </summary>
    private static Dictionary<string, object?> RunClaims(string check)
    {
        const string claims = "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1\"}}}";
        var result = new Dictionary<string, object?> { ["check"] = check };
        string step = "new";
        try
        {
            using AzMi.AzMiIdentity identity = AzMi.ManagedIdentity.CreateSystemAssigned();
            result["identitySource"] = identity.Source.ToString();
            step = "get_token";
            using AzMi.AccessToken first = identity.GetTokenAsync(Resource).GetAwaiter().GetResult();
            using AzMi.AccessToken refreshed = identity.GetTokenAsync(Resource, forceRefresh: true).GetAwaiter().GetResult();
            step = "claims";
            using AzMi.AccessToken renewed = identity.GetTokenAsync(Resource, claims).GetAwaiter().GetResult();
            step = "capabilities";
            using AzMi.AzMiIdentity cae = identity.WithClientCapabilities("cp1");
            using AzMi.AccessToken capable = cae.GetTokenAsync(Resource).GetAwaiter().GetResult();
            result["tokenSource"] = renewed.Source.ToString();
            result["tokenLength"] = (long)renewed.Length;
            result["refreshSame"] = first.Token == refreshed.Token;
            result["claimsNew"] = renewed.Token != refreshed.Token && !renewed.FromCache;
            result["capableFromCache"] = capable.FromCache;
            result["capableXmsCc"] = Payload(capable.Token).Contains("\"xms_cc\":[\"cp1\"]", StringComparison.Ordinal);
            result["status"] = "Ok";
        }
        catch (AzMi.AzMiException e)
        {
            result["step"] = step;
            result["status"] = e.Status.ToString();
            result["message"] = e.Message;
        }
        return result;
    }

    /// <summary>A JWT's payload as text (base64url decoded).</summary>
    private static string Payload(string jwt)
    {
        string part = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        part += new string('=', (4 - part.Length % 4) % 4);
        return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(part));
    }

    /// <summary>Records a failed step (status name and message, which never hold a token).</summary>
    private static bool Failed(Dictionary<string, object?> result, string step, uint status, IntPtr err)
    {
        if (status == 0)
        {
            return false;
        }
        result["step"] = step;
        result["status"] = Lent(Native.azmi_status_name(status));
        result["message"] = err == IntPtr.Zero ? null : Lent(Native.azmi_error_message(err));
        Native.azmi_error_free(err);
        return true;
    }

    private static byte[]? Utf8(string? value) =>
        value is null ? null : System.Text.Encoding.UTF8.GetBytes(value + "\0");

    private static string? Lent(IntPtr text) => Marshal.PtrToStringUTF8(text);
}

/// <summary>The few calls of include/azmi.h the probe needs, declared as the C ABI has them.</summary>
internal static class Native
{
    internal const string LibraryName = "azmi";

    internal const uint FlagForceRefresh = 1;

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_status_name(uint status);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_error_message(IntPtr err);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern void azmi_error_free(IntPtr err);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_new(byte[]? clientId, byte[]? objectId, byte[]? resourceId, out IntPtr identity, out IntPtr err);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_identity_set_source(IntPtr identity, byte[]? source, out IntPtr err);

    /// <summary>Static: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_identity_source(IntPtr identity);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern void azmi_identity_free(IntPtr identity);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern uint azmi_get_token(byte[] resource, IntPtr identity, uint flags, IntPtr cancel, out IntPtr token, out IntPtr err);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern UIntPtr azmi_token_access_token_len(IntPtr token);

    /// <summary>Static: do not free.</summary>
    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern IntPtr azmi_token_source(IntPtr token);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl, ExactSpelling = true)]
    internal static extern void azmi_token_free(IntPtr token);
}
