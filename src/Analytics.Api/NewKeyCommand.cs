using Analytics.Access;

namespace Analytics.Api;

/// <summary>
/// <c>Analytics.Api new-key --owner NAME --role ROLE [--id ID]</c>: makes a random API key, prints it once and the
/// configuration entry that holds only its SHA-256 hash (docs/security.md, "API keys").
/// </summary>
public static class NewKeyCommand
{
    private static readonly string[] KnownRoles =
    [
        ApiKeyAuthentication.Roles.Viewer, ApiKeyAuthentication.Roles.Triager, ApiKeyAuthentication.Roles.Admin,
        ApiKeyAuthentication.Roles.Exporter,
    ];

    /// <summary>Runs the command when the arguments ask for it; false to start the API instead.</summary>
    public static bool TryRun(string[] args, TextWriter output, out int exitCode)
    {
        exitCode = 0;
        if (args is not ["new-key", .. var options])
        {
            return false;
        }

        string? Option(string name) => Array.IndexOf(options, name) is var at and >= 0 && at + 1 < options.Length ? options[at + 1] : null;
        var owner = Option("--owner");
        var role = Option("--role");
        if (string.IsNullOrWhiteSpace(owner) || role is null || !KnownRoles.Contains(role))
        {
            output.WriteLine($"usage: new-key --owner NAME --role {string.Join('|', KnownRoles)} [--id ID]");
            exitCode = 2;
            return true;
        }

        var id = Option("--id") ?? $"{new string(owner.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray())}-{role}";
        var key = ApiKeyStore.NewKey();
        var hash = ApiKeyStore.HashHex(key);
        output.WriteLine($"New API key for {owner} (role {role}). It is shown only now; hand it over through a secret store:");
        output.WriteLine();
        output.WriteLine($"  {key}");
        output.WriteLine();
        output.WriteLine("Configuration entry (appsettings.json):");
        output.WriteLine($"  \"Auth\": {{ \"ApiKeys\": {{ \"{id}\": {{ \"Owner\": \"{owner}\", \"Role\": \"{role}\", \"Sha256\": \"{hash}\" }} }} }}");
        output.WriteLine("or as environment variables:");
        output.WriteLine($"  Auth__ApiKeys__{id}__Owner={owner}");
        output.WriteLine($"  Auth__ApiKeys__{id}__Role={role}");
        output.WriteLine($"  Auth__ApiKeys__{id}__Sha256={hash}");
        return true;
    }
}
