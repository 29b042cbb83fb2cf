using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Analytics.Redacting;

/// <summary>
/// Replaces personal data and secrets in free text with typed placeholders before anything is stored
/// (docs/security.md, "Personal data"). The text is first normalized the way a reader sees it: NFKC (full-width digits
/// and '＠' become ASCII), other decimal digits become ASCII digits, and zero-width and other format characters are
/// removed; when nothing is found the text is kept exactly as written.
/// Classes, in this order: secrets (sk-… and AKIA… keys, bearer tokens, JWTs, password/secret/api-key pairs), e-mail
/// addresses, IBANs (any case, spaces or hyphens, mod-97 checked), payment cards (Luhn checked, so order numbers
/// survive), US social security numbers (dashed, spaced, or plain digits after "SSN"), IPv4/IPv6 addresses (not after
/// "version"/"build"/"v"), phone numbers (with a + or a trunk 0, separators including '/', or a plain digit run that
/// starts with + or 0 or follows a word such as "call"); dates, prices, versions and numbers after "order"/"invoice"/
/// "ticket" are left alone.
/// </summary>
public static partial class PiiRedactor
{
    public const string Email = "[EMAIL]";
    public const string Iban = "[IBAN]";
    public const string Card = "[CARD]";
    public const string Ssn = "[SSN]";
    public const string Ip = "[IP]";
    public const string Phone = "[PHONE]";
    public const string Secret = "[SECRET]";

    [GeneratedRegex(@"\b(?:sk-(?:proj-|live-|test-|ant-)?[A-Za-z0-9_-]{16,}|(?:AKIA|ASIA)[A-Z0-9]{16}\b|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{12,})")]
    private static partial Regex SecretPattern();

    [GeneratedRegex(@"(?<name>\b(?i:pass(?:word|wd|code)?|pwd|passwort|mot de passe|contraseña|secret|api[ _-]?key|access[ _-]?key|client[ _-]?secret))(?<sep>\s*(?:[:=]|\bis\b)\s*)(?<value>[""']?\S{3,}?[""']?)(?=[\s,;.!?)]*(?:\s|$))")]
    private static partial Regex SecretPairPattern();

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?\b")]
    private static partial Regex IbanPattern();

    [GeneratedRegex(@"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")]
    private static partial Regex CardPattern();

    [GeneratedRegex(@"(?<![\d.,/-])(?<area>\d{3})(?<sep>[- ])(?<group>\d{2})\k<sep>(?<serial>\d{4})(?![\d.,/-]\d|\d)")]
    private static partial Regex SsnPattern();

    [GeneratedRegex(@"(?i:\b(?:ssn|social security(?: number| no\.?| #)?|soc\.? sec\.?)\s*(?:#|no\.?|number|is|:)?\s*)(?<digits>\d{9})\b")]
    private static partial Regex SsnPlainPattern();

    [GeneratedRegex(@"(?<![\d.])\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b(?!\.\d)|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?\b")]
    private static partial Regex IpPattern();

    [GeneratedRegex(@"^\d{3}-\d{2}-\d{4}$|^(?:19|20)\d\d-(?:19|20)\d\d$")]
    private static partial Regex NotPhoneShape();

    [GeneratedRegex(@"^(?:\d{3}-\d{3,4}(?:-\d{4})?|\d{3}\.\d{3}\.\d{4}|\d{3} \d{3} \d{4})$")]
    private static partial Regex NorthAmericanShape();

    [GeneratedRegex(@"(?<![\w@+.,/])(?:\+\d{1,3}[ .-]?)?(?:\(0\)[ ]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:(?:[ .-]| ?/ ?)\d{2,8}){1,5}(?![\w]|[.,/]\d)")]
    private static partial Regex PhonePattern();

    [GeneratedRegex(@"(?<![\w@+.,/:#-])(?<run>\+?\d{8,15})(?![\w]|[.,/:-]\d)")]
    private static partial Regex DigitRunPattern();

    [GeneratedRegex(@"^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2})(?![\d./-])")]
    private static partial Regex DatePattern();

    [GeneratedRegex(@"(?i)\b(?:order|invoice|ticket|ref|reference|tracking|case|booking|confirmation|receipt|transaction|account|customer|bestellung|bestellnummer|rechnung|commande|facture|pedido|factura|ordine|zamówienie|注文)\b[^\n]{0,16}$|#\s*$|\b(?i:no|nr|n°|№)\.?\s*$")]
    private static partial Regex ReferenceContext();

