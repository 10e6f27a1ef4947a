// pwsh for a platform where PowerShell cannot be installed here: PowerShell 7 from
// Microsoft.PowerShell.SDK, published self-contained for a runtime identifier, with the built-in
// modules copied beside it (scripts/lib/pwsh-host.sh). It takes pwsh's own command line for
// what the tests use (-NoProfile, -NonInteractive, -Command <script> and -File <path> [args]),
// writes output, errors and host text as pwsh does to a redirected console, and exits with the
// script's `exit` code (1 after an uncaught error). PowerShell's own console host
// (UnmanagedPSEntry) fails under Wine at start, so this small host takes its place.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Management.Automation.Runspaces;

namespace AzMi.PwshHost;

internal static class Program
{
    private static int Main(string[] args)
    {
        string? script = null;
        var fileArguments = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (Is(arg, "-NoProfile") || Is(arg, "-NonInteractive") || Is(arg, "-NoLogo"))
            {
                continue;
            }
            if (Is(arg, "-ExecutionPolicy") || Is(arg, "-OutputFormat"))
            {
                i++;
                continue;
            }
            if (Is(arg, "-Command") && i + 1 < args.Length)
            {
                script = string.Join(" ", args.Skip(i + 1));
                break;
            }
            if (Is(arg, "-File") && i + 1 < args.Length)
            {
                script = "& " + Quote(args[i + 1]) + " @args";
                fileArguments.AddRange(args.Skip(i + 2));
                break;
            }
            Console.Error.WriteLine($"pwsh (test host): unsupported argument '{arg}'");
            return 64;
        }
        if (script is null)
        {
            Console.Error.WriteLine("pwsh (test host): give -Command <script> or -File <path>");
            return 64;
        }

        var host = new TestHost();
        InitialSessionState state = InitialSessionState.CreateDefault2();
        state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
        using Runspace runspace = RunspaceFactory.CreateRunspace(host, state);
        runspace.Open();
        runspace.SessionStateProxy.SetVariable("args", fileArguments.ToArray());
        using PowerShell shell = PowerShell.Create();
        shell.Runspace = runspace;
        shell.AddScript(script).AddCommand("Out-Default");
        shell.Commands.Commands[0].MergeMyResults(PipelineResultTypes.Error, PipelineResultTypes.Output);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            shell.BeginStop(null, null);
        };
        try
        {
            shell.Invoke();
        }
        catch (RuntimeException e)
        {
            Console.Error.WriteLine(e.ErrorRecord?.ToString() ?? e.Message);
            return host.ExitCode ?? 1;
        }
        return host.ExitCode ?? (shell.HadErrors && ScriptFailed(runspace) ? 1 : 0);
    }

    private static bool Is(string arg, string name) => string.Equals(arg, name, StringComparison.OrdinalIgnoreCase);

    private static string Quote(string path) => "'" + path.Replace("'", "''") + "'";

    // pwsh -Command exits 1 when the last command failed ($? false), as this does.
    private static bool ScriptFailed(Runspace runspace) =>
        runspace.SessionStateProxy.GetVariable("?") is bool ok && !ok;
}

/// <summary>The host: `exit` codes, and text written to the console like a redirected pwsh.</summary>
internal sealed class TestHost : PSHost
{
    private readonly TestHostUI _ui = new();

    internal int? ExitCode { get; private set; }

    public override CultureInfo CurrentCulture => CultureInfo.CurrentCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.CurrentUICulture;
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "AzMi test host";
    public override PSHostUserInterface UI => _ui;
    // PowerShell's own version, as pwsh's console host reports it: modules read $Host.Version
    // (PSResourceGet picks Documents\PowerShell, not WindowsPowerShell, for 6 and up).
    public override Version Version { get; } = typeof(PSObject).Assembly.GetName().Version ?? new Version(7, 0);

    public override void EnterNestedPrompt() => throw new NotSupportedException("no nested prompts in the test host");
    public override void ExitNestedPrompt() => throw new NotSupportedException("no nested prompts in the test host");
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) => ExitCode = exitCode;
}

internal sealed class TestHostUI : PSHostUserInterface
{
    private readonly TestHostRawUI _raw = new();

    public override PSHostRawUserInterface RawUI => _raw;

    public override void Write(string value) => Console.Out.Write(value);
    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Console.Out.Write(value);
    public override void WriteLine(string value) => Console.Out.WriteLine(value);
    public override void WriteErrorLine(string value) => Console.Error.WriteLine(value);
    public override void WriteDebugLine(string message) => Console.Out.WriteLine("DEBUG: " + message);
    public override void WriteVerboseLine(string message) => Console.Out.WriteLine("VERBOSE: " + message);
    public override void WriteWarningLine(string message) => Console.Out.WriteLine("WARNING: " + message);
    public override void WriteProgress(long sourceId, ProgressRecord record) { }

    public override string ReadLine() => throw NonInteractive();
    public override System.Security.SecureString ReadLineAsSecureString() => throw NonInteractive();
    public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) => throw NonInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw NonInteractive();
    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw NonInteractive();
    public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) => throw NonInteractive();

    private static PSInvalidOperationException NonInteractive() => new("the test host is non-interactive: nothing can be read from the user");
}

/// <summary>A console of fixed size: nothing here reads or draws the real one.</summary>
internal sealed class TestHostRawUI : PSHostRawUserInterface
{
    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
    public override Size BufferSize { get; set; } = new(120, 3000);
    public override Coordinates CursorPosition { get; set; }
    public override int CursorSize { get; set; } = 25;
    public override bool KeyAvailable => false;
    public override Size MaxPhysicalWindowSize => new(120, 50);
    public override Size MaxWindowSize => new(120, 50);
    public override Coordinates WindowPosition { get; set; }
    public override Size WindowSize { get; set; } = new(120, 50);
    public override string WindowTitle { get; set; } = "pwsh";

    public override void FlushInputBuffer() { }
    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException("the test host is non-interactive");
    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
    public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
}
