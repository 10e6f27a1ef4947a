// The floors of bench/powershell/token-bench.ps1, compiled there with Add-Type (never part of the module):
//   - trivial compiled cmdlets with exactly the parameters (sets, positions, aliases,
//     validation) of Get-AzMiToken and Get-AzMiKeyVaultSecret, each returning a cached object:
//     what any compiled cmdlet with those parameters costs in PowerShell;
//   - the native calls those cmdlets make (azmi_get_token, azmi_keyvault_get), timed in a C#
//     loop, through the same libazmi.so the module loaded (same process-wide caches).
// A cmdlet's fixed overhead is then: its time − the floor cmdlet's − the native call's.
using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace AzMiBench
{
    public enum FloorResourceTypeName { Arm, KeyVault, Storage, DataLake, Sql }

    public sealed class FloorResult
    {
        public string Resource { get; set; } = "https://management.azure.com/";
    }

    [Cmdlet(VerbsCommon.Get, "FloorToken", DefaultParameterSetName = "Resource")]
    [OutputType(typeof(FloorResult))]
    public sealed class GetFloorTokenCommand : PSCmdlet
    {
        private static readonly FloorResult Cached = new FloorResult();

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Resource", ValueFromPipelineByPropertyName = true)]
        [Alias("ResourceUrl")]
        public string Resource { get; set; } = string.Empty;

        [Parameter(Mandatory = true, ParameterSetName = "ResourceTypeName")]
        public FloorResourceTypeName ResourceTypeName { get; set; }

        [Parameter] public string ClientId { get; set; }
        [Parameter] public string ObjectId { get; set; }
        [Parameter] public string ResourceId { get; set; }

        [Parameter]
        [ValidateSet("Imds", "AppService", "ServiceFabric", "AzureML", "CloudShell", "Arc", "WorkloadIdentity")]
        public string Source { get; set; }

        [Parameter]
        [ValidateSet("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")]
        public string Environment { get; set; }

        [Parameter] public SwitchParameter AsPlainText { get; set; }
        [Parameter] public SwitchParameter ForceRefresh { get; set; }
        [Parameter] public string Claims { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] ClientCapability { get; set; }

        protected override void ProcessRecord() => WriteObject(Cached);
    }

    [Cmdlet(VerbsCommon.Get, "FloorKeyVaultSecret", DefaultParameterSetName = "ByVaultName")]
    [OutputType(typeof(FloorResult))]
    public sealed class GetFloorKeyVaultSecretCommand : PSCmdlet
    {
        private static readonly FloorResult Cached = new FloorResult();

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [Alias("VaultUri")]
        public string VaultName { get; set; } = string.Empty;

        [Parameter(Mandatory = true, Position = 1, ParameterSetName = "BySecretName", ValueFromPipelineByPropertyName = true)]
        [Parameter(Mandatory = true, Position = 1, ParameterSetName = "BySecretVersions", ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [Alias("SecretName")]
        public string Name { get; set; } = string.Empty;

        [Parameter(Position = 2, ParameterSetName = "BySecretName", ValueFromPipelineByPropertyName = true)]
        [Alias("SecretVersion")]
        [AllowEmptyString]
        public string Version { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = "BySecretVersions")]
        public SwitchParameter IncludeVersions { get; set; }

        [Parameter(ParameterSetName = "BySecretName")]
        public SwitchParameter AsPlainText { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string ApiVersion { get; set; }

        [Parameter] public string ClientId { get; set; }
        [Parameter] public string ObjectId { get; set; }
        [Parameter] public string ResourceId { get; set; }

        [Parameter]
        [ValidateSet("Imds", "AppService", "ServiceFabric", "AzureML", "CloudShell", "Arc", "WorkloadIdentity")]
        public string Source { get; set; }

        protected override void ProcessRecord() => WriteObject(Cached);
    }

    /// <summary>The native calls alone, timed in C#: µs per call as { wall, process CPU }.</summary>
    public static class NativeFloor
    {
        private const string Lib = "azmi";

        [DllImport(Lib)] private static extern uint azmi_identity_new(byte[] c, byte[] o, byte[] r, out IntPtr identity, out IntPtr err);
        [DllImport(Lib)] private static extern uint azmi_identity_set_endpoint(IntPtr identity, byte[] url, out IntPtr err);
        [DllImport(Lib)] private static extern void azmi_identity_free(IntPtr identity);
        [DllImport(Lib)] private static extern void azmi_error_free(IntPtr err);
        [DllImport(Lib)] private static extern uint azmi_get_token(byte[] resource, IntPtr identity, uint flags, IntPtr cancel, out IntPtr token, out IntPtr err);
        [DllImport(Lib)] private static extern void azmi_token_free(IntPtr token);
        [DllImport(Lib)] private static extern uint azmi_keyvault_get(byte[] vault, byte[] name, byte[] version, byte[] apiVersion, IntPtr identity, IntPtr cancel, out IntPtr secret, out IntPtr err);
        [DllImport(Lib)] private static extern void azmi_secret_free(IntPtr secret);
        [DllImport(Lib)] private static extern IntPtr azmi_cancel_new();
        [DllImport(Lib)] private static extern void azmi_cancel_free(IntPtr cancel);

        private static string _library;

        /// <summary>DllImport("azmi") binds to exactly this file (the module's copy).</summary>
        public static void UseLibrary(string path)
        {
            _library = path;
            NativeLibrary.SetDllImportResolver(typeof(NativeFloor).Assembly,
                (name, assembly, searchPath) => name == Lib ? NativeLibrary.Load(_library) : IntPtr.Zero);
        }

        private static byte[] Z(string s) => s == null ? null : Encoding.UTF8.GetBytes(s + "\0");

        private static IntPtr Identity(string tokenUrl)
        {
            Check(azmi_identity_new(null, null, null, out IntPtr identity, out IntPtr err), err, "azmi_identity_new");
            Check(azmi_identity_set_endpoint(identity, Z(tokenUrl), out err), err, "azmi_identity_set_endpoint");
            return identity;
        }

        private static void Check(uint status, IntPtr err, string what)
        {
            azmi_error_free(err);
            if (status != 0) throw new InvalidOperationException(what + " failed with status " + status);
        }

        public static double[] TokenMicroseconds(string tokenUrl, string resource, int calls)
        {
            IntPtr identity = Identity(tokenUrl);
            byte[] r = Z(resource);
            try
            {
                for (int i = 0; i < 100; i++) { GetToken(r, identity); }
                var timer = CallTimer.Start();
                for (int i = 0; i < calls; i++) { GetToken(r, identity); }
                return timer.MicrosecondsPerCall(calls);
            }
            finally { azmi_identity_free(identity); }
        }

        private static void GetToken(byte[] resource, IntPtr identity)
        {
            // With a cancel handle of its own, as the cmdlet has (for Ctrl+C).
            IntPtr cancel = azmi_cancel_new();
            Check(azmi_get_token(resource, identity, 0, cancel, out IntPtr token, out IntPtr err), err, "azmi_get_token");
            azmi_token_free(token);
            azmi_cancel_free(cancel);
        }

        public static double[] KeyVaultGetMicroseconds(string tokenUrl, string vault, string name, int calls)
        {
            IntPtr identity = Identity(tokenUrl);
            byte[] v = Z(vault), n = Z(name);
            try
            {
                for (int i = 0; i < 20; i++) { GetSecret(v, n, identity); }
                var timer = CallTimer.Start();
                for (int i = 0; i < calls; i++) { GetSecret(v, n, identity); }
                return timer.MicrosecondsPerCall(calls);
            }
            finally { azmi_identity_free(identity); }
        }

        private static IntPtr _sharedIdentity;
        private static byte[] _vault, _name;

        /// <summary>
        /// For one call per PowerShell loop iteration (see token-bench.ps1): spaced like the
        /// cmdlet's calls, which wakes azmi's worker threads each time as the cmdlet does; a
        /// back-to-back C# loop keeps them hot and is faster than any cmdlet can be.
        /// </summary>
        public static void PrepareKeyVaultGet(string tokenUrl, string vault, string name)
        {
            _sharedIdentity = Identity(tokenUrl);
            _vault = Z(vault);
            _name = Z(name);
        }

        public static void KeyVaultGetOnce() => GetSecret(_vault, _name, _sharedIdentity);

        /// <summary>The same call from PowerShell, doing nothing: subtracted from the one above.</summary>
        public static void Nothing() { }

        private static void GetSecret(byte[] vault, byte[] name, IntPtr identity)
        {
            IntPtr cancel = azmi_cancel_new();
            Check(azmi_keyvault_get(vault, name, null, null, identity, cancel, out IntPtr secret, out IntPtr err), err, "azmi_keyvault_get");
            azmi_secret_free(secret);
            azmi_cancel_free(cancel);
        }
    }

    internal sealed class CallTimer
    {
        private readonly Process _process = Process.GetCurrentProcess();
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private TimeSpan _cpu;

        internal static CallTimer Start()
        {
            var timer = new CallTimer();
            timer._cpu = timer._process.TotalProcessorTime;
            timer._watch.Restart();
            return timer;
        }

        internal double[] MicrosecondsPerCall(int calls)
        {
            double wall = _watch.Elapsed.TotalMilliseconds * 1000 / calls;
            _process.Refresh();
            double cpu = (_process.TotalProcessorTime - _cpu).TotalMilliseconds * 1000 / calls;
            return new[] { wall, cpu };
        }
    }
}
