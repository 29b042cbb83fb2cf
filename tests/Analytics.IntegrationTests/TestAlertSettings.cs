using System.Globalization;

namespace Analytics.IntegrationTests;

/// <summary>
/// The worker's Alerts__* settings of the alert tests: the detector looks every second, the outbox is delivered every
/// <c>deliveryIntervalSeconds</c>, to the given webhooks in order, and a cell is test-sized (fewer ratings before a
/// baseline is trusted, a larger shift, independent ratings). A test adds its own settings to the dictionary.
/// </summary>
public static class TestAlertSettings
{
    public static Dictionary<string, string> For(double deliveryIntervalSeconds, params (string Name, string Url)[] webhooks)
    {
        var settings = new Dictionary<string, string>
        {
            ["Alerts__IntervalSeconds"] = "1",
            ["Alerts__DeliveryIntervalSeconds"] = deliveryIntervalSeconds.ToString(CultureInfo.InvariantCulture),
            ["Alerts__Detector__MinimumBaselineRatings"] = "50",
            ["Alerts__Detector__MinimumWindowRatings"] = "20",
            ["Alerts__Detector__Shift"] = "0.1",
            ["Alerts__Detector__MaximumDispersion"] = "1",
        };
        for (var i = 0; i < webhooks.Length; i++)
        {
            settings[$"Alerts__Webhooks__{i}__Name"] = webhooks[i].Name;
            settings[$"Alerts__Webhooks__{i}__Url"] = webhooks[i].Url;
        }

        return settings;
    }
}
