package dev.maskopt.bert;

import dev.maskopt.bert.BertWeights.Config;
import dev.maskopt.bert.BertWeights.Part;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;

/**
 * Reads {@link BertWeights} from a BERT ONNX export, decoding the protobuf wire format by hand: only
 * ModelProto.graph, GraphProto.node/initializer, NodeProto, AttributeProto and TensorProto are read, which
 * spares a protobuf dependency and generated classes. Field numbers are those of onnx.proto3.
 */
final class OnnxWeights {
    private static final int FLOAT = 1;
    private static final int INT64 = 7;
    private static final double DEFAULT_EPS = 1e-12;
    private static final Pattern MATMUL = Pattern.compile(
            "(?:.*/)?encoder/layer\\.(\\d+)/(attention/self/query|attention/self/key|attention/self/value"
                    + "|attention/output/dense|intermediate/dense|output/dense)/MatMul");
    private static final Pattern LAYER_NODE = Pattern.compile("(?:.*/)?encoder/layer\\.(\\d+)/intermediate/.*");
    private static final Pattern ATTENTION_RESHAPE =
            Pattern.compile("(?:.*/)?encoder/layer\\.0/attention/self/Reshape(?:_\\d+)?");
    private static final Pattern LN_EPS_ADD = Pattern.compile("(?:.*/)?embeddings/LayerNorm/Add");
    private static final Pattern LAYER_INIT = Pattern.compile("encoder\\.layer\\.(\\d+)\\.attention\\.self\\.query\\.bias");

    private OnnxWeights() {}

    private record Tensor(String name, long[] dims, int type, ByteBuffer raw, float[] floats, long[] longs,
            boolean external) {
        long count() {
            return LongStream.of(dims).reduce(1, (a, b) -> a * b);
        }

        float[] toFloats() {
            if (type != FLOAT) {
                throw new IllegalArgumentException("tensor '" + name + "' has ONNX data type " + type
                        + ", expected float32 (1)");
            }
            if (external) {
                throw new IllegalArgumentException("tensor '" + name
                        + "' is stored as ONNX external data, which is not supported");
            }
            long n = count();
            float[] out;
            if (raw != null) {
                if (raw.remaining() != n * 4) {
                    throw new IllegalArgumentException("tensor '" + name + "' has " + raw.remaining()
                            + " raw bytes for " + n + " floats");
                }
                out = new float[(int) n];
                raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            } else {
                out = floats == null ? new float[0] : floats;
                if (out.length != n) {
                    throw new IllegalArgumentException("tensor '" + name + "' has " + out.length
                            + " float_data values for " + n);
                }
            }
            return out;
        }

        /** The values of a small int64 tensor, or null if it is not one. */
        long[] toLongs() {
            if (type != INT64 || external) {
                return null;
            }
            if (raw != null) {
                long[] out = new long[raw.remaining() / 8];
                raw.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(out);
                return out;
            }
            return longs == null ? new long[0] : longs;
        }
    }

    private record Node(String name, String op, List<String> inputs, List<String> outputs, Map<String, Object> attributes) {}

    /** A cursor over one protobuf message. */
    private static final class Wire {
        private final ByteBuffer b;

        Wire(ByteBuffer b) {
            this.b = b;
        }

        boolean more() {
            return b.hasRemaining();
        }

        long varint() {
            long r = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int x = b.get() & 0xff;
                r |= (long) (x & 0x7f) << shift;
                if (x < 0x80) {
                    return r;
                }
            }
            throw new IllegalArgumentException("malformed ONNX protobuf: varint longer than 10 bytes");
        }

        ByteBuffer bytes() {
            long n = varint();
            if (n < 0 || n > b.remaining()) {
                throw new IllegalArgumentException("malformed ONNX protobuf: field of " + n + " bytes with "
                        + b.remaining() + " left");
            }
            ByteBuffer s = b.slice(b.position(), (int) n);
            b.position(b.position() + (int) n);
            return s;
        }

