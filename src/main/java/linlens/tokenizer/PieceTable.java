package linlens.tokenizer;

import java.util.Arrays;

/**
 * An open-addressing hash table from token piece (a char sequence) to token id. Lookups take a
 * slice of a {@code char[]} so the tokenizer's inner loop allocates nothing.
 */
final class PieceTable {
    private final char[] pool;      // all pieces, back to back
    private final int[] offset;     // piece i occupies pool[offset[i] .. offset[i+1])
    private final int[] slots;      // token id + 1, or 0 for an empty slot
    private final int mask;

    /**
     * Builds the table. Where a piece occurs twice the lower id wins (llama.cpp refuses such
     * vocabularies; we stay usable).
     */
    PieceTable(String[] pieces) {
        long total = 0;
        for (String p : pieces) total += p.length();
        if (total > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("vocabulary too large");
        pool = new char[(int) total];
        offset = new int[pieces.length + 1];
        int at = 0;
        for (int i = 0; i < pieces.length; i++) {
            offset[i] = at;
            pieces[i].getChars(0, pieces[i].length(), pool, at);
            at += pieces[i].length();
        }
        offset[pieces.length] = at;
        int cap = Integer.highestOneBit(Math.max(4, pieces.length * 2 - 1)) << 1;
        slots = new int[cap];
        mask = cap - 1;
        for (int id = 0; id < pieces.length; id++) {
            int start = offset[id], len = offset[id + 1] - start;
            int h = hash(pool, start, len) & mask;
            while (true) {
                int s = slots[h];
                if (s == 0) { slots[h] = id + 1; break; }
                if (equal(s - 1, pool, start, len)) break; // duplicate: keep the first id
                h = (h + 1) & mask;
            }
        }
    }

    /** The id of the piece {@code buf[start .. start+len)}, or -1. */
    int get(char[] buf, int start, int len) {
        int h = hash(buf, start, len) & mask;
        while (true) {
            int s = slots[h];
            if (s == 0) return -1;
            if (equal(s - 1, buf, start, len)) return s - 1;
            h = (h + 1) & mask;
        }
    }

    int get(String piece) {
        char[] c = piece.toCharArray();
        return get(c, 0, c.length);
    }

    private boolean equal(int id, char[] buf, int start, int len) {
        int ps = offset[id];
        return offset[id + 1] - ps == len && Arrays.equals(pool, ps, ps + len, buf, start, start + len);
    }

    private static int hash(char[] buf, int start, int len) {
        int h = 0x9E3779B9 ^ len;
        for (int i = start, end = start + len; i < end; i++) h = 31 * h + buf[i];
        h ^= h >>> 16;
        h *= 0x85EBCA6B;
        h ^= h >>> 13;
        h *= 0xC2B2AE35;
        h ^= h >>> 16;
        return h;
    }
}
