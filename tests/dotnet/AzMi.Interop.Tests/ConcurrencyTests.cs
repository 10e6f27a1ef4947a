using System.Collections.Concurrent;
using AzMi.Testing;

namespace AzMi.Interop.Tests;

public sealed class ConcurrencyTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task ManyThreadsOnAColdCache_CauseOneRequest_AndAllGetTheSameToken()
    {
        const int threads = 16, callsPerThread = 200;
        // No other test of this class asks for this resource, so the cache starts cold.
        const string resource = "https://vault.azure.net";
        using var client = new AzMiClient(emulator.TokenUrl);
        long before = await emulator.TokenRequestsAsync();

        var fingerprints = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentQueue<string>();
        RunOnThreads(threads, _ =>
        {
            for (int i = 0; i < callsPerThread; i++)
            {
                try
                {
                    AzMiToken token = client.GetToken(resource);
                    fingerprints.AddOrUpdate(Jwt.Fingerprint(token.Token), 1, (_, n) => n + 1);
                }
                catch (AzMiException ex)
                {
                    failures.Enqueue($"{ex.Status}: {ex.Message}");
                }
            }
        });

        Assert.Empty(failures);
        Assert.Equal(threads * callsPerThread, fingerprints.Values.Sum());
        Assert.Single(fingerprints);
        Assert.Equal(before + 1, await emulator.TokenRequestsAsync());
    }

    [Fact]
    public async Task ConcurrentCallsForFiveResources_CauseFiveRequests()
    {
        // Five resources no other test of this class asks for; four threads race on each.
        string[] resources =
        [
            "https://storage.azure.com/", "https://storage.azure.com", "https://datalake.azure.net/",
            "https://database.windows.net/", "https://database.windows.net",
        ];
        const int threadsPerResource = 4, callsPerThread = 50;
        using var client = new AzMiClient(emulator.TokenUrl);
        long before = await emulator.TokenRequestsAsync();

        var seen = new ConcurrentDictionary<string, ConcurrentDictionary<string, byte>>();
        var failures = new ConcurrentQueue<string>();
        RunOnThreads(resources.Length * threadsPerResource, index =>
        {
            string resource = resources[index % resources.Length];
            for (int i = 0; i < callsPerThread; i++)
            {
                try
                {
                    AzMiToken token = client.GetToken(resource);
                    if (Jwt.Claim(token.Token, "aud") != resource)
                    {
                        failures.Enqueue($"token for {Jwt.Claim(token.Token, "aud")} returned for {resource}");
                    }
                    seen.GetOrAdd(resource, _ => new()).TryAdd(Jwt.Fingerprint(token.Token), 0);
                }
                catch (AzMiException ex)
                {
                    failures.Enqueue($"{resource}: {ex.Status}: {ex.Message}");
                }
            }
        });

        Assert.Empty(failures);
        Assert.Equal(resources.Order(), seen.Keys.Order());
        Assert.All(seen.Values, tokens => Assert.Single(tokens));
        Assert.Equal(resources.Length, seen.Values.SelectMany(t => t.Keys).Distinct().Count());
        Assert.Equal(before + resources.Length, await emulator.TokenRequestsAsync());
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="count"/> OS threads released together
    /// by a barrier, so that the calls really overlap (thread-pool tasks would trickle in).
    /// </summary>
    private static void RunOnThreads(int count, Action<int> body)
    {
        using var start = new Barrier(count);
        var errors = new ConcurrentQueue<Exception>();
        Thread[] workers = Enumerable.Range(0, count).Select(index => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                body(index);
            }
            catch (Exception ex)
            {
                errors.Enqueue(ex);
            }
        })
        { IsBackground = true, Name = $"azmi-caller-{index}" }).ToArray();

        foreach (Thread t in workers)
        {
            t.Start();
        }
        foreach (Thread t in workers)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(60)), $"{t.Name} did not finish within 60 s");
        }
        if (!errors.IsEmpty)
        {
            throw new AggregateException(errors);
        }
    }
}
