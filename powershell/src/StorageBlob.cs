namespace AzMi;

/// <summary>
/// A blob that Set-AzMiBlobContent wrote. AzMi.format.ps1xml shows Container, Name, Length and
/// Account. It never holds the SAS: <see cref="Uri"/> is the blob's address without a query.
/// </summary>
public sealed class StorageBlob
{
    internal StorageBlob(string name, string container, long length, string account, string uri)
    {
        Name = name;
        Container = container;
        Length = length;
        Account = account;
        Uri = uri;
    }

    /// <summary>The blob's name in its container (may contain '/').</summary>
    public string Name { get; }

    /// <summary>The container.</summary>
    public string Container { get; }

    /// <summary>Bytes written.</summary>
    public long Length { get; }

    /// <summary>The storage account, as given (a name or its blob URL).</summary>
    public string Account { get; }

    /// <summary>The blob's URL, without any SAS.</summary>
    public string Uri { get; }

    /// <inheritdoc />
    public override string ToString() => Uri;
}
