package dev.maskopt.bert;

import dev.maskopt.Device;
import dev.maskopt.MaskoptException;
import dev.maskopt.text.WordPieceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * The default model: sentence-transformers all-MiniLM-L6-v2 (from its Maven Central artifact, read from the
 * classpath) with maskopt's SST-2 sentiment head.
 */
public final class MiniLm {
    private MiniLm() {}

    /** The shape of all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads, FFN 1536, 512 positions. */
    public static final BertWeights.Config CONFIG = new BertWeights.Config(6, 384, 12, 1536, 512, 2, 30522, 1e-12);

    /** MiniLM with the shipped sentiment head. */
    public static BertClassifier sentiment(Device device) {
        try (InputStream in = resource("/dev/maskopt/bert/minilm-sst2-head.bin")) {
            float[] head = SentimentHead.read(in);
            int d = 384;
            return load(device, Arrays.copyOf(head, 2 * d), Arrays.copyOfRange(head, 2 * d, 2 * d + 2));
        } catch (IOException e) {
            throw new MaskoptException("cannot read the sentiment head", e);
        }
    }

    /** MiniLM with the given head ([384, 2] input-major, then 2 biases). */
    static BertClassifier load(Device device, float[] headWeight, float[] headBias) {
        try (InputStream onnx = resource("/all-minilm-l6-v2.onnx");
                InputStream tok = resource("/all-minilm-l6-v2-tokenizer.json")) {
            return new BertClassifier(device, BertWeights.fromOnnx(onnx), WordPieceTokenizer.fromTokenizerJson(tok),
                    SentimentHead.LABELS, headWeight, headBias);
        } catch (IOException e) {
            throw new MaskoptException("cannot read all-MiniLM-L6-v2", e);
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = MiniLm.class.getResourceAsStream(name);
        if (in == null) {
            throw new IOException("resource " + name + " is not on the classpath");
        }
        return in;
    }
}
