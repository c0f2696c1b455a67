package dev.maskopt.bench;

import dev.maskopt.Device;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.bert.BertClassifier;
import dev.maskopt.bert.BertWeights;
import dev.maskopt.bert.MiniLm;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
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
 * One explanation call on a MiniLM-shaped classifier (all-MiniLM-L6-v2's shape with random weights and a
 * synthetic vocabulary: the cost does not depend on the values, and nothing needs the 90 MB model file),
 * for {@code batch} texts of {@code length} word pieces ([CLS] and [SEP] included), {@code steps} steps of
 * {@code samples} samples, on the backend {@link Device#auto()} picks (MASKOPT_BACKEND=cpu|cuda forces one).
 *
 * <p>Per-step latency = score / steps; explanations per second = batch / score (bench/gpu-bench.sh
 * derives both from JMH's JSON). Defaults are sized for a CPU; the GPU script passes batch 1, 8, 64,
 * length 128 and 200 steps.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class MiniLmBenchmark {
    @Param({"1"})
    public int batch;

    @Param({"32"})
    public int length;

    @Param({"20"})
    public int steps;

    @Param({"2"})
    public int samples;

    @Param({"FP32"})
    public Device.MatmulPrecision precision;

    private Device device;
    private BertClassifier model;
    private Explainer explainer;
    private List<String> texts;

    @Setup(Level.Trial)
    public void setup() {
        device = Device.auto().matmulPrecision(precision);
        BertWeights.Config cfg = MiniLm.CONFIG;
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        while (vocab.size() < cfg.vocab()) {
            vocab.add("w" + vocab.size());
        }
        WordPieceTokenizer tokenizer = WordPieceTokenizer.fromVocabTxt(
                new ByteArrayInputStream(String.join("\n", vocab).getBytes(StandardCharsets.UTF_8)), true);
        float[] head = new float[cfg.hidden() * 2];
        SplittableRandom rng = new SplittableRandom(1);
        for (int k = 0; k < head.length; k++) {
            head[k] = (float) (rng.nextDouble() * 2 - 1);
        }
        model = new BertClassifier(device, BertWeights.random(cfg, 1, 0.02), tokenizer, List.of("negative", "positive"),
                head, new float[2]);
        texts = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            StringBuilder s = new StringBuilder();
            for (int w = 0; w < length - 2; w++) { // one piece per word
                s.append('w').append(5 + rng.nextInt(cfg.vocab() - 5)).append(' ');
            }
            texts.add(s.toString());
        }
        explainer = Explainer.create(model, ExplainerConfig.builder().optSteps(steps).optSamples(samples).build());
    }

    @Benchmark
    public List<Explanation> explain() {
        return explainer.explain(texts);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        explainer.close();
        model.close();
        device.close();
    }

    // Run: ./mvnw -q -DskipTests package && java -jar bench/target/benchmarks.jar MiniLmBenchmark
    // Batch 1 at 128 and 512 pieces, batch 64 (CPU: minutes): ... MiniLmBenchmark -p length=128,512 -p steps=5
    //   -p samples=1 -i 3, and -p batch=64 -p length=16 -p steps=2 -p samples=1 -i 3
    // GPU: bench/gpu-bench.sh (batch 1, 8, 64; 128 pieces; 200 steps)
}
