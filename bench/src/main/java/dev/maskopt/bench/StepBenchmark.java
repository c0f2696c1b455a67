package dev.maskopt.bench;

import static dev.maskopt.internal.Natives.check;
import static dev.maskopt.internal.Natives.ctx;
import static dev.maskopt.internal.Natives.f;
import static dev.maskopt.internal.Natives.i;
import static dev.maskopt.internal.Natives.i64;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Tensor;
import dev.maskopt.bert.BertClassifier;
import dev.maskopt.bert.BertWeights;
import dev.maskopt.bert.MiniLm;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.internal.GateOps;
import dev.maskopt.internal.NativeCore;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one optimization step split into its phases, each a benchmark of the same native calls, on the same
 * buffers, that the explainer's step makes (dev.maskopt.internal.Workspace#step):
 * <ul>
 *   <li>{@code gatesMix}: sample the gates, gather them onto tokens, mix keep and drop inputs, and the mix backward
 *       fused with the reparameterization backward, summed onto words;</li>
 *   <li>{@code forward}: the model on the 2 S N mixed rows;</li>
 *   <li>{@code backward}: the objective's logit gradients and the model's input gradients;</li>
 *   <li>{@code update}: expected-L0 gradients, the trace record and the Adam step;</li>
 *   <li>{@code step}: all of it, in the explainer's order.</li>
 * </ul>
 * Models: {@code cnn} is the comparison's CNN shape (100-d vectors, widths 3/4/5, 100 filters each) and
 * {@code minilm} all-MiniLM-L6-v2's shape, both with random weights (the cost does not depend on them). One word
 * per token. Backend: {@link Device#auto()} (MASKOPT_BACKEND=cpu|cuda forces one); on CUDA each call is followed
 * by a synchronization, so the time includes launch overhead.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class StepBenchmark {
    @Param({"cnn", "minilm"})
    public String model;

    @Param({"1"})
    public int batch;

    @Param({"16", "128"})
    public int length;

    @Param({"4"})
    public int samples;

    private Device dev;
    private Classifier clf;
    private GateOps gates;
    private ExplainerConfig cfg;
    private int n, t, s, p, c, d;
    private final List<Tensor> owned = new ArrayList<>();
    private Tensor lens, group, rowLens, target, emb, base, theta, m, v, dTheta, zWord, dzWord, z, dz, dThetaTok, mixed, dMixed,
            logits, dLogits, scratch, trace, step;

    @Setup(Level.Trial)
    public void setup() {
        dev = Device.auto();
        cfg = ExplainerConfig.defaults().toBuilder().optSamples(samples).build();
        gates = new GateOps(cfg);
        n = batch;
        t = length;
        s = samples;
        p = cfg.gate().parameters();
        SplittableRandom rng = new SplittableRandom(3);
        if (model.equals("cnn")) {
            var vocab = PlantedTask.vocabulary();
            clf = CnnClassifier.create(dev, vocab, PlantedTask.embeddings(vocab, 100, 1), 100, PlantedTask.LABELS,
                    CnnClassifier.DEFAULT_WIDTHS, 100, Math.max(t, 5), 1);
        } else {
            BertWeights.Config bc = MiniLm.CONFIG;
            List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
            while (vocab.size() < bc.vocab()) {
                vocab.add("w" + vocab.size());
            }
            WordPieceTokenizer tok = WordPieceTokenizer.fromVocabTxt(
                    new ByteArrayInputStream(String.join("\n", vocab).getBytes(StandardCharsets.UTF_8)), true);
            float[] head = new float[bc.hidden() * 2];
            for (int k = 0; k < head.length; k++) {
                head[k] = (float) (rng.nextDouble() * 2 - 1);
            }
            clf = new BertClassifier(dev, BertWeights.random(bc, 1, 0.02), tok, List.of("negative", "positive"), head,
                    new float[2]);
        }
        c = clf.labels().size();
        d = clf.embeddingDim();
        long rows = 2L * s * n;
        int[] lensV = new int[n], groupV = new int[n * t];
        Arrays.fill(lensV, t);
        for (int k = 0; k < n * t; k++) {
            groupV[k] = k % t;
        }
        lens = own(dev.upload(lensV, n));
        group = own(dev.upload(groupV, n, t));
        int[] rl = new int[(int) rows];
        Arrays.fill(rl, t);
        rowLens = own(dev.upload(rl, rows));
        target = own(dev.upload(new int[n], n));
        float[] e = new float[n * t * d];
        for (int k = 0; k < e.length; k++) {
            e[k] = (float) rng.nextGaussian() * 0.05f;
        }
        emb = own(dev.upload(e, n, t, d));
        base = own(dev.floats(n, t, d));
        base.fill(0f);
        theta = own(dev.upload(gates.initialParameters(n, t), p, n, t));
        m = own(dev.floats(p, n, t));
        v = own(dev.floats(p, n, t));
        m.fill(0f);
        v.fill(0f);
        dTheta = own(dev.floats(p, n, t));
        zWord = own(dev.floats(s, n, t));
        dzWord = own(dev.floats(p, s, n, t));
        z = own(dev.floats(s, n, t));
        dz = own(dev.floats(p, s, n, t));
        dThetaTok = own(dev.floats(p, n, t));
        mixed = own(dev.floats(rows, t, d));
        dMixed = own(dev.floats(rows, t, d));
        logits = own(dev.floats(rows, c));
        dLogits = own(dev.floats(rows, c));
        scratch = own(dev.floats(2, n, 2));
        trace = own(dev.floats(1, 2, n, 2));
        step = own(dev.upload(new long[] {0}, 1));
        step();
        dev.synchronize();
    }

    @Benchmark
    public void gatesMix() {
        NativeCore.Context cx = ctx(dev);
        gates.sample(zWord, dzWord, theta, lens, s, n, t, step);
        check(NativeCore.mo_gather_gates(cx, f(z), f(zWord), i(group), i(lens), 1, s, n, t, t), "gather_gates");
        check(NativeCore.mo_gather_gates(cx, f(dz), f(dzWord), i(group), i(lens), p, s, n, t, t), "gather_gates");
        check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(emb), f(base), i(lens), s, n, t, d, 1), "mix_forward");
        check(NativeCore.mo_mix_backward(cx, f(dThetaTok), f(dMixed), f(dz), f(emb), f(base), i(lens), p, s, n, t, d,
                1), "mix_backward");
        check(NativeCore.mo_segment_sum(cx, f(dTheta), f(dThetaTok), i(group), i(lens), p, n, t, t), "segment_sum");
        dev.synchronize();
    }

    @Benchmark
    public void forward() {
        clf.forward(mixed, rowLens, logits);
        dev.synchronize();
    }

    @Benchmark
    public void backward() {
        NativeCore.Context cx = ctx(dev);
        check(NativeCore.mo_objective(cx, f(scratch), f(dLogits), f(logits), i(target), s, n, c,
                (float) cfg.sufficiencyWeight(), (float) cfg.comprehensivenessWeight()), "objective");
        clf.backward(dLogits, dMixed);
        dev.synchronize();
    }

    @Benchmark
    public void update() {
        NativeCore.Context cx = ctx(dev);
        gates.regularize(dTheta, scratch, 2L * n, theta, lens, n, t);
        check(NativeCore.mo_step_increment(cx, i64(step)), "step_increment");
        check(NativeCore.mo_adam_update_at(cx, f(theta), f(m), f(v), f(dTheta), (long) p * n * t,
                (float) cfg.learningRate(), (float) cfg.beta1(), (float) cfg.beta2(), (float) cfg.adamEpsilon(),
                (float) cfg.weightDecay(), i64(step)), "adam_update_at");
        dev.synchronize();
    }

    @Benchmark
    public void step() {
        NativeCore.Context cx = ctx(dev);
        gates.sample(zWord, dzWord, theta, lens, s, n, t, step);
        check(NativeCore.mo_gather_gates(cx, f(z), f(zWord), i(group), i(lens), 1, s, n, t, t), "gather_gates");
        check(NativeCore.mo_gather_gates(cx, f(dz), f(dzWord), i(group), i(lens), p, s, n, t, t), "gather_gates");
        check(NativeCore.mo_mix_forward(cx, f(mixed), f(z), f(emb), f(base), i(lens), s, n, t, d, 1), "mix_forward");
        clf.forward(mixed, rowLens, logits);
        check(NativeCore.mo_objective(cx, f(scratch), f(dLogits), f(logits), i(target), s, n, c,
                (float) cfg.sufficiencyWeight(), (float) cfg.comprehensivenessWeight()), "objective");
        clf.backward(dLogits, dMixed);
        check(NativeCore.mo_mix_backward(cx, f(dThetaTok), f(dMixed), f(dz), f(emb), f(base), i(lens), p, s, n, t, d,
                1), "mix_backward");
        check(NativeCore.mo_segment_sum(cx, f(dTheta), f(dThetaTok), i(group), i(lens), p, n, t, t), "segment_sum");
        gates.regularize(dTheta, scratch, 2L * n, theta, lens, n, t);
        check(NativeCore.mo_step_increment(cx, i64(step)), "step_increment");
        check(NativeCore.mo_adam_update_at(cx, f(theta), f(m), f(v), f(dTheta), (long) p * n * t,
                (float) cfg.learningRate(), (float) cfg.beta1(), (float) cfg.beta2(), (float) cfg.adamEpsilon(),
                (float) cfg.weightDecay(), i64(step)), "adam_update_at");
        dev.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (int k = owned.size() - 1; k >= 0; k--) {
            owned.get(k).close();
        }
        clf.close();
        dev.close();
    }

    private Tensor own(Tensor x) {
        owned.add(x);
        return x;
    }

    // Run: ./mvnw -q -DskipTests package && java -jar bench/target/benchmarks.jar StepBenchmark
    // Per-phase table: ... -rf json -rff step.json && python3 bench/jmh_table.py step.json
}
