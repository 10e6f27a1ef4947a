# The built-in identities of azmi-emulator (docs/emulator.md), as the tests expect to see them
# in the tokens' claims (oid = object id, appid = client id, xms_mirid = resource id).
@{
    TenantId       = 'aaaabbbb-0000-cccc-1111-dddd2222eeee'
    SystemAssigned = @{
        ClientId   = '5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0001'
        ObjectId   = '5b0f4c8e-0d2a-4c43-9a37-1a6f3a7c0002'
        ResourceId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.Compute/virtualMachines/azmi-vm'
    }
    UserAssigned   = @{
        Name       = 'azmi-uami'
        ClientId   = '00001111-aaaa-2222-bbbb-3333cccc4444'
        ObjectId   = 'aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb'
        ResourceId = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/azmi-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/azmi-uami'
    }
}
