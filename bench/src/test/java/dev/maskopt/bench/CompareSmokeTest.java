package dev.maskopt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the performance tooling working (seconds): the side-by-side comparison script in its smoke mode (the PyTorch
 * side runs, and its agreement check must pass, where /usr/bin/python3 has torch; elsewhere the script skips it
 * and says so), and the native kernel benchmark in its smoke mode.
 */
class CompareSmokeTest {
    private static final Path ROOT = Path.of(System.getProperty("maskopt.root", ".."));

    @Test
    void comparisonScriptRunsInSmokeMode(@TempDir Path work) throws Exception {
        Path report = work.resolve("report.md");
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder("bash", ROOT.resolve("bench/compare.sh").toString(), "--smoke", "--out",
                report.toString());
        pb.environment().put("JAVA", java);
        pb.environment().put("MASKOPT_CP", System.getProperty("java.class.path"));
        pb.environment().put("WORK", work.resolve("work").toString());
        pb.environment().put("MASKOPT_BACKEND", "cpu");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "compare.sh timed out");
        assertEquals(0, p.exitValue(), out);
        String md = Files.readString(report);
        assertTrue(md.contains("| cnn-b1-short | 1 |"), md);
        assertTrue(md.contains("| minilm-b1-short | 1 |"), md);
        assertFalse(md.contains("(rationales differ)"), md);
        if (md.contains("### Agreement")) { // PyTorch present: every agreement case listed, no rationale word differs
            for (String c : List.of("agree-cnn", "agree-cnn-kuma", "agree-minilm")) {
                assertTrue(md.contains("| " + c + " |"), md);
            }
        }
        List<String> lines = Files.readAllLines(work.resolve("work/results.jsonl"));
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"impl\": \"maskopt\"")), String.join("\n", lines));
    }

    @Test
    void randomMiniLmExportRoundTrips(@TempDir Path dir) throws IOException {
        SideBySide.export(dir, true, false, true);
        assertTrue(Files.size(dir.resolve("minilm.bin")) > 80_000_000L);
        var out = new java.io.ByteArrayOutputStream();
        SideBySide.time(dir, "minilm-b1-short", 1, 0, new java.io.PrintStream(out));
        assertTrue(out.toString().contains("\"case\": \"minilm-b1-short\""), out.toString());
    }

    @Test
    void nativeKernelBenchmarkRunsInSmokeMode() throws Exception {
        Path exe = Path.of(System.getProperty("maskopt.nativeBench", "missing"));
        assumeTrue(Files.isExecutable(exe), "maskopt_bench not built at " + exe);
        Process p = new ProcessBuilder(exe.toString(), "--smoke", "--backend", "cpu").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        for (String k : List.of("copy (yardstick)", "hc_sample", "mix_backward", "adam_update", "attention_backward",
                "gelu_forward")) {
            assertTrue(out.contains("| " + k), out);
        }
    }
}
