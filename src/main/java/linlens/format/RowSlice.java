package linlens.format;

/** Rows {@code [from, from+rows)} of a stored matrix: one part of a fused weight (qkv, gate_up). */
public record RowSlice(StoredMatrix base, int from, int rows) implements StoredMatrix {
    public RowSlice {
        if (from < 0 || rows < 0 || from + rows > base.rows())
            throw new IllegalArgumentException(base.name() + ": rows " + from + ".." + (from + rows) + " outside " + base.rows());
    }

    @Override public String name() { return base.name() + "[" + from + ":" + (from + rows) + "]"; }
    @Override public int cols() { return base.cols(); }
    @Override public void rowsToFloat(int row0, int count, float[] dst, int dstOff) {
        base.rowsToFloat(from + row0, count, dst, dstOff);
    }
    /** The whole fused matrix's bytes: its parts are used together. */
    @Override public java.lang.foreign.MemorySegment mappedBytes() { return base.mappedBytes(); }
}