        String string() {
            ByteBuffer s = bytes();
            byte[] a = new byte[s.remaining()];
            s.get(a);
            return new String(a, StandardCharsets.UTF_8);
        }

        float fixed32Float() {
            return Float.intBitsToFloat(b.order(ByteOrder.LITTLE_ENDIAN).getInt());
        }

        void skip(int wireType) {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> b.position(b.position() + 8);
                case 2 -> bytes();
                case 5 -> b.position(b.position() + 4);
                default -> throw new IllegalArgumentException("malformed ONNX protobuf: wire type " + wireType);
            }
        }

        /** A repeated varint field, packed (wire type 2) or not. */
        void varints(int wireType, LongStream.Builder into) {
            if (wireType == 2) {
                Wire w = new Wire(bytes());
                while (w.more()) {
                    into.add(w.varint());
                }
            } else {
                into.add(varint());
            }
        }
    }

    static BertWeights read(ByteBuffer file, int heads) {
        if (heads < 0) {
            throw new IllegalArgumentException("heads must be positive, or 0 to infer them, got " + heads);
        }
        Map<String, Tensor> init = new HashMap<>();
        List<Node> nodes = new ArrayList<>();
        try {
            Wire model = new Wire(file.duplicate());
            boolean hasGraph = false;
            while (model.more()) {
                int tag = (int) model.varint();
                if (tag >>> 3 == 7 && (tag & 7) == 2) {
                    readGraph(new Wire(model.bytes()), init, nodes);
                    hasGraph = true;
                } else {
                    model.skip(tag & 7);
                }
            }
            if (!hasGraph) {
                throw new IllegalArgumentException("not an ONNX model: no graph");
            }
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalArgumentException("not an ONNX model: truncated protobuf", e);
        }
        // Exports of a BertFor… model prefix the encoder's names with "bert."; look both up.
        Map<String, Tensor> named = new HashMap<>(init);
        for (Tensor t : init.values()) {
            if (t.name().startsWith("bert.")) {
                named.putIfAbsent(t.name().substring(5), t);
            }
        }
        Map<String, Tensor> constants = new HashMap<>(named);
        for (Node n : nodes) {
            if (n.op().equals("Constant") && n.attributes().get("value") instanceof Tensor t) {
                constants.put(t.name(), t); // readNode names a Constant's tensor after the node's output
            }
        }

        float[] word = floats(named, "embeddings.word_embeddings.weight", 2);
        long[] wordDims = tensor(named, "embeddings.word_embeddings.weight").dims();
        int vocab = (int) wordDims[0];
        int hidden = (int) wordDims[1];
        int maxPositions = (int) tensor(named, "embeddings.position_embeddings.weight").dims()[0];
        int typeVocab = (int) tensor(named, "embeddings.token_type_embeddings.weight").dims()[0];

        int layers = 0;
        for (String name : named.keySet()) {
            Matcher m = LAYER_INIT.matcher(name);
            if (m.matches()) {
                layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
            }
        }
        if (layers == 0) {
            throw new IllegalArgumentException(
                    "no encoder layers: no initializer named encoder.layer.N.attention.self.query.bias");
        }

        // The projection matrices are anonymous (onnx::MatMul_…); the MatMul node that reads them is named.
        Map<String, Tensor> matmul = new HashMap<>();
        for (Node n : nodes) {
            Matcher m = MATMUL.matcher(n.name());
            if (n.op().equals("MatMul") && m.matches() && n.inputs().size() == 2) {
                Tensor w = constants.get(n.inputs().get(1));
                if (w == null) {
                    throw new IllegalArgumentException("MatMul " + n.name() + " does not read an initializer");
                }
                matmul.put(m.group(1) + "/" + m.group(2), w);
            }
        }
        int intermediate = (int) matrix(matmul, 0, "intermediate/dense").dims()[1];

        int h = heads > 0 ? heads : inferHeads(nodes, constants, hidden);
        Config config = new Config(layers, hidden, h, intermediate, maxPositions, typeVocab, vocab,
                epsilon(nodes, constants));
        checkGelu(nodes, layers);

        BertWeights.Builder b = BertWeights.builder(config)
                .put(Part.WORD_EMBEDDINGS, -1, word)
                .put(Part.POSITION_EMBEDDINGS, -1, floats(named, "embeddings.position_embeddings.weight", 2))
                .put(Part.TYPE_EMBEDDINGS, -1, floats(named, "embeddings.token_type_embeddings.weight", 2))
                .put(Part.EMBEDDING_LN_GAMMA, -1, floats(named, "embeddings.LayerNorm.weight", 1))
                .put(Part.EMBEDDING_LN_BETA, -1, floats(named, "embeddings.LayerNorm.bias", 1));
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            b.put(Part.WQKV, l, BertWeights.fuseColumns(matrix(matmul, l, "attention/self/query").toFloats(),
                    matrix(matmul, l, "attention/self/key").toFloats(),
                    matrix(matmul, l, "attention/self/value").toFloats(), hidden, hidden));
            b.put(Part.BQKV, l, BertWeights.concat(floats(named, p + "attention.self.query.bias", 1),
                    floats(named, p + "attention.self.key.bias", 1), floats(named, p + "attention.self.value.bias", 1)));
            b.put(Part.WO, l, matrix(matmul, l, "attention/output/dense").toFloats());
            b.put(Part.BO, l, floats(named, p + "attention.output.dense.bias", 1));
            b.put(Part.LN1_GAMMA, l, floats(named, p + "attention.output.LayerNorm.weight", 1));
            b.put(Part.LN1_BETA, l, floats(named, p + "attention.output.LayerNorm.bias", 1));
            b.put(Part.W1, l, matrix(matmul, l, "intermediate/dense").toFloats());
            b.put(Part.B1, l, floats(named, p + "intermediate.dense.bias", 1));
            b.put(Part.W2, l, matrix(matmul, l, "output/dense").toFloats());
            b.put(Part.B2, l, floats(named, p + "output.dense.bias", 1));
            b.put(Part.LN2_GAMMA, l, floats(named, p + "output.LayerNorm.weight", 1));
            b.put(Part.LN2_BETA, l, floats(named, p + "output.LayerNorm.bias", 1));
        }
        return b.build(); // the builder checks every size against the config
    }

    private static void readGraph(Wire g, Map<String, Tensor> init, List<Node> nodes) {
        while (g.more()) {
            int tag = (int) g.varint();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {
                nodes.add(readNode(new Wire(g.bytes())));
            } else if (field == 5 && (tag & 7) == 2) {
                Tensor t = readTensor(new Wire(g.bytes()), null);
                init.put(t.name(), t);
            } else {
                g.skip(tag & 7);
            }
        }
    }

    private static Node readNode(Wire w) {
        String name = "";
        String op = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Map<String, Object> attributes = new HashMap<>();
        List<Wire> attributeWires = new ArrayList<>();
        while (w.more()) {
            int tag = (int) w.varint();
            switch (tag >>> 3) {
                case 1 -> inputs.add(w.string());
                case 2 -> outputs.add(w.string());
                case 3 -> name = w.string();
                case 4 -> op = w.string();
                case 5 -> attributeWires.add(new Wire(w.bytes()));
                default -> w.skip(tag & 7);
            }
        }
        String firstOutput = outputs.isEmpty() ? name : outputs.get(0);
        for (Wire a : attributeWires) {
            readAttribute(a, firstOutput, attributes);
        }
        if (op.equals("Constant")) { // normalize value_float / value_int / value_ints into one "value" tensor
            Object v = attributes.get("value");
            if (v instanceof Float f) {
                attributes.put("value", new Tensor(firstOutput, new long[0], FLOAT, null, new float[] {f}, null, false));
            } else if (v instanceof long[] ints) {
                attributes.put("value", new Tensor(firstOutput, new long[] {ints.length}, INT64, null, null, ints, false));
            } else if (v instanceof Long i) {
                attributes.put("value", new Tensor(firstOutput, new long[0], INT64, null, null, new long[] {i}, false));
            }
        }
        return new Node(name, op, inputs, outputs, attributes);
    }

    /** Keeps f (2), i (3), t (5) and ints (8); a Constant's value_* attributes are stored as "value". */
    private static void readAttribute(Wire w, String tensorName, Map<String, Object> into) {
        String name = "";
        Object value = null;
        LongStream.Builder ints = null;
        while (w.more()) {
            int tag = (int) w.varint();
            switch (tag >>> 3) {
                case 1 -> name = w.string();
                case 2 -> value = w.fixed32Float();
                case 3 -> value = w.varint();
                case 5 -> value = readTensor(new Wire(w.bytes()), tensorName);
                case 8 -> {
                    if (ints == null) {
                        ints = LongStream.builder();
                    }
                    w.varints(tag & 7, ints);
                }
                default -> w.skip(tag & 7);
            }
        }
        if (ints != null) {
            value = ints.build().toArray();
        }
        if (value != null) {
            into.put(name.startsWith("value_") ? "value" : name, value);
        }
    }

    /** A TensorProto; {@code nameOverride} names a Constant's value after the node output that carries it. */
    private static Tensor readTensor(Wire w, String nameOverride) {
        LongStream.Builder dims = LongStream.builder();
        LongStream.Builder longs = null;
        int type = 0;
        String name = "";
        ByteBuffer raw = null;
        float[] floats = null;
        int nFloats = 0;
        boolean external = false;
        while (w.more()) {
            int tag = (int) w.varint();
            int wt = tag & 7;
            switch (tag >>> 3) {
                case 1 -> w.varints(wt, dims);
                case 2 -> type = (int) w.varint();
                case 4 -> { // float_data: packed, or one fixed32 per value
                    if (wt == 2) {
                        ByteBuffer p = w.bytes().order(ByteOrder.LITTLE_ENDIAN);
                        floats = floats == null ? new float[0] : floats;
                        float[] more = new float[p.remaining() / 4];
                        p.asFloatBuffer().get(more);
                        floats = Arrays.copyOf(floats, nFloats + more.length);
                        System.arraycopy(more, 0, floats, nFloats, more.length);
                        nFloats += more.length;
                    } else {
                        floats = floats == null ? new float[16] : floats;
                        if (nFloats == floats.length) {
                            floats = Arrays.copyOf(floats, 2 * nFloats);
                        }
                        floats[nFloats++] = w.fixed32Float();
                    }
                }
                case 7 -> {
                    if (longs == null) {
                        longs = LongStream.builder();
                    }
                    w.varints(wt, longs);
                }
                case 8 -> name = w.string();
                case 9 -> raw = w.bytes();
                case 14 -> external = w.varint() == 1;
                default -> w.skip(wt);
            }
        }
        return new Tensor(nameOverride != null ? nameOverride : name, dims.build().toArray(), type, raw,
                floats == null ? null : Arrays.copyOf(floats, nFloats), longs == null ? null : longs.build().toArray(),
                external);
    }

    private static Tensor tensor(Map<String, Tensor> named, String name) {
        Tensor t = named.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the ONNX graph has no initializer '" + name + "' (nor 'bert." + name + "')");
        }
        return t;
    }

    private static float[] floats(Map<String, Tensor> named, String name, int rank) {
        Tensor t = tensor(named, name);
        if (t.dims().length != rank) {
            throw new IllegalArgumentException("initializer '" + name + "' has shape " + Arrays.toString(t.dims())
                    + ", expected rank " + rank);
        }
        return t.toFloats();
    }

    private static Tensor matrix(Map<String, Tensor> matmul, int layer, String which) {
        Tensor t = matmul.get(layer + "/" + which);
        if (t == null) {
            throw new IllegalArgumentException("the ONNX graph has no MatMul node named like /encoder/layer." + layer
                    + "/" + which + "/MatMul (expected a torch.onnx or optimum export of a BERT model)");
        }
        if (t.dims().length != 2) {
            throw new IllegalArgumentException("the weight of /encoder/layer." + layer + "/" + which + "/MatMul has shape "
                    + Arrays.toString(t.dims()) + ", expected [in, out]");
        }
        return t;
    }

    /**
     * The heads from layer 0's attention Reshape to {@code [batch, seq, heads, headDim]}: its shape is a constant,
     * or a Concat whose last two inputs are constants.
     */
    private static int inferHeads(List<Node> nodes, Map<String, Tensor> constants, int hidden) {
        Map<String, Node> producer = new HashMap<>();
        for (Node n : nodes) {
            for (String out : n.outputs()) {
                producer.put(out, n);
            }
        }
        Set<Long> found = new HashSet<>();
        for (Node n : nodes) {
            if (!n.op().equals("Reshape") || !ATTENTION_RESHAPE.matcher(n.name()).matches() || n.inputs().size() < 2) {
                continue;
            }
            String shapeName = n.inputs().get(1);
            long[] shape = longs(constants, shapeName);
            if (shape == null) {
                Node concat = producer.get(shapeName);
                if (concat != null && concat.op().equals("Concat") && concat.inputs().size() == 4) {
                    long[] a = longs(constants, concat.inputs().get(2));
                    long[] c = longs(constants, concat.inputs().get(3));
                    if (a != null && c != null && a.length == 1 && c.length == 1) {
                        shape = new long[] {0, 0, a[0], c[0]};
                    }
                }
            }
            if (shape != null && shape.length == 4 && shape[2] > 0 && shape[2] * shape[3] == hidden) {
                found.add(shape[2]);
            }
        }
        if (found.size() != 1) {
            throw new IllegalArgumentException("cannot infer the number of attention heads from the graph's "
                    + "/encoder/layer.0/attention/self/Reshape nodes (found " + found + "); pass heads explicitly");
        }
        return found.iterator().next().intValue();
    }

    private static long[] longs(Map<String, Tensor> constants, String name) {
        Tensor t = constants.get(name);
        return t == null ? null : t.toLongs();
    }

    /** A LayerNormalization node's epsilon, or the scalar the decomposed embedding LayerNorm adds to the variance. */
    private static double epsilon(List<Node> nodes, Map<String, Tensor> constants) {
        for (Node n : nodes) {
            if (n.op().equals("LayerNormalization") && n.attributes().get("epsilon") instanceof Float f) {
                return shortest(f);
            }
        }
        for (Node n : nodes) {
            if (n.op().equals("Add") && LN_EPS_ADD.matcher(n.name()).matches()) {
                for (String in : n.inputs()) {
                    Tensor t = constants.get(in);
                    if (t != null && t.type() == FLOAT && t.count() == 1) {
                        return shortest(t.toFloats()[0]);
                    }
                }
            }
        }
        return DEFAULT_EPS;
    }

    /** The float32 constant as the decimal it was written as (1e-12, not 9.99999996e-13). */
    private static double shortest(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    /** Every layer's activation must be exact GELU (Erf, or a Gelu op), which is what the native encoder computes. */
    private static void checkGelu(List<Node> nodes, int layers) {
        Map<Integer, Set<String>> ops = new HashMap<>();
        for (Node n : nodes) {
            Matcher m = LAYER_NODE.matcher(n.name());
            if (m.matches()) {
                ops.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new HashSet<>()).add(n.op());
            }
        }
        for (int l = 0; l < layers; l++) {
            Set<String> s = ops.getOrDefault(l, Set.of());
            if (s.contains("Tanh") || s.contains("FastGelu")) {
                throw new IllegalArgumentException("layer " + l
                        + " uses the tanh approximation of GELU; only exact (erf) GELU is supported");
            }
            if (!s.contains("Erf") && !s.contains("Gelu")) {
                throw new IllegalArgumentException("layer " + l + "'s feed-forward has no Erf or Gelu node (ops " + s
                        + "); only exact GELU is supported");
            }
        }
    }
}
