package dev.maskopt.cnn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.maskopt.Device;
import dev.maskopt.Tensor;
import dev.maskopt.eval.EvalData;
import dev.maskopt.internal.Batch;
import dev.maskopt.text.GloVe;
import dev.maskopt.text.Vocabulary;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The GloVe CNN on the real ERASER Movie Reviews, at a scale CI affords: trained on half the train
 * split (800 reviews, both classes), it must label the held-out validation reviews well above chance, and
 * its model file must rebuild the same classifier from GloVe.
 */
class MoviesCnnTest {
    @Test
    void learnsMovieReviewsAndRoundTripsItsModelFile() throws Exception {
        Path movies = EvalData.eraserMovies();
        Path data = movies.getParent();
        List<CnnTrainer.Example> all = MoviesCnn.readSplit(movies, "train", Integer.MAX_VALUE);
        List<CnnTrainer.Example> train = new ArrayList<>();
        for (int i = 0; i < all.size(); i += 2) { // the split lists all NEG reviews first: take every other one
            train.add(all.get(i));
        }
        List<CnnTrainer.Example> val = MoviesCnn.readSplit(movies, "val", Integer.MAX_VALUE);
        assertEquals(400, train.stream().filter(e -> e.label() == 1).count(), "balanced subset");

        Set<String> corpus = MoviesCnn.words(train, val);
        GloVe glove = GloVe.read(data.resolve(MoviesCnn.GLOVE_FILE), corpus::contains);
        Vocabulary vocab = GloveCnn.vocabulary(glove, corpus);
        try (Device device = Device.cpu();
                CnnClassifier model = GloveCnn.create(device, glove, vocab, MoviesCnn.LABELS, CnnClassifier.DEFAULT_WIDTHS,
                        100, MoviesCnn.MAX_LENGTH, 1)) {
            CnnTrainer.History history = CnnTrainer.train(model, train, val,
                    new CnnTrainer.Options(10, 50, 2e-3, 0, 1, 0.5), null);
            double accuracy = MoviesCnn.accuracy(model, val, 50);
            assertEquals(history.best().validationAccuracy(), accuracy, 1e-12, "the best epoch's weights are kept");
            System.out.println("MoviesCnnTest: " + history.epochs().size() + " epochs, best " + history.best());
            assertTrue(accuracy >= 0.75, "validation accuracy " + accuracy + " (chance 0.5) after training on "
                    + train.size() + " reviews");

            ByteArrayOutputStream file = new ByteArrayOutputStream();
            GloveCnn.save(model, file);
            try (CnnClassifier loaded = GloveCnn.load(new ByteArrayInputStream(file.toByteArray()), glove, device)) {
                String review = val.get(0).text();
                assertArrayEquals(logits(model, review), logits(loaded, review), 0f, "same logits after a round trip");
            }
        }
    }

    private static float[] logits(CnnClassifier model, String text) {
        try (Batch b = Batch.of(model, List.of(model.encode(text))); Tensor out = model.device().floats(b.rows, 2)) {
            model.forward(b.embeddings, b.lengthsTensor, out);
            return out.toFloatArray();
        }
    }
}
