package dev.maskopt.bench;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.Encoding;
import dev.maskopt.Explainer;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Explanation;
import dev.maskopt.Gate;
import dev.maskopt.bert.BertClassifier;
import dev.maskopt.bert.BertWeights;
import dev.maskopt.bert.BertWeights.Part;
import dev.maskopt.bert.MiniLm;
import dev.maskopt.bert.SentimentHead;
import dev.maskopt.cnn.CnnClassifier;
import dev.maskopt.cnn.CnnTrainer;
import dev.maskopt.synthetic.PlantedTask;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The maskopt side of the side-by-side comparison with the PyTorch reference ({@code bench/torch_reference.py});
 * {@code bench/compare.sh} drives both. Three commands:
 * <ul>
 *   <li>{@code export DIR [--smoke]}: builds the two models and writes what the reference reads: the CNN (trained
 *       here by maskopt's own trainer on the planted-rationale task, 100-d vectors, Kim's widths 3/4/5 with 100
 *       filters each) in maskopt's CNN model file format ({@code cnn.model}); all-MiniLM-L6-v2 from its Maven
 *       Central artifact plus the shipped sentiment head as raw little-endian float32 ({@code minilm.bin}) with
 *       names, shapes and offsets ({@code minilm.json}); and the cases ({@code cases.json}): each case's texts,
 *       already encoded (token ids, baseline ids, word of each token), and its optimization settings.</li>
 *   <li>{@code time DIR CASE RUNS WARMUP}: explains the case's texts RUNS times after WARMUP unmeasured calls and
 *       prints one JSON line with the wall time of each call in milliseconds.</li>
 *   <li>{@code agree DIR}: explains the agreement cases and writes {@code agree-maskopt.json} (probabilities,
 *       deterministic gates, rationale, per-step losses, certificate) for the reference to compare against.</li>
 *   <li>{@code table DIR RESULTS}: the Markdown table of the timing lines in RESULTS (both implementations' JSON
 *       lines, any number of rounds): per case and thread count, the median and range of each implementation's
 *       calls and the ratio of the medians, maskopt / PyTorch.</li>
 * </ul>
 * Every setting not named in a case is {@link ExplainerConfig}'s default; the reference reads the same values from
 * {@code cases.json}.
 */
public final class SideBySide {
    private SideBySide() {}

    /** One benchmark or agreement case. */
    record Case(String name, String model, int steps, int samples, Gate gate, List<Encoding> texts, boolean agreement,
            Device.MatmulPrecision precision) {
        Case(String name, String model, int steps, int samples, Gate gate, List<Encoding> texts, boolean agreement) {
            this(name, model, steps, samples, gate, texts, agreement, Device.MatmulPrecision.FP32);
        }

        Case withPrecision(String newName, Device.MatmulPrecision p) {
            return new Case(newName, model, steps, samples, gate, texts, agreement, p);
        }
    }

    static final String SHORT = "the acting was superb but the plot was a dull , tedious mess";

