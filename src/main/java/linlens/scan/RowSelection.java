package linlens.scan;

import java.util.BitSet;
import java.util.SplittableRandom;

/**
 * Which rows of a dataset a scan takes, by row index: the first {@code limit} rows, then a
 * sample of {@code sample} of those (the same rows for the same seed and row count, whatever
 * the machine), then the shard's share, the indexes i with i % shards == shard. Shards of one
 * scan therefore split its sample between them, each row in exactly one.
 */
public final class RowSelection {
    private final BitSet chosen;
    private final long count;

    private RowSelection(BitSet chosen) {
        this.chosen = chosen;
        this.count = chosen.cardinality();
    }

    /**
     * @param rows   the dataset's rows
     * @param limit  null: all rows
     * @param sample null: no sampling; else how many rows to draw, without replacement
     * @param seed   the sample's seed
     */
    public static RowSelection of(long rows, Long limit, Long sample, long seed, int shard, int shards) {
        if (rows > Integer.MAX_VALUE) throw new IllegalArgumentException("more than 2^31-1 rows: " + rows);
        int m = (int) Math.min(rows, limit == null ? rows : limit);
        BitSet set = new BitSet(m);
        if (sample == null || sample >= m) {
            set.set(0, m);
        } else {
            // selection sampling (Knuth, TAOCP vol. 2, algorithm S): exactly `sample` of m rows, each
            // subset equally likely, decided in row order by one stream of random numbers
            SplittableRandom rnd = new SplittableRandom(seed);
            long need = sample;
            for (int i = 0; i < m && need > 0; i++)
                if ((m - i) * rnd.nextDouble() < need) {
                    set.set(i);
                    need--;
                }
        }
        if (shards > 1)
            for (int i = set.nextSetBit(0); i >= 0; i = set.nextSetBit(i + 1)) if (i % shards != shard) set.clear(i);
        return new RowSelection(set);
    }

    public boolean contains(long index) { return index >= 0 && index < Integer.MAX_VALUE && chosen.get((int) index); }

    /** How many rows are chosen. */
    public long count() { return count; }

    /** The chosen indexes, ascending. */
    public long[] indexes() { return chosen.stream().asLongStream().toArray(); }
}
