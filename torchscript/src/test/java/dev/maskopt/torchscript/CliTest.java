package dev.maskopt.torchscript;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.maskopt.cli.ClassifierProvider;
import dev.maskopt.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code maskopt explain --torchscript model.pt --vocab vocab.txt "text"}: the core's CLI finds this module's provider. */
class CliTest {
    @Test
    void theProviderIsFoundOnTheClassPath() {
        assertTrue(ClassifierProvider.find("torchscript") instanceof TorchScriptProvider);
    }

    @Test
    void explainsATorchScriptModelFromTheCommandLine() throws Exception {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try (PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            code = new CommandLine(new Main()).execute("explain", "--torchscript", Fixtures.file("text_embed.pt").toString(),
                    "--vocab", Fixtures.file("words.txt").toString(), "--json", "--steps", "150",
                    "the plot was fine and the acting was bad");
        } finally {
            System.setOut(saved);
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        JsonNode json = new ObjectMapper().readTree(text);
        assertEquals("negative", json.get("label").asText());
        assertEquals("[\"bad\"]", json.get("rationale").toString());
        assertEquals("CPU", json.get("backend").asText());
    }

    @Test
    void modelAndVocabularyGoTogether() {
        assertEquals(2, new CommandLine(new Main()).execute("explain", "--vocab", "v.txt", "text"));
        assertEquals(2, new CommandLine(new Main()).execute("explain", "--torchscript", "m.pt", "text"));
    }
}
