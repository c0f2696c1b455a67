package dev.maskopt.cnn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.maskopt.Device;
import dev.maskopt.text.GloVe;
import dev.maskopt.text.Vocabulary;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Trains Kim's CNN-static over GloVe 6B 100-d vectors on ERASER Movie Reviews (whole documents, no
 * truncation), picks the epoch by validation accuracy, reports test accuracy and writes the model
 * ({@link GloveCnn} format). Run: {@code java -cp maskopt-cli.jar dev.maskopt.cnn.MoviesCnn DATA OUT [EPOCHS [SEED]]},
 * where DATA holds {@code eraser_movies/} and {@code glove/}.
 */
@Command(name = "movies-cnn", mixinStandardHelpOptions = true,
        description = "Train a GloVe CNN on ERASER Movie Reviews and report its test accuracy.")
public final class MoviesCnn implements Callable<Integer> {
    /** Class names in label order (ERASER's {@code classification} values). */
    public static final List<String> LABELS = List.of("NEG", "POS");
    /** Longest text the model accepts (the longest review has 2,809 tokens). */
    public static final int MAX_LENGTH = 4096;
    static final String GLOVE_FILE = "glove/glove.6B.100d.subset.txt.xz";
    static final String MOVIES_DIR = "eraser_movies";

    @Parameters(index = "0", description = "data folder holding eraser_movies/ and glove/")
    Path data;

    @Parameters(index = "1", description = "model file to write")
    Path output;

    @Parameters(index = "2", arity = "0..1", description = "epochs (default ${DEFAULT-VALUE})")
    int epochs = 20;

    @Parameters(index = "3", arity = "0..1", description = "seed of the weights, unknown vector, shuffling and dropout (default ${DEFAULT-VALUE})")
    long seed = 1;

    @Option(names = "--widths", split = ",", description = "convolution widths (default 3,4,5)")
    int[] widths = CnnClassifier.DEFAULT_WIDTHS;

    @Option(names = "--filters", description = "filters per width (default ${DEFAULT-VALUE})")
    int filters = 100;

    @Option(names = "--batch", description = "documents per step (default ${DEFAULT-VALUE})")
    int batch = 50;

    @Option(names = "--lr", description = "Adam learning rate (default ${DEFAULT-VALUE})")
    double learningRate = 1e-3;

    @Option(names = "--weight-decay", description = "AdamW decoupled weight decay (default ${DEFAULT-VALUE})")
    double weightDecay = 0;

    @Option(names = "--word-dropout", description = "probability of zeroing a training token (default ${DEFAULT-VALUE})")
    double wordDropout = 0.5;

    public static void main(String[] args) {
        System.exit(new CommandLine(new MoviesCnn()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        long t0 = System.nanoTime();
        Path movies = data.resolve(MOVIES_DIR);
        List<CnnTrainer.Example> train = readSplit(movies, "train", Integer.MAX_VALUE);
        List<CnnTrainer.Example> val = readSplit(movies, "val", Integer.MAX_VALUE);
        List<CnnTrainer.Example> test = readSplit(movies, "test", Integer.MAX_VALUE);
        // Static embeddings: the held-out documents' words join the vocabulary (their GloVe vectors carry no label).
        Set<String> corpus = words(train, val, test);
        GloVe glove = GloVe.read(data.resolve(GLOVE_FILE), corpus::contains);
        Vocabulary vocab = GloveCnn.vocabulary(glove, corpus);
        System.out.printf("data: %d train, %d val, %d test docs; %d word types, %d with a GloVe vector (%.1f s)%n",
                train.size(), val.size(), test.size(), corpus.size(), vocab.size() - 2, seconds(t0));
        CnnTrainer.Options options = new CnnTrainer.Options(epochs, batch, learningRate, weightDecay, seed, wordDropout);
        try (Device device = Device.auto();
                CnnClassifier model = GloveCnn.create(device, glove, vocab, LABELS, widths, filters, MAX_LENGTH, seed)) {
            System.out.printf("model: widths %s x %d filters, %d weights, %s backend; %s%n",
                    java.util.Arrays.toString(widths), filters, model.parameterCount(), device.backend(), options);
            long t1 = System.nanoTime();
            CnnTrainer.History history = CnnTrainer.train(model, train, val, options,
                    e -> System.out.printf("epoch %2d  train loss %.4f  val acc %.4f  train %.1f s  val %.1f s%n",
                            e.epoch(), e.trainLoss(), e.validationAccuracy(), e.trainSeconds(), e.validationSeconds()));
            double trainSeconds = seconds(t1);
            long t2 = System.nanoTime();
            double testAccuracy = accuracy(model, test, batch);
            System.out.printf("best epoch %d (val acc %.4f): test acc %.4f (%d docs, %.1f s); training %.1f s%n",
                    history.best().epoch(), history.best().validationAccuracy(), testAccuracy, test.size(),
                    seconds(t2), trainSeconds);
            GloveCnn.save(model, output);
            System.out.printf("wrote %s (%d bytes); total %.1f s%n", output, Files.size(output), seconds(t0));
        }
        return 0;
    }

    /** Fraction of the examples the model labels correctly. */
    static double accuracy(CnnClassifier model, List<CnnTrainer.Example> examples, int batchSize) {
        int[] predicted = CnnTrainer.predict(model, examples.stream().map(CnnTrainer.Example::text).toList(), batchSize);
        int correct = 0;
        for (int k = 0; k < predicted.length; k++) {
            correct += predicted[k] == examples.get(k).label() ? 1 : 0;
        }
        return (double) correct / examples.size();
    }

    /** The distinct normalized words of the examples, in order of first appearance. */
    @SafeVarargs
    static Set<String> words(List<CnnTrainer.Example>... splits) {
        Set<String> words = new LinkedHashSet<>(); // first appearance: a reproducible vocabulary order
        for (List<CnnTrainer.Example> split : splits) {
            for (CnnTrainer.Example e : split) {
                for (String w : Vocabulary.tokenize(e.text())) {
                    words.add(Vocabulary.normalize(w));
                }
            }
        }
        return words;
    }

    /**
     * The first {@code limit} documents of an ERASER split ({@code <split>.jsonl}: annotation_id = docid,
     * classification NEG|POS) as whitespace-joined texts of {@code docs/<docid>}. Minimal on purpose: evidences
     * are not read.
     */
    static List<CnnTrainer.Example> readSplit(Path moviesDir, String split, int limit) throws IOException {
        Path index = moviesDir.resolve(split + ".jsonl");
        if (!Files.isRegularFile(index)) {
            throw new IOException("no ERASER split file " + index);
        }
        ObjectMapper json = new ObjectMapper();
        List<CnnTrainer.Example> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(index, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line; out.size() < limit && (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = json.readTree(line);
                String docid = node.path("annotation_id").asText("");
                int label = LABELS.indexOf(node.path("classification").asText(""));
                if (docid.isEmpty() || docid.contains("/") || docid.contains("\\") || label < 0) {
                    throw new IOException(index + ":" + lineNo + ": expected an annotation_id and a classification"
                            + " in " + LABELS);
                }
                // One sentence per line, tokens separated by whitespace: the tokens joined by single spaces.
                String text = String.join(" ", Vocabulary.tokenize(
                        Files.readString(moviesDir.resolve("docs").resolve(docid), StandardCharsets.UTF_8)));
                if (text.isEmpty()) {
                    throw new IOException("document " + docid + " is empty");
                }
                out.add(new CnnTrainer.Example(text, label));
            }
        }
        return out;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