    /** Review sentences cycled to build longer MiniLM inputs. */
    static final List<String> SENTENCES = List.of(
            "the acting was superb but the plot was a dull , tedious mess",
            "i loved every minute of this wonderful , moving film",
            "a clumsy script and flat performances sink what could have been a decent thriller",
            "the director keeps the tension high and the final act is genuinely surprising",
            "it is overlong , predictable and far too pleased with itself",
            "the cinematography is gorgeous and the score is unforgettable",
            "sadly the jokes fall flat and the characters never come alive",
            "a warm , funny and beautifully acted story about growing up");

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            usage();
        }
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "export" -> {
                List<String> flags = Arrays.asList(args).subList(2, args.length);
                export(dir, flags.contains("--smoke"), flags.contains("--gpu"), flags.contains("--random-minilm"));
            }
            case "time" -> {
                if (args.length < 5) {
                    usage();
                }
                time(dir, args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]), System.out);
            }
            case "agree" -> agree(dir);
            case "table" -> {
                if (args.length < 3) {
                    usage();
                }
                System.out.print(table(dir, Path.of(args[2])));
            }
            default -> usage();
        }
    }

    private static void usage() {
        System.err.println("usage: SideBySide export DIR [--smoke] [--gpu] [--random-minilm] | time DIR CASE RUNS WARMUP | agree DIR | table DIR RESULTS");
        System.exit(2);
    }

    // ---- export ----------------------------------------------------------------------------------------------

    /**
     * Writes the models and the cases (see the class comment). {@code gpu}: cases sized for a GPU (every case at the
     * default 200 steps and 4 samples, batch 64 at 128 pieces). {@code randomMiniLm}: MiniLM's shape with random
     * weights and a synthetic vocabulary instead of the real model (for machines without the 90 MB model artifact;
     * times do not depend on the weights, the agreement check then covers random weights).
     */
    public static void export(Path dir, boolean smoke, boolean gpu, boolean randomMiniLm) throws IOException {
        Files.createDirectories(dir);
        try (Device device = Device.cpu(); CnnClassifier cnn = trainCnn(device, smoke);
                BertClassifier bert = exportMiniLm(device, dir, randomMiniLm)) {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(dir.resolve("cnn.model")))) {
                cnn.save(out);
            }
            List<Case> cases = gpu ? gpuCases(cnn, bert) : cases(cnn, bert, smoke);
            StringBuilder json = new StringBuilder("{\n\"config\": ").append(configJson(ExplainerConfig.defaults()))
                    .append(",\n\"smoke\": ").append(smoke).append(",\n\"minilm_weights\": \"")
                    .append(randomMiniLm ? "random (MiniLM's shape)" : "all-MiniLM-L6-v2").append("\",\n\"cases\": [\n");
            for (int k = 0; k < cases.size(); k++) {
                json.append(caseJson(cases.get(k))).append(k + 1 < cases.size() ? ",\n" : "\n");
            }
            json.append("]}\n");
            Files.writeString(dir.resolve("cases.json"), json);
        }
    }

    /** Kim's CNN shape over random 100-d vectors, trained on the planted task (accuracy near 1). */
    static CnnClassifier trainCnn(Device device, boolean smoke) {
        var vocab = PlantedTask.vocabulary();
        int dim = 100, filters = 100;
        CnnClassifier model = CnnClassifier.create(device, vocab, PlantedTask.embeddings(vocab, dim, 42), dim,
                PlantedTask.LABELS, CnnClassifier.DEFAULT_WIDTHS, filters, 512, 42);
        List<CnnTrainer.Example> data = new ArrayList<>();
        for (PlantedTask.Example e : PlantedTask.standard().generate(smoke ? 200 : 2000, 0.15, 42)) {
            if (e.hasCue()) {
                data.add(new CnnTrainer.Example(e.text(), e.label()));
            } else {
                data.add(new CnnTrainer.Example(e.text(), 0));
                data.add(new CnnTrainer.Example(e.text(), 1));
            }
        }
        CnnTrainer.train(model, data, new CnnTrainer.Options(smoke ? 1 : 8, 32, 2e-2, 1e-4, 7), epoch -> {});
        return model;
    }

    /**
     * all-MiniLM-L6-v2 with the shipped head (or, when {@code random}, its shape with random weights and a synthetic
     * vocabulary); its weights are written to DIR/minilm.bin and DIR/minilm.json, which {@link #load} reads back.
     */
    static BertClassifier exportMiniLm(Device device, Path dir, boolean random) throws IOException {
        BertWeights weights;
        WordPieceTokenizer tokenizer;
        float[] head;
        if (random) {
            weights = BertWeights.random(MiniLm.CONFIG, 1, 0.02);
            tokenizer = syntheticTokenizer(MiniLm.CONFIG.vocab());
            SplittableRandom rng = new SplittableRandom(1);
            head = new float[MiniLm.CONFIG.hidden() * 2 + 2];
            for (int k = 0; k < head.length; k++) {
                head[k] = (float) (rng.nextDouble() * 2 - 1);
            }
        } else {
            try (InputStream onnx = resource("/all-minilm-l6-v2.onnx");
                    InputStream tok = resource("/all-minilm-l6-v2-tokenizer.json");
                    InputStream h = resource("/dev/maskopt/bert/minilm-sst2-head.bin")) {
                weights = BertWeights.fromOnnx(onnx);
                tokenizer = WordPieceTokenizer.fromTokenizerJson(tok);
                head = SentimentHead.read(h);
            }
        }
        BertWeights.Config c = weights.config();
        int d = c.hidden();
        float[] headW = Arrays.copyOf(head, 2 * d), headB = Arrays.copyOfRange(head, 2 * d, 2 * d + 2);
        Map<String, float[]> arrays = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Part p : Part.values()) {
            if (p.perLayer()) {
                for (int l = 0; l < c.layers(); l++) {
                    arrays.put(p.name() + "." + l, weights.get(p, l));
                    shapes.put(p.name() + "." + l, p.shape(c));
                }
            } else {
                arrays.put(p.name(), weights.get(p));
                shapes.put(p.name(), p.shape(c));
            }
        }
        arrays.put("HEAD_W", headW);
        shapes.put("HEAD_W", new int[] {d, 2});
        arrays.put("HEAD_B", headB);
        shapes.put("HEAD_B", new int[] {2});
        writeRaw(dir.resolve("minilm.bin"), dir.resolve("minilm.json"), arrays, shapes,
                String.format(Locale.ROOT, "\"layers\": %d, \"hidden\": %d, \"heads\": %d, \"intermediate\": %d, "
                        + "\"max_positions\": %d, \"type_vocab\": %d, \"vocab\": %d, \"layer_norm_eps\": %s, ",
                        c.layers(), c.hidden(), c.heads(), c.intermediate(), c.maxPositions(), c.typeVocab(), c.vocab(),
                        Double.toString(c.layerNormEps())));
        return new BertClassifier(device, weights, tokenizer, SentimentHead.LABELS, headW, headB);
    }

    /** The MiniLM classifier from DIR/minilm.bin and DIR/minilm.json (texts come encoded: a synthetic vocabulary). */
    static BertClassifier readMiniLm(Device device, Path dir) throws IOException {
        String meta = Files.readString(dir.resolve("minilm.json"));
        BertWeights.Config c = new BertWeights.Config(intField(meta, "layers"), intField(meta, "hidden"),
                intField(meta, "heads"), intField(meta, "intermediate"), intField(meta, "max_positions"),
                intField(meta, "type_vocab"), intField(meta, "vocab"),
                Double.parseDouble(field(meta, "layer_norm_eps")));
        ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(dir.resolve("minilm.bin"))).order(ByteOrder.LITTLE_ENDIAN);
        Matcher m = Pattern.compile("\\{\"name\": \"(\\w+)(?:\\.(\\d+))?\", \"shape\": \\[([^\\]]*)\\], \"offset\": (\\d+)\\}")
                .matcher(meta);
        BertWeights.Builder b = BertWeights.builder(c);
        float[] headW = null, headB = null;
        while (m.find()) {
            long size = Arrays.stream(m.group(3).split(",")).mapToLong(x -> Long.parseLong(x.trim()))
                    .reduce(1, (x, y) -> x * y);
            float[] v = new float[(int) size];
            raw.position((int) (4 * Long.parseLong(m.group(4))));
            raw.asFloatBuffer().get(v);
            switch (m.group(1)) {
                case "HEAD_W" -> headW = v;
                case "HEAD_B" -> headB = v;
                default -> {
                    Part p = Part.valueOf(m.group(1));
                    if (m.group(2) != null) {
                        b.set(p, Integer.parseInt(m.group(2)), v);
                    } else {
                        b.set(p, v);
                    }
                }
            }
        }
        return new BertClassifier(device, b.build(), syntheticTokenizer(c.vocab()), SentimentHead.LABELS, headW, headB);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": ([^,}\\s]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("no " + name + " in minilm.json");
        }
        return m.group(1);
    }

    private static int intField(String json, String name) {
        return Integer.parseInt(field(json, name));
    }

    /** A vocabulary of {@code size} made-up pieces with BERT's special tokens first. */
    static WordPieceTokenizer syntheticTokenizer(int size) {
        List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
        while (vocab.size() < size) {
            vocab.add("w" + vocab.size());
        }
        return WordPieceTokenizer.fromVocabTxt(
                new ByteArrayInputStream(String.join("\n", vocab).getBytes(StandardCharsets.UTF_8)), true);
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = MiniLm.class.getResourceAsStream(name);
        if (in == null) {
            throw new IOException("resource " + name + " is not on the classpath");
        }
        return in;
    }

    private static void writeRaw(Path bin, Path meta, Map<String, float[]> arrays, Map<String, int[]> shapes,
            String extra) throws IOException {
        StringBuilder json = new StringBuilder("{").append(extra).append("\"arrays\": [\n");
        long offset = 0;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(bin), 1 << 20)) {
            int k = 0;
            for (var e : arrays.entrySet()) {
                float[] v = e.getValue();
                ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(v);
                out.write(buf.array());
                json.append(String.format(Locale.ROOT, "{\"name\": \"%s\", \"shape\": %s, \"offset\": %d}%s\n",
                        e.getKey(), Arrays.toString(shapes.get(e.getKey())), offset, ++k < arrays.size() ? "," : ""));
                offset += v.length;
            }
        }
        json.append("]}\n");
        Files.writeString(meta, json);
    }

    /** The cases: latency at batch 1 (short, 128 and 512 tokens) and throughput at batch 64, per model. */
    static List<Case> cases(CnnClassifier cnn, BertClassifier bert, boolean smoke) {
        List<Case> out = new ArrayList<>();
        Gate hc = Gate.HARD_CONCRETE;
        // Agreement: clear inputs, full default settings on the CNN, fewer steps on MiniLM.
        List<Encoding> planted = new ArrayList<>();
        for (PlantedTask.Example e : PlantedTask.standard().generate(smoke ? 2 : 8, 7)) {
            planted.add(cnn.encode(e.text()));
        }
        out.add(new Case("agree-cnn", "cnn", smoke ? 10 : 200, 4, hc, planted, true));
        out.add(new Case("agree-cnn-kuma", "cnn", smoke ? 10 : 200, 4, Gate.HARD_KUMA, planted, true));
        out.add(new Case("agree-minilm", "minilm", smoke ? 3 : 50, 4, hc,
                List.of(bert.encode(SHORT), bert.encode(SENTENCES.get(1))), true));
        if (smoke) {
            out.add(new Case("cnn-b1-short", "cnn", 5, 4, hc, List.of(cnn.encode(plantedText(16, 1))), false));
            out.add(new Case("minilm-b1-short", "minilm", 1, 2, hc, List.of(bert.encode(SHORT)), false));
            return out;
        }
        // CNN: the default settings (200 steps, 4 samples); fewer steps where one call would take many seconds on a
        // CPU (time is linear in steps: the tables also give the time per step).
        out.add(new Case("cnn-b1-short", "cnn", 200, 4, hc, List.of(cnn.encode(plantedText(16, 1))), false));
        out.add(new Case("cnn-b1-128", "cnn", 200, 4, hc, List.of(cnn.encode(plantedText(128, 2))), false));
        out.add(new Case("cnn-b1-512", "cnn", 50, 4, hc, List.of(cnn.encode(plantedText(512, 3))), false));
        List<Encoding> many = new ArrayList<>();
        for (PlantedTask.Example e : PlantedTask.standard().generate(64, 4)) {
            many.add(cnn.encode(e.text()));
        }
        out.add(new Case("cnn-b64-short", "cnn", 20, 4, hc, many, false));
        // MiniLM: a CPU step costs 0.1-3 s, so fewer steps and samples (time is linear in steps).
        out.add(new Case("minilm-b1-short", "minilm", 20, 4, hc, List.of(bert.encode(SHORT)), false));
        out.add(new Case("minilm-b1-128", "minilm", 10, 2, hc, List.of(pieces(bert, 128)), false));
        out.add(new Case("minilm-b1-512", "minilm", 4, 1, hc, List.of(pieces(bert, 512)), false));
        List<Encoding> sentences = new ArrayList<>();
        for (int k = 0; k < 64; k++) {
            sentences.add(bert.encode(SENTENCES.get(k % SENTENCES.size()) + " " + SENTENCES.get((k / 8) % 8)));
        }
        out.add(new Case("minilm-b64-short", "minilm", 4, 1, hc, sentences, false));
        // Opt-in BF16 matrix products (maskopt: AVX512-BF16 where the CPU has it; PyTorch: CPU autocast to bfloat16).
        for (Case c : List.copyOf(out)) {
            if (c.model().equals("minilm") && (c.name().equals("agree-minilm") || c.name().startsWith("minilm-b1"))) {
                out.add(c.withPrecision(c.name() + "-bf16", Device.MatmulPrecision.BF16));
            }
        }
        return out;
    }

    /** The cases on a GPU: every case at the default settings (200 steps, 4 samples). */
    static List<Case> gpuCases(CnnClassifier cnn, BertClassifier bert) {
        List<Case> out = new ArrayList<>();
        Gate hc = Gate.HARD_CONCRETE;
        for (Case c : cases(cnn, bert, false)) {
            if (c.agreement()) {
                out.add(c);
            }
        }
        out.add(new Case("cnn-b1-short", "cnn", 200, 4, hc, List.of(cnn.encode(plantedText(16, 1))), false));
        out.add(new Case("cnn-b1-128", "cnn", 200, 4, hc, List.of(cnn.encode(plantedText(128, 2))), false));
        out.add(new Case("cnn-b1-512", "cnn", 200, 4, hc, List.of(cnn.encode(plantedText(512, 3))), false));
        List<Encoding> many = new ArrayList<>();
        for (PlantedTask.Example e : PlantedTask.standard().generate(64, 4)) {
            many.add(cnn.encode(e.text()));
        }
        out.add(new Case("cnn-b64-short", "cnn", 200, 4, hc, many, false));
        out.add(new Case("minilm-b1-short", "minilm", 200, 4, hc, List.of(bert.encode(SHORT)), false));
        out.add(new Case("minilm-b1-128", "minilm", 200, 4, hc, List.of(pieces(bert, 128)), false));
        out.add(new Case("minilm-b1-512", "minilm", 200, 4, hc, List.of(pieces(bert, 512)), false));
        List<Encoding> batch = new ArrayList<>();
        for (int k = 0; k < 64; k++) {
            batch.add(pieces(bert, 128));
        }
        out.add(new Case("minilm-b64-128", "minilm", 200, 4, hc, batch, false));
        return out;
    }

    private static String plantedText(int words, long seed) {
        return new PlantedTask(words, words).generate(1, seed).get(0).text();
    }

    /** The review sentences, cycled, cut at a word so that the encoding has at most {@code max} pieces. */
    static Encoding pieces(BertClassifier bert, int max) {
        List<String> words = new ArrayList<>();
        Encoding best = null;
        for (int k = 0; ; k++) {
            for (String w : SENTENCES.get(k % SENTENCES.size()).split(" ")) {
                words.add(w);
                Encoding e = bert.encodeWords(words);
                if (e.length() > max) {
                    return best;
                }
                best = e;
            }
        }
    }

    // ---- time and agree ----------------------------------------------------------------------------------------

    /** Times RUNS calls after WARMUP calls; prints {"case": ..., "ms": [...]}. */
    public static void time(Path dir, String name, int runs, int warmup, PrintStream out) throws IOException {
        try (Device device = Device.auto()) { // MASKOPT_BACKEND=cpu|cuda forces one
            Case c = readCase(dir, name);
            device.matmulPrecision(c.precision());
            try (Classifier model = load(c, dir, device); Explainer ex = Explainer.create(model, config(c))) {
                List<Double> ms = new ArrayList<>();
                for (int r = 0; r < warmup + runs; r++) {
                    long t0 = System.nanoTime();
                    ex.explainEncoded(c.texts(), null);
                    double t = (System.nanoTime() - t0) / 1e6;
                    if (r >= warmup) {
                        ms.add(t);
                    }
                }
                String threads = System.getenv().getOrDefault("MASKOPT_THREADS", "all");
                out.printf(Locale.ROOT, "{\"impl\": \"maskopt\", \"case\": \"%s\", \"threads\": \"%s\", \"ms\": %s}%n",
                        name, threads, ms);
            }
        }
    }

    /** Writes agree-maskopt.json for the agreement cases. */
    public static void agree(Path dir) throws IOException {
        StringBuilder json = new StringBuilder("{\n");
        List<String> names = caseNames(dir, true);
        try (Device device = Device.auto()) {
            for (int k = 0; k < names.size(); k++) {
                Case c = readCase(dir, names.get(k));
                device.matmulPrecision(c.precision());
                try (Classifier model = load(c, dir, device); Explainer ex = Explainer.create(model, config(c))) {
                    List<Explanation> es = ex.explainEncoded(c.texts(), null);
                    json.append('"').append(c.name()).append("\": [");
                    for (int j = 0; j < es.size(); j++) {
                        json.append(explanationJson(es.get(j))).append(j + 1 < es.size() ? ",\n" : "");
                    }
                    json.append(']').append(k + 1 < names.size() ? ",\n" : "\n");
                }
            }
        }
        Files.writeString(dir.resolve("agree-maskopt.json"), json.append("}\n"));
    }

    static ExplainerConfig config(Case c) {
        return ExplainerConfig.builder().optGate(c.gate()).optSteps(c.steps()).optSamples(c.samples()).build();
    }

    private static String explanationJson(Explanation e) {
        StringBuilder s = new StringBuilder("{");
        s.append("\"probabilities\": ").append(Arrays.toString(e.probabilities()));
        s.append(", \"target\": ").append(e.target());
        s.append(", \"gates\": ").append(Arrays.toString(e.gates()));
        boolean[] r = e.rationale();
        int[] ri = new int[r.length];
        for (int j = 0; j < r.length; j++) {
            ri[j] = r[j] ? 1 : 0;
        }
        s.append(", \"rationale\": ").append(Arrays.toString(ri));
        s.append(String.format(Locale.ROOT, ", \"sufficiency\": %s, \"comprehensiveness\": %s",
                Double.toString(e.sufficiency()), Double.toString(e.comprehensiveness())));
        s.append(", \"trace\": [");
        for (int j = 0; j < e.trace().size(); j++) {
            Explanation.Step st = e.trace().get(j);
            s.append(String.format(Locale.ROOT, "[%s, %s, %s]", Double.toString(st.sufficiencyLoss()),
                    Double.toString(st.comprehensivenessLoss()), Double.toString(st.expectedL0())));
            s.append(j + 1 < e.trace().size() ? ", " : "");
        }
        return s.append("]}").toString();
    }

    private static final Pattern RESULT = Pattern.compile("\\{\"impl\": \"(\\w+)\", \"case\": \"([^\"]+)\", "
            + "\"threads\": \"(\\w+)\", \"ms\": \\[([^\\]]*)\\]\\}");

    /** The Markdown table of the timing lines in {@code results} (see the class comment). */
    public static String table(Path dir, Path results) throws IOException {
        Map<String, Map<String, List<Double>>> times = new LinkedHashMap<>(); // "case|threads" -> impl -> ms
        for (String line : Files.readAllLines(results)) {
            Matcher m = RESULT.matcher(line);
            if (!m.find()) {
                continue;
            }
            var perImpl = times.computeIfAbsent(m.group(2) + "|" + m.group(3), k -> new LinkedHashMap<>());
            List<Double> list = perImpl.computeIfAbsent(m.group(1), k -> new ArrayList<>());
            if (!m.group(4).isBlank()) {
                for (String x : m.group(4).split(",")) {
                    list.add(Double.parseDouble(x.trim()));
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append("| case | texts | tokens (max) | steps | samples | threads | maskopt ms: median (min-max, n) "
                + "| PyTorch ms: median (min-max, n) | maskopt / PyTorch | maskopt ms/step |\n");
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var e : times.entrySet()) {
            String[] key = e.getKey().split("\\|");
            Case c = readCase(dir, key[0]);
            int tokens = c.texts().stream().mapToInt(Encoding::length).max().orElse(0);
            List<Double> mo = e.getValue().getOrDefault("maskopt", List.of());
            List<Double> pt = e.getValue().getOrDefault("torch", List.of());
            out.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %d | %s | %s | %s | %s | %s |\n", c.name(),
                    c.texts().size(), tokens, c.steps(), c.samples(), key[1], summary(mo), summary(pt),
                    mo.isEmpty() || pt.isEmpty() ? "-" : String.format(Locale.ROOT, "**%.2f**", median(mo) / median(pt)),
                    mo.isEmpty() ? "-" : String.format(Locale.ROOT, "%.2f", median(mo) / c.steps())));
        }
        return out.toString();
    }

    private static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String summary(List<Double> v) {
        if (v.isEmpty()) {
            return "-";
        }
        double min = v.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double max = v.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return String.format(Locale.ROOT, "%s (%s-%s, %d)", fmt(median(v)), fmt(min), fmt(max), v.size());
    }

    private static String fmt(double ms) {
        return ms >= 100 ? String.format(Locale.ROOT, "%.0f", ms) : String.format(Locale.ROOT, "%.1f", ms);
    }

    // ---- cases.json (written here, read back by the time and agree commands and by the reference) -------------

    private static String configJson(ExplainerConfig c) {
        return String.format(Locale.ROOT, "{\"learning_rate\": %s, \"beta1\": %s, \"beta2\": %s, \"adam_epsilon\": %s, "
                        + "\"weight_decay\": %s, \"sufficiency_weight\": %s, \"comprehensiveness_weight\": %s, "
                        + "\"sparsity_weight\": %s, \"contiguity_weight\": %s, \"temperature\": %s, \"stretch_low\": %s, "
                        + "\"stretch_high\": %s, \"init_log_alpha\": %s, \"init_log_a\": %s, \"init_log_b\": %s, "
                        + "\"threshold\": %s, \"seed\": %d}",
                c.learningRate(), c.beta1(), c.beta2(), c.adamEpsilon(), c.weightDecay(), c.sufficiencyWeight(),
                c.comprehensivenessWeight(), c.sparsityWeight(), c.contiguityWeight(), c.temperature(), c.stretchLow(),
                c.stretchHigh(), c.initLogAlpha(), c.initLogA(), c.initLogB(), c.threshold(), c.seed());
    }

    private static String caseJson(Case c) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "{\"name\": \"%s\", \"model\": \"%s\", \"steps\": %d, \"samples\": %d, "
                + "\"gate\": \"%s\", \"precision\": \"%s\", \"agreement\": %s, \"texts\": [", c.name(), c.model(),
                c.steps(), c.samples(), c.gate(), c.precision(), c.agreement()));
        for (int k = 0; k < c.texts().size(); k++) {
            Encoding e = c.texts().get(k);
            s.append("\n  {\"ids\": ").append(Arrays.toString(e.ids()))
                    .append(", \"baseline_ids\": ").append(Arrays.toString(e.baselineIds()))
                    .append(", \"word_of_token\": ").append(Arrays.toString(e.wordOfToken()))
                    .append(", \"words\": ").append(e.words().size()).append('}')
                    .append(k + 1 < c.texts().size() ? "," : "");
        }
        return s.append("]}").toString();
    }

    private static final Pattern CASE = Pattern.compile("\\{\"name\": \"([^\"]+)\", \"model\": \"(\\w+)\", \"steps\": (\\d+), "
            + "\"samples\": (\\d+), \"gate\": \"(\\w+)\", \"precision\": \"(\\w+)\", \"agreement\": (\\w+), "
            + "\"texts\": \\[(.*?)\\]\\}(,|\\n)",
            Pattern.DOTALL);
    private static final Pattern TEXT = Pattern.compile("\\{\"ids\": \\[([^\\]]*)\\], \"baseline_ids\": \\[([^\\]]*)\\], "
            + "\"word_of_token\": \\[([^\\]]*)\\], \"words\": (\\d+)\\}");

    static List<String> caseNames(Path dir, boolean agreement) throws IOException {
        List<String> names = new ArrayList<>();
        Matcher m = CASE.matcher(Files.readString(dir.resolve("cases.json")));
        while (m.find()) {
            if (Boolean.parseBoolean(m.group(7)) == agreement) {
                names.add(m.group(1));
            }
        }
        return names;
    }

    /** The case's model, from the files export wrote. */
    static Classifier load(Case c, Path dir, Device device) throws IOException {
        if (c.model().equals("cnn")) {
            try (InputStream in = Files.newInputStream(dir.resolve("cnn.model"))) {
                return CnnClassifier.load(in, device);
            }
        }
        return readMiniLm(device, dir);
    }

    /** The case from cases.json. */
    static Case readCase(Path dir, String name) throws IOException {
        Matcher m = CASE.matcher(Files.readString(dir.resolve("cases.json")));
        while (m.find()) {
            if (!m.group(1).equals(name)) {
                continue;
            }
            String model = m.group(2);
            List<Encoding> texts = new ArrayList<>();
            Matcher t = TEXT.matcher(m.group(8));
            while (t.find()) {
                int[] ids = ints(t.group(1)), base = ints(t.group(2)), wordOf = ints(t.group(3));
                int words = Integer.parseInt(t.group(4));
                List<String> tokens = new ArrayList<>(), wordNames = new ArrayList<>();
                for (int j = 0; j < ids.length; j++) {
                    tokens.add("t" + ids[j]);
                }
                for (int j = 0; j < words; j++) {
                    wordNames.add("w" + j);
                }
                texts.add(new Encoding(tokens, ids, wordNames, wordOf, base));
            }
            return new Case(name, model, Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                    Gate.valueOf(m.group(5)), texts, Boolean.parseBoolean(m.group(7)),
                    Device.MatmulPrecision.valueOf(m.group(6)));
        }
        throw new IllegalArgumentException("no case " + name + " in " + dir.resolve("cases.json"));
    }

    private static int[] ints(String csv) {
        return csv.isBlank() ? new int[0] : Arrays.stream(csv.split(",")).mapToInt(x -> Integer.parseInt(x.trim()))
                .toArray();
    }

}
