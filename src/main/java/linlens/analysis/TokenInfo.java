package linlens.analysis;

import linlens.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/** One prompt token: its id and its text. */
public record TokenInfo(int id, String text) {
    public static List<TokenInfo> of(Transformer m, int[] ids) {
        List<TokenInfo> t = new ArrayList<>();
        for (int id : ids) t.add(new TokenInfo(id, m.tokenizer().decode(id)));
        return t;
    }
}
