using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Analytics.Access;

/// <summary>One configured API key: its id (the configuration section name), who holds it and its role. Only the
/// SHA-256 hash of the key is kept.</summary>
public sealed record ApiKeyEntry(string Id, string Owner, string Role, byte[] Sha256, int? PlainLength);

/// <summary>
/// The API keys from configuration, section <c>Auth:ApiKeys</c>, one subsection per key id:
/// <c>Auth:ApiKeys:&lt;id&gt;:Owner</c>, <c>:Role</c> and <c>:Sha256</c> (the hex SHA-256 of the key, as printed by
/// <c>Analytics.Api new-key</c>). <c>:Key</c> (the key itself) is accepted instead of <c>:Sha256</c> for keys injected
/// from a secret store; it is hashed at once. A presented key is hashed and compared with every entry in constant time.
/// </summary>
public sealed class ApiKeyStore
{
    public const string Section = "Auth:ApiKeys";

    /// <summary>The keys the README publishes for local development (appsettings.Development.json): refused outside
    /// Development (<see cref="Hosting.UnsafeDefaults"/>).</summary>
    public static readonly IReadOnlyList<string> PublishedDevelopmentKeys =
        ["local-dev-viewer-key", "local-dev-triager-key", "local-dev-admin-key", "local-dev-exporter-key"];

    private readonly IReadOnlyList<ApiKeyEntry> _entries;

    public ApiKeyStore(IReadOnlyList<ApiKeyEntry> entries) => _entries = entries;

    public IReadOnlyList<ApiKeyEntry> Entries => _entries;

    public static ApiKeyStore FromConfiguration(IConfiguration configuration)
    {
        var entries = new List<ApiKeyEntry>();
        foreach (var section in configuration.GetSection(Section).GetChildren())
        {
            var name = $"{Section}:{section.Key}";
            if (!string.IsNullOrEmpty(section.Value) && !section.GetChildren().Any())
            {
                throw new InvalidOperationException(
                    $"{name} is a plain 'key: role' entry; give {name}:Owner, {name}:Role and {name}:Sha256 instead (docs/security.md, \"API keys\").");
            }

            var owner = Required(section, "Owner", name);
            var role = Required(section, "Role", name);
            var plain = section["Key"];
            var hex = section["Sha256"];
            byte[] hash;
            if (!string.IsNullOrEmpty(plain))
            {
                hash = Hash(plain);
            }
            else if (!string.IsNullOrEmpty(hex) && hex.Length == 64 && hex.All(Uri.IsHexDigit))
            {
                hash = Convert.FromHexString(hex);
            }
            else
            {
                throw new InvalidOperationException($"{name} needs {name}:Sha256 (64 hex digits, the SHA-256 of the key) or {name}:Key.");
            }

            entries.Add(new ApiKeyEntry(section.Key, owner, role, hash, string.IsNullOrEmpty(plain) ? null : plain.Length));
        }

        return new ApiKeyStore(entries);
    }

    /// <summary>The entry whose key this is, or null. Every entry is compared (no early exit), each in constant time.</summary>
    public ApiKeyEntry? Find(string presentedKey)
    {
        var hash = Hash(presentedKey);
        ApiKeyEntry? found = null;
        foreach (var entry in _entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Sha256))
            {
                found = entry;
            }
        }

        return found;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static string HashHex(string key) => Convert.ToHexStringLower(Hash(key));

    /// <summary>A new key: 32 random bytes, base64url (43 characters).</summary>
    public static string NewKey() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Required(IConfigurationSection section, string name, string path) =>
        section[name] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{path}:{name} is missing."));
}
