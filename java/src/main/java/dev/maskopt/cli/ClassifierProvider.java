package dev.maskopt.cli;

import dev.maskopt.Classifier;
import dev.maskopt.Device;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * A model format that {@code maskopt explain} can open from files when its module is on the class path (found with
 * {@link ServiceLoader}; listed in {@code META-INF/services/dev.maskopt.cli.ClassifierProvider}). The core ships
 * none: the TorchScript module provides {@code torchscript}, which {@code --torchscript FILE} selects.
 */
public interface ClassifierProvider {
    /** The format's name, the command line option without its dashes (e.g. {@code torchscript}). */
    String format();

    /**
     * Opens the classifier stored in {@code model} on {@code device}.
     *
     * @param vocabulary the tokenizer's vocabulary file, or null when the format needs none
     */
    Classifier open(Path model, Path vocabulary, Device device) throws IOException;

    /** The provider of {@code format} on the class path, or null when none is. */
    static ClassifierProvider find(String format) {
        for (ClassifierProvider p : ServiceLoader.load(ClassifierProvider.class)) {
            if (p.format().equals(format)) {
                return p;
            }
        }
        return null;
    }
}
