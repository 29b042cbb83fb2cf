using System.Globalization;
using System.Text;

namespace Analytics.Contracts;

/// <summary>
/// What a text field of the contracts may hold, defined once (docs/contracts.md, "Text"). Every string is valid
/// Unicode: no U+0000, no unpaired surrogate, no control character (Unicode category Cc: U+0000–U+001F, U+007F,
/// U+0080–U+009F) except tab, line feed and carriage return. Identifiers (every short text: <c>source</c>,
/// <c>userId</c>, <c>surface</c>, <c>locale</c>, <c>model.*</c>, <c>experiment.*</c>, <c>personalization.profile</c>)
/// also hold no control character at all and no format character (category Cf: zero-width, bidi and other invisible
/// marks), so that two names that look alike are the same name. Free text (<c>comment</c>, <c>promptExcerpt</c>,
/// <c>responseExcerpt</c>) may hold format characters: emoji ZWJ sequences and right-to-left text need them.
/// </summary>
public static class TextRules
{
    /// <summary>
    /// The JSON Schema <c>pattern</c> of free text. A character outside the surrogates and refused controls, or a
    /// surrogate pair: it reads the same whether the validator's regular expressions see UTF-16 code units (.NET,
    /// JavaScript without the u flag) or code points (Ajv's default, Python). It ends with <c>(?![\s\S])</c> rather than
    /// <c>$</c>, which in .NET also matches before a final line feed.
    /// </summary>
    public const string FreeTextPattern = "^(?:[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*(?![\\s\\S])";

    /// <summary>
    /// The JSON Schema <c>pattern</c> of identifiers: as <see cref="FreeTextPattern"/>, without any control character
    /// and without the format characters of the Basic Multilingual Plane. The few format characters above it (tag
    /// characters, U+110BD…) are refused by the platform but not by the pattern.
    /// </summary>
    public static string IdentifierPattern { get; } =
        $"^(?:[^\\u0000-\\u001F\\u007F-\\u009F{BmpFormatRanges()}\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*(?![\\s\\S])";

    /// <summary>The first thing that makes <paramref name="value"/> invalid free text, or null when it is valid.</summary>
    public static TextProblem? CheckFreeText(string value) => Check(value, identifier: false);

    /// <summary>The first thing that makes <paramref name="value"/> an invalid identifier, or null when it is valid.</summary>
    public static TextProblem? CheckIdentifier(string value) => Check(value, identifier: true);

    /// <summary>What free text may not hold, in words, for an error message.</summary>
    public const string FreeTextForm = "text without U+0000, control characters other than tab, line feed and carriage return, or unpaired surrogates";

    /// <summary>An error message for <paramref name="name"/>'s <paramref name="problem"/>: what and where, never the text.</summary>
    public static string Explain(string name, TextProblem problem) => $"{name} holds {problem}; expected {FreeTextForm}.";

    /// <summary>True when <paramref name="rune"/> is a format character (Cf), refused in identifiers.</summary>
    public static bool IsFormat(Rune rune) => Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format;

    /// <summary>True when <paramref name="c"/> is a control character free text may not hold (all but tab, LF, CR).</summary>
    public static bool IsRefusedControl(char c, bool identifier) =>
        char.IsControl(c) && (identifier || c is not ('\t' or '\n' or '\r'));

    /// <summary>The format characters (Cf) of the Basic Multilingual Plane as regex class ranges, from .NET's Unicode data.</summary>
    private static string BmpFormatRanges()
    {
        var ranges = new StringBuilder();
        for (var c = 0; c < 0x10000; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF || char.GetUnicodeCategory((char)c) != UnicodeCategory.Format)
            {
                continue;
            }

            var end = c;
            while (end + 1 < 0x10000 && char.GetUnicodeCategory((char)(end + 1)) == UnicodeCategory.Format)
            {
                end++;
            }

            ranges.Append(CultureInfo.InvariantCulture, $"\\u{c:X4}");
            if (end > c)
            {
                ranges.Append(CultureInfo.InvariantCulture, $"-\\u{end:X4}");
            }

            c = end;
        }

        return ranges.ToString();
    }

    private static TextProblem? Check(string value, bool identifier)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                {
                    if (identifier && IsFormat(new Rune(c, value[i + 1])))
                    {
                        return new TextProblem(i, $"format character U+{char.ConvertToUtf32(c, value[i + 1]):X4}");
                    }

                    i++;
                    continue;
                }

                return new TextProblem(i, $"unpaired surrogate U+{(int)c:X4}");
            }

            if (c == '\0')
            {
                return new TextProblem(i, "U+0000 (NUL)");
            }

            if (IsRefusedControl(c, identifier))
            {
                return new TextProblem(i, $"control character U+{(int)c:X4}");
            }

            if (identifier && char.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                return new TextProblem(i, $"format character U+{(int)c:X4}");
            }
        }

        return null;
    }
}

/// <summary>Why a string is not valid text: what was found and at which UTF-16 index (never the text itself).</summary>
public sealed record TextProblem(int Index, string What)
{
    public override string ToString() => $"{What} at index {Index}";
}