    [GeneratedRegex(@"(?i)(?:\b(?:call|phone|tel|telephone|mobile|cell|ring|whatsapp|sms|text me|reach me|contact me|number|handy|telefon|ruf|anrufen|téléphone|tél|appelez|appelle|portable|llama|llámame|móvil|teléfono|chiama|chiamami|cellulare|ligue|liga|telefone|bel|soita|zadzwoń)\b|電話|전화)[^\n]{0,20}$")]
    private static partial Regex PhoneContext();

    [GeneratedRegex(@"(?i)(?:\b(?:version|ver|build|release|firmware|update|upgrade|app|sdk|api|chrome|android|ios|python|node|section|chapter|step|rule|v)|§)[\s.:]*$")]
    private static partial Regex VersionContext();

    [GeneratedRegex(@"^\s?(?:€|\$|£|¥|₹|(?i:kr|eur|usd|gbp|chf|sek|nok|dkk|pln|zł|yen|jpy|inr|rs|dollars?|euros?|pounds?|cents?)\b|%)")]
    private static partial Regex PriceAfter();

    [GeneratedRegex(@"(?:[€$£¥₹]|\b(?i:eur|usd|gbp|chf|sek|nok|dkk|pln|jpy|inr|rs\.?))\s?$")]
    private static partial Regex PriceBefore();

    /// <summary>The text with personal data replaced, and what was found (kind → count).</summary>
    public static (string? Text, IReadOnlyDictionary<string, int> Found) Redact(string? text)
    {
        var found = new Dictionary<string, int>();
        if (string.IsNullOrEmpty(text))
        {
            return (text, found);
        }

        var normalized = Normalize(text);
        var result = RedactNormalized(normalized, found);
        return (found.Count == 0 ? text : result, found);
    }

    /// <summary>NFKC, other decimal digits as ASCII digits, format characters (zero-width and the like) removed.
    /// ASCII text is returned as it is.</summary>
    public static string Normalize(string text)
    {
        if (Ascii.IsValid(text))
        {
            return text;
        }

        var composed = text.Normalize(NormalizationForm.FormKC);
        var builder = new StringBuilder(composed.Length);
        foreach (var c in composed)
        {
            switch (CharUnicodeInfo.GetUnicodeCategory(c))
            {
                case UnicodeCategory.Format:
                    continue;
                case var _ when c is >= '\uFF01' and <= '\uFF5E': // full-width forms: NFKC's mapping, also under invariant globalization
                    builder.Append((char)(c - 0xFEE0));
                    continue;
                case var _ when c == '\u3000':
                    builder.Append(' ');
                    continue;
                case UnicodeCategory.DecimalDigitNumber when c > '9':
                    builder.Append((char)('0' + (int)CharUnicodeInfo.GetNumericValue(c)));
                    continue;
                default:
                    builder.Append(c);
                    continue;
            }
        }

        return builder.ToString();
    }

    private static string RedactNormalized(string text, Dictionary<string, int> found)
    {
        // Every pattern needs an '@' (e-mail), a digit, a ':' or '=' (IPv6, pairs) or one of a few secret prefixes:
        // text without them is returned as it is, which spares most texts the regex scans (redaction was a fifth of
        // the worker's CPU).
        var hasDigit = text.AsSpan().IndexOfAnyInRange('0', '9') >= 0;
        var hasPair = text.AsSpan().IndexOfAny(':', '=') >= 0 || text.Contains(" is ", StringComparison.Ordinal);
        var hasAt = text.Contains('@', StringComparison.Ordinal);
        var mayHoldSecret = text.Contains("sk-", StringComparison.Ordinal) || text.Contains("AKIA", StringComparison.Ordinal)
            || text.Contains("ASIA", StringComparison.Ordinal) || text.Contains("eyJ", StringComparison.Ordinal)
            || text.Contains("bearer", StringComparison.OrdinalIgnoreCase);
        if (!hasDigit && !hasPair && !hasAt && !mayHoldSecret)
        {
            return text;
        }

        var result = text;
        if (mayHoldSecret)
        {
            result = Replace(SecretPattern(), result, Secret, found);
        }

        if (hasPair)
        {
            result = SecretPairPattern().Replace(result, m => m.Groups["value"].Value.StartsWith('[')
                ? m.Value
                : m.Groups["name"].Value + m.Groups["sep"].Value + Count(Secret, found));
        }

        if (hasAt)
        {
            result = Replace(EmailPattern(), result, Email, found);
        }

        if (!hasDigit)
        {
            return hasPair ? Replace(IpPattern(), result, Ip, found) : result;
        }

        result = IbanPattern().Replace(result, m => IbanChecksum(m.Value) ? Count(Iban, found) : m.Value);
        result = CardPattern().Replace(result, m => Luhn(m.Value) ? Count(Card, found) : m.Value);
        result = SsnPattern().Replace(result, m => SsnShape(m.Groups["area"].Value, m.Groups["group"].Value, m.Groups["serial"].Value)
            && !IsReference(result, m.Index) ? Count(Ssn, found) : m.Value);
        result = SsnPlainPattern().Replace(result, m =>
            m.Value[..(m.Groups["digits"].Index - m.Index)] + Count(Ssn, found));
        result = IpPattern().Replace(result, m => VersionContext().IsMatch(Before(result, m.Index, 24)) ? m.Value : Count(Ip, found));
        result = PhonePattern().Replace(result, m => LooksLikePhone(result, m) ? Count(Phone, found) : m.Value);
        result = DigitRunPattern().Replace(result, m => PlainRunIsPhone(result, m) ? Count(Phone, found) : m.Value);
        return result;
    }

