using Analytics.Contracts;

namespace Analytics.Simulator;

/// <summary>
/// A deterministic model of the traffic a fleet of chat services produces: pure, no I/O, no clock.
/// <para>
/// <see cref="Generate"/> yields v1 contract events (<see cref="ConversationStarted"/>,
/// <see cref="ResponseGenerated"/>, <see cref="ResponseRated"/>, <see cref="ResponsesCompared"/>) as
/// <see cref="object"/>s, in order of <c>occurredAt</c> (virtual time from <see cref="TrafficOptions.Start"/>).
/// Conversations arrive as a Poisson process and interleave; each has 1–6 turns. Three model families with
/// two versions each (see <see cref="Models"/>) answer with one or sometimes two capabilities
/// (see <see cref="Capabilities"/>). About a quarter of responses are rated; the thumbs-up rate of each
/// model version × capability cell is fixed from the seed between 0.60 and 0.90 (see <see cref="BaselineUpRate"/>),
/// nudged by a few points by slices (custom instructions −3, variant warm +2 / concise −2, moderation flag −25).
/// Some ratings are later flipped from up to down or withdrawn (<see cref="Rating.None"/>); some turns are
/// regenerated (<c>regeneratedFrom</c>) or shown side by side (two responses of different models and a
/// <see cref="ResponsesCompared"/>). Some comments carry e-mail addresses or phone numbers on purpose.
/// </para>
/// <para>
/// Ordering guarantees: a conversation's <see cref="ConversationStarted"/> comes before its other events and a
/// response comes before its ratings, except for about <see cref="TrafficOptions.OutOfOrderProbability"/> of first
/// ratings, which are yielded just before the response they rate (their <c>occurredAt</c> is still after it),
/// to mimic out-of-order arrival. Every event has a fresh <c>eventId</c> drawn from the seeded random source.
/// </para>
/// <para>
/// Determinism: the same <see cref="TrafficOptions"/> give the same sequence, ids included, on every call of
/// <see cref="Generate"/> and in every process. The sequence is infinite: use <c>Take</c> or <c>TakeWhile</c>.
/// </para>
/// <example><code>
/// var events = new TrafficModel(new TrafficOptions { Seed = 1 }).Generate().Take(1000).ToList();
/// </code></example>
/// </summary>
public sealed class TrafficModel
{
    private static readonly ModelRef[] ModelVersions =
    [
        new("atlas", "2026-10"), new("atlas", "2026-11"),
        new("borealis", "1.4"), new("borealis", "1.5"),
        new("cirrus", "7"), new("cirrus", "8"),
    ];

    private static readonly string[] CapabilityNames =
        ["chat", "browsing", "file_analysis", "code_execution", "image_generation", "voice"];

    private readonly Dictionary<(string Id, string Version, string Capability), double> _baseline = [];

    /// <summary>Creates a model; the per-cell thumbs-up rates are drawn from <see cref="TrafficOptions.Seed"/> here.</summary>
    public TrafficModel(TrafficOptions? options = null)
    {
        Options = options ?? new TrafficOptions();
        var random = new Random(unchecked((Options.Seed * 1_000_003) ^ 0x5EED));
        foreach (var model in ModelVersions)
        {
            foreach (var capability in CapabilityNames)
            {
                var rate = Math.Round(0.60 + (0.30 * random.NextDouble()), 3);
                _baseline[(model.Id, model.Version, capability)] = Options.VersionsShareRates
                    ? _baseline.GetValueOrDefault((model.Id, ModelVersions.First(m => m.Id == model.Id).Version, capability), rate)
                    : rate;
            }
        }
    }

    /// <summary>The options this model was built with.</summary>
    public TrafficOptions Options { get; }

    /// <summary>The model versions that answer (id = family, version; no variant).</summary>
    public static IReadOnlyList<ModelRef> Models => ModelVersions;

    /// <summary>The capability slugs responses use.</summary>
    public static IReadOnlyList<string> Capabilities => CapabilityNames;

    /// <summary>The surfaces conversations start on; the event <c>source</c> is <c>chat-{surface}</c>.</summary>
    public static IReadOnlyList<string> Surfaces { get; } = ["web", "ios", "android", "api"];

