namespace Analytics.Contracts;

/// <summary>
/// Finds the elements of a JSON array body without parsing them: brackets and braces outside strings, commas at the top
/// level, string boundaries (a quote not escaped by a backslash). What is inside a string, valid or not, is skipped, so
/// an element with an invalid escape or a raw control character is one element among the others. UTF-8 multi-byte
/// sequences never contain these ASCII bytes, so broken UTF-8 cannot move a boundary either.
/// </summary>
public static class JsonArraySplitter
{
    /// <summary>The byte ranges of the array's elements (whitespace trimmed), or null when the body is not an array whose structure holds.</summary>
    public static IReadOnlyList<Range>? Split(ReadOnlySpan<byte> body)
    {
        var i = SkipWhitespace(body, 0);
        if (i >= body.Length || body[i] != (byte)'[')
        {
            return null;
        }

        var elements = new List<Range>();
        var depth = 0;
        var inString = false;
        var escaped = false;
        var start = -1;
        var sawComma = false;
        for (i++; i < body.Length; i++)
        {
            var b = body[i];
            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == (byte)'\\')
                {
                    escaped = true;
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }

                continue;
            }

            switch (b)
            {
                case (byte)'"':
                    inString = true;
                    start = start < 0 ? i : start;
                    break;
                case (byte)'{' or (byte)'[':
                    depth++;
                    start = start < 0 ? i : start;
                    break;
                case (byte)'}' or (byte)']' when depth > 0:
                    depth--;
                    break;
                case (byte)']':
                    // The end of the array: only whitespace may follow.
                    if (start >= 0)
                    {
                        elements.Add(Trim(body, start, i));
                    }
                    else if (sawComma)
                    {
                        return null; // "[1,]"
                    }

                    return SkipWhitespace(body, i + 1) == body.Length ? elements : null;
                case (byte)'}':
                    return null;
                case (byte)',' when depth == 0:
                    if (start < 0)
                    {
                        return null; // "[,1]" or "[1,,2]"
                    }

                    elements.Add(Trim(body, start, i));
                    start = -1;
                    sawComma = true;
                    break;
                case (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r':
                    break;
                default:
                    start = start < 0 ? i : start;
                    break;
            }
        }

        return null; // never closed
    }

    private static Range Trim(ReadOnlySpan<byte> body, int start, int end)
    {
        while (end > start && body[end - 1] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            end--;
        }

        return start..end;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> body, int i)
    {
        while (i < body.Length && body[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }
}
