using Analytics.Contracts;

namespace Analytics.Redacting;

/// <summary>Redacts the free-text fields of a validated contract (comments and excerpts) before it is recorded.</summary>
public static class ContractRedaction
{
    public static object Redact(object contract, Dictionary<string, int> found) => contract switch
    {
        ResponseGenerated e => e with { PromptExcerpt = Text(e.PromptExcerpt, found), ResponseExcerpt = Text(e.ResponseExcerpt, found) },
        ResponseRated e => e with { Comment = Text(e.Comment, found) },
        ResponsesCompared e => e with { Comment = Text(e.Comment, found) },
        _ => contract,
    };

    private static string? Text(string? text, Dictionary<string, int> found)
    {
        var (redacted, kinds) = PiiRedactor.Redact(text);
        foreach (var (kind, count) in kinds)
        {
            found[kind] = found.GetValueOrDefault(kind) + count;
        }

        return redacted;
    }
}
