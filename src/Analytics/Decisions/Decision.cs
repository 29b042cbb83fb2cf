namespace Analytics.Decisions;

/// <summary>
/// What a pure decision (<c>Decide(state, command, now)</c>) returns: the event to append, or why the command is
/// refused. The state is folded from the stream's own events, so a decision never reads a read model; the endpoint
/// only loads the state, appends an accepted event and maps a rejection to problem details.
/// </summary>
public abstract record Decision
{
    private Decision()
    {
    }

    /// <summary>The command is accepted: append <paramref name="Event"/> to the stream the state was folded from.</summary>
    public sealed record Accepted(object Event) : Decision;

    /// <summary>The command is refused, with a title and a detail a person can act on.</summary>
    public sealed record Rejected(Rejection Reason, string Title, string Detail) : Decision;

    public static Decision Accept(object @event) => new Accepted(@event);

    public static Decision Reject(Rejection reason, string title, string detail) => new Rejected(reason, title, detail);
}

/// <summary>Why a command was refused; endpoints map it to a status code (400, 404, 409).</summary>
public enum Rejection
{
    /// <summary>The command itself is not valid (a missing or too long field, an unknown value): 400.</summary>
    InvalidCommand,

    /// <summary>The thing the command is about does not exist: 404.</summary>
    NotFound,

    /// <summary>The command is valid but the stream's state does not allow it (already done): 409.</summary>
    Conflict,
}
