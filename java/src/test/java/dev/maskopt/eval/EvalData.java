package dev.maskopt.eval;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Locates the shared evaluation data (env MASKOPT_DATA); never copied into the repository. */
public final class EvalData {
    private EvalData() {}

    /**
     * The ERASER Movie Reviews directory. Missing data fails the test under CI (CI=true) and skips it
     * elsewhere, so a CI run can never pass without having read the data.
     */
    public static Path eraserMovies() {
        String root = System.getenv("MASKOPT_DATA");
        Path dir = root == null || root.isBlank() ? null : Path.of(root, "eraser_movies");
        if (dir != null && Files.isRegularFile(dir.resolve("test.jsonl")) && Files.isDirectory(dir.resolve("docs"))) {
            return dir;
        }
        String msg = "ERASER movies data not found: set MASKOPT_DATA to the shared data directory (expected "
                + (dir == null ? "$MASKOPT_DATA/eraser_movies" : dir) + " with test.jsonl and docs/)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(msg);
        }
        Assumptions.abort(msg);
        return null;
    }
}
