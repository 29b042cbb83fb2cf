using System.Globalization;
using System.Text;
using CsCheck;

namespace Analytics.IntegrationTests;

/// <summary>What a generated string breaks, by the rules of docs/contracts.md ("Text"), worked out as it is generated.</summary>
[Flags]
public enum TextBreaks
{
    None = 0,

    /// <summary>U+0000, an unpaired surrogate, a control character other than tab/LF/CR, bytes that are not UTF-8: refused in any field.</summary>
    AnyField = 1,

    /// <summary>A format character (zero-width, bidi, tags…) or tab/LF/CR: refused in identifiers, fine in free text.</summary>
    Identifier = 2,

    /// <summary>Not JSON at all (a raw control byte in a string, an invalid escape): the element cannot be parsed.</summary>
    Json = 4,
}

/// <summary>A piece of a JSON string literal: its bytes between the quotes, the text it stands for, what it breaks.</summary>
public sealed record TextPiece(byte[] Json, string Text, TextBreaks Breaks);

/// <summary>A generated string field: the JSON string literal (quotes included) as bytes, its text, what it breaks.</summary>
public sealed record HostileString(byte[] Json, string Text, TextBreaks Breaks, string Classes)
{
    public int Utf16Length => Text.Length;
}

/// <summary>
/// CsCheck generators of hostile text for the content fuzz suite: every Unicode plane, NUL, unpaired surrogates (as JSON
/// escapes: a .NET string sent as UTF-8 would lose them), C0/C1 controls, zero-width, bidi and other format characters,
/// combining-mark runs, emoji ZWJ sequences, regional-indicator flags, JSON's own specials, bytes that are not UTF-8,
/// invalid escapes, and strings of exactly, and just over, the longest allowed length.
/// </summary>
public static class HostileText
{
    private static readonly Gen<TextPiece> Word =
        Gen.Int[1, 8].SelectMany(n => Gen.Char['a', 'z'].Array[n]).Select(chars => Valid(new string(chars), escapeAll: false));

    /// <summary>Any scalar value of any of the 17 planes, raw UTF-8 or escaped.</summary>
    private static readonly Gen<TextPiece> AnyPlane = Gen.Select(Gen.Int[0, 16], Gen.Int[0, 0xFFFF], Gen.Bool, (plane, offset, escape) =>
    {
        var codePoint = (plane << 16) | offset;
        if (codePoint is >= 0xD800 and <= 0xDFFF)
        {
            codePoint += 0x1000; // surrogates have their own generator
        }

        return Valid(char.ConvertFromUtf32(codePoint), escape);
    });

    private static readonly Gen<TextPiece> Nul = Gen.Const(Piece(@"\u0000", "\0", TextBreaks.AnyField));

    private static readonly Gen<TextPiece> LoneSurrogate = Gen.OneOfConst(
        Piece(@"\ud83dx", "\ud83dx", TextBreaks.AnyField), // an emoji cut after its high half
        Piece(@"x\udc00", "x\udc00", TextBreaks.AnyField),
        Piece(@"\ude00\ud83dx", "\ude00\ud83dx", TextBreaks.AnyField), // the halves the wrong way round
        Piece(@"\udbffé", "\udbffé", TextBreaks.AnyField),
        Piece(@"\uD800\uD800x", "\ud800\ud800x", TextBreaks.AnyField));

    private static readonly Gen<TextPiece> C0 = Gen.Select(Gen.Int[1, 0x1F], Gen.Bool, (c, shortEscape) =>
    {
        var text = ((char)c).ToString();
        var json = shortEscape && c is 8 or 9 or 10 or 12 or 13
            ? c switch { 8 => @"\b", 9 => @"\t", 10 => @"\n", 12 => @"\f", _ => @"\r" }
            : $"\\u{c:x4}";
        return Piece(json, text, c is 9 or 10 or 13 ? TextBreaks.Identifier : TextBreaks.AnyField);
    });

