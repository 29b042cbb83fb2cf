namespace Analytics.Contracts;

/// <summary>Documented limits (docs/contracts.md). Events over them are refused with a reason.</summary>
public static class ContractLimits
{
    public const int SchemaVersion = 1;
    public const int MaxMessageBytes = 1024 * 1024;
    public const int MaxEventsPerMessage = 1000;
    public const int MaxShortText = 128;
    public const int MaxComment = 2000;
    public const int MaxExcerpt = 2000;
    public const int MaxListItems = 16;
    public const int MaxTurnIndex = 10_000;
    public const int MaxLatencyMs = 3_600_000;
    public const int MaxTokens = 10_000_000;

    /// <summary>Capabilities, modalities and moderation categories are lowercase slugs.</summary>
    public const string SlugPattern = "^[a-z][a-z0-9_]{0,39}$";
}
