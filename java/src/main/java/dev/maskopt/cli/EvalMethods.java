package dev.maskopt.cli;

import dev.maskopt.Classifier;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.attribution.Attributor;
import dev.maskopt.eval.Evaluation;
import java.util.List;

/** The explainers as {@link Evaluation.Method}s. */
public final class EvalMethods {
    private EvalMethods() {}

    /** The mask optimizer: its P(keep) per word as scores, its deterministic gates' rationale as its own. */
    public static Evaluation.Method maskopt(ExplainerConfig config) {
        return new Evaluation.Method() {
            @Override
            public String name() {
                return "maskopt";
            }

            @Override
            public Evaluation.Output explain(Classifier model, Encoding text, int target) {
                try (Explainer ex = Explainer.create(model, config)) {
                    Explanation e = ex.explainEncoded(List.of(text), new int[] {target}).get(0);
                    return new Evaluation.Output(e.keepProbabilities(), e.rationale());
                }
            }
        };
    }

    /**
     * The mask optimizer with a target selection rate per document: the human rationale's share of the words (an
     * oracle length, like the "@ oracle k" rows), otherwise as {@link #maskopt}.
     */
    public static Evaluation.Method maskoptAtHumanRate(ExplainerConfig config) {
        return new Evaluation.Method() {
            @Override
            public String name() {
                return "maskopt @ human rate";
            }

            @Override
            public Evaluation.Output explain(Classifier model, Encoding text, int target) {
                throw new UnsupportedOperationException(name() + " needs the human rationale's length");
            }

            @Override
            public Evaluation.Output explain(Classifier model, Encoding text, int target, int oracleWords) {
                double rate = Math.min(1.0, (double) oracleWords / text.words().size());
                return maskopt(config.toBuilder().optTargetRate(rate).build()).explain(model, text, target);
            }
        };
    }

    public static Evaluation.Method scores(String name, Attributor attributor) {
        return new Evaluation.Method() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Evaluation.Output explain(Classifier model, Encoding text, int target) {
                return new Evaluation.Output(attributor.attribute(model, text, target), null);
            }
        };
    }
}
