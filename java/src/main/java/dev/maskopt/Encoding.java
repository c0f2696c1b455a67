package dev.maskopt;

import java.util.List;

/**
 * A text as the model sees it: its tokens (the units a rationale is reported on) and their vocabulary ids.
 *
 * @param tokens the tokens, in order
 * @param ids one vocabulary id per token
 */
public record Encoding(List<String> tokens, int[] ids) {
    public Encoding {
        tokens = List.copyOf(tokens);
        ids = ids.clone();
        if (tokens.size() != ids.length) {
            throw new IllegalArgumentException(tokens.size() + " tokens but " + ids.length + " ids");
        }
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    public int length() {
        return ids.length;
    }
}
