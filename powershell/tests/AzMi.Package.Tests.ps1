#Requires -Version 7.0
# Pester 5 test of the AzMi package, out/packages/powershell/AzMi.<version>.nupkg
# (scripts/package.sh), the way a user installs it:
#   Register-PSResourceRepository -Name local -Uri ./out/packages/powershell -Trusted
#   Install-PSResource AzMi -Repository local
# then, in a new session, Import-Module AzMi by name, Get-AzMiToken against azmi-emulator, the
# about_ topics through Get-Help, and the SecretManagement extension as Register-SecretVault finds it.
#
# Both sessions are fresh pwsh processes with a home folder of their own: PSResourceGet keeps
# its repository list and installs CurrentUser modules under it, so the user's repositories and
# modules are neither used nor changed, and the module path holds nothing but what was installed.
# On Windows both live under the profile's known folders, which a process cannot move: there the
# repository gets a name of its own and is removed afterwards, with the installed module.
# Token text is never printed: the session reports claims only.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    $script:Known = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'EmulatorIdentities.psd1')
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    # The version under [workspace.package] in Cargo.toml, as scripts/version.sh reads it (read
    # here, not by running bash: these tests run on Windows too).
    $workspace = [regex]::Match((Get-Content -Raw (Join-Path $Repo 'Cargo.toml')), '(?ms)^\[workspace\.package\][^\[]*?^version\s*=\s*"([^"]+)"')
    if (-not $workspace.Success) { throw 'Cargo.toml has no version under [workspace.package]' }
    $script:CargoVersion = $workspace.Groups[1].Value
    $script:Packages = Join-Path $Repo 'out/packages/powershell'
    $script:Package = Join-Path $Packages "AzMi.$CargoVersion.nupkg"
    if (-not (Test-Path -LiteralPath $Package -PathType Leaf)) {
        throw "$Package not found: run scripts/package.sh first."
    }
    $emulatorPath = if ($env:AZMI_EMULATOR) { $env:AZMI_EMULATOR } else { Join-Path $Repo 'target/release/azmi-emulator' }
    $script:Emulator = Start-AzMiEmulator -Path $emulatorPath

    $script:Work = Join-Path ([System.IO.Path]::GetTempPath()) "azmi-package-tests-$([guid]::NewGuid().ToString('N'))"
    $script:CleanHome = Join-Path $Work 'home'
    $null = New-Item -ItemType Directory -Path $CleanHome

    function Invoke-FreshPwsh {
        <#
            Runs $Script in a new pwsh -NoProfile whose home is the clean one, with no inherited module path or
            XDG folders, plus $Environment. Returns its exit code, stdout and stderr.
        #>
        param([Parameter(Mandatory)][string] $Script, [hashtable] $Environment = @{})
        $commandLine = @(Get-PwshCommandLine)
        $start = [System.Diagnostics.ProcessStartInfo]::new($commandLine[0])
        foreach ($argument in @($commandLine | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $Script)) {
            $start.ArgumentList.Add($argument)
        }
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $start.WorkingDirectory = $script:Work
        foreach ($name in 'PSModulePath', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'AZMI_IMDS_ENDPOINT',
            'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'AZMI_CA_FILE', 'AZMI_ARM_ENDPOINT') {
            $null = $start.Environment.Remove($name)
        }
        $start.Environment['HOME'] = $script:CleanHome
        $start.Environment['POWERSHELL_TELEMETRY_OPTOUT'] = '1'
        $start.Environment['POWERSHELL_UPDATECHECK'] = 'Off'
        foreach ($name in $Environment.Keys) { $start.Environment[$name] = $Environment[$name] }
        $process = [System.Diagnostics.Process]::Start($start)
        $stderr = $process.StandardError.ReadToEndAsync()
        $stdout = $process.StandardOutput.ReadToEnd()
        if (-not $process.WaitForExit(120000)) { $process.Kill($true); throw 'the new pwsh did not finish within 120 s' }
        [pscustomobject]@{ ExitCode = $process.ExitCode; Output = $stdout; Errors = $stderr.Result }
    }

    # The CurrentUser module folder of the fresh sessions (PSResourceGet's and PowerShell's).
    $script:UserModules = if ($IsWindows) {
        Join-Path ([Environment]::GetFolderPath('MyDocuments')) 'PowerShell\Modules'
    } else {
        Join-Path $CleanHome '.local/share/powershell/Modules'
    }
    $script:Repository = if ($IsWindows) { "azmi-test-$([guid]::NewGuid().ToString('N').Substring(0, 8))" } else { 'local' }

    # The user's steps, in a first session: register the folder of packages, install from it.
    $install = Invoke-FreshPwsh -Environment @{ AZMI_PACKAGES = $Packages; AZMI_VERSION = $CargoVersion; AZMI_REPOSITORY = $Repository } -Script '
        $ErrorActionPreference = "Stop"
        Register-PSResourceRepository -Name $env:AZMI_REPOSITORY -Uri $env:AZMI_PACKAGES -Trusted
        Install-PSResource AzMi -Repository $env:AZMI_REPOSITORY -Scope CurrentUser -Version $env:AZMI_VERSION -Reinstall
        Get-InstalledPSResource AzMi -Version $env:AZMI_VERSION |
            Select-Object Name, @{ n = "Version"; e = { $_.Version.ToString() } }, InstalledLocation |
            ConvertTo-Json -Compress
    '
    if ($install.ExitCode -ne 0) { throw "installing AzMi failed ($($install.ExitCode)): $($install.Errors)" }
    $script:Installed = @($install.Output.Trim() | ConvertFrom-Json)

    # A second, new session: import by name, get a token, report versions and claims.
    $session = Invoke-FreshPwsh -Environment @{
        AZMI_IMDS_ENDPOINT = $Emulator.Endpoint
        AZMI_HELPERS       = (Join-Path $PSScriptRoot 'EmulatorHelpers.ps1')
    } -Script '
        $ErrorActionPreference = "Stop"
        . $env:AZMI_HELPERS
        Import-Module AzMi
        $module = Get-Module AzMi
        $token = Get-AzMiToken -ResourceTypeName Arm
        $claims = ConvertFrom-JwtPayload $token.Token
        $file = if ($IsWindows) { "libazmi.dll" } elseif ($IsMacOS) { "libazmi.dylib" } else { "libazmi.so" }
        $native = Join-Path $module.ModuleBase "runtimes/$([System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier)/native/$file"
        $nativeVersion = Add-Type -PassThru -Name NativeVersion -Namespace AzMiPackageTest -MemberDefinition "
            [DllImport(@""$native"")] private static extern IntPtr azmi_version();
            public static string Get() { return Marshal.PtrToStringAnsi(azmi_version()); }
        "
        $assembly = [AzMi.AccessToken].Assembly
        $aboutAzMi = Get-Help about_AzMi -ErrorAction SilentlyContinue | Out-String
        $aboutVault = Get-Help about_AzMi_SecretManagement -ErrorAction SilentlyContinue | Out-String
        $nested = @($module.NestedModules.Name)
        # As Register-SecretVault checks a vault module: <ModuleBase>/AzMi.Extension imported on its own.
        $extension = Import-Module (Join-Path $module.ModuleBase "AzMi.Extension") -Force -PassThru
        [pscustomobject]@{
            ModuleBase           = $module.ModuleBase
            ModuleVersion        = $module.Version.ToString()
            AssemblyVersion      = $assembly.GetName().Version.ToString()
            InformationalVersion = $assembly.GetCustomAttributes([System.Reflection.AssemblyInformationalVersionAttribute], $false)[0].InformationalVersion
            NativeLibrary        = $native
            NativeVersion        = $nativeVersion::Get()
            Commands             = @($module.ExportedCmdlets.Keys | Sort-Object)
            Audience             = $claims.aud
            ObjectId             = $claims.oid
            SecondsLeft          = [int]($token.ExpiresOn - [DateTimeOffset]::UtcNow).TotalSeconds
            HelpSynopsis         = (Get-Help Get-AzMiToken).Synopsis
            FormatOutput         = ($token | Out-String -Width 200)
            AboutAzMi            = $aboutAzMi
            AboutSecretManagement = $aboutVault
            NestedModules        = $nested
            ExtensionFunctions   = @($extension.ExportedFunctions.Keys | Sort-Object)
        } | ConvertTo-Json -Compress
    '
    $script:Session = $session
    $script:Result = if ($session.ExitCode -eq 0) { $session.Output.Trim() | ConvertFrom-Json } else { $null }
}

