namespace Polymur.Gateway.Parsing;

/// <summary>What one batch held. Empty lines are neither valid nor invalid.</summary>
internal readonly record struct ParseCounts(int Valid, int Invalid, int TooLong);