    /// <summary>
    /// The thumbs-up rate of a cell before slice effects and before any injected regression
    /// (between 0.60 and 0.90, fixed by the seed). A response with two capabilities uses the mean of both cells.
    /// </summary>
    public double BaselineUpRate(string modelId, string modelVersion, string capability) =>
        _baseline.TryGetValue((modelId, modelVersion, capability), out var rate)
            ? rate
            : throw new ArgumentException($"Unknown cell {modelId} {modelVersion} × {capability}.");

    /// <summary>Yields an infinite, time-ordered stream of contract events; every call starts over from the seed.</summary>
    public IEnumerable<object> Generate()
    {
        var run = new Run(this);
        var next = Options.Start;
        while (true)
        {
            while (!run.Queue.TryPeek(out _, out var head) || head.Ticks >= next.UtcTicks)
            {
                run.Conversation(next);
                next = next.AddSeconds(run.Exponential(60.0 / Options.ConversationsPerMinute));
            }

            yield return run.Queue.Dequeue();
            run.Yielded++;
        }
    }

    /// <summary>The state of one enumeration: random source, pending events, counters.</summary>
    private sealed class Run(TrafficModel model)
    {
        private readonly Random _random = new(model.Options.Seed);
        private readonly TrafficOptions _options = model.Options;
        private long _sequence;

        public PriorityQueue<object, (long Ticks, long Sequence)> Queue { get; } = new();

        public long Yielded { get; set; }

        public double Exponential(double mean) => -mean * Math.Log(1 - _random.NextDouble());

        public void Conversation(DateTimeOffset start)
        {
            var conversationId = NewGuid();
            var surface = Pick(Surfaces, [45, 22, 18, 15]);
            var source = "chat-" + surface;
            var customInstructions = Chance(_options.CustomInstructionsProbability);
            var profile = Chance(0.2) ? Pick(Profiles) : null;
            ExperimentAssignment? experiment = Chance(_options.ExperimentProbability)
                ? new ExperimentAssignment("personality-2026q1", Pick(["control", "warm", "concise"]))
                : null;
            var family = Pick(["atlas", "borealis", "cirrus"], [40, 35, 25]);
            var version = ModelVersions.Where(m => m.Id == family).ToArray()[Chance(0.6) ? 1 : 0].Version;
            var variant = experiment is { Arm: not "control" } ? experiment.Arm : null;
            var model = new ModelRef(family, version, variant);
            var regressed = RegressionApplies(start);
            var context = new Context(conversationId, source, surface, customInstructions, regressed);

            Emit(new ConversationStarted(NewGuid(), Ms(start), ContractLimits.SchemaVersion, conversationId, source,
                $"u_{_random.Next(0, 1 << 20):x5}", surface, Pick(Locales, [46, 10, 9, 8, 7, 7, 7, 6]),
                new Personalization(customInstructions, profile), experiment));

            var turns = 1 + PickIndex([30, 25, 18, 12, 9, 6]);
            var time = start;
            for (var turnIndex = 0; turnIndex < turns; turnIndex++)
            {
                time = time.AddSeconds(turnIndex == 0 ? 0.2 + (3 * _random.NextDouble()) : 10 + Exponential(60));
                var capabilities = ChooseCapabilities(surface);
                var prompt = Pick(Prompts[capabilities[0]]);
                var original = Respond(context, model, capabilities, turnIndex, time, prompt, regeneratedFrom: null);
                var shownAt = original.OccurredAt;

                if (surface != "api" && Chance(_options.ComparisonProbability))
                {
                    var other = ModelVersions.Where(m => m != new ModelRef(model.Id, model.Version)).ToArray();
                    var rival = Respond(context, Pick(other), capabilities, turnIndex, time, prompt, regeneratedFrom: null);
                    Compare(context, original, rival, capabilities);
                    shownAt = Max(shownAt, rival.OccurredAt);
                }
                else
                {
                    Rate(context, original);
                    if (Chance(_options.RegenerationProbability))
                    {
                        var again = shownAt.AddSeconds(3 + Exponential(20));
                        var regenerated = Respond(context, model, capabilities, turnIndex, again, prompt, original.TurnId);
                        Rate(context, regenerated);
                        shownAt = regenerated.OccurredAt;
                    }
                }

                time = shownAt;
            }
        }

