using System.Globalization;
using System.Text;
using Analytics.Texts;

namespace Analytics.Tests;

public sealed class TextElementsTests
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Text elements that span several UTF-16 units, each with the number of units it has.</summary>
    public static TheoryData<string, string, int> Elements => new()
    {
        { "emoji (surrogate pair)", "😀", 2 },
        { "emoji with skin tone", "👍🏽", 4 },
        { "combining acute", "e\u0301", 2 },
        { "two combining marks", "a\u0308\u0323", 3 },
        { "regional-indicator flag", "🇫🇷", 4 },
        { "ZWJ family", "👨‍👩‍👧‍👦", 11 },
        { "keycap", "1\uFE0F\u20E3", 3 },
        { "Hangul jamo syllable", "\u1100\u1161\u11A8", 3 },
        { "CR LF", "\r\n", 2 },
        { "supplementary-plane letter with a combining mark", "𝒜\u0301", 3 },
    };

    [Theory]
    [MemberData(nameof(Elements))]
    public void A_text_element_is_one_element_of_the_length_expected(string name, string element, int units)
    {
        Assert.True(element.Length == units, name);
        Assert.True(new StringInfo(element).LengthInTextElements == 1, $"{name} is not one text element");
    }

    [Theory]
    [MemberData(nameof(Elements))]
    public void Cut_at_every_position_the_result_is_valid_UTF16_and_a_prefix_of_whole_text_elements(string name, string element, int units)
    {
        // The element surrounded by plain letters and repeated, so every cut position falls before, inside and after it.
        var text = $"ab{element}c{element}{element}d";
        var boundaries = Boundaries(text);
        for (var max = 0; max <= text.Length + 1; max++)
        {
            foreach (var ellipsis in new[] { "", "…" })
            {
                var cut = TextElements.Truncate(text, max, ellipsis);
                var mark = ellipsis.Length <= max ? ellipsis : ""; // an ellipsis longer than the budget is left out
                if (cut != text)
                {
                    Assert.EndsWith(mark, cut, StringComparison.Ordinal);
                    Assert.True(cut.Length <= max, $"{name}: {cut.Length} units, more than {max}");
                }

                var kept = cut == text ? cut : cut[..^mark.Length];
                StrictUtf8.GetBytes(cut); // throws on half a surrogate pair
                Assert.StartsWith(kept, text, StringComparison.Ordinal);
                Assert.True(boundaries.Contains(kept.Length), $"{name}, max {max}: cut at {kept.Length}, inside a text element (units {units})");
                if (cut != text)
                {
                    // The longest such prefix: the next element would not have fitted.
                    var next = boundaries.First(b => b > kept.Length);
                    Assert.True(next + mark.Length > max, $"{name}, max {max}: cut at {kept.Length} though the element up to {next} fits");
                }
            }
        }
    }

    [Fact]
    public void A_ZWJ_family_and_a_flag_are_kept_or_dropped_whole_never_split()
    {
        const string family = "👨‍👩‍👧‍👦";
        const string flags = "🇫🇷🇩🇪";
        var text = "x" + family + flags;
        Assert.Equal("x", TextElements.Truncate(text, 11));
        Assert.Equal("x" + family, TextElements.Truncate(text, 12));
        Assert.Equal("x" + family, TextElements.Truncate(text, 15));
        Assert.Equal("x" + family + "🇫🇷", TextElements.Truncate(text, 16));
        Assert.Equal("x" + family + "🇫🇷", TextElements.Truncate(text, 19));
    }

    [Fact]
    public void An_emoji_across_the_140th_unit_of_a_label_is_left_out_not_cut_in_half()
    {
        // The reported case: 139 letters, then an emoji whose high surrogate is unit 140 and low surrogate unit 141.
        var comment = new string('a', 139) + "😀" + " more";
        var halved = comment[..140];
        Assert.Throws<EncoderFallbackException>(() => StrictUtf8.GetBytes(halved)); // what a UTF-16 cut did

        var label = TextElements.Truncate(comment, 140);
        Assert.Equal(new string('a', 139), label);
        StrictUtf8.GetBytes(label);
    }

    [Fact]
    public void Text_that_fits_is_returned_as_it_is_and_an_ellipsis_marks_a_cut()
    {
        Assert.Same("short", TextElements.Truncate("short", 5, "…"));
        Assert.Equal("sho…", TextElements.Truncate("shorter", 4, "…"));
        Assert.Equal("", TextElements.Truncate("a\u0301\u0301\u0301", 2));
    }

    private static HashSet<int> Boundaries(string text)
    {
        var boundaries = new HashSet<int>(StringInfo.ParseCombiningCharacters(text)) { text.Length };
        return boundaries;
    }
}
