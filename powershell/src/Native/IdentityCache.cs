using System;
using System.Collections.Generic;

namespace AzMi.Native;

/// <summary>
/// The native identities of this process, one per (identity option, token endpoint), built on
/// first use and kept: creating one and setting its endpoint on every cmdlet call cost several
/// native calls (about 7.5 µs of a 56 µs Get-AzMiToken). azmi's tokens are cached process-wide
/// per endpoint, identity and resource, so sharing identities changes no result.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Thread-safe: runspaces may call cmdlets at the same time; one lock, held only to look
///   up an entry and count a lease (never during a native call).</item>
/// <item>A leased identity stays valid until its lease ends, even if it leaves the cache
///   meanwhile (eviction, Remove-Module): it is freed by whichever comes last.</item>
/// <item>Bounded: a machine has few identities and endpoints; past <see cref="Capacity"/> the
///   least recently used entry leaves.</item>
/// <item>The CA file is not part of the key: azmi's setting is process-wide
///   (azmi_set_ca_file), not an identity's.</item>
/// </list>
/// </remarks>
internal static class IdentityCache
{
    /// <summary>Most identities kept at once.</summary>
    internal const int Capacity = 16;

    private static readonly object Gate = new object();
    private static readonly Dictionary<Key, Entry> Entries = new Dictionary<Key, Entry>();
    private static long _clock;

    /// <summary>
    /// The identity for these options and <paramref name="tokenUrl"/> (null: IMDS itself),
    /// created when not cached. Dispose the lease when the call that uses it has returned.
    /// Invalid options throw <see cref="AzMiException"/> (InvalidArgument) and cache nothing.
    /// </summary>
    internal static Lease Acquire(string? clientId, string? objectId, string? resourceId, string? tokenUrl, string? source = null, string? capabilities = null)
    {
        var key = new Key(clientId, objectId, resourceId, tokenUrl, source, capabilities);
        lock (Gate)
        {
            if (Entries.TryGetValue(key, out Entry? entry))
            {
                return LeaseLocked(entry);
            }
        }

        // Built outside the lock (native calls); another thread may build the same meanwhile.
        NativeIdentity created = NativeIdentity.Create(clientId, objectId, resourceId, tokenUrl, source, capabilities);
        NativeIdentity? unused = null;
        NativeIdentity? evicted = null;
        Lease lease;
        lock (Gate)
        {
            if (Entries.TryGetValue(key, out Entry? entry))
            {
                unused = created;
                lease = LeaseLocked(entry);
            }
            else
            {
                if (Entries.Count >= Capacity)
                {
                    evicted = EvictLeastRecentlyUsedLocked();
                }

                entry = new Entry(created);
                Entries.Add(key, entry);
                lease = LeaseLocked(entry);
            }
        }

        unused?.Free();
        evicted?.Free();
        return lease;
    }

    /// <summary>
    /// <see cref="Acquire"/> with the token endpoint PowerShell's environment names
    /// (<see cref="TokenEndpointEnvironment"/>): the variable's, or IMDS itself. Every cmdlet
    /// gets its identity here. <paramref name="verbose"/> (null when verbose output is off)
    /// receives the endpoint and the identity.
    /// </summary>
    /// <remarks>
    /// The environment is read on every call, so a changed <c>$env:AZMI_IMDS_ENDPOINT</c> takes
    /// effect at once (it selects another cache entry).
    /// </remarks>
    /// <para>
    /// <paramref name="source"/> (-Source, e.g. "AppService"; null: detect) other than Imds
    /// picks that source over the detection; Imds keeps the endpoint logic above.
    /// </para>
    /// <para>
    /// <paramref name="capabilities"/> (-ClientCapability, comma-separated; null: none) are the
    /// client capabilities the identity declares: another cache entry.
    /// </para>
    internal static Lease AcquireFromEnvironment(string? clientId, string? objectId, string? resourceId, Action<string>? verbose, string? source = null, string? capabilities = null)
    {
        string? sourceId = SourceEnvironment.ToId(source);
        TokenEndpointEnvironment? endpoint = sourceId is null || sourceId == "imds" ? TokenEndpointEnvironment.Read() : null;
        Lease lease = Acquire(clientId, objectId, resourceId, endpoint?.TokenUrl, sourceId, capabilities);
        if (verbose is not null)
        {
            NativeIdentity identity = lease.Identity;
            verbose(endpoint is not null
                ? $"Token endpoint: {identity.Endpoint} (from $env:{endpoint.Source})."
                : sourceId is not null && sourceId != "imds"
                ? $"Token endpoint: {identity.Endpoint} (managed identity source {identity.Source}, chosen by -Source)."
                : identity.Source == "Imds"
                    ? $"Token endpoint: {identity.Endpoint} (IMDS, no endpoint variable set)."
                    : $"Token endpoint: {identity.Endpoint} (managed identity source {identity.Source}, detected from the environment).");
            verbose($"Identity: {identity.Description}.");
            if (!string.IsNullOrEmpty(capabilities))
            {
                verbose($"Client capabilities: {capabilities}.");
            }
        }

        return lease;
    }

