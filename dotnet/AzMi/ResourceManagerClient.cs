using System;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Internal;
using AzMi.Native;

namespace AzMi;

/// <summary>
/// Azure Resource Manager requests with a managed identity's tokens, at the endpoint set by
/// <see cref="AzMiLibrary.SetArmEndpoint"/> (else <c>AZMI_ARM_ENDPOINT</c>, else
/// <c>https://management.azure.com</c>). JSON goes in and out as text: parse it with the JSON
/// library of your choice (System.Text.Json on .NET).
/// </summary>
public sealed class ResourceManagerClient
{
    private readonly AzMiIdentity _identity;

    internal ResourceManagerClient(AzMiIdentity identity) => _identity = identity;

    /// <summary>
    /// Sends a request and returns the answer's JSON. A GET of a list follows every
    /// <c>nextLink</c> and returns <c>{"value":[…every item…]}</c>; long-running operations
    /// (<c>Azure-AsyncOperation</c>, <c>Location</c>) are waited for, as the Azure SDKs do.
    /// </summary>
    /// <param name="method">"GET", "PUT", "POST", "PATCH" or "DELETE".</param>
    /// <param name="pathOrUrl">A path from the endpoint's root (<c>/subscriptions/&lt;id&gt;/resourcegroups</c>) or a full URL on the endpoint's host.</param>
    /// <param name="apiVersion">E.g. "2021-04-01"; null when the URL has one.</param>
    /// <param name="jsonBody">The request body, or null.</param>
    /// <param name="cancellationToken">Stops waiting at once (an operation goes on in Azure).</param>
    /// <returns>The JSON text; "null" for an empty answer.</returns>
    /// <exception cref="AzMiNotFoundException">E.g. service code "ResourceGroupNotFound".</exception>
    /// <exception cref="AzMiPermissionDeniedException">Service code "AuthorizationFailed".</exception>
    public Task<string> RequestAsync(string method, string pathOrUrl, string? apiVersion, string? jsonBody = null, CancellationToken cancellationToken = default)
    {
        byte[] methodUtf8 = NativeText.EncodeRequired(method, nameof(method));
        byte[] path = NativeText.EncodeRequired(pathOrUrl, nameof(pathOrUrl));
        byte[]? api = NativeText.Encode(apiVersion, nameof(apiVersion));
        byte[]? body = NativeText.Encode(jsonBody, nameof(jsonBody));
        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr json;
            IntPtr err;
            using (HandleLease identity = _identity.Lease())
            {
                status = NativeMethods.azmi_arm_request(methodUtf8, path, api, body, identity.Pointer, scope.Pointer, out json, out err);
            }

            scope.ThrowIfFailed(status, err);
            return BytesReader.TakeString(json);
        }, cancellationToken, longRunning: true);
    }

    /// <summary>A GET (every page of a list gathered).</summary>
    /// <param name="pathOrUrl">The path or URL.</param>
    /// <param name="apiVersion">The api-version, or null when the URL has one.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The JSON text.</returns>
    public Task<string> GetAsync(string pathOrUrl, string? apiVersion, CancellationToken cancellationToken = default) =>
        RequestAsync("GET", pathOrUrl, apiVersion, null, cancellationToken);

    /// <summary>
    /// Mints a service SAS with <c>listServiceSas</c> of a storage account (the identity needs
    /// e.g. Storage Account Contributor). The SAS is a credential: never log it.
    /// </summary>
    /// <param name="subscription">The subscription id.</param>
    /// <param name="resourceGroup">The account's resource group.</param>
    /// <param name="account">The storage account's name.</param>
    /// <param name="requestJson">The REST body, e.g. <c>{"canonicalizedResource":"/blob/&lt;account&gt;/&lt;container&gt;","signedResource":"c","signedPermission":"rcw","signedProtocol":"https","signedExpiry":"2030-01-01T00:00:00Z"}</c>; checked before anything is sent.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The SAS token (<c>sv=…&amp;sig=…</c>, no leading '?').</returns>
    /// <exception cref="AzMiException">InvalidArgument: the body failed azmi's checks (the message names the field).</exception>
    public Task<string> ListServiceSasAsync(string subscription, string resourceGroup, string account, string requestJson, CancellationToken cancellationToken = default) =>
        ListSasAsync(service: true, subscription, resourceGroup, account, requestJson, cancellationToken);

    /// <summary>Mints an account SAS with <c>listAccountSas</c>; as <see cref="ListServiceSasAsync"/>.</summary>
    /// <param name="subscription">The subscription id.</param>
    /// <param name="resourceGroup">The account's resource group.</param>
    /// <param name="account">The storage account's name.</param>
    /// <param name="requestJson">The REST body, e.g. <c>{"signedServices":"b","signedResourceTypes":"sco","signedPermission":"rl","signedExpiry":"2030-01-01T00:00:00Z"}</c>.</param>
    /// <param name="cancellationToken">Ends the call at once.</param>
    /// <returns>The SAS token.</returns>
    public Task<string> ListAccountSasAsync(string subscription, string resourceGroup, string account, string requestJson, CancellationToken cancellationToken = default) =>
        ListSasAsync(service: false, subscription, resourceGroup, account, requestJson, cancellationToken);

    private Task<string> ListSasAsync(bool service, string subscription, string resourceGroup, string accountName, string requestJson, CancellationToken cancellationToken)
    {
        byte[] sub = NativeText.EncodeRequired(subscription, nameof(subscription));
        byte[] group = NativeText.EncodeRequired(resourceGroup, nameof(resourceGroup));
        byte[] name = NativeText.EncodeRequired(accountName, "account");
        byte[] body = NativeText.EncodeRequired(requestJson, nameof(requestJson));
        return NativeCall.RunAsync(scope =>
        {
            uint status;
            IntPtr sas;
            IntPtr err;
            using (HandleLease identity = _identity.Lease())
            {
                status = service
                    ? NativeMethods.azmi_arm_list_sas(sub, group, name, body, identity.Pointer, scope.Pointer, out sas, out err)
                    : NativeMethods.azmi_arm_list_account_sas(sub, group, name, body, identity.Pointer, scope.Pointer, out sas, out err);
            }

            scope.ThrowIfFailed(status, err);
            return BytesReader.TakeString(sas);
        }, cancellationToken);
    }
}
