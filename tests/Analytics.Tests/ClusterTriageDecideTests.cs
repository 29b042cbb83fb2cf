using Analytics.Decisions;
using Analytics.Triage;

namespace Analytics.Tests;

/// <summary>
/// Every branch of <see cref="ClusterTriage.Decide"/>, as given events (the cluster's stream) → when a command → then
/// the event to append or the rejection.
/// </summary>
public sealed class ClusterTriageDecideTests
{
    private const string Triager = "api-key:triager";
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid Id = Guid.Parse("0b4f2a52-9d7e-4c1e-a1d2-3f6a8b9c0d1e");
    private static readonly ClusterOpened Opened = new(Id, "atlas", "code_execution", "code_error", "empty plots", ClusterTriage.SystemActor, Now.AddDays(-2));
    private static readonly ClusterResolved ResolvedAt10 = new(Id, "PR-1", 10, Triager, Now.AddDays(-1));

    /// <summary>The cluster's state folded from its stream, as Marten's live aggregation folds it.</summary>
    private static ClusterTriage Given(params object[] events) =>
        events.Skip(1).Aggregate(ClusterTriage.Create((ClusterOpened)events[0]), (state, e) => e switch
        {
            ClusterAssigned a => state.Apply(a),
            ClusterLabeled l => state.Apply(l),
            ClusterNoteAdded n => state.Apply(n),
            ClusterResolved r => state.Apply(r),
            ClusterReopened r => state.Apply(r),
            _ => throw new ArgumentException(e.GetType().Name),
        });

    private static Decision When(ClusterTriage state, TriageCommand command) => ClusterTriage.Decide(state, command, Now);

    private static void ThenRejected(Decision decision, Rejection reason, string title)
    {
        var rejected = Assert.IsType<Decision.Rejected>(decision);
        Assert.Equal((reason, title), (rejected.Reason, rejected.Title));
    }

    [Fact]
    public void Assigning_an_open_cluster_records_the_trimmed_assignee_and_who_assigned()
    {
        Assert.Equal(Decision.Accept(new ClusterAssigned(Id, "dana", Triager, Now)), When(Given(Opened), new TriageCommand.Assign("  dana ", Triager)));
    }

