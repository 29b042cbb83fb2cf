using System.Text.Json;
using Analytics.Contracts;
using Json.Schema;

namespace Analytics.Tests;

/// <summary>The committed JSON Schemas are the contract for producers in other languages: they must say what the C# records say.</summary>
public class ContractSchemaTests
{
    public static TheoryData<string> ContractNames() => new(FeedbackJson.EventTypes.Keys);

    private static JsonElement LoadSchemaJson(string name)
    {
        using var stream = typeof(FeedbackJson).Assembly.GetManifestResourceStream($"schemas/{name}.schema.json")
            ?? throw new InvalidOperationException($"schema for {name} is not embedded");
        return JsonDocument.Parse(stream).RootElement.Clone();
    }

    private static readonly Dictionary<string, JsonSchema> Schemas = [];

    private static JsonSchema LoadSchema(string name)
    {
        lock (Schemas)
        {
            if (!Schemas.TryGetValue(name, out var schema))
            {
                schema = JsonSchema.FromText(LoadSchemaJson(name).GetRawText());
                Schemas[name] = schema;
            }

            return schema;
        }
    }

    private static string Camel(string name) => JsonNamingPolicy.CamelCase.ConvertName(name);

    [Theory]
    [MemberData(nameof(ContractNames))]
    public void Schema_properties_and_required_fields_match_the_record(string name)
    {
        var type = FeedbackJson.EventTypes[name];
        var parameters = type.GetConstructors().Single().GetParameters();
        var schema = LoadSchemaJson(name);

        var schemaProperties = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        var recordProperties = parameters.Select(p => Camel(p.Name!)).Append(FeedbackJson.TypeProperty).ToHashSet();
        Assert.Equal(recordProperties.Order(), schemaProperties.Order());

        var schemaRequired = schema.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToHashSet();
        var recordRequired = parameters.Where(p => !p.HasDefaultValue).Select(p => Camel(p.Name!)).Append(FeedbackJson.TypeProperty).ToHashSet();
        Assert.Equal(recordRequired.Order(), schemaRequired.Order());
        Assert.Equal(name, schema.GetProperty("properties").GetProperty("type").GetProperty("const").GetString());
    }

    [Theory]
    [MemberData(nameof(ContractNames))]
    public void Enum_values_in_the_schema_are_the_ones_the_platform_reads(string name)
    {
        var text = LoadSchemaJson(name).GetRawText();
        foreach (var value in Enum.GetValues<FeedbackReason>())
        {
            var wire = JsonSerializer.Serialize(value, FeedbackJson.Options).Trim('"');
            if (text.Contains("\"reason\"", StringComparison.Ordinal))
            {
                Assert.Contains($"\"{wire}\"", text, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Every_sample_event_is_valid_against_its_schema()
    {
        foreach (var sample in SampleEvents.All())
        {
            var schema = LoadSchema(sample.GetType().Name);
            var result = schema.Evaluate(FeedbackJson.ToElement(sample), new EvaluationOptions { RequireFormatValidation = true, OutputFormat = OutputFormat.List });
            Assert.True(result.IsValid, $"{sample.GetType().Name}: {JsonSerializer.Serialize(result)}");
        }
    }

    [Fact]
    public void The_schema_refuses_what_the_platform_refuses()
    {
        var schema = LoadSchema("ResponseRated");
        var options = new EvaluationOptions { RequireFormatValidation = true };

        var withoutModel = SampleEvents.AsNode(SampleEvents.Rated());
        withoutModel.Remove("model");
        Assert.False(schema.Evaluate(SampleEvents.AsElement(withoutModel), options).IsValid);

        var badEnum = SampleEvents.AsNode(SampleEvents.Rated());
        badEnum["rating"] = "meh";
        Assert.False(schema.Evaluate(SampleEvents.AsElement(badEnum), options).IsValid);

        var longComment = SampleEvents.AsNode(SampleEvents.Rated());
        longComment["comment"] = new string('x', ContractLimits.MaxComment + 1);
        Assert.False(schema.Evaluate(SampleEvents.AsElement(longComment), options).IsValid);

        var badId = SampleEvents.AsNode(SampleEvents.Rated());
        badId["eventId"] = "42";
        Assert.False(schema.Evaluate(SampleEvents.AsElement(badId), options).IsValid);
    }

    [Fact]
    public void The_schema_files_in_the_repository_are_the_embedded_ones()
    {
        var dir = Path.Combine(RepositoryRoot(), "src", "Analytics.Contracts", "schemas");
        foreach (var name in FeedbackJson.EventTypes.Keys)
        {
            var onDisk = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, $"{name}.schema.json"))).RootElement.GetRawText();
            Assert.Equal(onDisk, LoadSchemaJson(name).GetRawText());
        }
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Analytics.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Analytics.sln not found above the test binaries");
    }
}
