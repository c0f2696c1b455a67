package dev.maskopt;

import java.util.ArrayList;
import java.util.List;

/**
 * The explanation of one prediction: which tokens the model relied on, and evidence that it did.
 *
 * <p>The rationale is the set of tokens whose deterministic gate is at least the configured threshold. Its
 * certificate follows ERASER (methods.md section 7), with the probability of the explained class y and the
 * same removal policy as the optimizer (masked tokens replaced by the baseline embedding):
 * {@code sufficiency = p_y(text) - p_y(rationale only)} (lower is better) and
 * {@code comprehensiveness = p_y(text) - p_y(text without rationale)} (higher is better).
 *
 * @param words the words of the text (the units of the rationale; each word's tokens share one gate)
 * @param gates per-word deterministic (test-time) gate in [0, 1]
 * @param keepProbabilities per-word probability that the stochastic gate is non-zero
 * @param rationale per-word membership in the rationale
 * @param spans the rationale's contiguous runs
 * @param labels the class names
 * @param predicted the model's predicted class on the full text
 * @param target the explained class (the prediction unless a target was given)
 * @param probabilities the model's class probabilities on the full text
 * @param rationaleOnlyProbability p_y with only the rationale kept
 * @param withoutRationaleProbability p_y with the rationale removed
 * @param trace the objective at every optimization step
 * @param seconds wall-clock time of the whole explanation call, shared by the texts explained together
 */
public record Explanation(
        List<String> words,
        double[] gates,
        double[] keepProbabilities,
        boolean[] rationale,
        List<Span> spans,
        List<String> labels,
        int predicted,
        int target,
        double[] probabilities,
        double rationaleOnlyProbability,
        double withoutRationaleProbability,
        List<Step> trace,
        double seconds) {

    /**
     * One optimization step, averaged over samples.
     *
     * @param objective the weighted total
     * @param sufficiencyLoss -log p_y(keep)
     * @param comprehensivenessLoss -log(1 - p_y(drop))
     * @param expectedL0 expected number of open gates divided by the length
     * @param expectedTransitions expected number of open/closed changes divided by the length
     * @param sparsityWeight the weight of {@code expectedL0} in this step's objective: the configured sparsity weight,
     *     or, with a target rate, the text's weight at this step (see {@link ExplainerConfig})
     */
    public record Step(double objective, double sufficiencyLoss, double comprehensivenessLoss, double expectedL0,
            double expectedTransitions, double sparsityWeight) {}

    public Explanation {
        words = List.copyOf(words);
        gates = gates.clone();
        keepProbabilities = keepProbabilities.clone();
        rationale = rationale.clone();
        spans = List.copyOf(spans);
        labels = List.copyOf(labels);
        probabilities = probabilities.clone();
        trace = List.copyOf(trace);
        int n = words.size();
        if (gates.length != n || keepProbabilities.length != n || rationale.length != n) {
            throw new IllegalArgumentException("per-word arrays must have one entry per word");
        }
    }

    /** Contiguous runs of selected words. */
    public static List<Span> spansOf(List<String> words, boolean[] selected) {
        List<Span> spans = new ArrayList<>();
        int t = 0;
        while (t < selected.length) {
            if (!selected[t]) {
                t++;
                continue;
            }
            int start = t;
            while (t < selected.length && selected[t]) {
                t++;
            }
            spans.add(new Span(start, t, String.join(" ", words.subList(start, t))));
        }
        return spans;
    }

    @Override
    public double[] gates() {
        return gates.clone();
    }

    @Override
    public double[] keepProbabilities() {
        return keepProbabilities.clone();
    }

    @Override
    public boolean[] rationale() {
        return rationale.clone();
    }

    @Override
    public double[] probabilities() {
        return probabilities.clone();
    }

    /** Whether word {@code i} is in the rationale. */
    public boolean selected(int i) {
        return rationale[i];
    }

    /** Number of rationale words. */
    public int rationaleSize() {
        int k = 0;
        for (boolean b : rationale) {
            k += b ? 1 : 0;
        }
        return k;
    }

    /** The share of the words in the rationale: {@link #rationaleSize} / number of words. */
    public double rationaleShare() {
        return words.isEmpty() ? 0 : (double) rationaleSize() / words.size();
    }

    /**
     * The expected selection rate of the optimized gates: the mean of {@link #keepProbabilities} (E[L0] / length, the
     * quantity a target rate constrains).
     */
    public double expectedSelectionRate() {
        double sum = 0;
        for (double p : keepProbabilities) {
            sum += p;
        }
        return keepProbabilities.length == 0 ? 0 : sum / keepProbabilities.length;
    }

    /** The rationale words, in order. */
    public List<String> rationaleWords() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < rationale.length; i++) {
            if (rationale[i]) {
                out.add(words.get(i));
            }
        }
        return out;
    }

    /** Name of the explained class. */
    public String targetLabel() {
        return labels.get(target);
    }

    /** p_y(text) - p_y(rationale only); lower is better. */
    public double sufficiency() {
        return probabilities[target] - rationaleOnlyProbability;
    }

    /** p_y(text) - p_y(text without rationale); higher is better. */
    public double comprehensiveness() {
        return probabilities[target] - withoutRationaleProbability;
    }

    @Override
    public String toString() {
        return String.format("Explanation[%s p=%.3f, rationale=%s, sufficiency=%.3f, comprehensiveness=%.3f]",
                targetLabel(), probabilities[target], spans.stream().map(Span::text).toList(), sufficiency(),
                comprehensiveness());
    }
}
