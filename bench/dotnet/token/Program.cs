// Warm token per call from .NET (bench/dotnet-token-bench.sh). Figures, not a test.
//
//   TokenBench <calls> <rounds>
//
// In one process, against the endpoint of AZMI_IMDS_ENDPOINT / AZURE_POD_IDENTITY_AUTHORITY_HOST
// (azmi-emulator), the system-assigned identity, "https://management.azure.com/":
//   - azmi: await ManagedIdentity.GetTokenAsync(resource) (the AzMi package), token disposed;
//   - azmi: AzMiCredential.GetToken(context) (AzMi.Azure.Core, what Azure SDK clients call);
//   - Azure.Identity 1.21.0: ManagedIdentityCredential(SystemAssigned).GetToken(context).
// Each method is warmed up (the request, JIT), then <rounds> rounds of <calls> calls each,
// the methods interleaved; prints per method the median round's µs per call (wall and the
// process's CPU time) and the fastest round.
using System.Diagnostics;
using Azure.Core;
using Azure.Identity;
using AzMi;
using AzMi.Azure.Core;

int calls = args.Length > 0 ? int.Parse(args[0]) : 20000;
int rounds = args.Length > 1 ? int.Parse(args[1]) : 7;
const string resource = "https://management.azure.com/";
var context = new TokenRequestContext(new[] { resource + ".default" });
var azmiCredential = new AzMiCredential();
var azureIdentity = new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);

var methods = new (string Name, Func<int, Task> Run)[]
{
    ("azmi ManagedIdentity.GetTokenAsync (await, token disposed)", async n =>
    {
        for (int i = 0; i < n; i++)
        {
            using AzMi.AccessToken t = await ManagedIdentity.GetTokenAsync(resource).ConfigureAwait(false);
        }
    }),
    ("azmi AzMiCredential.GetToken", n =>
    {
        for (int i = 0; i < n; i++) azmiCredential.GetToken(context, default);
        return Task.CompletedTask;
    }),
    ("Azure.Identity ManagedIdentityCredential.GetToken", n =>
    {
        for (int i = 0; i < n; i++) azureIdentity.GetToken(context, default);
        return Task.CompletedTask;
    }),
};

foreach (var m in methods) await m.Run(Math.Min(calls, 20000)); // first token, JIT, tiering
await Task.Delay(200);
foreach (var m in methods) await m.Run(Math.Min(calls, 20000));

var process = Process.GetCurrentProcess();
var wall = methods.Select(_ => new List<double>()).ToArray();
var cpu = methods.Select(_ => new List<double>()).ToArray();
for (int r = 0; r < rounds; r++)
{
    for (int m = 0; m < methods.Length; m++)
    {
        process.Refresh();
        TimeSpan cpu0 = process.TotalProcessorTime;
        long t0 = Stopwatch.GetTimestamp();
        await methods[m].Run(calls);
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        process.Refresh();
        wall[m].Add(seconds * 1e6 / calls);
        cpu[m].Add((process.TotalProcessorTime - cpu0).TotalMilliseconds * 1e3 / calls);
    }
}

static double Median(List<double> v) { var s = v.OrderBy(x => x).ToList(); return s[(s.Count - 1) / 2]; }
Console.WriteLine(FormattableString.Invariant(
    $".NET {Environment.Version}, {calls} calls per round, {rounds} rounds, {Environment.ProcessorCount} CPUs"));
Console.WriteLine($"{"method",-62} {"µs/call",8} {"CPU µs",8} {"fastest",8}");
for (int m = 0; m < methods.Length; m++)
{
    Console.WriteLine(FormattableString.Invariant(
        $"{methods[m].Name,-62} {Median(wall[m]),8:F2} {Median(cpu[m]),8:F2} {wall[m].Min(),8:F2}"));
}
return 0;
