using System;
using System.Security;

namespace AzMi;

/// <summary>
/// An access token from the managed identity. Its text is kept in a <c>char[]</c> that
/// <see cref="Dispose"/> clears (azmi's own copy is wiped as soon as the token is read).
/// </summary>
/// <remarks>
/// <see cref="Token"/> makes a new managed <see cref="string"/> at each read: strings are
/// immutable and moved by the GC, so that copy can never be wiped. Where that matters, use
/// <see cref="CopyTo"/> (or <c>AsSpan</c> on .NET 8+) into a buffer you clear, or
/// <see cref="ToSecureString"/>. <see cref="ToString"/> never shows the token.
/// </remarks>
public sealed class AccessToken : IDisposable
{
    private readonly object _gate = new object();
    private char[]? _chars;

    internal AccessToken(char[] chars, DateTimeOffset expiresOn, string resource, string tokenType, bool fromCache, ManagedIdentitySource source)
    {
        Source = source;
        _chars = chars;
        ExpiresOn = expiresOn;
        Resource = resource;
        TokenType = tokenType;
        FromCache = fromCache;
    }

    /// <summary>
    /// The token text, for an <c>Authorization: Bearer</c> header. A new string at each read,
    /// which cannot be wiped (see the remarks). Never log it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public string Token
    {
        get
        {
            lock (_gate)
            {
                return new string(Chars);
            }
        }
    }

    /// <summary>The token's length in characters.</summary>
    public int Length => Chars.Length;

    /// <summary>When the token expires.</summary>
    public DateTimeOffset ExpiresOn { get; }

    /// <summary>The resource the token is for, as the endpoint named it.</summary>
    public string Resource { get; }

    /// <summary>The token type, usually "Bearer".</summary>
    public string TokenType { get; }

    /// <summary>Whether the token came from azmi's cache rather than a request.</summary>
    public bool FromCache { get; }

    /// <summary>The managed identity source that issued the token (IMDS, App Service, …).</summary>
    public ManagedIdentitySource Source { get; }

    private char[] Chars => _chars ?? throw new ObjectDisposedException(nameof(AccessToken));

    /// <summary>Copies the token text into <paramref name="destination"/> at <paramref name="index"/>.</summary>
    /// <param name="destination">A buffer of at least <see cref="Length"/> characters from <paramref name="index"/>; clear it when done.</param>
    /// <param name="index">Where to start in <paramref name="destination"/>.</param>
    public void CopyTo(char[] destination, int index)
    {
        lock (_gate)
        {
            Array.Copy(Chars, 0, destination, index, Chars.Length);
        }
    }

#if NET8_0_OR_GREATER
    /// <summary>
    /// The token text without a copy, valid until <see cref="Dispose"/> clears it (do not keep
    /// the span past that, nor use it from another thread meanwhile).
    /// </summary>
    /// <returns>The characters of the token.</returns>
    public ReadOnlySpan<char> AsSpan() => Chars;
#endif

    /// <summary>A read-only <see cref="SecureString"/> of the token.</summary>
    /// <returns>A new SecureString; dispose it when done.</returns>
    public SecureString ToSecureString()
    {
        lock (_gate)
        {
            var secure = new SecureString();
            foreach (char c in Chars)
            {
                secure.AppendChar(c);
            }

            secure.MakeReadOnly();
            return secure;
        }
    }

    /// <summary>Clears the token text. Later reads throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_chars is not null)
            {
                Array.Clear(_chars, 0, _chars.Length);
                _chars = null;
            }
        }
    }

    /// <summary>The type, resource and expiry, never the token.</summary>
    /// <returns>E.g. "Bearer token for https://vault.azure.net, expires 2026-01-01T00:00:00+00:00".</returns>
    public override string ToString() =>
        $"{TokenType} token for {Resource}, expires {ExpiresOn:O}{(FromCache ? " (cached)" : string.Empty)}";
}
