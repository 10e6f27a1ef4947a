using System.Text.RegularExpressions;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed partial class LibraryTests
{
    [Fact]
    public void Version_IsTheCrateVersion()
    {
        string version = AzMiLibrary.Version;

        Assert.Matches(SemVer(), version);
        // The workspace's version in Cargo.toml is what the library reports.
        Match cargo = WorkspaceVersion().Match(File.ReadAllText(Path.Combine(RepoPaths.Root, "Cargo.toml")));
        Assert.True(cargo.Success, "no [workspace.package] version in Cargo.toml");
        Assert.Equal(cargo.Groups[1].Value, version);
    }

    [Fact]
    public void StatusName_MatchesTheHeadersNames()
    {
        Assert.Equal("IdentityNotFound", AzMiLibrary.StatusName((AzMiStatus)4));
        Assert.Equal("Ok", AzMiLibrary.StatusName(AzMiStatus.Ok));
        // One past the highest status the enum declares is not a status (yet).
        Assert.Equal("Unknown", AzMiLibrary.StatusName((AzMiStatus)(Enum.GetValues<AzMiStatus>().Max(s => (uint)s) + 1)));
        Assert.Equal("Unknown", AzMiLibrary.StatusName((AzMiStatus)uint.MaxValue));
        // Every number the C# enum declares has the same name in the library.
        Assert.All(Enum.GetValues<AzMiStatus>(), s => Assert.Equal(s.ToString(), AzMiLibrary.StatusName(s)));
    }

    [FactWhenEndpointEnvironmentUnset]
    public void Identity_WithoutEndpoint_UsesImds()
    {
        // Only reads the endpoint: nothing here may send a request to 169.254.169.254.
        using AzMiIdentityHandle identity = AzMiIdentity.Create();

        Assert.Equal("http://169.254.169.254/metadata/identity/oauth2/token", AzMiIdentity.Endpoint(identity));
    }

    [Fact]
    public void Accessors_AcceptNull_AsDocumented()
    {
        using var noToken = AzMiTokenHandle.Null;
        using var noError = AzMiErrorHandle.Null;
        using var noIdentity = AzMiIdentityHandle.Null;

        Assert.Equal("", NativeMethods.Static(NativeMethods.azmi_token_access_token(noToken)));
        Assert.Equal((nuint)0, NativeMethods.azmi_token_access_token_len(noToken));
        Assert.Equal(0, NativeMethods.azmi_token_expires_on(noToken));
        Assert.Equal("", NativeMethods.Static(NativeMethods.azmi_token_type(noToken)));
        Assert.Equal("", NativeMethods.Static(NativeMethods.azmi_token_resource(noToken)));
        Assert.False(NativeMethods.azmi_token_from_cache(noToken));

        Assert.Equal(AzMiStatus.InvalidArgument, noError.Status);
        Assert.Equal(0, noError.HttpStatus);
        Assert.Null(noError.ServiceCode);
        Assert.Equal("", noError.Message);

        Assert.Equal("", AzMiIdentity.Description(noIdentity));
        Assert.Equal("", AzMiIdentity.Endpoint(noIdentity));

        // The _free functions ignore NULL.
        NativeMethods.azmi_token_free(IntPtr.Zero);
        NativeMethods.azmi_error_free(IntPtr.Zero);
        NativeMethods.azmi_identity_free(IntPtr.Zero);
        NativeMethods.azmi_cancel_free(IntPtr.Zero);
    }

    [GeneratedRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")]
    private static partial Regex SemVer();

    [GeneratedRegex(@"\[workspace\.package\][^\[]*?^version\s*=\s*""([^""]+)""", RegexOptions.Multiline)]
    private static partial Regex WorkspaceVersion();
}

/// <summary>
/// A fact that is skipped when the process was started with AZMI_IMDS_ENDPOINT or
/// AZURE_POD_IDENTITY_AUTHORITY_HOST set: azmi reads the native environment, which is fixed at
/// process start on Linux, so the test cannot unset them for itself.
/// </summary>
public sealed class FactWhenEndpointEnvironmentUnsetAttribute : FactAttribute
{
    public FactWhenEndpointEnvironmentUnsetAttribute()
    {
        string[] set = new[] { "AZMI_IMDS_ENDPOINT", "AZURE_POD_IDENTITY_AUTHORITY_HOST" }
            .Where(name => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)))
            .ToArray();
        if (set.Length > 0)
        {
            Skip = $"{string.Join(" and ", set)} set in the test process's environment";
        }
    }
}
