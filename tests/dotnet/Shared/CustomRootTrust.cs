using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace AzMi.Testing;

/// <summary>
/// Server certificate checks for one HttpClient that trust the test's own roots (the emulator's
/// CA, Azurite's self-signed certificate) besides the machine's store, without touching the
/// store: what an Azure SDK client's <c>HttpClientTransport</c> is given in the tests.
/// </summary>
public static class CustomRootTrust
{
    /// <summary>A handler accepting what <see cref="Accepts"/> accepts.</summary>
    public static HttpClientHandler Handler(X509Certificate2Collection roots) => new()
    {
        ServerCertificateCustomValidationCallback = (request, certificate, _, errors) =>
            Accepts(roots, certificate, WithIpAddressNames(request.RequestUri?.Host, certificate, errors)),
    };

    /// <summary>
    /// A certificate the machine trusts; otherwise one whose only fault is its chain and that
    /// chains to one of <paramref name="roots"/>, or is itself one of them (a self-signed leaf).
    /// A wrong name is never accepted.
    /// </summary>
    public static bool Accepts(X509Certificate2Collection roots, X509Certificate2? certificate, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            return false;
        }
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain.Build(certificate))
        {
            return true;
        }
        // A self-signed leaf (Azurite's, CA:FALSE) does not chain even to itself.
        return roots.Cast<X509Certificate2>().Any(r => r.Thumbprint == certificate.Thumbprint);
    }

    /// <summary>
    /// <paramref name="errors"/> without a name mismatch that is not one: the host is an IP
    /// address the certificate names in its subjectAltName. Windows' own check matches IP
    /// entries; Wine's (the tests under Wine) does not, and reports every IP host as a mismatch.
    /// Any other mismatch stays.
    /// </summary>
    private static SslPolicyErrors WithIpAddressNames(string? host, X509Certificate2? certificate, SslPolicyErrors errors)
    {
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 || certificate is null
            || !System.Net.IPAddress.TryParse(host, out System.Net.IPAddress? address))
        {
            return errors;
        }
        bool named = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>()
            .Any(san => san.EnumerateIPAddresses().Any(address.Equals));
        return named ? errors & ~SslPolicyErrors.RemoteCertificateNameMismatch : errors;
    }
}
