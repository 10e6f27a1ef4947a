using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace AzMi.Interop;

/// <summary>
/// One blocking azmi call of the Key Vault, Resource Manager and Blob wrappers: bridges a
/// <see cref="CancellationToken"/> to an <c>azmi_cancel</c> (the registration is disposed before
/// the handle, so azmi_cancel_cancel never sees a freed handle), carries callback state to the
/// native side as a GCHandle in <c>userdata</c>, and turns the outcome into a return or an
/// exception.
/// </summary>
internal sealed class AzMiCall : IDisposable
{
    private readonly CancellationToken _token;
    private readonly CancellationTokenRegistration _registration;
    private readonly CallbackState? _state;
    private GCHandle _userData;

    public AzMiCall(CancellationToken token, CallbackState? state = null)
    {
        token.ThrowIfCancellationRequested();
        _token = token;
        _state = state;
        Cancel = token.CanBeCanceled || state is not null ? AzMiCancelHandle.Create() : AzMiCancelHandle.Null;
        if (token.CanBeCanceled)
        {
            _registration = token.UnsafeRegister(static s => ((AzMiCancelHandle)s!).Cancel(), Cancel);
        }
        if (state is not null)
        {
            state.Cancel = Cancel;
            _userData = GCHandle.Alloc(state);
        }
    }

    /// <summary>The call's azmi_cancel (NULL when nothing can cancel it).</summary>
    public AzMiCancelHandle Cancel { get; }

    /// <summary>userdata for callbacks: the state's GCHandle, or NULL.</summary>
    public IntPtr UserData => _userData.IsAllocated ? GCHandle.ToIntPtr(_userData) : IntPtr.Zero;

    /// <summary>The state a callback receives as userdata.</summary>
    public static T State<T>(IntPtr userdata) where T : CallbackState => (T)GCHandle.FromIntPtr(userdata).Target!;

    /// <summary>Returns, or throws what the outcome means. Frees <paramref name="error"/>.</summary>
    public void Complete(AzMiStatus status, AzMiErrorHandle error)
    {
        using (error)
        {
            // What a callback threw explains the outcome best (the call stopped for it).
            _state?.Failure?.Throw();
            if (status == AzMiStatus.Ok)
            {
                return;
            }
            if (status == AzMiStatus.Cancelled && _token.IsCancellationRequested)
            {
                throw new OperationCanceledException("the azmi call was cancelled", AzMiException.From(status, error), _token);
            }
            throw AzMiException.From(status, error);
        }
    }

    public void Dispose()
    {
        _registration.Dispose();
        Cancel.Dispose();
        if (_userData.IsAllocated)
        {
            _userData.Free();
        }
    }

    /// <summary>Per-call state of a callback: what it threw (rethrown after the call) and the call's cancel handle.</summary>
    internal class CallbackState
    {
        public AzMiCancelHandle? Cancel { get; set; }

        public ExceptionDispatchInfo? Failure { get; private set; }

        /// <summary>Remembers <paramref name="ex"/> and stops the call: a callback must never let it escape.</summary>
        public void Fail(Exception ex)
        {
            Failure ??= ExceptionDispatchInfo.Capture(ex);
            Cancel?.Cancel();
        }
    }
}
