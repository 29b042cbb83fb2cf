namespace Analytics.Ingesting;

/// <summary>Why an event (or a whole message) was not stored. Codes are documented in docs/contracts.md.</summary>
public sealed record Refusal(string Code, string Reason)
{
    public static class Codes
    {
        public const string InvalidJson = "invalid_json";
        public const string NotAnObject = "not_an_object";
        public const string MissingField = "missing_field";
        public const string UnknownType = "unknown_type";
        public const string UnsupportedSchemaVersion = "unsupported_schema_version";
        public const string InvalidId = "invalid_id";
        public const string UnknownEnum = "unknown_enum";
        public const string InvalidField = "invalid_field";
        public const string InvalidText = "invalid_text";
        public const string TextTooLong = "text_too_long";
        public const string TooManyItems = "too_many_items";
        public const string MessageTooLarge = "message_too_large";
        public const string TooManyEvents = "too_many_events";
        public const string Unreadable = "unreadable";
        public const string EventIdConflict = "event_id_conflict";
    }
}
