using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// A tenant's quota, as stored in Consul at <c>&lt;limits prefix&gt;&lt;name&gt;</c>: JSON
/// <c>{"rate": 5000, "burst": 10000}</c>. <c>rate</c> is points per second (a finite number, 0 for no limit);
/// <c>burst</c> is how many points may come at once, 1 or more, and defaults to one second of the rate.
/// Any other field, or any other shape, is an error.
/// </summary>
public sealed record TenantLimit(double Rate, double Burst)
{
    public static readonly TenantLimit None = new(0, 0);

    public bool Unlimited => Rate <= 0;

    /// <summary>A limit of <paramref name="rate"/> with the default burst (one second of it).</summary>
    public static TenantLimit Of(double rate, double? burst = null) =>
        rate <= 0 ? None : new TenantLimit(rate, burst ?? Math.Max(1, rate));

    /// <summary>This limit shared by <paramref name="instances"/> gateways: each enforces its part.</summary>
    public TenantLimit DividedBy(int instances) =>
        Unlimited || instances <= 1 ? this : new TenantLimit(Rate / instances, Math.Max(1, Burst / instances));

    public static bool TryParse(ReadOnlySpan<byte> json, out TenantLimit limit, out string error)
    {
        limit = None;
        LimitDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize(json, TenantLimitJsonContext.Default.LimitDocument);
        }
        catch (JsonException e)
        {
            error = $"not a limit ({Format}): {e.Message}";
            return false;
        }
        if (doc?.Rate is not { } rate)
        {
            error = $"no rate ({Format})";
            return false;
        }
        if (!double.IsFinite(rate) || rate < 0)
        {
            error = "rate must be a number of points per second, 0 or more";
            return false;
        }
        if (doc.Burst is { } burst && (!double.IsFinite(burst) || burst < 1))
        {
            error = "burst must be a number of points, 1 or more";
            return false;
        }
        limit = Of(rate, doc.Burst);
        error = "";
        return true;
    }

    public const string Format = "{\"rate\": POINTS_PER_SECOND, \"burst\": POINTS}, burst optional";

    /// <summary>The JSON the key tool writes.</summary>
    public string ToJson()
    {
        var sb = new StringBuilder("{\"rate\": ").Append(Rate.ToString("R", CultureInfo.InvariantCulture));
        if (!Unlimited)
            sb.Append(", \"burst\": ").Append(Burst.ToString("R", CultureInfo.InvariantCulture));
        return sb.Append('}').ToString();
    }

    public override string ToString() => Unlimited ? "none" : $"{Rate:0.###} points/s, burst {Burst:0.###}";

    internal sealed class LimitDocument
    {
        public double? Rate { get; set; }

        public double? Burst { get; set; }
    }
}

/// <summary>Source-generated JSON for limits: strict, so a typo is an error and not a silent default.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(TenantLimit.LimitDocument))]
internal sealed partial class TenantLimitJsonContext : JsonSerializerContext;
