using AzMi.Testing;

namespace AzMi.Interop.Tests;

/// <summary>
/// "Many threads asking at once cause one request" (azmi_get_token), including callers that
/// arrive while the one request is finishing. Each round empties the cache with azmi_shutdown,
/// so this class runs in the non-parallel shutdown collection.
/// </summary>
[Collection(nameof(ShutdownCollection))]
public sealed class SingleFlightRaceTests(EmulatorFixture emulator) : IClassFixture<EmulatorFixture>
{
    [Fact]
    public async Task CallersArrivingAsTheRequestCompletes_DoNotStartASecondOne()
    {
        const int rounds = 1000, threads = 16, callsPerThread = 20;
        const string resource = "https://management.azure.com/";
        using var client = new AzMiClient(emulator.TokenUrl);
        client.GetToken(resource); // the endpoint has answered: no probe timeout in the rounds
        var doubled = new List<(int Round, long Requests)>();

        for (int round = 0; round < rounds; round++)
        {
            AzMiLibrary.Shutdown(); // cold cache
            long before = await emulator.TokenRequestsAsync();

            // No barrier on purpose: threads starting one after another spread the first calls
            // over the lifetime of the (sub-millisecond, loopback) request, so that some check
            // the cache just before it is filled and join just after the request has finished.
            Thread[] workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                for (int i = 0; i < callsPerThread; i++)
                {
                    client.GetToken(resource);
                }
            })).ToArray();
            foreach (Thread t in workers)
            {
                t.Start();
            }
            foreach (Thread t in workers)
            {
                Assert.True(t.Join(TimeSpan.FromSeconds(30)), "a caller hung");
            }

            long requests = await emulator.TokenRequestsAsync() - before;
            if (requests != 1)
            {
                doubled.Add((round, requests));
            }
        }

        Assert.True(doubled.Count == 0,
            $"{doubled.Count} of {rounds} cold-cache rounds sent more than one token request " +
            $"(round:requests {string.Join(", ", doubled.Take(10).Select(d => $"{d.Round}:{d.Requests}"))})");
    }
}
