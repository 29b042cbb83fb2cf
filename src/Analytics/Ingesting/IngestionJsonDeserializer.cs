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
/// parse was about a fifth of the worker's CPU (docs/performance.md).
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
            try
            {
                json = JsonSerializer.Deserialize<JsonElement>(body.GetBytes(), SystemTextJsonMessageSerializer.Options);
            }
            catch (Exception ex)
            {
                throw new SerializationException("An error occured while deserializing the message body", ex);
            }

            return new BatchSerializerContext(SystemTextJsonMessageSerializer.Instance, ContentType, new RawMessageContext(headers, destinationAddress, RawOptions),
                headers.GetMessageTypes(), json);
        }

        public MessageBody GetMessageBody(string text) => _raw.GetMessageBody(text);
    }

    private sealed class BatchSerializerContext(IObjectDeserializer objects, ContentType contentType, MessageContext messageContext,
        string[] messageTypes, JsonElement json)
        : SystemTextJsonRawSerializerContext(objects, SystemTextJsonMessageSerializer.Options, contentType, messageContext, messageTypes,
            RawOptions, json)
    {
        private readonly JsonElement _json = json;
        private FeedbackEventBatch? _batch;

        public override bool TryGetMessage<T>([NotNullWhen(true)] out T? message)
            where T : class
        {
            if (typeof(T) == typeof(FeedbackEventBatch) && _json.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                _batch ??= FeedbackEventBatch.FromJson(_json);
                message = (T)(object)_batch;
                return true;
            }

            return base.TryGetMessage(out message);
        }
    }
}
