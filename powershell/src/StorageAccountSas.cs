using System;

namespace AzMi;

/// <summary>
/// The services an account SAS covers (<c>New-AzMiStorageAccountSasToken -Service</c>). Names and
/// values as Az.Storage's SharedAccessAccountServices, so <c>-Service Blob,File</c> and
/// <c>-Service 'Blob,File'</c> both work.
/// </summary>
[Flags]
public enum SharedAccessAccountServices
{
    /// <summary>No service: refused, a SAS must cover at least one.</summary>
    None = 0,

    /// <summary>Blob storage (ss=b).</summary>
    Blob = 1,

    /// <summary>Azure Files (ss=f).</summary>
    File = 2,

    /// <summary>Queue storage (ss=q).</summary>
    Queue = 4,

    /// <summary>Table storage (ss=t).</summary>
    Table = 8,
}

/// <summary>
/// The resource types an account SAS covers (<c>New-AzMiStorageAccountSasToken -ResourceType</c>),
/// as Az.Storage's SharedAccessAccountResourceTypes.
/// </summary>
[Flags]
public enum SharedAccessAccountResourceTypes
{
    /// <summary>No resource type: refused, a SAS must cover at least one.</summary>
    None = 0,

    /// <summary>Service-level operations, e.g. list containers (srt=s).</summary>
    Service = 1,

    /// <summary>Container (share, queue, table) operations (srt=c).</summary>
    Container = 2,

    /// <summary>Object (blob, file, message, entity) operations (srt=o).</summary>
    Object = 4,
}

/// <summary>The letters listAccountSas takes for <see cref="SharedAccessAccountServices"/> and <see cref="SharedAccessAccountResourceTypes"/>.</summary>
internal static class AccountSasLetters
{
    /// <summary>signedServices, in the order bqtf.</summary>
    internal static string Of(SharedAccessAccountServices services) =>
        Letter(services, SharedAccessAccountServices.Blob, 'b')
        + Letter(services, SharedAccessAccountServices.Queue, 'q')
        + Letter(services, SharedAccessAccountServices.Table, 't')
        + Letter(services, SharedAccessAccountServices.File, 'f');

    /// <summary>signedResourceTypes, in the order sco.</summary>
    internal static string Of(SharedAccessAccountResourceTypes types) =>
        Letter(types, SharedAccessAccountResourceTypes.Service, 's')
        + Letter(types, SharedAccessAccountResourceTypes.Container, 'c')
        + Letter(types, SharedAccessAccountResourceTypes.Object, 'o');

    private static string Letter<T>(T given, T flag, char letter)
        where T : Enum =>
        given.HasFlag(flag) ? letter.ToString() : string.Empty;
}
