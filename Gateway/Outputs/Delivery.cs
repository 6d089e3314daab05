using Polymur.Gateway.Primitives;

namespace Polymur.Gateway.Outputs;

/// <summary>One batch (or part of one) bound for one destination.</summary>
public readonly record struct Delivery(Destination Destination, Batch Batch);
