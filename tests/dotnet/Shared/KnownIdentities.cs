namespace AzMi.Testing;

/// <summary>
/// The identities azmi-emulator has built in (docs/emulator.md, "Built-in identities and
/// resources"). Tests compare token claims with these, so a token issued for the wrong
/// identity fails.
/// </summary>
public static class KnownIdentities
{
    /// <summary>The emulator's subscription (Resource Manager, Key Vault ids).</summary>
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000000";

    public const string TenantId = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

    public const string SystemClientId = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001";
    public const string SystemObjectId = "5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002";

    public const string UamiClientId = "00001111-aaaa-2222-bbbb-3333cccc4444";
    public const string UamiObjectId = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
    public const string UamiResourceId =
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/" +
        "Microsoft.ManagedIdentity/userAssignedIdentities/azmi-uami";
}
