using Polymur.Gateway.Primitives;
using Polymur.Gateway.Outputs;

namespace Polymur.Gateway.Routing;

/// <summary>
/// One destination per metric: each line of the batch is copied into its owner's part, one pooled buffer
/// per destination per batch, and each part is queued as a batch of its own. The parts keep the whole
/// batch alive (and so its in-flight slot) until they are written.
/// </summary>
public sealed class HashRouter(RoutingTables tables, BufferPool buffers) : IBatchRouter
{
    public bool WantsLineIndex => true;

    public void Plan(Batch batch, LineIndex index, List<Delivery> plan)
    {
        var table = tables.Current;
        var targets = table.Destinations;
        if (targets.Length == 1 || table.Placement is null)
        {
            foreach (var d in targets)
            {
                batch.Retain(1);
                plan.Add(new Delivery(d, batch));
            }
            return;
        }

        var placement = table.Placement;
        var parts = new Part[targets.Length];
        int guess = batch.Length / targets.Length + batch.Length / 8 + 64;
        ReadOnlySpan<byte> data = batch.Data;
        if (index.Covers(batch.Points))
        {
            foreach (uint entry in index.Entries)
            {
                var line = data[..LineIndex.LineLength(entry)];
                data = data[line.Length..];
                parts[placement.DestinationFor(line[..LineIndex.PathLength(entry)])].Append(line, guess, buffers);
            }
        }
        while (!data.IsEmpty) // no index: find each line end and path end again
        {
            int lf = data.IndexOf((byte)'\n');
            var line = data[..(lf + 1)]; // lines in a parsed batch always end in LF
            data = data[(lf + 1)..];
            int end = line.IndexOfAny((byte)' ', (byte)'\t');
            ref var part = ref parts[placement.DestinationFor(line[..end])];
            part.Append(line, guess, buffers);
        }

        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i].Points == 0)
                continue;
            batch.Retain(1);
            plan.Add(new Delivery(targets[i], new Batch(parts[i].Buffer!, parts[i].Length, parts[i].Points, buffers, batch.Release, batch.Share)));
        }
    }

    private struct Part
    {
        public byte[]? Buffer;
        public int Length;
        public int Points;

        public void Append(ReadOnlySpan<byte> line, int initial, BufferPool buffers)
        {
            if (Buffer is null)
                Buffer = buffers.Rent(Math.Max(initial, line.Length));
            else if (Buffer.Length - Length < line.Length)
                buffers.Grow(ref Buffer, Length, line.Length);
            line.CopyTo(Buffer.AsSpan(Length));
            Length += line.Length;
            Points++;
        }
    }
}
