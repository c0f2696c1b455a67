package dev.maskopt.torchscript;

import dev.maskopt.Device;
import dev.maskopt.ExplainerConfig;
import dev.maskopt.Gate;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Explains a TorchScript image classifier's prediction on an image file and writes the mask overlaid as a PNG:
 * {@code java -cp torchscript/target/maskopt-torchscript-cli.jar dev.maskopt.torchscript.ExplainImage model.pt
 * image.png overlay.png}.
 */
@Command(name = "explain-image", mixinStandardHelpOptions = true,
        description = "Explain a TorchScript image classifier's prediction with a patch mask; write it over the image.")
public final class ExplainImage implements Callable<Integer> {
    @Parameters(index = "0", description = "TorchScript model: forward(images [B, C, H, W]) -> logits [B, K]")
    Path model;

    @Parameters(index = "1", description = "the image (PNG, JPEG...), read as RGB in [0, 1]")
    Path image;

    @Parameters(index = "2", description = "where to write the PNG with the mask overlaid")
    Path overlay;

    @Option(names = "--patch", description = "patch side in pixels (default ${DEFAULT-VALUE})")
    int patch = 16;

    @Option(names = "--baseline", description = "BLACK, MEAN or BLURRED (default ${DEFAULT-VALUE})")
    ImageBaseline baseline = ImageBaseline.BLURRED;

    @Option(names = "--tv", description = "total-variation weight (default ${DEFAULT-VALUE})")
    double tv = 1;

    @Option(names = "--steps", description = "optimization steps (default ${DEFAULT-VALUE})")
    int steps = ExplainerConfig.defaults().steps();

    @Option(names = "--sparsity", description = "weight of the expected L0 term (default ${DEFAULT-VALUE})")
    double sparsity = ExplainerConfig.defaults().sparsityWeight();

    @Option(names = "--gate", description = "HARD_CONCRETE or HARD_KUMA (default ${DEFAULT-VALUE})")
    Gate gate = ExplainerConfig.defaults().gate();

    @Override
    public Integer call() throws Exception {
        PixelImage img = PixelImage.read(image);
        ExplainerConfig cfg = ExplainerConfig.builder().optGate(gate).optSteps(steps).optSparsityWeight(sparsity).build();
        try (Device device = Device.auto();
                TorchScriptImageClassifier m = TorchScriptImageClassifier.builder(model)
                        .optInputShape(img.channels(), img.height(), img.width()).build(device)) {
            ImageExplanation e = ImageExplainer.builder(m).optPatchSize(patch).optBaseline(baseline)
                    .optTotalVariationWeight(tv).optConfig(cfg).build().explain(img);
            e.writeOverlay(img, overlay);
            System.out.printf("%s (p=%.3f) on %s in %.2f s%n", e.targetLabel(), e.probabilities()[e.target()], device,
                    e.seconds());
            System.out.printf("%d of %d patches of %d px selected: %s%n", e.selectedPatches().size(),
                    e.gridHeight() * e.gridWidth(), patch,
                    e.selectedPatches().stream().map(rc -> "(" + rc[0] + "," + rc[1] + ")").toList());
            System.out.printf("sufficiency %.3f (lower is better), comprehensiveness %.3f (higher is better)%n",
                    e.sufficiency(), e.comprehensiveness());
            System.out.println("wrote " + overlay);
        }
        return 0;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new ExplainImage()).execute(args));
    }
}