AfterAll {
    if ($IsWindows -and $script:Repository) {
        # The profile's folders are the real ones on Windows: put them back as they were.
        $null = Invoke-FreshPwsh -Environment @{ AZMI_REPOSITORY = $Repository; AZMI_VERSION = $CargoVersion } -Script '
            Uninstall-PSResource AzMi -Version $env:AZMI_VERSION -Scope CurrentUser -ErrorAction SilentlyContinue
            Unregister-PSResourceRepository -Name $env:AZMI_REPOSITORY -ErrorAction SilentlyContinue
        '
    }
    Stop-AzMiEmulator $script:Emulator
    if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'The AzMi package (out/packages)' -Tag Arm64 {
    It 'installs with Install-PSResource from a local repository into the CurrentUser module folder' {
        $Installed.Count | Should -Be 1
        $Installed[0].Name | Should -BeExactly 'AzMi'
        $Installed[0].Version | Should -Be $CargoVersion
        $Installed[0].InstalledLocation | Should -BeLike "$UserModules*"
    }

    It 'imports by name in a new session and gets a token from the emulator' {
        $Session.ExitCode | Should -Be 0 -Because $Session.Errors
        $Result.ModuleBase | Should -BeLike (Join-Path (Join-Path $UserModules 'AzMi') '*')
        $Result.Audience | Should -BeExactly 'https://management.azure.com/'
        $Result.ObjectId | Should -Be $Known.SystemAssigned.ObjectId
        $Result.SecondsLeft | Should -BeGreaterThan 3000
    }

    It 'has one version everywhere: Cargo.toml, the manifest, AzMi.dll and azmi_version()' {
        $Result.ModuleVersion | Should -Be $CargoVersion
        $Result.NativeVersion | Should -Be $CargoVersion
        $Result.InformationalVersion | Should -BeLike "$CargoVersion*"
        $Result.AssemblyVersion | Should -Be "$CargoVersion.0"
    }

    It 'brings its help and its format views' {
        $Result.HelpSynopsis | Should -Match 'access token'
        # AzMi.format.ps1xml's table: type, resource, identity and expiry, never the token (the
        # default view would list Token as a System.Security.SecureString).
        $Result.FormatOutput | Should -Match 'ExpiresOn'
        $Result.FormatOutput | Should -Not -Match 'SecureString'
    }

    It 'brings the about_ topics, which Get-Help finds' {
        $Result.AboutAzMi | Should -Match 'CHOOSING AN IDENTITY'
        $Result.AboutAzMi | Should -Match 'TROUBLESHOOTING'
        $Result.AboutSecretManagement | Should -Match 'Register-SecretVault -Name \S+ -ModuleName AzMi'
    }

    It 'brings the SecretManagement vault extension where Register-SecretVault looks, not nested (it would slow every import)' {
        $Result.NestedModules | Should -BeNullOrEmpty
        $Result.ExtensionFunctions | Should -Be @('Get-Secret', 'Get-SecretInfo', 'Remove-Secret', 'Set-Secret', 'Set-SecretInfo', 'Test-SecretVault')
    }

    Context 'the installed manifest' {
        BeforeAll {
            $script:ModuleFolder = Join-Path $UserModules "AzMi/$CargoVersion"
            $script:Manifest = Import-PowerShellDataFile (Join-Path $ModuleFolder 'AzMi.psd1')
        }

        It 'describes the package for a gallery' {
            $Manifest.ModuleVersion | Should -Be $CargoVersion
            $Manifest.GUID | Should -Be '4735cae5-b844-4531-b7f9-086512390dce'
            $Manifest.Author | Should -Not -BeNullOrEmpty
            $Manifest.Description | Should -Not -BeNullOrEmpty
            $Manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
            $Manifest.PowerShellVersion | Should -Be '5.1'
            $data = $Manifest.PrivateData.PSData
            [uri]::IsWellFormedUriString($data.ProjectUri, 'Absolute') | Should -BeTrue
            [uri]::IsWellFormedUriString($data.LicenseUri, 'Absolute') | Should -BeTrue
            $data.Tags | Should -Contain 'ManagedIdentity'
            $data.ReleaseNotes | Should -Match ([regex]::Escape("azmi $CargoVersion"))
        }

        It 'exports exactly the cmdlets the module has, by name' {
            $Manifest.CmdletsToExport | Should -Not -Contain '*'
            $Manifest.FunctionsToExport.Count | Should -Be 0
            $Manifest.AliasesToExport.Count | Should -Be 0
            @($Manifest.CmdletsToExport | Sort-Object) | Should -Be $Result.Commands
        }

        It 'holds the help, the about_ topics, the vault extension, the format file (with its manifest, alone in Format/) and the native library under runtimes/(rid)/native' {
            Join-Path $ModuleFolder 'en-US/AzMi.dll-Help.xml' | Should -Exist
            Join-Path $ModuleFolder 'en-US/about_AzMi.help.txt' | Should -Exist
            Join-Path $ModuleFolder 'en-US/about_AzMi_SecretManagement.help.txt' | Should -Exist
            Join-Path $ModuleFolder 'AzMi.Extension/AzMi.Extension.psd1' | Should -Exist
            Join-Path $ModuleFolder 'AzMi.Extension/AzMi.Extension.psm1' | Should -Exist
            Join-Path $ModuleFolder 'AzMi.format.ps1xml' | Should -Exist
            Join-Path $ModuleFolder 'Format/AzMi.Format.psd1' | Should -Exist
            @(Get-ChildItem $ModuleFolder -Filter *.psd1).Name | Should -Be @('AzMi.psd1')
            $Result.NativeLibrary | Should -Exist
            $Result.NativeLibrary | Should -BeLike (Join-Path $ModuleFolder 'runtimes/*/native/*')
        }
    }
}
