package dev.maskopt.torchscript;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import dev.maskopt.cli.ClassifierProvider;
import java.nio.file.Path;

/** Lets {@code maskopt explain --torchscript model.pt --vocab vocab.txt} open a {@link TorchScriptClassifier}. */
public final class TorchScriptProvider implements ClassifierProvider {
    @Override
    public String format() {
        return "torchscript";
    }

    @Override
    public Classifier open(Path model, Path vocabulary, Device device) {
        if (vocabulary == null) {
            throw new IllegalArgumentException("--torchscript needs --vocab (BERT vocab.txt or a word list)");
        }
        return TorchScriptClassifier.load(model, vocabulary, device);
    }
}
