using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AzMi.Testing;

/// <summary>
/// Reads the claims of a JWT-shaped access token without validating it (the emulator signs
/// with a per-process key; the tests check what the token says, not who signed it).
/// </summary>
public static class Jwt
{
    /// <summary>The decoded payload (the middle, base64url part) as JSON.</summary>
    public static JsonElement Payload(string token)
    {
        string[] parts = token.Split('.');
        if (parts.Length != 3)
        {
            // Say how it is malformed, never what it contains: this text can end up in a log.
            throw new FormatException($"access token has {parts.Length} dot-separated parts, expected 3");
        }
        using JsonDocument doc = JsonDocument.Parse(Base64UrlDecode(parts[1]));
        return doc.RootElement.Clone();
    }

    /// <summary>A string claim of the payload; fails when missing or not a string.</summary>
    public static string Claim(string token, string name) =>
        Payload(token).TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new KeyNotFoundException($"claim '{name}' missing or not a string");

    /// <summary>
    /// A short, non-reversible stand-in for a token, for comparing tokens in assertions:
    /// xunit prints both sides of a failed Assert.Equal, and a token must never reach test
    /// output.
    /// </summary>
    public static string Fingerprint(string token) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)), 0, 8);

    private static byte[] Base64UrlDecode(string s)
    {
        string b64 = s.Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
        return Convert.FromBase64String(b64);
    }
}
