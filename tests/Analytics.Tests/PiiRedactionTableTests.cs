using Analytics.Redacting;

namespace Analytics.Tests;

/// <summary>
/// The redaction table (Redaction/pii-cases.tsv): personal data and secrets as people write them in several
/// countries, which must become placeholders, and numbers that must stay (versions, dates, prices, order numbers).
/// </summary>
public class PiiRedactionTableTests
{
    private static readonly string Table = Path.Combine(ContractSchemaTests.RepositoryRoot(), "tests", "Analytics.Tests", "Redaction", "pii-cases.tsv");

    private static IEnumerable<string[]> Rows() =>
        File.ReadLines(Table).Where(line => line.Length > 0 && !line.StartsWith('#')).Select(line => line.Split('\t'));

    public static TheoryData<string, string, string> Redacted() => Cases("redact");

    public static TheoryData<string, string, string> Kept() => Cases("keep");

    private static TheoryData<string, string, string> Cases(string expect)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var row in Rows().Where(r => r[0] == expect))
        {
            data.Add(row[1], row[2], row[3] == "=" ? row[2] : row[3]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Redacted))]
    public void Personal_data_and_secrets_become_placeholders(string country, string input, string expected)
    {
        Assert.Equal(expected, PiiRedactor.Redact(input).Text);
        Assert.NotEmpty(country);
    }

    [Theory]
    [MemberData(nameof(Kept))]
    public void Versions_dates_prices_and_references_stay_as_written(string country, string input, string expected)
    {
        var (text, found) = PiiRedactor.Redact(input);
        Assert.Equal(expected, text);
        Assert.Empty(found);
        Assert.NotEmpty(country);
    }

    [Fact]
    public void The_table_has_at_least_100_cases_each_way_from_several_countries()
    {
        var rows = Rows().ToList();
        Assert.True(rows.Count(r => r[0] == "redact") >= 100);
        Assert.True(rows.Count(r => r[0] == "keep") >= 100);
        Assert.True(rows.Select(r => r[1]).Distinct().Count() >= 10);
    }

    [Theory]
    [InlineData("ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john@example.com")]
    [InlineData("41\u200b11\u200d11", "411111")]
    [InlineData("٠١٢", "012")]
    [InlineData("plain ascii", "plain ascii")]
    public void Normalizing_folds_look_alikes_and_drops_format_characters(string input, string expected) =>
        Assert.Equal(expected, PiiRedactor.Normalize(input));

    [Fact]
    public void Text_without_personal_data_is_kept_exactly_as_written_even_with_look_alike_characters()
    {
        const string Written = "ｆｕｌｌ－ｗｉｄｔｈ and zero\u200bwidth";
        Assert.Same(Written, PiiRedactor.Redact(Written).Text);
    }
}
