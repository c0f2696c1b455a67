package dev.maskopt.bench;

import dev.maskopt.Device;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Gate;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.synthetic.PlantedTask;
import java.util.List;
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
 * Latency of one explanation call on the CNN of the planted task (untrained weights: the cost does not
 * depend on them), for a batch of {@code batch} texts of {@code length} words, on the backend that
 * {@link Device#auto()} picks (MASKOPT_BACKEND=cpu|cuda to force one), with the optimization step replayed from
 * a CUDA graph or launched op by op ({@code graphs}; the CPU ignores it, so pass {@code -p graphs=true} there).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ExplainBenchmark {
    @Param({"1", "8"})
    public int batch;

    @Param({"32", "128"})
    public int length;

    @Param({"HARD_CONCRETE", "HARD_KUMA"})
    public Gate gate;

    @Param({"200"})
    public int steps;

    @Param({"true", "false"})
    public boolean graphs;

    private Device device;
    private CnnClassifier model;
    private Explainer explainer;
    private List<String> texts;

    @Setup(Level.Trial)
    public void setup() {
        device = Device.auto();
        var vocab = PlantedTask.vocabulary();
        model = CnnClassifier.create(device, vocab, PlantedTask.embeddings(vocab, 32, 1), 32, PlantedTask.LABELS,
                CnnClassifier.DEFAULT_WIDTHS, 16, length, 1);
        texts = new PlantedTask(length, length).generate(batch, 3).stream().map(PlantedTask.Example::text).toList();
        explainer = Explainer.create(model,
                ExplainerConfig.builder().optGate(gate).optSteps(steps).optCudaGraphs(graphs).build());
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

    // Run: ./mvnw -q -DskipTests package && java -jar bench/target/benchmarks.jar ExplainBenchmark
    // Quick: java -jar bench/target/benchmarks.jar ExplainBenchmark -p batch=1 -p length=32 -p graphs=true -wi 1 -i 3
}
