using System;

namespace AzMi;

/// <summary>Whether a <see cref="DataLakeItem"/> is a file or a directory.</summary>
public enum DataLakeItemType
{
    /// <summary>A file.</summary>
    File,

    /// <summary>A directory (folder).</summary>
    Directory,
}

/// <summary>
/// The protocol the Data Lake cmdlets speak (<c>-Protocol</c>): azmi's <c>AZMI_ADLS_*</c>.
/// </summary>
public enum DataLakeProtocol
{
    /// <summary>
    /// From the account's form: a bare name, <c>https://name.azuredatalakestore.net</c> or a
    /// <c>…/webhdfs/v1</c> URL is WebHDFS; <c>https://account.dfs.core.windows.net/filesystem</c> is DFS.
    /// </summary>
    Auto = 0,

    /// <summary>Data Lake Storage Gen1, or Hadoop WebHDFS.</summary>
    WebHdfs = 1,

    /// <summary>Data Lake Storage Gen2 (the DFS endpoint); the URL's path names the filesystem.</summary>
    Dfs = 2,
}

/// <summary>
/// A file or directory of a Data Lake account, as the Data Lake cmdlets return it.
/// AzMi.format.ps1xml shows Type, Length, LastModified and Name in a table, like Get-ChildItem.
/// </summary>
/// <remarks>
/// <see cref="Account"/>, <see cref="Protocol"/> and <see cref="Path"/> bind by property name,
/// so an item piped into another Data Lake cmdlet names itself:
/// <c>Get-AzMiDataLakeChildItem -Account a -Path /old | Remove-AzMiDataLakeItem</c>.
/// </remarks>
public sealed class DataLakeItem
{
    internal DataLakeItem(
        string name,
        string path,
        DataLakeItemType type,
        long length,
        DateTimeOffset? lastModified,
        string permission,
        string owner,
        string group,
        string account,
        DataLakeProtocol protocol)
    {
        Name = name;
        Path = path;
        Type = type;
        Length = length;
        LastModified = lastModified;
        Permission = permission;
        Owner = owner;
        Group = group;
        Account = account;
        Protocol = protocol;
    }

    /// <summary>The last segment of the path, e.g. "Test1.txt" ("" for the root).</summary>
    public string Name { get; }

    /// <summary>The full path from the root, e.g. "/TestFolder/Test1.txt".</summary>
    public string Path { get; }

    /// <summary>File or Directory.</summary>
    public DataLakeItemType Type { get; }

    /// <summary>The length in bytes (0 for directories).</summary>
    public long Length { get; }

    /// <summary>The last modification (UTC), or null when the service did not say.</summary>
    public DateTimeOffset? LastModified { get; }

    /// <summary>The permissions as the service gives them: Gen1 octal ("770"), Gen2 symbolic ("rwxr-x---").</summary>
    public string Permission { get; }

    /// <summary>The owner (an object id).</summary>
    public string Owner { get; }

    /// <summary>The owning group (an object id).</summary>
    public string Group { get; }

    /// <summary>
    /// The account's URL below which paths are addressed, e.g.
    /// <c>https://contoso.azuredatalakestore.net/webhdfs/v1</c>.
    /// </summary>
    public string Account { get; }

    /// <summary>The protocol the item was read with: WebHdfs or Dfs.</summary>
    public DataLakeProtocol Protocol { get; }

    /// <summary>Whether the item is a directory.</summary>
    public bool IsDirectory => Type == DataLakeItemType.Directory;

    /// <summary>The path, so that <c>"$item"</c> and string parameters see it.</summary>
    public override string ToString() => Path;
}
