using System.Diagnostics.CodeAnalysis;
using System.Net.Mime;
using System.Runtime.Serialization;
using System.Text.Json;
using Analytics.Contracts;
using MassTransit;
using MassTransit.Serialization;

namespace Analytics.Ingesting;

/// <summary>
/// Plain JSON bodies on the ingestion endpoint: MassTransit's raw JSON deserializer (any message type, as
/// <c>UseRawJsonDeserializer(RawSerializerOptions.All)</c>), except that the <see cref="FeedbackEventBatch"/> is
/// built from the JSON MassTransit has already parsed rather than deserialized from it a second time: the second
/// parse was about a fifth of the worker's CPU (docs/performance.md). An array body that does not parse as a whole (one
/// event with an invalid escape or a raw control character) is split into its elements, so that only the broken
/// ones are refused (<see cref="FeedbackEventBatch.FromBrokenArray"/>); anything else that is not JSON fails as before.
/// </summary>
public sealed class IngestionJsonSerializerFactory : ISerializerFactory
{
    private const RawSerializerOptions RawOptions = RawSerializerOptions.All;

    public ContentType ContentType => SystemTextJsonRawMessageSerializer.JsonContentType;

    public IMessageSerializer CreateSerializer() => new SystemTextJsonRawMessageSerializer(RawOptions);

    public IMessageDeserializer CreateDeserializer() => new Deserializer();

    private sealed class Deserializer : IMessageDeserializer
    {
        private readonly SystemTextJsonRawMessageSerializer _raw = new(RawOptions);

        public ContentType ContentType => _raw.ContentType;

        public void Probe(ProbeContext context) => _raw.Probe(context);

        public ConsumeContext Deserialize(ReceiveContext receiveContext) =>
            new BodyConsumeContext(receiveContext, Deserialize(receiveContext.Body, receiveContext.TransportHeaders, receiveContext.InputAddress));

        public SerializerContext Deserialize(MessageBody body, Headers headers, Uri? destinationAddress = null)
        {
            JsonElement json;
            FeedbackEventBatch? batch = null;
            var bytes = body.GetBytes();
            try
            {
                json = JsonSerializer.Deserialize<JsonElement>(bytes, SystemTextJsonMessageSerializer.Options);
            }
            catch (Exception ex)
            {
                batch = ex is JsonException ? FeedbackEventBatch.FromBrokenArray(bytes) : null;
                if (batch is null)
                {
                    throw new SerializationException("An error occured while deserializing the message body", ex);
                }

                json = EmptyArray;
            }

            return new BatchSerializerContext(SystemTextJsonMessageSerializer.Instance, ContentType, new RawMessageContext(headers, destinationAddress, RawOptions),
                headers.GetMessageTypes(), json, batch);
        }

        public MessageBody GetMessageBody(string text) => _raw.GetMessageBody(text);
    }

    private static readonly JsonElement EmptyArray = JsonSerializer.Deserialize<JsonElement>("[]");

    private sealed class BatchSerializerContext(IObjectDeserializer objects, ContentType contentType, MessageContext messageContext,
        string[] messageTypes, JsonElement json, FeedbackEventBatch? batch)
        : SystemTextJsonRawSerializerContext(objects, SystemTextJsonMessageSerializer.Options, contentType, messageContext, messageTypes,
            RawOptions, json)
    {
        private readonly JsonElement _json = json;
        private FeedbackEventBatch? _batch = batch;

        public override bool TryGetMessage<T>([NotNullWhen(true)] out T? message)
            where T : class
        {
            if (typeof(T) == typeof(FeedbackEventBatch) && (_batch is not null || _json.ValueKind is JsonValueKind.Object or JsonValueKind.Array))
            {
                _batch ??= FeedbackEventBatch.FromJson(_json);
                message = (T)(object)_batch;
                return true;
            }

            return base.TryGetMessage(out message);
        }
    }
}
