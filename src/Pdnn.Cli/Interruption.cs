using System.Runtime.InteropServices;

namespace Pdnn.Cli;

/// <summary>
/// Ctrl-C, or SIGTERM (`kill`, a job scheduler ending a job, a container stopping), asks a long training run to stop at
/// its next step with a checkpoint that --resume continues, the same clean stop as --max-minutes; without this the
/// work since the last checkpoint was lost. A second signal ends the process at once.
/// </summary>
static class Interruption
{
    static readonly CancellationTokenSource Requested = new();
    static PosixSignalRegistration[]? registrations;

    public static CancellationToken OnSignal()
    {
        registrations ??= [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
        return Requested.Token;
    }

    static void Handle(PosixSignalContext context)
    {
        if (Requested.IsCancellationRequested) return;   // the second one: the default action ends the process
        context.Cancel = true;
        Console.Error.WriteLine($"pdnn: {context.Signal} received: stopping at the next step with a checkpoint (send it again to end at once).");
        Requested.Cancel();
    }
}
