namespace AzMi.Testing;

/// <summary>Where the repository and the Rust build outputs are, seen from a test assembly.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>
    /// The repository root: the first folder above the test binaries that holds Cargo.toml
    /// (tests/dotnet/X/bin/Release/net10.0 → the workspace root).
    /// </summary>
    public static string Root => s_root.Value;

    /// <summary>cargo's release output folder, honouring CARGO_TARGET_DIR like cargo does.</summary>
    public static string CargoReleaseDir
    {
        get
        {
            string? target = Environment.GetEnvironmentVariable("CARGO_TARGET_DIR");
            string targetDir = string.IsNullOrEmpty(target) ? Path.Combine(Root, "target")
                : Path.IsPathRooted(target) ? target
                : Path.Combine(Root, target);
            return Path.Combine(targetDir, "release");
        }
    }

    /// <summary>
    /// A file from the environment variable <paramref name="variable"/> (a full path) or else
    /// <paramref name="fileName"/> in cargo's release folder. Throws with the command that
    /// builds it when it is missing, so a failing run says what to do.
    /// </summary>
    public static string Artifact(string variable, string fileName)
    {
        string? fromEnv = Environment.GetEnvironmentVariable(variable);
        string path = string.IsNullOrEmpty(fromEnv) ? Path.Combine(CargoReleaseDir, fileName) : fromEnv;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{fileName} not found at {path}. Build it with " +
                $"`cargo build --release -p azmi -p azmi-emulator` in {Root}, or set {variable} to its full path.",
                path);
        }
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cargo.toml")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException(
            $"No folder containing Cargo.toml above {AppContext.BaseDirectory}; " +
            "run the tests from inside the azmi repository.");
    }
}
