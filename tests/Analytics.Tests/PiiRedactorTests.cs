using Analytics.Redacting;

namespace Analytics.Tests;

public class PiiRedactorTests
{
    [Theory]
    [InlineData("email me at jane.doe@example.com please", "email me at [EMAIL] please")]
    [InlineData("k.tanaka+work@example.co.jp", "[EMAIL]")]
    [InlineData("call +1 415 555 0134 tomorrow", "call [PHONE] tomorrow")]
    [InlineData("(212) 555-0199", "[PHONE]")]
    [InlineData("+44 20 7946 0958", "[PHONE]")]
    [InlineData("ring 555-0147", "ring [PHONE]")]
    [InlineData("my card 4111 1111 1111 1111 was charged", "my card [CARD] was charged")]
    [InlineData("card 4111-1111-1111-1111", "card [CARD]")]
    [InlineData("order 4111 1111 1111 1112 failed", "order 4111 1111 1111 1112 failed")] // fails Luhn: not a card
    [InlineData("from 192.168.1.20 again", "from [IP] again")]
    [InlineData("v6 2001:db8:85a3::8a2e:370:7334 here", "v6 [IP] here")]
    [InlineData("IBAN DE89 3704 0044 0532 0130 00 thanks", "IBAN [IBAN] thanks")]
    [InlineData("ssn 078-05-1120", "ssn [SSN]")]
    [InlineData("released 2026-11-27, version 1.4.2, 12 items", "released 2026-11-27, version 1.4.2, 12 items")]
    [InlineData("the code returned 404 after 30 seconds", "the code returned 404 after 30 seconds")]
    public void Personal_data_becomes_a_typed_placeholder_and_the_rest_stays(string input, string expected)
    {
        Assert.Equal(expected, PiiRedactor.Redact(input).Text);
    }

    [Fact]
    public void It_reports_what_it_found()
    {
        var (_, found) = PiiRedactor.Redact("a@b.io, c@d.io and +1 415 555 0134");
        Assert.Equal(2, found[PiiRedactor.Email]);
        Assert.Equal(1, found[PiiRedactor.Phone]);
    }

    [Theory]
    [InlineData("4111111111111111", true)]
    [InlineData("5500 0000 0000 0004", true)]
    [InlineData("4111111111111112", false)]
    [InlineData("1234", false)]
    public void Luhn_checks_card_numbers(string number, bool valid) => Assert.Equal(valid, PiiRedactor.Luhn(number));

    [Fact]
    public void Null_and_empty_pass_through() => Assert.Null(PiiRedactor.Redact(null).Text);
}