    /// <summary>C1 controls and DEL: JSON allows them raw, the contract does not.</summary>
    private static readonly Gen<TextPiece> C1 = Gen.Select(Gen.Int[0x7F, 0x9F], Gen.Bool, (c, escape) =>
        escape ? Piece($"\\u{c:X4}", ((char)c).ToString(), TextBreaks.AnyField) : new TextPiece(Encoding.UTF8.GetBytes(((char)c).ToString()), ((char)c).ToString(), TextBreaks.AnyField));

    private static readonly Gen<TextPiece> Format = Gen.Select(Gen.OneOfConst(
            "\u200B", "\u200C", "\u200D", "\u200E", "\u200F", "\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068",
            "\u2069", "\uFEFF", "\u00AD", "\u2060", "\u061C", "\u180E", "\U000E0001", "\U000E0067", "\U0001D173"), Gen.Bool,
        (text, escape) => Valid(text, escape));

    private static readonly Gen<TextPiece> CombiningRun = Gen.Select(Gen.Char['a', 'z'], Gen.Int[0x300, 0x36F].Array[1, 60],
        (letter, marks) => Valid(letter + string.Concat(marks.Select(m => (char)m)), escapeAll: false));

    private static readonly Gen<TextPiece> Emoji = Gen.Frequency(
        (3, Gen.OneOfConst("👩‍👩‍👧‍👦", "👍🏽", "1️⃣", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🧑🏾‍🚀", "❤️‍🔥", "🫠", "😀").Select(e => Valid(e, escapeAll: false))),
        (2, Gen.Select(Gen.Char['A', 'Z'], Gen.Char['A', 'Z'], Gen.Bool,
            (a, b, escape) => Valid(char.ConvertFromUtf32(0x1F1E6 + a - 'A') + char.ConvertFromUtf32(0x1F1E6 + b - 'A'), escape))));

    private static readonly Gen<TextPiece> JsonSpecial = Gen.Select(Gen.OneOfConst("\"", "\\", "/", "\u2028", "\u2029", "</script>", "'", "\\u0000"),
        Gen.Bool, (text, escape) => Valid(text, escape));

    private static readonly Gen<TextPiece> NotUtf8 = Gen.OneOfConst(
        new TextPiece([0xFF], "\uFFFD", TextBreaks.AnyField),
        new TextPiece([0xC0, 0x80], "\uFFFD", TextBreaks.AnyField), // overlong NUL
        new TextPiece([0xED, 0xA0, 0xBD], "\uFFFD", TextBreaks.AnyField), // an encoded surrogate (CESU-8)
        new TextPiece([0xE2, 0x82, (byte)'x'], "\uFFFDx", TextBreaks.AnyField), // cut short
        new TextPiece([0xF4, 0x90, 0x80, 0x80], "\uFFFD", TextBreaks.AnyField)); // above U+10FFFF

    private static readonly Gen<TextPiece> NotJson = Gen.OneOfConst(
        new TextPiece([0x01], "\u0001", TextBreaks.Json), // raw control bytes are not allowed in a JSON string
        new TextPiece([0x1F], "\u001F", TextBreaks.Json),
        new TextPiece([(byte)'\n'], "\n", TextBreaks.Json),
        Piece(@"\uZZZZ", "?", TextBreaks.Json),
        Piece(@"\x41", "?", TextBreaks.Json),
        Piece(@"\u12g", "?", TextBreaks.Json),
        Piece(@"\'", "?", TextBreaks.Json));

    private static readonly Gen<(TextPiece Piece, string Class)> AnyPiece = Gen.Frequency(
        (5, Word.Select(p => (p, "plain"))),
        (4, AnyPlane.Select(p => (p, "plane"))),
        (1, Nul.Select(p => (p, "nul"))),
        (1, LoneSurrogate.Select(p => (p, "surrogate"))),
        (1, C0.Select(p => (p, "c0"))),
        (1, C1.Select(p => (p, "c1"))),
        (2, Format.Select(p => (p, "format"))),
        (2, CombiningRun.Select(p => (p, "combining"))),
        (2, Emoji.Select(p => (p, "emoji"))),
        (1, JsonSpecial.Select(p => (p, "json_special"))),
        (1, NotUtf8.Select(p => (p, "not_utf8"))),
        (1, NotJson.Select(p => (p, "invalid_escape"))));

    /// <summary>A string field of at most <paramref name="limit"/> UTF-16 units: mixed hostile pieces, or exactly the limit, or just over it.</summary>
    public static Gen<HostileString> Field(int limit, bool identifier) => Gen.Frequency(
        (10, AnyPiece.Array[1, 12].Select(pieces => Join(pieces.Select(p => p.Piece), string.Join(",", pieces.Select(p => p.Class).Distinct()), identifier))),
        (3, Longest(limit, 0, identifier).Select(s => s with { Classes = "longest" })),
        (1, Gen.Int[1, 3].SelectMany(over => Longest(limit, over, identifier)).Select(s => s with { Classes = "over_limit" })));

    /// <summary>Exactly <paramref name="limit"/> + <paramref name="over"/> UTF-16 units of valid text from every plane (supplementary characters count 2).</summary>
    private static Gen<HostileString> Longest(int limit, int over, bool identifier) =>
        Gen.Select(Gen.Int[0, 16].Array[limit + over], Gen.Int[0x20, 0xFFFF].Array[limit + over], (planes, offsets) =>
        {
            var text = new StringBuilder(identifier ? "m" : string.Empty);
            for (var i = 0; text.Length < limit + over && i < planes.Length; i++)
            {
                var codePoint = (planes[i] << 16) | offsets[i];
                if (codePoint is >= 0xD800 and <= 0xDFFF || (codePoint <= 0xFFFF && char.IsControl((char)codePoint))
                    || CharUnicodeInfo.GetUnicodeCategory(codePoint) == UnicodeCategory.Format
                    || text.Length + (codePoint > 0xFFFF ? 2 : 1) > limit + over)
                {
                    codePoint = 'a' + (i % 26);
                }

                text.Append(char.ConvertFromUtf32(codePoint));
            }

            return Join([Valid(text.ToString(), escapeAll: false)], "longest", identifier);
        });

    private static HostileString Join(IEnumerable<TextPiece> pieces, string classes, bool identifier)
    {
        // Identifiers start with a letter: a blank identifier is refused for another reason (invalid_field).
        var all = identifier ? pieces.Prepend(Valid("m", escapeAll: false)).ToList() : pieces.ToList();
        var json = new List<byte> { (byte)'"' };
        foreach (var piece in all)
        {
            json.AddRange(piece.Json);
        }

        json.Add((byte)'"');
        return new HostileString([.. json], string.Concat(all.Select(p => p.Text)), all.Aggregate(TextBreaks.None, (b, p) => b | p.Breaks), classes);
    }

    /// <summary>Valid text (no unpaired surrogate), as raw UTF-8 or as \u escapes; what it breaks is read off its characters.</summary>
    private static TextPiece Valid(string text, bool escapeAll)
    {
        var json = new StringBuilder();
        var breaks = TextBreaks.None;
        foreach (var c in text)
        {
            json.Append(escapeAll || c < 0x20 || c is '"' or '\\' ? $"\\u{(int)c:x4}" : c.ToString());
        }

        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value is 0 || (rune.Value <= 0xFFFF && char.IsControl((char)rune.Value) && rune.Value is not (9 or 10 or 13)))
            {
                breaks |= TextBreaks.AnyField;
            }
            else if (rune.Value is 9 or 10 or 13 || Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format)
            {
                breaks |= TextBreaks.Identifier;
            }
        }

        return new TextPiece(Encoding.UTF8.GetBytes(json.ToString()), text, breaks);
    }

    private static TextPiece Piece(string json, string text, TextBreaks breaks) => new(Encoding.UTF8.GetBytes(json), text, breaks);
}
