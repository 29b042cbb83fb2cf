using Analytics.Contracts;
using Analytics.Redacting;

namespace Analytics.Tests;

public class UserIdPseudonymsTests
{
    private static ConversationStarted Started(string userId) =>
        new(Guid.NewGuid(), DateTimeOffset.UnixEpoch, 1, Guid.NewGuid(), "it", userId, "web", "en", new Personalization(false));

    [Fact]
    public void The_same_user_keeps_one_pseudonym_under_one_key_and_another_key_gives_another()
    {
        var one = new UserIdPseudonyms("first-key-of-at-least-thirty-two-characters");
        var two = new UserIdPseudonyms("second-key-of-at-least-thirty-two-characters");
        var stored = (ConversationStarted)one.Apply(Started("jane@example.com"));
        Assert.Equal(one.Pseudonym("jane@example.com"), stored.UserId);
        Assert.Matches("^u-[0-9a-f]{32}$", stored.UserId);
        Assert.DoesNotContain("jane", stored.UserId, StringComparison.Ordinal);
        Assert.NotEqual(one.Pseudonym("jane@example.com"), one.Pseudonym("john@example.com"));
        Assert.NotEqual(one.Pseudonym("jane@example.com"), two.Pseudonym("jane@example.com"));
    }

    [Fact]
    public void A_pseudonym_published_again_stays_the_same_pseudonym_and_only_that_exact_form_is_kept()
    {
        var pseudonyms = new UserIdPseudonyms("first-key-of-at-least-thirty-two-characters");
        var once = pseudonyms.Pseudonym("jane@example.com");
        Assert.Equal(once, pseudonyms.Pseudonym(once));
        Assert.True(UserIdPseudonyms.IsPseudonym(once));
        foreach (var lookAlike in new[] { once.ToUpperInvariant(), once[..^1], once + "0", "u-" + new string('g', 32), "x-" + once[2..], " " + once })
        {
            Assert.False(UserIdPseudonyms.IsPseudonym(lookAlike), lookAlike);
            Assert.NotEqual(lookAlike, pseudonyms.Pseudonym(lookAlike));
        }
    }
}
