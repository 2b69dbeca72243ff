package linlens.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Splits raw text around special tokens written in it, with the same result as llama.cpp's
 * {@code tokenizer_st_partition}: every CONTROL, USER_DEFINED and UNKNOWN token is a candidate;
 * candidates are taken one at a time, longest (in UTF-8 bytes) first, and each claims its
 * non-overlapping occurrences, left to right, inside the text not yet claimed. Without
 * {@code parseSpecial} only USER_DEFINED tokens are matched.
 *
 * <p>Rather than scanning the whole text once per candidate (thousands of them), a trie finds
 * every occurrence of every candidate in one pass; the occurrences are then claimed in
 * (priority, position) order against a map of the still unclaimed ranges.
 *
 * <p>Not reproduced: the LSTRIP/RSTRIP attributes, which llama.cpp sets only for a few models by
 * name (phi-3, jina-v2, modern-bert).
 */
final class SpecialSplitter {
    /** A piece of the split text: raw text [start, end) when {@code token < 0}, else a special token. */
    record Fragment(int start, int end, int token) {
        boolean isText() { return token < 0; }
    }

    private final int[] rankToken;     // candidates in priority order
    private final int[] rankLength;    // their length in chars
    private final boolean[] rankControl; // CONTROL or UNKNOWN (skipped without parseSpecial)

    // trie over the candidates' chars
    private final int[] nodeFirstEdge, nodeEdgeCount, nodeRank; // rank of the candidate ending here, or -1
    private final char[] edgeChar;
    private final int[] edgeTarget;
    private final long[] firstChars = new long[1024]; // bit set over char values that start a candidate

    SpecialSplitter(Vocabulary v) {
        List<Integer> ids = new ArrayList<>();
        for (int id = 0; id < v.size(); id++)
            if ((v.attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED | Vocabulary.ATTR_UNKNOWN)) != 0)
                ids.add(id);
        int[] byteLen = new int[v.size()];
        for (int id : ids) byteLen[id] = v.pieces[id].getBytes(StandardCharsets.UTF_8).length;
        // longest first; equal lengths by id (llama.cpp's sort leaves their order unspecified)
        ids.sort((a, b) -> byteLen[a] != byteLen[b] ? Integer.compare(byteLen[b], byteLen[a]) : Integer.compare(a, b));
        int k = ids.size();
        rankToken = new int[k];
        rankLength = new int[k];
        rankControl = new boolean[k];
        for (int r = 0; r < k; r++) {
            int id = ids.get(r);
            rankToken[r] = id;
            rankLength[r] = v.pieces[id].length();
            rankControl[r] = (v.attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN)) != 0;
        }

        // build the trie with maps, then flatten it
        List<Map<Character, Integer>> children = new ArrayList<>();
        List<Integer> ranks = new ArrayList<>();
        children.add(new HashMap<>());
        ranks.add(-1);
        for (int r = 0; r < k; r++) {
            String p = v.pieces[rankToken[r]];
            int node = 0;
            for (int i = 0; i < p.length(); i++) {
                Integer next = children.get(node).get(p.charAt(i));
                if (next == null) {
                    next = children.size();
                    children.add(new HashMap<>());
                    ranks.add(-1);
                    children.get(node).put(p.charAt(i), next);
                }
                node = next;
            }
            if (ranks.get(node) < 0) ranks.set(node, r); // a piece can occur once only, but be safe
            firstChars[p.charAt(0) >>> 6] |= 1L << (p.charAt(0) & 63);
        }
        int nodes = children.size(), edges = 0;
        for (Map<Character, Integer> m : children) edges += m.size();
        nodeFirstEdge = new int[nodes];
        nodeEdgeCount = new int[nodes];
        nodeRank = new int[nodes];
        edgeChar = new char[edges];
        edgeTarget = new int[edges];
        int e = 0;
        for (int n = 0; n < nodes; n++) {
            nodeRank[n] = ranks.get(n);
            nodeFirstEdge[n] = e;
            Character[] cs = children.get(n).keySet().toArray(new Character[0]);
            Arrays.sort(cs);
            nodeEdgeCount[n] = cs.length;
            for (Character c : cs) {
                edgeChar[e] = c;
                edgeTarget[e] = children.get(n).get(c);
                e++;
            }
        }
    }

    private int child(int node, char c) {
        int lo = nodeFirstEdge[node], hi = lo + nodeEdgeCount[node] - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            char m = edgeChar[mid];
            if (m < c) lo = mid + 1;
            else if (m > c) hi = mid - 1;
            else return edgeTarget[mid];
        }
        return -1;
    }

    /** Splits {@code text} into raw text and special token fragments, in order. */
    List<Fragment> split(String text, boolean parseSpecial) {
        int n = text.length();
        List<Fragment> out = new ArrayList<>();
        if (n == 0) return out;

        // 1. every occurrence of every candidate, as (rank << 32 | position)
        long[] occ = new long[16];
        int nOcc = 0;
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if ((firstChars[c >>> 6] & (1L << (c & 63))) == 0) continue;
            int node = 0;
            for (int j = i; j < n; j++) {
                node = child(node, text.charAt(j));
                if (node < 0) break;
                int r = nodeRank[node];
                if (r >= 0 && (parseSpecial || !rankControl[r])) {
                    if (nOcc == occ.length) occ = Arrays.copyOf(occ, occ.length * 2);
                    occ[nOcc++] = ((long) r << 32) | i;
                }
            }
        }
        if (nOcc == 0) {
            out.add(new Fragment(0, n, -1));
            return out;
        }
        Arrays.sort(occ, 0, nOcc);

        // 2. claim them by priority, then position, inside still unclaimed ranges
        TreeMap<Integer, Integer> free = new TreeMap<>();   // unclaimed [start, end)
        TreeMap<Integer, Integer> claimed = new TreeMap<>(); // start -> rank
        free.put(0, n);
        for (int o = 0; o < nOcc; o++) {
            int r = (int) (occ[o] >>> 32), pos = (int) occ[o], end = pos + rankLength[r];
            Map.Entry<Integer, Integer> f = free.floorEntry(pos);
            if (f == null || end > f.getValue()) continue;
            int fs = f.getKey(), fe = f.getValue();
            free.remove(fs);
            if (fs < pos) free.put(fs, pos);
            if (end < fe) free.put(end, fe);
            claimed.put(pos, r);
        }

        // 3. interleave
        int at = 0;
        for (Map.Entry<Integer, Integer> c : claimed.entrySet()) {
            int pos = c.getKey(), r = c.getValue();
            if (at < pos) out.add(new Fragment(at, pos, -1));
            out.add(new Fragment(pos, pos + rankLength[r], rankToken[r]));
            at = pos + rankLength[r];
        }
        if (at < n) out.add(new Fragment(at, n, -1));
        return out;
    }
}