        private ResponseGenerated Respond(Context context, ModelRef model, string[] capabilities, int turnIndex,
            DateTimeOffset promptedAt, string prompt, Guid? regeneratedFrom)
        {
            var primary = capabilities[0];
            var latency = Math.Clamp((int)LogNormal(MedianLatencyMs(primary) * (capabilities.Length == 2 ? 1.5 : 1), 0.5), 150, ContractLimits.MaxLatencyMs);
            var inputTokens = Math.Clamp((int)LogNormal(MedianInputTokens(primary), 0.6) + (turnIndex * 250), 5, ContractLimits.MaxTokens);
            var outputTokens = Math.Clamp((int)LogNormal(MedianOutputTokens(primary), 0.5), 1, ContractLimits.MaxTokens);
            var flagged = Chance(_options.ModerationFlagProbability);
            var categories = flagged
                ? (Chance(0.2) ? [Pick(ModerationCategories), Pick(ModerationCategories)] : new[] { Pick(ModerationCategories) }).Distinct().ToArray()
                : [];
            var response = new ResponseGenerated(NewGuid(), Ms(promptedAt.AddMilliseconds(latency)), ContractLimits.SchemaVersion,
                context.ConversationId, context.Source, NewGuid(), turnIndex, model, capabilities,
                ModalityOf(capabilities, context.Surface), latency, inputTokens, outputTokens,
                new Moderation(flagged, categories), regeneratedFrom,
                prompt, Pick(Responses[primary]));
            Emit(response);
            return response;
        }

        private void Rate(Context context, ResponseGenerated response)
        {
            if (!Chance(_options.RatingProbability))
            {
                return;
            }

            var up = Chance(UpRate(context, response.Model, response.Capabilities, response.Moderation.Flagged));
            var ratedAt = response.OccurredAt.AddSeconds(2 + Exponential(25));
            var rating = RatingEvent(context, response, up ? Rating.Up : Rating.Down, ratedAt);
            var key = Chance(_options.OutOfOrderProbability) ? response.OccurredAt.UtcTicks - 1 : ratedAt.UtcTicks;
            Emit(rating, key);

            if (up && Chance(_options.RatingFlipProbability))
            {
                Emit(RatingEvent(context, response, Rating.Down, ratedAt.AddSeconds(60 + Exponential(600))));
            }
            else if (Chance(_options.RatingWithdrawProbability))
            {
                Emit(RatingEvent(context, response, Rating.None, ratedAt.AddSeconds(30 + Exponential(300))));
            }
        }

        private ResponseRated RatingEvent(Context context, ResponseGenerated response, Rating rating, DateTimeOffset at)
        {
            var reasons = rating == Rating.Down ? Reasons(context, response.Capabilities, response.Moderation.Flagged) : [];
            var comment = rating switch
            {
                Rating.Down when Chance(0.35) => Comment(Pick(DownComments[reasons[0]])),
                Rating.Up when Chance(0.08) => Comment(Pick(UpComments)),
                _ => null,
            };
            return new ResponseRated(NewGuid(), Ms(at), ContractLimits.SchemaVersion, context.ConversationId, context.Source,
                response.TurnId, rating, reasons, response.Model, response.Capabilities, comment);
        }

        private void Compare(Context context, ResponseGenerated mine, ResponseGenerated rival, string[] capabilities)
        {
            var (a, b) = Chance(0.5) ? (mine, rival) : (rival, mine);
            var pa = UpRate(context, a.Model, capabilities, a.Moderation.Flagged);
            var pb = UpRate(context, b.Model, capabilities, b.Moderation.Flagged);
            Preference preferred;
            if (Chance(0.8 * (1 - pa) * (1 - pb)))
            {
                preferred = Preference.BothBad;
            }
            else if (Chance(0.12))
            {
                preferred = Preference.Tie;
            }
            else
            {
                var aWins = 1 / (1 + Math.Exp(Logit(pb) - Logit(pa)));
                preferred = Chance(aWins) ? Preference.A : Preference.B;
            }

            var reasons = preferred == Preference.BothBad && Chance(0.6) ? Reasons(context, capabilities, flagged: false) : null;
            var comment = Chance(0.1)
                ? Comment(preferred switch
                {
                    Preference.A => "The first answer was clearer.",
                    Preference.B => "The second one actually answered the question.",
                    Preference.Tie => "Both were fine, hard to pick.",
                    _ => "Neither of them got it right.",
                })
                : null;
            var at = Max(a.OccurredAt, b.OccurredAt).AddSeconds(4 + Exponential(30));
            Emit(new ResponsesCompared(NewGuid(), Ms(at), ContractLimits.SchemaVersion, context.ConversationId, context.Source,
                NewGuid(), [new ComparisonCandidate(a.TurnId, a.Model), new ComparisonCandidate(b.TurnId, b.Model)],
                preferred, capabilities, reasons, comment));
        }

