using System.Globalization;

namespace Analytics.Texts;

/// <summary>
/// Cuts text between text elements (extended grapheme clusters, as <see cref="StringInfo"/> segments them since .NET 5),
/// never inside one: an emoji's surrogate pair, a letter and its combining marks, a regional-indicator flag or a ZWJ
/// family stays whole or goes whole. A cut on a UTF-16 index can leave half a surrogate pair, which PostgreSQL's UTF-8
/// encoding (Npgsql encodes strictly) refuses with an EncoderFallbackException. Every truncation of text in the platform
/// (cluster labels, reasons that quote a value, anything logged) goes through here.
/// </summary>
public static class TextElements
{
    /// <summary>
    /// The longest prefix of <paramref name="text"/> made of whole text elements whose length, with
    /// <paramref name="ellipsis"/> appended when something was cut, is at most <paramref name="maxLength"/> UTF-16 units.
    /// Text that fits is returned as it is. A single text element longer than the budget (a letter with thousands of
    /// combining marks) is left out whole, so the result may be just the ellipsis.
    /// </summary>
    public static string Truncate(string text, int maxLength, string ellipsis = "")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ellipsis);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (text.Length <= maxLength)
        {
            return text;
        }

        if (ellipsis.Length > maxLength)
        {
            ellipsis = string.Empty;
        }

        var budget = maxLength - ellipsis.Length;
        var end = PrefixLength(text, budget);
        return string.Concat(text.AsSpan(0, end), ellipsis);
    }

    /// <summary>The length (UTF-16 units) of the longest prefix of whole text elements that is at most <paramref name="budget"/> long.</summary>
    public static int PrefixLength(ReadOnlySpan<char> text, int budget)
    {
        var end = 0;
        while (end < text.Length)
        {
            var next = StringInfo.GetNextTextElementLength(text[end..]);
            if (end + next > budget)
            {
                break;
            }

            end += next;
        }

        return end;
    }
}
