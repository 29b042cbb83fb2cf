namespace Analytics.Contracts;

/// <summary>The model that produced a response: id (family), version, optional behaviour variant.</summary>
public sealed record ModelRef(string Id, string Version, string? Variant = null);

/// <summary>How the conversation was personalised.</summary>
public sealed record Personalization(bool CustomInstructions, string? Profile = null);

/// <summary>The experiment and arm a conversation is enrolled in.</summary>
public sealed record ExperimentAssignment(string Id, string Arm);

/// <summary>Input and output modalities of a response (text, image, audio, file...).</summary>
public sealed record Modality(IReadOnlyList<string> Input, IReadOnlyList<string> Output);

/// <summary>What the moderation layer said about a response.</summary>
public sealed record Moderation(bool Flagged, IReadOnlyList<string> Categories);

/// <summary>One side of a side-by-side comparison.</summary>
public sealed record ComparisonCandidate(Guid TurnId, ModelRef Model);

/// <summary>Thumbs up, thumbs down, or none (the rating was withdrawn).</summary>
public enum Rating
{
    Up,
    Down,
    None,
}

/// <summary>Why a user gave a thumbs down (or explained a comparison).</summary>
public enum FeedbackReason
{
    Inaccurate,
    Unsafe,
    RefusedUnnecessarily,
    IgnoredInstructions,
    BadCitation,
    CodeError,
    TooVerbose,
    Unhelpful,
    Other,
}

/// <summary>Which candidate the user preferred in a side-by-side comparison.</summary>
public enum Preference
{
    A,
    B,
    Tie,
    BothBad,
}
