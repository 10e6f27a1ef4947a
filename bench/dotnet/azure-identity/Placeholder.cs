namespace AzureIdentityBench { internal static class Placeholder { } }
