using System.Security.Cryptography;
using System.Text;
using Analytics.Contracts;
using Analytics.Hosting;
using Microsoft.Extensions.Configuration;

namespace Analytics.Redacting;

/// <summary>
/// Replaces the <c>userId</c> of <c>ConversationStarted</c> with a keyed pseudonym before it is stored:
/// <c>u-</c> + the first 128 bits of HMAC-SHA256(<c>Privacy:UserIdKey</c>, userId) in hex. The same user keeps the
/// same pseudonym (per-user views still group), nobody without the key can go back or test a guess, and a resend of
/// the same event has the same payload (duplicates stay harmless). Rotating the key starts new pseudonyms (and a
/// resend of an old event is then refused as <c>event_id_conflict</c>): docs/security.md, "Personal data".
/// The development key (<see cref="UnsafeDefaults.DevelopmentUserIdKey"/>) is refused outside Development.
/// </summary>
public sealed class UserIdPseudonyms
{
    public const string Setting = "Privacy:UserIdKey";

    private readonly byte[] _key;

    public UserIdPseudonyms(string key) => _key = Encoding.UTF8.GetBytes(key);

    public static UserIdPseudonyms FromConfiguration(IConfiguration configuration) =>
        new(configuration[Setting] is { Length: > 0 } key ? key : UnsafeDefaults.DevelopmentUserIdKey);

    /// <summary>
    /// The user id's pseudonym; a value that already has a pseudonym's form (<c>u-</c> and 32 lowercase hex digits) is
    /// kept, so an event published again from the refused queue's redacted copy keeps its user (docs/security.md).
    /// </summary>
    public string Pseudonym(string userId) => IsPseudonym(userId)
        ? userId
        : "u-" + Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userId)).AsSpan(0, 16));

    /// <summary>Whether the value has a pseudonym's form: <c>u-</c> and 32 lowercase hex digits.</summary>
    public static bool IsPseudonym(string value) =>
        value.Length == 34 && value.StartsWith("u-", StringComparison.Ordinal) && value.AsSpan(2).IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>The contract with its user id pseudonymized (ConversationStarted); others as they are.</summary>
    public object Apply(object contract) => contract is ConversationStarted started
        ? started with { UserId = Pseudonym(started.UserId) }
        : contract;
}
