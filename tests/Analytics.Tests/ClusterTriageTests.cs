using Analytics.Triage;

namespace Analytics.Tests;

public sealed class ClusterTriageTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Folding_a_stream_gives_the_state_of_its_last_events()
    {
        var id = Guid.NewGuid();
        var state = ClusterTriage.Create(new ClusterOpened(id, "atlas", "code_execution", "code_error", "empty plots", "system", Now))
            .Apply(new ClusterAssigned(id, "dana", "api-key:triager", Now))
            .Apply(new ClusterLabeled(id, Severity.S1, TriageCategory.Safety, "api-key:triager", Now))
            .Apply(new ClusterResolved(id, "PR-1", 12, "api-key:triager", Now));

        Assert.Equal(new ClusterTriage(id, ClusterState.Resolved, "dana", Severity.S1, TriageCategory.Safety, "PR-1", 12), state);
        Assert.Equal(ClusterState.Open, state.Apply(new ClusterReopened(id, 5, "system", Now)).State);
    }

    [Theory]
    [InlineData(4, 0, false)]
    [InlineData(5, 0, true)]
    [InlineData(10, 5, true)]
    [InlineData(10, 6, false)]
    public void A_cluster_grows_fast_with_at_least_five_items_and_twice_the_window_before(int thisWindow, int lastWindow, bool growing) =>
        Assert.Equal(growing, TriageQueries.IsGrowing(thisWindow, lastWindow));
}
