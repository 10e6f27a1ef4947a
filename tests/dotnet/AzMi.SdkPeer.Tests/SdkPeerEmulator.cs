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

    public SdkPeerEmulator()
        : base(Config)
    {
    }
}
