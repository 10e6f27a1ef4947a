using System.Text.Json;
using System.Text.Json.Nodes;

namespace AzMi.Interop;

/// <summary>
/// Azure Resource Manager with the machine's managed identity through libazmi's
/// <c>azmi_arm_*</c> functions: any request (a GET of a list gathers every page), and SAS
/// tokens minted by <c>listServiceSas</c>. Thread-safe; every call blocks its thread.
/// </summary>
/// <param name="identity">The identity whose tokens are used (kept, not copied: keep it alive), or null for the system-assigned identity of the native environment.</param>
public sealed class AzMiArm(AzMiIdentityHandle? identity = null)
{
    private readonly AzMiIdentityHandle _identity = identity ?? AzMiIdentityHandle.Null;

    /// <summary>
    /// Sends every later Resource Manager request of the process to <paramref name="url"/>
    /// (null: the public cloud's). Process-wide. The way to pass AZMI_ARM_ENDPOINT from .NET:
    /// Environment.SetEnvironmentVariable does not reach azmi on Linux and macOS.
    /// </summary>
    public static void SetEndpoint(string? url)
    {
        using var call = new AzMiCall(default);
        call.Complete(NativeMethods.azmi_set_arm_endpoint(url, out AzMiErrorHandle error), error);
    }

    /// <summary>The answer's JSON text (<c>null</c> for an empty answer; <c>{"value":[…]}</c> with every page for a list).</summary>
    public string Request(string method, string pathOrUrl, string? apiVersion, string? jsonBody = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(pathOrUrl);
        using var call = new AzMiCall(cancellationToken);
        AzMiStatus status = NativeMethods.azmi_arm_request(method, pathOrUrl, apiVersion, jsonBody, _identity, call.Cancel, out AzMiStringHandle json, out AzMiErrorHandle error);
        using (json)
        {
            call.Complete(status, error);
            return json.Copy();
        }
    }

    /// <summary>A GET, parsed.</summary>
    public JsonNode? Get(string pathOrUrl, string? apiVersion, CancellationToken cancellationToken = default) =>
        JsonNode.Parse(Request("GET", pathOrUrl, apiVersion, null, cancellationToken));

    /// <summary>
    /// A service SAS (<c>sv=…&amp;sig=…</c>) from <c>listServiceSas</c>. <paramref name="request"/>
    /// is the REST body (any object System.Text.Json serializes, e.g. an anonymous one).
    /// </summary>
    /// <remarks>A SAS is a credential: azmi wipes its copy, this returns a managed string the GC
    /// moves and keeps; never log it.</remarks>
    public string ListServiceSas(string subscription, string resourceGroup, string account, object request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string body = request as string ?? JsonSerializer.Serialize(request);
        using var call = new AzMiCall(cancellationToken);
        AzMiStatus status = NativeMethods.azmi_arm_list_sas(subscription, resourceGroup, account, body, _identity, call.Cancel, out AzMiStringHandle sas, out AzMiErrorHandle error);
        using (sas)
        {
            call.Complete(status, error);
            return sas.Copy();
        }
    }
}
