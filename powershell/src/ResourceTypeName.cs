namespace AzMi;

/// <summary>
/// Well-known resources for <c>Get-AzMiToken -ResourceTypeName</c> (names as in Az.Accounts);
/// the URIs below are the public cloud's, and <c>-Environment</c> picks another cloud's
/// (<see cref="CloudEnvironment.ResourceOf"/>).
/// </summary>
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
