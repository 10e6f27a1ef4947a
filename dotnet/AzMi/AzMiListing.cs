using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using AzMi.Internal;

namespace AzMi;

/// <summary>
/// A listing (Data Lake items, Key Vault secrets) whose items arrive as azmi reads each page:
/// a folder or vault of any size is never held in memory at once. Each enumeration runs the
/// listing again.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <remarks>
/// On .NET 8 and later this is an <c>IAsyncEnumerable&lt;T&gt;</c>:
/// <c>await foreach (var item in listing.WithCancellation(ct))</c>. On netstandard2.0 (no
/// IAsyncEnumerable in the BCL) use the enumerator directly:
/// <code>
/// using var e = listing.GetAsyncEnumerator(ct);
/// while (await e.MoveNextAsync()) { Use(e.Current); }
/// </code>
/// or <see cref="ToListAsync"/>. Leaving early (break, Dispose) stops the listing; the
/// remaining pages are not requested. The loop body runs outside azmi, so it may call azmi.
/// </remarks>
public sealed class AzMiListing<T>
#if NET8_0_OR_GREATER
    : IAsyncEnumerable<T>
#endif
{
    private readonly ListCall _call;
    private readonly Func<IntPtr, T> _read;

    internal AzMiListing(ListCall call, Func<IntPtr, T> read)
    {
        _call = call;
        _read = read;
    }

    /// <summary>Starts the listing.</summary>
    /// <param name="cancellationToken">Cancels the listing (MoveNextAsync then throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>The enumerator; dispose it (it stops the listing if it is still running).</returns>
    public AzMiListingEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        new AzMiListingEnumerator<T>(ListingPump<T>.Start(_call, _read, cancellationToken), cancellationToken);

#if NET8_0_OR_GREATER
    IAsyncEnumerator<T> IAsyncEnumerable<T>.GetAsyncEnumerator(CancellationToken cancellationToken) =>
        GetAsyncEnumerator(cancellationToken);
#endif

    /// <summary>Reads the whole listing into a list.</summary>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>Every item, in the service's order.</returns>
    public async Task<List<T>> ToListAsync(CancellationToken cancellationToken = default)
    {
        var items = new List<T>();
        using AzMiListingEnumerator<T> e = GetAsyncEnumerator(cancellationToken);
        while (await e.MoveNextAsync().ConfigureAwait(false))
        {
            items.Add(e.Current);
        }

        return items;
    }
}

/// <summary>The enumerator of an <see cref="AzMiListing{T}"/>.</summary>
/// <typeparam name="T">The item type.</typeparam>
public sealed class AzMiListingEnumerator<T> : IDisposable
#if NET8_0_OR_GREATER
    , IAsyncEnumerator<T>
#endif
{
    private readonly ListingPump<T> _pump;
    private readonly CancellationToken _cancellationToken;

    internal AzMiListingEnumerator(ListingPump<T> pump, CancellationToken cancellationToken)
    {
        _pump = pump;
        _cancellationToken = cancellationToken;
    }

    /// <summary>The current item.</summary>
    public T Current => _pump.Current;

    /// <summary>Moves to the next item, waiting for the next page when needed.</summary>
    /// <returns>False at the end of the listing. Throws <see cref="AzMiException"/> for azmi's errors.</returns>
#if NET8_0_OR_GREATER
    public ValueTask<bool> MoveNextAsync() => new ValueTask<bool>(MoveNextCoreAsync());
#else
    public Task<bool> MoveNextAsync() => MoveNextCoreAsync();
#endif

    /// <summary>Stops the listing if it still runs, and waits until azmi returned.</summary>
    /// <returns>A task completing when the listing has stopped.</returns>
#if NET8_0_OR_GREATER
    public ValueTask DisposeAsync() => new ValueTask(_pump.StopAsync());
#else
    public Task DisposeAsync() => _pump.StopAsync();
#endif

    /// <summary>Stops the listing if it still runs, blocking until azmi returned.</summary>
    public void Dispose() => _pump.Stop();

    private async Task<bool> MoveNextCoreAsync()
    {
        try
        {
            return await _pump.MoveNextAsync().ConfigureAwait(false);
        }
        catch (AzMiException e) when (e.Status == AzMiStatus.Cancelled && _cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(e.Message, e, _cancellationToken);
        }
    }
}