    private static bool LooksLikePhone(string text, Match m)
    {
        var value = m.Value;
        var digits = value.Count(char.IsAsciiDigit);
        if (digits is < 7 or > 15 || DatePattern().IsMatch(value) || NotPhoneShape().IsMatch(value) || IsPrice(text, m))
        {
            return false;
        }

        if (value.StartsWith('+'))
        {
            return true;
        }

        if (value.IndexOfAny([' ', '-', '.', '(', '/']) < 0 || IsReference(text, m.Index))
        {
            return false;
        }

        // Grouped digits are a phone with a trunk 0, an area code in parentheses, the North American 3-3-4 / 3-4
        // shape or a phone word before them; otherwise they are counts, scores, ranges ("10 20 30 40", "8 000 000").
        return value.StartsWith('0') || value.StartsWith('(') || NorthAmericanShape().IsMatch(value)
            || PhoneContext().IsMatch(Before(text, m.Index, 32));
    }

    private static bool PlainRunIsPhone(string text, Match m)
    {
        var run = m.Groups["run"].Value;
        if (IsPrice(text, m) || IsReference(text, m.Index))
        {
            return false;
        }

        return run.StartsWith('+')
            || (run.StartsWith('0') && run.Length is >= 10 and <= 13 && !run.StartsWith("00000", StringComparison.Ordinal))
            || (run.Length is >= 9 and <= 13 && PhoneContext().IsMatch(Before(text, m.Index, 32)));
    }

    private static bool IsReference(string text, int index) => ReferenceContext().IsMatch(Before(text, index, 32));

    private static bool IsPrice(string text, Match m) =>
        PriceBefore().IsMatch(Before(text, m.Index, 6)) || PriceAfter().IsMatch(text.AsSpan(m.Index + m.Length, Math.Min(10, text.Length - m.Index - m.Length)).ToString());

    private static string Before(string text, int index, int length) => text[Math.Max(0, index - length)..index];

    /// <summary>US SSN shape: area not 000, 666 or 9xx; group not 00; serial not 0000.</summary>
    private static bool SsnShape(string area, string group, string serial) =>
        area is not ("000" or "666") && area[0] != '9' && group != "00" && serial != "0000";

    /// <summary>True for an IBAN whose ISO 7064 mod-97 check passes (any case, spaces or hyphens).</summary>
    public static bool IbanChecksum(string candidate)
    {
        var compact = new string(candidate.Where(char.IsAsciiLetterOrDigit).Select(char.ToUpperInvariant).ToArray());
        if (compact.Length is < 15 or > 34 || !char.IsAsciiLetter(compact[0]) || !char.IsAsciiLetter(compact[1]))
        {
            return false;
        }

        var remainder = 0;
        foreach (var c in compact[4..] + compact[..4])
        {
            var value = char.IsAsciiDigit(c) ? c - '0' : c - 'A' + 10;
            remainder = value >= 10 ? ((remainder * 100) + value) % 97 : ((remainder * 10) + value) % 97;
        }

        return remainder == 1;
    }

    /// <summary>True when the digits of <paramref name="candidate"/> pass the Luhn check (payment cards).</summary>
    public static bool Luhn(string candidate)
    {
        var digits = candidate.Where(char.IsAsciiDigit).Select(c => c - '0').ToArray();
        if (digits.Length is < 13 or > 19 || digits.All(d => d == digits[0]))
        {
            return false;
        }

        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i];
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
        }

        return sum % 10 == 0;
    }

    private static string Replace(Regex pattern, string text, string placeholder, Dictionary<string, int> found) =>
        pattern.Replace(text, _ => Count(placeholder, found));

    private static string Count(string placeholder, Dictionary<string, int> found)
    {
        found[placeholder] = found.GetValueOrDefault(placeholder) + 1;
        return placeholder;
    }
}