    /// <summary>How many identities are cached (for tests and diagnostics).</summary>
    internal static int Count
    {
        get
        {
            lock (Gate)
            {
                return Entries.Count;
            }
        }
    }

    /// <summary>
    /// Empties the cache (Remove-Module): identities no call holds are freed now, the others
    /// when their call ends.
    /// </summary>
    internal static void Clear()
    {
        var idle = new List<NativeIdentity>();
        lock (Gate)
        {
            foreach (Entry entry in Entries.Values)
            {
                if (Retire(entry.Identity))
                {
                    idle.Add(entry.Identity);
                }
            }

            Entries.Clear();
        }

        foreach (NativeIdentity identity in idle)
        {
            identity.Free();
        }
    }

    private static Lease LeaseLocked(Entry entry)
    {
        entry.LastUsed = ++_clock;
        entry.Identity.Leases++;
        return new Lease(entry.Identity);
    }

    /// <summary>Removes the least recently used entry; returns its identity if it is to be freed now.</summary>
    private static NativeIdentity? EvictLeastRecentlyUsedLocked()
    {
        KeyValuePair<Key, Entry> oldest = default;
        bool found = false;
        foreach (KeyValuePair<Key, Entry> pair in Entries)
        {
            if (!found || pair.Value.LastUsed < oldest.Value.LastUsed)
            {
                oldest = pair;
                found = true;
            }
        }

        if (!found)
        {
            return null;
        }

        Entries.Remove(oldest.Key);
        return Retire(oldest.Value.Identity) ? oldest.Value.Identity : null;
    }

    /// <summary>Marks an identity as out of the cache; true when no lease holds it (free it now).</summary>
    private static bool Retire(NativeIdentity identity)
    {
        identity.Retired = true;
        return identity.Leases == 0;
    }

    private static void Release(NativeIdentity identity)
    {
        bool free;
        lock (Gate)
        {
            identity.Leases--;
            free = identity.Retired && identity.Leases == 0;
        }

        if (free)
        {
            identity.Free();
        }
    }

    /// <summary>The use of one cached identity by one call.</summary>
    internal sealed class Lease : IDisposable
    {
        private NativeIdentity? _identity;

        internal Lease(NativeIdentity identity) => _identity = identity;

        /// <summary>The identity; valid until <see cref="Dispose"/>.</summary>
        internal NativeIdentity Identity => _identity ?? throw new ObjectDisposedException(nameof(Lease));

        public void Dispose()
        {
            NativeIdentity? identity = _identity;
            _identity = null;
            if (identity is not null)
            {
                Release(identity);
            }
        }
    }

    private sealed class Entry
    {
        internal Entry(NativeIdentity identity) => Identity = identity;

        internal NativeIdentity Identity { get; }

        internal long LastUsed { get; set; }
    }

    /// <summary>The options an identity is built from; strings compared exactly, as azmi gets them.</summary>
    private readonly struct Key : IEquatable<Key>
    {
        private readonly string? _clientId;
        private readonly string? _objectId;
        private readonly string? _resourceId;
        private readonly string? _tokenUrl;
        private readonly string? _source;
        private readonly string? _capabilities;

        internal Key(string? clientId, string? objectId, string? resourceId, string? tokenUrl, string? source, string? capabilities)
        {
            _source = source;
            _capabilities = capabilities;
            _clientId = clientId;
            _objectId = objectId;
            _resourceId = resourceId;
            _tokenUrl = tokenUrl;
        }

        public bool Equals(Key other) =>
            string.Equals(_clientId, other._clientId, StringComparison.Ordinal)
            && string.Equals(_objectId, other._objectId, StringComparison.Ordinal)
            && string.Equals(_resourceId, other._resourceId, StringComparison.Ordinal)
            && string.Equals(_tokenUrl, other._tokenUrl, StringComparison.Ordinal)
            && string.Equals(_source, other._source, StringComparison.Ordinal)
            && string.Equals(_capabilities, other._capabilities, StringComparison.Ordinal);

        public override bool Equals(object? obj) => obj is Key other && Equals(other);

        public override int GetHashCode()
        {
            unchecked
            {
                int hash = Hash(_tokenUrl);
                hash = (hash * 397) ^ Hash(_source);
                hash = (hash * 397) ^ Hash(_capabilities);
                hash = (hash * 397) ^ Hash(_clientId);
                hash = (hash * 397) ^ Hash(_objectId);
                return (hash * 397) ^ Hash(_resourceId);
            }
        }

        private static int Hash(string? value) => value is null ? 0 : StringComparer.Ordinal.GetHashCode(value);
    }
}