    [Fact]
    public void Assigning_a_resolved_cluster_is_allowed()
    {
        Assert.Equal(Decision.Accept(new ClusterAssigned(Id, "eve", Triager, Now)), When(Given(Opened, ResolvedAt10), new TriageCommand.Assign("eve", Triager)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Assigning_nobody_is_refused_as_invalid(string? assignee)
    {
        ThenRejected(When(Given(Opened), new TriageCommand.Assign(assignee, Triager)), Rejection.InvalidCommand, "assignee is required");
    }

    [Fact]
    public void An_assignee_may_have_2000_characters_and_not_one_more()
    {
        Assert.IsType<Decision.Accepted>(When(Given(Opened), new TriageCommand.Assign(new string('a', ClusterTriage.MaxTextLength), Triager)));
        ThenRejected(When(Given(Opened), new TriageCommand.Assign(new string('a', ClusterTriage.MaxTextLength + 1), Triager)),
            Rejection.InvalidCommand, "assignee too long");
    }

    [Theory]
    [InlineData("S0", "safety", Severity.S0, TriageCategory.Safety)]
    [InlineData("S3", "Quality", Severity.S3, TriageCategory.Quality)]
    [InlineData("S1", "OTHER", Severity.S1, TriageCategory.Other)]
    public void Labelling_records_the_severity_as_named_and_the_category_in_any_case(string severity, string category, Severity expected, TriageCategory expectedCategory)
    {
        Assert.Equal(Decision.Accept(new ClusterLabeled(Id, expected, expectedCategory, Triager, Now)),
            When(Given(Opened, new ClusterAssigned(Id, "dana", Triager, Now)), new TriageCommand.Label(severity, category, Triager)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("S7")]
    [InlineData("s1")] // the severity is case-sensitive
    [InlineData("1")] // a number would parse as S1
    [InlineData("")]
    public void An_unknown_severity_is_refused_as_invalid(string? severity)
    {
        var rejected = Assert.IsType<Decision.Rejected>(When(Given(Opened), new TriageCommand.Label(severity, "safety", Triager)));
        Assert.Equal((Rejection.InvalidCommand, "Unknown severity", $"severity must be one of S0, S1, S2, S3, not '{severity}'."),
            (rejected.Reason, rejected.Title, rejected.Detail));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("cosmetic")]
    [InlineData("2")] // a number would parse as other
    public void An_unknown_category_is_refused_as_invalid(string? category)
    {
        ThenRejected(When(Given(Opened), new TriageCommand.Label("S2", category, Triager)), Rejection.InvalidCommand, "Unknown category");
    }

    [Fact]
    public void A_note_is_recorded_trimmed_in_any_state()
    {
        Assert.Equal(Decision.Accept(new ClusterNoteAdded(Id, "Seen with pandas 2.2 only", Triager, Now)),
            When(Given(Opened, ResolvedAt10), new TriageCommand.AddNote(" Seen with pandas 2.2 only\n", Triager)));
    }

    [Fact]
    public void An_empty_or_too_long_note_is_refused_as_invalid()
    {
        ThenRejected(When(Given(Opened), new TriageCommand.AddNote(" ", Triager)), Rejection.InvalidCommand, "note is required");
        ThenRejected(When(Given(Opened), new TriageCommand.AddNote(new string('n', ClusterTriage.MaxTextLength + 1), Triager)),
            Rejection.InvalidCommand, "note too long");
    }

    [Fact]
    public void Text_PostgreSQL_cannot_hold_is_refused_as_invalid_in_every_text_field()
    {
        // A NUL, a control character and half an emoji (its high surrogate alone), in every text field.
        foreach (var (text, found) in new[]
                 {
                     ("a\0b", "U+0000 (NUL) at index 1"), ("bell\u0007", "control character U+0007 at index 4"),
                     ("half " + "👍"[..1] + " emoji", "unpaired surrogate U+D83D at index 5"),
                 })
        {
            foreach (var (command, name) in new (TriageCommand, string)[]
                     {
                         (new TriageCommand.Assign(text, Triager), "assignee"), (new TriageCommand.AddNote(text, Triager), "note"),
                         (new TriageCommand.Resolve(text, 10, Triager), "fixReference"),
                     })
            {
                var rejected = Assert.IsType<Decision.Rejected>(When(Given(Opened), command));
                Assert.Equal((Rejection.InvalidCommand, $"{name} is not valid text"), (rejected.Reason, rejected.Title));
                Assert.Contains(found, rejected.Detail, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("tab\there, new\nline")]
    [InlineData("👩‍💻 emoji with a joiner, עברית, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢")]
    public void Text_of_any_plane_with_tabs_line_feeds_and_joiners_is_a_note(string text) =>
        Assert.IsType<Decision.Accepted>(When(Given(Opened), new TriageCommand.AddNote(text, Triager)));

    [Fact]
    public void Resolving_an_open_cluster_records_the_fix_and_the_size_it_had()
    {
        Assert.Equal(Decision.Accept(new ClusterResolved(Id, "PR-1234", 17, Triager, Now)),
            When(Given(Opened), new TriageCommand.Resolve(" PR-1234 ", 17, Triager)));
    }

    [Fact]
    public void Resolving_a_resolved_cluster_is_a_conflict_that_names_its_fix()
    {
        var rejected = Assert.IsType<Decision.Rejected>(When(Given(Opened, ResolvedAt10), new TriageCommand.Resolve("PR-2", 12, Triager)));
        Assert.Equal((Rejection.Conflict, "Already resolved", $"Cluster {Id} is resolved (PR-1)."), (rejected.Reason, rejected.Title, rejected.Detail));
    }

    [Fact]
    public void A_reopened_cluster_can_be_resolved_again()
    {
        Assert.Equal(Decision.Accept(new ClusterResolved(Id, "PR-2", 16, Triager, Now)),
            When(Given(Opened, ResolvedAt10, new ClusterReopened(Id, 5, ClusterTriage.SystemActor, Now)), new TriageCommand.Resolve("PR-2", 16, Triager)));
    }

    [Fact]
    public void A_missing_fix_reference_is_invalid_before_the_state_is_looked_at()
    {
        ThenRejected(When(Given(Opened, ResolvedAt10), new TriageCommand.Resolve(null, 12, Triager)), Rejection.InvalidCommand, "fixReference is required");
    }

    [Theory]
    [InlineData(10, 14, 5, false)]
    [InlineData(10, 15, 5, true)]
    [InlineData(10, 40, 5, true)]
    public void A_resolved_cluster_reopens_once_it_has_the_threshold_of_items_since_its_resolution(int sizeAtResolution, int size, int threshold, bool reopens)
    {
        var decision = When(Given(Opened, ResolvedAt10 with { SizeAtResolution = sizeAtResolution }), new TriageCommand.Reopen(size, threshold));

        if (reopens)
        {
            Assert.Equal(Decision.Accept(new ClusterReopened(Id, size - sizeAtResolution, ClusterTriage.SystemActor, Now)), decision);
        }
        else
        {
            ThenRejected(decision, Rejection.Conflict, "Too few new items");
        }
    }

    [Fact]
    public void An_open_cluster_does_not_reopen_however_much_it_grows()
    {
        ThenRejected(When(Given(Opened), new TriageCommand.Reopen(400, 5)), Rejection.Conflict, "Not resolved");
        ThenRejected(When(Given(Opened, ResolvedAt10, new ClusterReopened(Id, 5, ClusterTriage.SystemActor, Now)), new TriageCommand.Reopen(400, 5)),
            Rejection.Conflict, "Not resolved");
    }
}