        private double UpRate(Context context, ModelRef modelRef, IReadOnlyList<string> capabilities, bool flagged)
        {
            var rate = capabilities.Average(c => model.BaselineUpRate(modelRef.Id, modelRef.Version, c));
            if (context.Regressed && _options.InjectRegression is { } regression
                && regression.ModelId == modelRef.Id
                && (regression.ModelVersion is null || regression.ModelVersion == modelRef.Version)
                && capabilities.Contains(regression.Capability))
            {
                rate -= regression.Drop;
            }

            rate += (context.CustomInstructions ? -0.03 : 0)
                + (modelRef.Variant switch { "warm" => 0.02, "concise" => -0.02, _ => 0 })
                + (flagged ? -0.25 : 0);
            return Math.Clamp(rate, 0.02, 0.98);
        }

        private bool RegressionApplies(DateTimeOffset start) =>
            _options.InjectRegression is { } regression
            && Yielded >= (regression.AfterEvents ?? 0)
            && start >= _options.Start + (regression.AfterOffset ?? TimeSpan.Zero);

        private FeedbackReason[] Reasons(Context context, IReadOnlyList<string> capabilities, bool flagged)
        {
            FeedbackReason Draw()
            {
                if (flagged && Chance(0.6))
                {
                    return FeedbackReason.Unsafe;
                }

                if (context.CustomInstructions && Chance(0.2))
                {
                    return FeedbackReason.IgnoredInstructions;
                }

                var (reasons, weights) = ReasonWeights(capabilities[_random.Next(capabilities.Count)]);
                return Pick(reasons, weights);
            }

            var first = Draw();
            if (!Chance(0.2))
            {
                return [first];
            }

            var second = Draw();
            return second == first ? [first] : [first, second];
        }

        private string Comment(string text)
        {
            if (!Chance(_options.PiiCommentProbability))
            {
                return text;
            }

            return Chance(0.55)
                ? $"{text} {Pick(EmailLeads)} {Pick(Emails)}"
                : $"{text} {Pick(PhoneLeads)} {Pick(Phones)}";
        }

        private string[] ChooseCapabilities(string surface)
        {
            var mobile = surface is "ios" or "android";
            int[] weights = [45, 15, 12, 12, 9, mobile ? 14 : surface == "api" ? 0 : 4];
            var first = Pick(CapabilityNames, weights);
            if (first == "chat" || first == "voice" || !Chance(0.15))
            {
                return [first];
            }

            var second = Pick(CapabilityNames[1..5].Where(c => c != first).ToArray());
            return [first, second];
        }

        private Modality ModalityOf(IReadOnlyList<string> capabilities, string surface)
        {
            var input = new List<string> { capabilities.Contains("voice") ? "audio" : "text" };
            if (capabilities.Contains("file_analysis"))
            {
                input.Add("file");
            }

            if (surface != "api" && Chance(0.05))
            {
                input.Add("image");
            }

            var output = new List<string>();
            if (capabilities.Contains("voice"))
            {
                output.Add("audio");
            }

            if (capabilities.Contains("image_generation"))
            {
                output.Add("image");
            }

            if (output.Count == 0 || capabilities.Count > 1)
            {
                output.Add("text");
            }

            return new Modality(input, output);
        }

        private void Emit(object contractEvent, long? key = null)
        {
            var ticks = key ?? contractEvent switch
            {
                ConversationStarted e => e.OccurredAt.UtcTicks,
                ResponseGenerated e => e.OccurredAt.UtcTicks,
                ResponseRated e => e.OccurredAt.UtcTicks,
                ResponsesCompared e => e.OccurredAt.UtcTicks,
                _ => throw new ArgumentException("not a contract event", nameof(contractEvent)),
            };
            Queue.Enqueue(contractEvent, (ticks, _sequence++));
        }

        private Guid NewGuid()
        {
            Span<byte> bytes = stackalloc byte[16];
            _random.NextBytes(bytes);
            bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4
            bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
            return new Guid(bytes);
        }

        private bool Chance(double probability) => _random.NextDouble() < probability;

        private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

        private T Pick<T>(IReadOnlyList<T> items, int[] weights) => items[PickIndex(weights)];

