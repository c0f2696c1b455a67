package dev.maskopt.attribution;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import java.util.ArrayList;
import java.util.List;

/**
 * Input marginalization (Kim et al. 2020; methods.md section 4): the weight of evidence of word i for class y,
 * {@code log2 odds p_y(x) - log2 odds p_y(x_-i)} with {@code odds(p) = p / (1 - p)}, where
 * {@code p_y(x_-i) = sum_c q(c) p_y(x with word i := c)} marginalizes the word over candidate words c.
 *
 * <p>The paper takes q from a masked language model at position i. This implementation has none: q is a
 * context-free {@link UnigramDistribution} of training words, truncated to its {@code candidates} most
 * frequent words and renormalized over them (Pham et al.'s reimplementation also keeps a top 10 and
 * renormalizes), so the same candidates stand in at every position. A candidate is spliced in as its token
 * ids, replacing all tokens of word i; candidates that would make the text longer than the model accepts
 * are left out and the rest renormalized. The distribution must come from the same model's encoder.
 * The word itself is a candidate when it is among them, as it can be under a masked language model. Log-odds
 * are computed from the logits with log-sum-exp (no overflow as p approaches 1). Cost per text:
 * {@code words * candidates + 1} inputs, batched with those of the other texts.
 */
public final class InputMarginalization implements Attributor {
    private final UnigramDistribution distribution;
    private final int candidates;

    private InputMarginalization(UnigramDistribution distribution, int candidates) {
        this.distribution = Inputs.notNull("distribution", distribution);
        Inputs.positive("candidates", candidates);
        this.candidates = candidates;
    }

    /** The 10 most frequent words of the distribution as candidates. */
    public static InputMarginalization create(UnigramDistribution distribution) {
        return new InputMarginalization(distribution, 10);
    }

    public InputMarginalization withCandidates(int v) {
        return new InputMarginalization(distribution, v);
    }

    public UnigramDistribution distribution() {
        return distribution;
    }

    public int candidates() {
        return candidates;
    }

    @Override
    public String name() {
        return "input-marginalization(unigram top " + candidates + ")";
    }

    @Override
    public List<double[]> attribute(Classifier model, List<Encoding> texts, int[] targets) {
        List<Encoding> enc = Inputs.check(model, texts, targets);
        int[] y = Inputs.targets(model, enc, targets);
        int k = Math.min(candidates, distribution.size());
        List<int[]> cand = new ArrayList<>(k);
        for (int j = 0; j < k; j++) {
            cand.add(distribution.tokenIds(j));
        }
        // Per text: row 0 is the text; then one row per (word i, candidate j) that fits, listed as i k + j.
        int[][] fits = new int[enc.size()][];
        int[] start = new int[enc.size() + 1];
        for (int n = 0; n < enc.size(); n++) {
            fits[n] = fitting(model, enc.get(n), cand, n);
            start[n + 1] = Math.addExact(start[n], 1 + fits[n].length);
        }
        float[][] z = Forward.logits(model, start[enc.size()], r -> {
            int n = Forward.textOf(start, r), local = r - start[n];
            Encoding e = enc.get(n);
            if (local == 0) {
                return e.ids();
            }
            int pair = fits[n][local - 1];
            return splice(e.ids(), e.wordOfToken(), pair / k, cand.get(pair % k));
        });
        int c = model.labels().size();
        List<double[]> out = new ArrayList<>(enc.size());
        for (int n = 0; n < enc.size(); n++) {
            out.add(scores(z, start[n], fits[n], enc.get(n).words().size(), k, c, y[n]));
        }
        return out;
    }

    /** The (word, candidate) pairs, as i k + j, whose text stays within the model's length; fails if a word has none. */
    private static int[] fitting(Classifier model, Encoding e, List<int[]> cand, int index) {
        int words = e.words().size(), k = cand.size();
        int[] ids = e.ids(), wordOf = e.wordOfToken();
        List<Integer> out = new ArrayList<>(words * k);
        for (int i = 0; i < words; i++) {
            int own = UnigramDistribution.pieces(ids, wordOf, i).length, before = out.size();
            for (int j = 0; j < k; j++) {
                if (ids.length - own + cand.get(j).length <= model.maxLength()) {
                    out.add(i * k + j);
                }
            }
            if (out.size() == before) {
                throw new IllegalArgumentException("text " + index + ": no candidate word fits in place of word " + i
                        + " within the model's " + model.maxLength() + " tokens");
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Weights of evidence of one text from its rows' logits (row {@code at} is the text itself). */
    private double[] scores(float[][] z, int at, int[] fits, int words, int k, int c, int y) {
        // log p = logsumexp_j(log q_j + log p_j), log(1 - p) = logsumexp_j(log q_j + log(1 - p_j)), sum q = 1.
        double logOddsX = logOdds(z[at], c, y);
        double[] mass = new double[words];
        for (int pair : fits) {
            mass[pair / k] += distribution.probability(pair % k);
        }
        double[] out = new double[words];
        double[] logP = new double[k], logNotP = new double[k];
        for (int from = 0; from < fits.length; ) {
            int i = fits[from] / k, used = 0;
            for (; from < fits.length && fits[from] / k == i; from++, used++) {
                float[] row = z[at + 1 + from];
                double lse = Output.logSumExp(row, 0, c);
                double logQ = Math.log(distribution.probability(fits[from] % k) / mass[i]);
                logP[used] = logQ + row[y] - lse;
                logNotP[used] = logQ + logSumExpExcept(row, c, y) - lse;
            }
            out[i] = (logOddsX - (logSumExp(logP, used) - logSumExp(logNotP, used))) / Math.log(2);
        }
        return out;
    }

    /** {@code ids} with the tokens of word {@code w} replaced by {@code piece} (at the word's first token). */
    private static int[] splice(int[] ids, int[] wordOf, int w, int[] piece) {
        int own = 0;
        for (int x : wordOf) {
            own += x == w ? 1 : 0;
        }
        int[] out = new int[ids.length - own + piece.length];
        boolean placed = false;
        for (int t = 0, o = 0; t < ids.length; t++) {
            if (wordOf[t] != w) {
                out[o++] = ids[t];
            } else if (!placed) {
                System.arraycopy(piece, 0, out, o, piece.length);
                o += piece.length;
                placed = true;
            }
        }
        return out;
    }

    /** {@code log(p_y / (1 - p_y)) = z_y - logsumexp_{c != y} z_c}. */
    static double logOdds(float[] z, int c, int y) {
        return z[y] - logSumExpExcept(z, c, y);
    }

    private static double logSumExpExcept(float[] z, int c, int y) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < c; j++) {
            if (j != y) {
                max = Math.max(max, z[j]);
            }
        }
        double s = 0;
        for (int j = 0; j < c; j++) {
            if (j != y) {
                s += Math.exp(z[j] - max);
            }
        }
        return max + Math.log(s);
    }

    private static double logSumExp(double[] v, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, v[j]);
        }
        double s = 0;
        for (int j = 0; j < n; j++) {
            s += Math.exp(v[j] - max);
        }
        return max + Math.log(s);
    }
}
