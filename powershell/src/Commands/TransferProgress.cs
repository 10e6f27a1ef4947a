using System;
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;

namespace AzMi.Commands;

/// <summary>
/// Write-Progress for an upload or download: azmi reports bytes done after every chunk or read,
/// on the cmdlet's thread; this turns them into at most a few records a second (rendering
/// progress is not free), always including the first and the last, then a Completed record.
/// </summary>
internal sealed class TransferProgress
{
    private static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(100);

    private readonly Cmdlet _cmdlet;
    private readonly int _activityId;
    private readonly string _activity;
    private readonly string _operation;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private TimeSpan _lastWrite = TimeSpan.MinValue;
    private int _lastPercent = -2;
    private bool _written;

    internal TransferProgress(Cmdlet cmdlet, int activityId, string activity, string operation)
    {
        _cmdlet = cmdlet;
        _activityId = activityId;
        _activity = activity;
        _operation = operation;
    }

    /// <summary>Bytes done so far, and the total (-1 when unknown).</summary>
    internal ulong Done { get; private set; }

    /// <summary>The progress callback: <paramref name="total"/> is -1 when unknown.</summary>
    internal void Report(ulong done, long total)
    {
        Done = done;
        int percent = total > 0 ? (int)Math.Min(100, done * 100 / (ulong)total) : -1;
        bool last = total >= 0 && done >= (ulong)total;
        TimeSpan now = _watch.Elapsed;
        if (!last && _written && (percent == _lastPercent || now - _lastWrite < MinInterval))
        {
            return;
        }

        // A new record every time: hosts and Streams.Progress keep the ones written.
        var record = NewRecord(total >= 0 ? $"{FormatBytes(done)} of {FormatBytes((ulong)total)}" : FormatBytes(done));
        record.PercentComplete = percent;
        if (total > 0 && done > 0 && now.TotalSeconds >= 1)
        {
            double rate = done / now.TotalSeconds;
            record.SecondsRemaining = (int)Math.Min(int.MaxValue, ((ulong)total - Math.Min(done, (ulong)total)) / rate);
        }

        _cmdlet.WriteProgress(record);
        _written = true;
        _lastPercent = percent;
        _lastWrite = now;
    }

    /// <summary>Removes the bar. Never throws (it runs in finally blocks, also while stopping).</summary>
    internal void Complete()
    {
        try
        {
            ProgressRecord record = NewRecord(Done > 0 ? FormatBytes(Done) : "Done");
            record.RecordType = ProgressRecordType.Completed;
            record.PercentComplete = 100;
            _cmdlet.WriteProgress(record);
        }
        catch (Exception e) when (e is PipelineStoppedException || e is InvalidOperationException)
        {
            // Stopping, or no pipeline to write to any more: there is no bar to clear.
        }
    }

    private ProgressRecord NewRecord(string status) =>
        new ProgressRecord(_activityId, _activity, status) { CurrentOperation = _operation };

    /// <summary>"0 B", "512 B", "20.0 MB" (powers of 1024, as Get-ChildItem's users read them).</summary>
    internal static string FormatBytes(ulong bytes)
    {
        string[] units = { "B", "KB", "MB", "GB", "TB", "PB" };
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? bytes.ToString(CultureInfo.CurrentCulture) + " B"
            : value.ToString("0.0", CultureInfo.CurrentCulture) + " " + units[unit];
    }
}
