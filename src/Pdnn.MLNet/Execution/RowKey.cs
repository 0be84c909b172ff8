using Pdnn.Data;

namespace Pdnn.MLNet.Execution;

/// <summary>Which row of which call a value is computed for; random stages derive their draws from it.</summary>
public readonly record struct RowKey(long Call, long Row)
{
    /// <summary>A generator for this row: a function of (seed, stream, call, row, index) only.</summary>
    public Random Random(int seed, long stream, long index) => new(Seeds.Derive(seed, stream, Call, Row, index));
}