        private int PickIndex(int[] weights)
        {
            var roll = _random.Next(weights.Sum());
            for (var i = 0; i < weights.Length; i++)
            {
                roll -= weights[i];
                if (roll < 0)
                {
                    return i;
                }
            }

            return weights.Length - 1;
        }

        private double LogNormal(double median, double sigma)
        {
            var u1 = 1 - _random.NextDouble();
            var u2 = _random.NextDouble();
            var normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            return median * Math.Exp(sigma * normal);
        }

        private static double Logit(double p) => Math.Log(p / (1 - p));

        private static DateTimeOffset Ms(DateTimeOffset time) =>
            new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

        private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
    }

    private sealed record Context(Guid ConversationId, string Source, string Surface, bool CustomInstructions, bool Regressed);

    private static double MedianLatencyMs(string capability) => capability switch
    {
        "browsing" => 4200,
        "file_analysis" => 3500,
        "code_execution" => 6500,
        "image_generation" => 12000,
        "voice" => 800,
        _ => 1300,
    };

    private static double MedianInputTokens(string capability) => capability switch
    {
        "browsing" => 2500,
        "file_analysis" => 7000,
        "code_execution" => 1200,
        "image_generation" => 150,
        "voice" => 250,
        _ => 400,
    };

    private static double MedianOutputTokens(string capability) => capability switch
    {
        "browsing" => 450,
        "file_analysis" => 500,
        "code_execution" => 650,
        "image_generation" => 60,
        "voice" => 150,
        _ => 350,
    };

    private static (FeedbackReason[] Reasons, int[] Weights) ReasonWeights(string capability) => capability switch
    {
        "browsing" => ([FeedbackReason.BadCitation, FeedbackReason.Inaccurate, FeedbackReason.Unhelpful, FeedbackReason.TooVerbose, FeedbackReason.Other], [40, 30, 15, 10, 5]),
        "file_analysis" => ([FeedbackReason.Inaccurate, FeedbackReason.Unhelpful, FeedbackReason.IgnoredInstructions, FeedbackReason.TooVerbose, FeedbackReason.Other], [45, 20, 15, 12, 8]),
        "code_execution" => ([FeedbackReason.CodeError, FeedbackReason.Inaccurate, FeedbackReason.Unhelpful, FeedbackReason.TooVerbose, FeedbackReason.Other], [55, 15, 12, 10, 8]),
        "image_generation" => ([FeedbackReason.IgnoredInstructions, FeedbackReason.RefusedUnnecessarily, FeedbackReason.Unhelpful, FeedbackReason.Unsafe, FeedbackReason.Other], [40, 25, 15, 5, 15]),
        "voice" => ([FeedbackReason.Unhelpful, FeedbackReason.Inaccurate, FeedbackReason.TooVerbose, FeedbackReason.Other], [35, 25, 25, 15]),
        _ => ([FeedbackReason.Unhelpful, FeedbackReason.Inaccurate, FeedbackReason.TooVerbose, FeedbackReason.RefusedUnnecessarily, FeedbackReason.IgnoredInstructions, FeedbackReason.Unsafe, FeedbackReason.Other], [28, 24, 18, 12, 8, 2, 8]),
    };

    private static readonly string[] Locales = ["en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR", "hi-IN"];

    private static readonly string[] Profiles = ["developer", "student", "researcher", "writer", "analyst"];

    private static readonly string[] ModerationCategories = ["violence", "self_harm", "sexual", "hate", "harassment", "illicit"];

    private static readonly Dictionary<string, string[]> Prompts = new(StringComparer.Ordinal)
    {
        ["chat"] = ["Can you explain how compound interest works?", "Help me write a polite reminder email to a client.", "What's a good way to learn Spanish in 3 months?", "Summarise the plot of Hamlet in two sentences.", "Give me ideas for a 10-year-old's birthday party."],
        ["browsing"] = ["What happened at the climate summit this week?", "Find the opening hours of the Louvre today.", "Latest benchmarks for the new phone chips?", "Who won the match last night?", "What are current mortgage rates in Germany?"],
        ["file_analysis"] = ["Summarise the attached contract and list the risks.", "What are the key numbers in this quarterly report?", "Find inconsistencies in this spreadsheet.", "Extract all dates and deadlines from the PDF.", "Compare these two CVs for the analyst role."],
        ["code_execution"] = ["Plot monthly sales from this CSV as a bar chart.", "Fit a linear regression to this data and show residuals.", "Why does my Python script raise KeyError?", "Compute the median and IQR of column B.", "Convert this JSON to a tidy table."],
        ["image_generation"] = ["Draw a watercolour fox in a snowy forest.", "Make a logo for a bakery called Crumb.", "Create a diagram of the water cycle for kids.", "A cyberpunk street at night, rain, neon signs.", "Illustrate a cosy reading nook."],
        ["voice"] = ["Set a timer and tell me a fun fact.", "Talk me through a 5 minute breathing exercise.", "Translate 'where is the station' into Japanese.", "Quiz me on capital cities.", "Read me a short bedtime story."],
    };

