using System;
using System.Linq;
using System.Management.Automation;
using System.Net;
using AzMi.Native;

namespace AzMi.Commands;

/// <summary>
/// What the Blob cmdlets share: the blob's address (<c>-StorageAccountName</c> and
/// <c>-Container</c>, or a whole <c>-Uri</c>), <c>-SasToken</c>, and opening the account per
/// call; the identity options, Ctrl+C and errors come from <see cref="AzMiCmdlet"/>.
/// </summary>
public abstract class BlobCmdlet : AzMiCmdlet
{
    private protected const string AccountSet = "Account";
    private protected const string UriSet = "Uri";
    private const string PublicSuffix = ".blob.core.windows.net";

    /// <summary>
    /// An account name (<c>acct</c>: https://acct.blob.core.windows.net) or the account's blob
    /// URL, path-style ones included (https://127.0.0.1:10000/devstoreaccount1).
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = AccountSet)]
    [ValidateNotNullOrEmpty]
    [Alias("AccountName", "Account")]
    public string StorageAccountName { get; set; } = string.Empty;

    /// <summary>The container.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AccountSet)]
    [ValidateNotNullOrEmpty]
    [Alias("ContainerName")]
    public string Container { get; set; } = string.Empty;

    /// <summary>
    /// The blob's whole URL: https://acct.blob.core.windows.net/container/blob or, path-style,
    /// https://127.0.0.1:10000/devstoreaccount1/container/blob. A SAS in its query is used when
    /// -SasToken is not given.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = UriSet)]
    [ValidateNotNullOrEmpty]
    [Alias("BlobUri")]
    public Uri? Uri { get; set; }

    /// <summary>A shared access signature (sv=…&amp;sig=…, with or without a leading '?'); without it, the identity's token.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SasToken { get; set; }

    /// <summary>Where a blob is: the account as azmi takes it, container, name, SAS (never shown), and how to show it.</summary>
    private protected sealed class BlobAddress
    {
        internal BlobAddress(string account, string container, string name, string? sas, string blobUrl)
        {
            Account = account;
            Container = container;
            Name = name;
            Sas = sas;
            BlobUrl = blobUrl;
        }

        internal string Account { get; }

        internal string Container { get; }

        internal string Name { get; }

        internal string? Sas { get; }

        /// <summary>The blob's URL without any query: what messages and outputs show.</summary>
        internal string BlobUrl { get; }

        public override string ToString() => BlobUrl;
    }

    /// <summary>
    /// The blob's address from the parameters: <paramref name="blob"/> (-Blob, or the name in
    /// -Uri) or else <paramref name="defaultName"/> (the local file name). Ends the command
    /// (AzMi.InvalidArgument) when no blob name can be found or -Uri cannot be split.
    /// </summary>
    private protected BlobAddress Address(string? blob, string? defaultName)
    {
        string account;
        string container;
        string? name;
        string? sas = SasToken;
        if (ParameterSetName == UriSet)
        {
            if (!TrySplitBlobUri(Uri!, out account, out container, out name, out string? querySas, out string? why))
            {
                ThrowInvalidArgument($"-Uri {WithoutQuery(Uri!)} {why}", WithoutQuery(Uri!));
            }

            sas ??= querySas;
        }
        else
        {
            account = StorageAccountName;
            container = Container.Trim('/');
            name = blob;
        }

        if (string.IsNullOrEmpty(name))
        {
            name = defaultName;
        }

        if (string.IsNullOrEmpty(name))
        {
            ThrowInvalidArgument(
                ParameterSetName == UriSet ? $"-Uri {WithoutQuery(Uri!)} names no blob: give https://host/[account/]container/blob." : "Give the blob's name with -Blob.",
                container);
        }

        return new BlobAddress(account, container, name!, sas, BlobUrlOf(account, container, name!));
    }

    /// <summary>
    /// Splits a blob URL: https://acct.blob.core.windows.net/container/blob (the account is the
    /// host), or path-style https://host:port/account/container/blob when the host is an IP
    /// address, localhost or a single label (Azurite, emulators in containers). The blob name is
    /// everything after the container, unescaped ('/' kept); it may be empty (a container URL
    /// ending in '/'). A query holding "sig=" is returned as the SAS.
    /// </summary>
    internal static bool TrySplitBlobUri(Uri uri, out string account, out string container, out string? name, out string? sas, out string? why)
    {
        account = container = string.Empty;
        name = sas = why = null;
        if (!uri.IsAbsoluteUri || (uri.Scheme != "https" && uri.Scheme != "http"))
        {
            why = "is not an https:// URL.";
            return false;
        }

        string host = uri.Host;
        bool pathStyle = uri.HostNameType == UriHostNameType.IPv4
            || uri.HostNameType == UriHostNameType.IPv6
            || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || host.IndexOf('.') < 0;
        string[] segments = uri.AbsolutePath.TrimStart('/').Split(new[] { '/' }, pathStyle ? 3 : 2);
        string origin = uri.GetLeftPart(UriPartial.Authority);
        int first = 0;
        if (pathStyle)
        {
            if (segments.Length < 2 || segments[0].Length == 0)
            {
                why = "names no account and container: a path-style URL is https://host:port/account/container/blob.";
                return false;
            }

            account = origin + "/" + segments[0];
            first = 1;
        }
        else
        {
            account = origin;
        }

        container = System.Uri.UnescapeDataString(segments[first]);
        if (container.Length == 0)
        {
            why = "names no container: give https://host/[account/]container/blob.";
            return false;
        }

        name = segments.Length > first + 1 ? System.Uri.UnescapeDataString(segments[first + 1]) : null;
        string query = uri.Query.TrimStart('?');
        if (query.Split('&').Any(pair => pair.StartsWith("sig=", StringComparison.OrdinalIgnoreCase)))
        {
            sas = query;
        }

        return true;
    }

    /// <summary>The blob's URL (no query) for an account name or URL, a container and a name.</summary>
    internal static string BlobUrlOf(string account, string container, string name)
    {
        string baseUrl = account.IndexOf("://", StringComparison.Ordinal) >= 0
            ? account.TrimEnd('/')
            : "https://" + account.ToLowerInvariant() + PublicSuffix;
        string escaped = string.Join("/", name.Split('/').Select(System.Uri.EscapeDataString));
        return $"{baseUrl}/{System.Uri.EscapeDataString(container)}/{escaped}";
    }

    /// <summary>A URL without its query (the SAS): for messages.</summary>
    private protected static string WithoutQuery(Uri uri) =>
        uri.IsAbsoluteUri ? uri.GetLeftPart(UriPartial.Path) : uri.OriginalString.Split('?')[0];

    /// <summary>
    /// Runs <paramref name="operation"/> against the account of <paramref name="address"/>,
    /// opened for this call with its SAS or the identity options, as
    /// <see cref="AzMiCmdlet"/>'s Invoke: errors name the blob's URL (never the SAS).
    /// </summary>
    private protected bool Run(BlobAddress address, Action<NativeBlob, CancelHandle> operation, Func<AzMiException, string?>? advice = null) =>
        Invoke(address.BlobUrl, (identity, cancel) =>
        {
            using NativeBlob account = NativeBlob.Open(address.Account, address.Sas, identity);
            if (VerboseShown)
            {
                WriteVerbose($"Blob {address.BlobUrl} ({(address.Sas is null ? "with the identity's token" : "with a SAS")}).");
                VerboseRoute("Blob storage", address.BlobUrl);
            }

            operation(account, cancel);
        }, advice);
}
