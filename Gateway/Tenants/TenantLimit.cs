using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Polymur.Gateway.Tenants;

/// <summary>
/// A tenant's quota, as stored in Consul at <c>&lt;limits prefix&gt;&lt;name&gt;</c>: JSON
/// <c>{"rate": 5000, "burst": 10000}</c>. <c>rate</c> is points per second, 0 for no limit or from
/// <see cref="MinRate"/> to <see cref="MaxRate"/>; <c>burst</c> is how many points may come at once, 1 to
/// <see cref="MaxBurst"/>, and defaults to one second of the rate. Any other value, field or shape is an error.
/// </summary>
public sealed record TenantLimit(double Rate, double Burst)
{
    public static readonly TenantLimit None = new(0, 0);

    /// <summary>
    /// The slowest rate: one point per 1,000 s. The wait for one point then stays under the hour a Retry-After is
    /// capped at (<see cref="TokenBucket.MaxWait"/>), so a 429 on an empty bucket says when to come back; a slower
    /// "rate" is a block, which a removed key says better. 1e-13 was accepted and made Retry-After overflow (500).
    /// </summary>
    public const double MinRate = 0.001;

    /// <summary>
    /// The largest rate and burst: a thousand times what a gateway can take (0 is how to say "no limit"). Below it a
    /// bucket's balance keeps fractions of a point exactly in a double (its step at 1e9 is 1.2e-7), where a burst
    /// of 1e308 absorbed every batch and never ran out.
    /// </summary>
    public const double MaxRate = 1e9, MaxBurst = 1e9;

    /// <summary>The ranges, as the errors and the key tool's usage say them.</summary>
    public const string Ranges = "rate: 0 (no limit) or 0.001 to 1e9 points per second; burst: 1 to 1e9 points";

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
        if (!TryCheck(rate, doc.Burst, out error))
            return false;
        limit = Of(rate, doc.Burst);
        return true;
    }

    /// <summary>Whether a rate and burst are in range (<see cref="Ranges"/>); the gateway, its flag and the key tool all ask this.</summary>
    public static bool TryCheck(double rate, double? burst, out string error)
    {
        // Written so that NaN fails every test.
        if (!(rate == 0 || rate is >= MinRate and <= MaxRate))
        {
            error = $"rate {Show(rate)} out of range ({Ranges})";
            return false;
        }
        if (burst is { } b && !(b is >= 1 and <= MaxBurst))
        {
            error = $"burst {Show(b)} out of range ({Ranges})";
            return false;
        }
        error = "";
        return true;
    }

    private static string Show(double value) => value.ToString("R", CultureInfo.InvariantCulture);

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
