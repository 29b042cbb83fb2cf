using System.Text.Json;
using Analytics.Contracts;

namespace Analytics.Tests;

public class FeedbackEventBatchTests
{
    [Fact]
    public void A_single_event_object_reads_as_a_batch_of_one()
    {
        var json = FeedbackJson.ToElement(SampleEvents.Rated()).GetRawText();
        var batch = JsonSerializer.Deserialize<FeedbackEventBatch>(json)!;
        Assert.Single(batch.Events);
        Assert.Equal("ResponseRated", batch.Events[0].GetProperty("type").GetString());
    }

    [Fact]
    public void An_array_reads_as_a_batch_and_writes_back_as_the_same_array()
    {
        var batch = FeedbackEventBatch.From(SampleEvents.All());
        var json = JsonSerializer.Serialize(batch);
        var read = JsonSerializer.Deserialize<FeedbackEventBatch>(json)!;
        Assert.Equal(4, read.Events.Count);
        Assert.Equal(
            ["ConversationStarted", "ResponseGenerated", "ResponseRated", "ResponsesCompared"],
            read.Events.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(json, JsonSerializer.Serialize(read));
    }

    [Fact]
    public void Contract_json_puts_the_type_first_and_uses_camel_case_and_snake_case_enums()
    {
        var element = FeedbackJson.ToElement(SampleEvents.Compared());
        Assert.Equal("type", element.EnumerateObject().First().Name);
        Assert.Equal("both_bad", element.GetProperty("preferred").GetString());
        Assert.Equal("bad_citation", element.GetProperty("reasons")[0].GetString());
        Assert.True(element.TryGetProperty("conversationId", out _));
        Assert.False(element.TryGetProperty("comment", out _)); // nulls are left out
    }
}
