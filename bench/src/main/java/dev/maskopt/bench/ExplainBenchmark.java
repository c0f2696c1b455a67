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
 * One explanation call on a CNN (untrained weights: the cost does not depend on them) for {@code shape} = batch x
 * words: latency at batch 1 for a short sentence (16 words), 128 and 512 words, and throughput at batch 64
 * (explanations/s = 64 / call time), on the backend that {@link Device#auto()} picks (MASKOPT_BACKEND=cpu|cuda to force
 * one), with the optimization step replayed from a CUDA graph or launched op by op ({@code graphs}; the CPU ignores
 * it). {@code dim} and {@code filters}: 32 and 16 are the planted demo's CNN, 100 and 100 Kim's (and the side-by-side
 * comparison's) shape. Defaults are sized for a 2-core CPU; {@code steps} scales the time linearly.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ExplainBenchmark {
    @Param({"1x16", "1x128", "1x512", "64x16"})
    public String shape;

    @Param({"HARD_CONCRETE"})
    public Gate gate;

    @Param({"32"})
    public int dim;

    @Param({"16"})
    public int filters;

    @Param({"50"})
    public int steps;

    @Param({"true"})
    public boolean graphs;

    private Device device;
    private CnnClassifier model;
    private Explainer explainer;
    private List<String> texts;

    @Setup(Level.Trial)
    public void setup() {
        device = Device.auto();
        String[] bl = shape.split("x");
        int batch = Integer.parseInt(bl[0]), length = Integer.parseInt(bl[1]);
        var vocab = PlantedTask.vocabulary();
        model = CnnClassifier.create(device, vocab, PlantedTask.embeddings(vocab, dim, 1), dim, PlantedTask.LABELS,
                CnnClassifier.DEFAULT_WIDTHS, filters, length, 1);
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
    // Kim's shape, 200 steps: ... ExplainBenchmark -p dim=100 -p filters=100 -p steps=200
    // GPU, graphs on and off: ... ExplainBenchmark -p graphs=true,false -p gate=HARD_CONCRETE,HARD_KUMA
}
