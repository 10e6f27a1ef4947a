using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using AzMi.Testing;

namespace AzMi.SdkPeer.Tests;

/// <summary>
/// The one emulator the Azure SDK test classes share (see <see cref="ProcessEnvironment"/>):
/// the built-in identities, vault and resource groups, plus groups of the peer tests' own, so
/// that Resource Manager lists more than one page (the emulator pages by 2) and a deletion
/// test has a group that no other test reads.
/// </summary>
public sealed class SdkPeerEmulator : EmulatorFixture
{
    /// <summary>Deleted by <c>ArmClientTests</c>; no other test depends on it.</summary>
    public const string GroupToDelete = "sdk-peer-delete-me";

    /// <summary>Every group at start, as configured below.</summary>
    public static readonly IReadOnlyList<string> Groups = ["azmi-rg", "DevTest", "sdk-peer-alpha", "sdk-peer-beta", GroupToDelete];

    // A given key replaces the default wholesale, so the built-in groups are repeated as
    // docs/emulator.md describes them.
    private const string Config = """
        {
          "resourceGroups": [
            { "name": "azmi-rg", "location": "eastus", "tags": { "environment": "test", "owner": "azmi" } },
            { "name": "DevTest", "location": "eastus", "tags": { "environment": "dev" } },
            { "name": "sdk-peer-alpha", "location": "westeurope", "tags": {} },
            { "name": "sdk-peer-beta", "location": "eastus2", "tags": { "purpose": "paging" } },
            { "name": "sdk-peer-delete-me", "location": "eastus", "tags": { "purpose": "deletion" } }
          ]
        }
        """;

    // Loaded once: the handlers of every client of this emulator trust it.
    private readonly X509Certificate2 _ca;

    public SdkPeerEmulator()
        : base(Config)
    {
        _ca = X509Certificate2.CreateFromPem(File.ReadAllText(CaFile));
    }

    /// <summary>
    /// A handler that trusts the emulator's CA for one client only (not the machine's store),
    /// for an Azure SDK client's <c>HttpClientTransport</c>.
    /// </summary>
    public HttpClientHandler TrustingHandler()
    {
        X509Certificate2 ca = _ca;
        return new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null)
                {
                    return false;
                }

                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && chain.Build(certificate);
            },
        };
    }
}
