using System.Security.Cryptography;
using System.Text.Json;
using Analytics.Contracts;

namespace Analytics.Ingesting;

/// <summary>
/// The hash that tells a duplicate from an eventId reused for other content: SHA-256 (lowercase hex) of the event's
/// canonical JSON as it is stored: the contract record after redaction, serialized with <see cref="FeedbackJson.Options"/>
/// (fields in contract order, unknown properties and nulls left out, <c>occurredAt</c> in UTC), so that formatting,
/// property order, unknown properties and the time of receipt do not change it. Kept in the event's Marten header
/// <see cref="Header"/> (<c>mt_events.headers</c>), where the duplicate check looks.
/// </summary>
public static class PayloadHash
{
    public const string Header = "payloadSha256";

    public static string Of(object contract)
    {
        object canonical = contract switch
        {
            ConversationStarted e => e with { OccurredAt = e.OccurredAt.ToUniversalTime() },
            ResponseGenerated e => e with { OccurredAt = e.OccurredAt.ToUniversalTime() },
            ResponseRated e => e with { OccurredAt = e.OccurredAt.ToUniversalTime() },
            ResponsesCompared e => e with { OccurredAt = e.OccurredAt.ToUniversalTime() },
            _ => throw new ArgumentException($"{contract.GetType().Name} is not a v1 feedback event contract.", nameof(contract)),
        };
        return Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(canonical, canonical.GetType(), FeedbackJson.Options)));
    }
}
