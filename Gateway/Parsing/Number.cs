namespace Polymur.Gateway.Parsing;

/// <summary>One scan of a decimal number's shape, which also yields its order of magnitude.</summary>
internal static class Number
{
    private const int ExponentCap = 100_000;

    /// <summary>
    /// True for [+-]digits[.digits][e[+-]digits] with at least one digit. <paramref name="magnitude"/> is the
    /// power of ten of the first non-zero digit (1234.5 → 3, 0.05 → -2, 1e309 → 309), or int.MinValue for zero.
    /// </summary>
    public static bool Scan(ReadOnlySpan<byte> s, out int magnitude)
    {
        magnitude = int.MinValue;
        int i = 0, n = s.Length;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        int digits = 0, leadingZeros = 0, integerDigits = 0;
        bool nonZero = false;
        while (i < n && IsDigit(s[i]))
        {
            if (nonZero || s[i] != '0')
            {
                nonZero = true;
                integerDigits++;
            }
            i++;
            digits++;
        }
        if (i < n && s[i] == '.')
        {
            i++;
            while (i < n && IsDigit(s[i]))
            {
                if (!nonZero)
                {
                    if (s[i] == '0')
                        leadingZeros++;
                    else
                        nonZero = true;
                }
                i++;
                digits++;
            }
        }
        if (digits == 0)
            return false;
        int exponent = 0;
        if (i < n && (s[i] | 0x20) == 'e')
        {
            i++;
            bool negative = false;
            if (i < n && (s[i] == '+' || s[i] == '-'))
                negative = s[i++] == '-';
            int expDigits = 0;
            while (i < n && IsDigit(s[i]))
            {
                exponent = Math.Min(exponent * 10 + (s[i] - '0'), ExponentCap);
                i++;
                expDigits++;
            }
            if (expDigits == 0)
                return false;
            if (negative)
                exponent = -exponent;
        }
        if (i != n)
            return false;
        if (nonZero)
            magnitude = (integerDigits > 0 ? integerDigits - 1 : -(leadingZeros + 1)) + exponent;
        return true;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;
}