    private static readonly Dictionary<string, string[]> Responses = new(StringComparer.Ordinal)
    {
        ["chat"] = ["Sure! Here's a short explanation with an example.", "Here is a draft you can adapt:", "A realistic plan has three parts: daily practice, input, and speaking.", "In short: a prince seeks revenge and nearly everyone dies.", "Here are eight ideas, from a treasure hunt to a science party."],
        ["browsing"] = ["According to several reports [1][2], the summit ended with a new pledge.", "The museum is open 9:00-18:00 today [1].", "Recent reviews [1] show a 15% gain in multi-core scores.", "The home team won 2-1 after extra time [1].", "Average 10-year fixed rates are around 3.5% [1][2]."],
        ["file_analysis"] = ["The contract has 12 sections; three clauses carry notable risk.", "Revenue grew 8% quarter on quarter; margins fell slightly.", "Rows 14 and 37 contradict the totals in the summary sheet.", "I found 9 dates; the earliest deadline is 3 March.", "Candidate A has more relevant experience; B has stronger SQL."],
        ["code_execution"] = ["I ran the analysis; the chart is below.", "The fit gives slope 2.31 (R² 0.87); residuals look random.", "The KeyError comes from a missing 'date' column after the merge.", "Median 42.0, IQR 18.5 (computed on 1,204 rows).", "Here's the table with 6 columns and 310 rows."],
        ["image_generation"] = ["Here's your image.", "I created three logo options.", "Here's a labelled diagram.", "Generated: a rainy neon street scene.", "Here's a warm, cosy illustration."],
        ["voice"] = ["Timer set for 10 minutes. Did you know octopuses have three hearts?", "Let's begin. Breathe in for four counts...", "Eki wa doko desu ka?", "First question: what is the capital of Canada?", "Once upon a time, in a quiet village..."],
    };

    private static readonly Dictionary<FeedbackReason, string[]> DownComments = new()
    {
        [FeedbackReason.Inaccurate] = ["The numbers are wrong.", "This is factually incorrect.", "It made up a date that doesn't exist."],
        [FeedbackReason.Unsafe] = ["This answer should not have been given.", "Inappropriate content for a work account."],
        [FeedbackReason.RefusedUnnecessarily] = ["Why refuse? This is a normal request.", "It refused a harmless question."],
        [FeedbackReason.IgnoredInstructions] = ["I asked for bullet points, got an essay.", "It ignored my custom instructions again.", "Not the style I asked for."],
        [FeedbackReason.BadCitation] = ["The source it cited doesn't say that.", "Link is dead and the quote is made up.", "Citations point to unrelated pages."],
        [FeedbackReason.CodeError] = ["The code crashes with a TypeError.", "The plot is empty, the script failed.", "Off-by-one error in the loop."],
        [FeedbackReason.TooVerbose] = ["Way too long.", "Just give me the answer, not three paragraphs."],
        [FeedbackReason.Unhelpful] = ["Didn't help at all.", "Generic answer, nothing specific.", "Went in circles."],
        [FeedbackReason.Other] = ["Something felt off.", "Not what I expected."],
    };

    private static readonly string[] UpComments = ["Perfect, thanks!", "Exactly what I needed.", "Great explanation.", "Saved me an hour."];

    private static readonly string[] EmailLeads = ["email me at", "contact me:", "reach me at", "send the fix to"];

    private static readonly string[] Emails = ["jane.doe@example.com", "j.smith@example.org", "mario.rossi@example.net", "k.tanaka+work@example.co.jp", "alex_99@example.com"];

    private static readonly string[] PhoneLeads = ["call me on", "my number is", "text me at", "phone:"];

    private static readonly string[] Phones = ["+1 415 555 0134", "(212) 555-0199", "+44 20 7946 0958", "+49 30 901820", "555-0147"];
}
