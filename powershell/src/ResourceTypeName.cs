using System;

namespace AzMi;

/// <summary>Well-known resources for <c>Get-AzMiToken -ResourceTypeName</c> (names as in Az.Accounts).</summary>
public enum ResourceTypeName
{
    /// <summary>Azure Resource Manager: https://management.azure.com/</summary>
    Arm,

    /// <summary>Azure Key Vault: https://vault.azure.net</summary>
    KeyVault,

    /// <summary>Azure Storage (blobs, queues, Data Lake Gen2): https://storage.azure.com/</summary>
    Storage,

    /// <summary>Azure Data Lake (Gen1): https://datalake.azure.net/</summary>
    DataLake,

    /// <summary>Azure SQL Database: https://database.windows.net/</summary>
    Sql,
}

/// <summary>The resource URI Entra ID knows each <see cref="ResourceTypeName"/> by.</summary>
internal static class ResourceTypeNames
{
    internal static string ToResource(ResourceTypeName name) => name switch
    {
        ResourceTypeName.Arm => "https://management.azure.com/",
        ResourceTypeName.KeyVault => "https://vault.azure.net",
        ResourceTypeName.Storage => "https://storage.azure.com/",
        ResourceTypeName.DataLake => "https://datalake.azure.net/",
        ResourceTypeName.Sql => "https://database.windows.net/",
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not a known resource type name."),
    };
}
