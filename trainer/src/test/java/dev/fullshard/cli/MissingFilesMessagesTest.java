package dev.fullshard.cli;

import dev.fullshard.data.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** A path given to a command that is not there is named as missing, not as the first file looked for inside it. */
class MissingFilesMessagesTest {
    private static final String EXPECTED_MODEL = "expected a Hugging Face model directory (config.json, *.safetensors, tokenizer.json)";

    @TempDir
    Path tmp;

    private record Run(int exit, String err) {
    }

    private static Run run(String... args) {
        StringWriter err = new StringWriter();
        int exit = FullshardCommand.commandLine().setErr(new PrintWriter(err, true)).setOut(new PrintWriter(new StringWriter(), true))
                .execute(args);
        return new Run(exit, err.toString().strip());
    }

    @Test
    void evalAndGenerateSayTheModelDirectoryDoesNotExist() throws IOException {
        Path data = Files.writeString(tmp.resolve("eval.jsonl"), "{\"instruction\": \"a\", \"output\": \"b\"}\n");
        Path missing = tmp.resolve("no-model");
        assertThat(run("eval", "--model", missing.toString(), "--data", data.toString()))
                .isEqualTo(new Run(1, "fullshard eval: --model " + missing + ": the directory does not exist; " + EXPECTED_MODEL));
        assertThat(run("generate", "--model", missing.toString(), "--prompt", "hi"))
                .isEqualTo(new Run(1, "fullshard generate: --model " + missing + ": the directory does not exist; " + EXPECTED_MODEL));
        assertThat(run("generate", "--model", data.toString(), "--prompt", "hi"))
                .isEqualTo(new Run(1, "fullshard generate: --model " + data + ": is a file; " + EXPECTED_MODEL));
    }

    @Test
    void evalSaysADataFileDoesNotExist() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("model"));
        Tokenizer.writeBundled(model);
        Path missing = tmp.resolve("missing.jsonl");
        assertThat(run("eval", "--model", model.toString(), "--data", missing.toString()))
                .isEqualTo(new Run(1, "fullshard eval: no such file: " + missing));
    }

    @Test
    void trainSaysTheConfigOrTheModelDirectoryDoesNotExist() throws IOException {
        Path missing = tmp.resolve("missing.yaml");
        assertThat(run("train", missing.toString())).isEqualTo(new Run(2, "no such file: " + missing));

        Files.writeString(tmp.resolve("train.jsonl"), "{\"instruction\": \"a\", \"output\": \"b\"}\n");
        Path yaml = Files.writeString(tmp.resolve("train.yaml"), """
                model:
                  path: no-model
                data:
                  train_files: [train.jsonl]
                logging:
                  output_dir: out
                """);
        assertThat(run("train", yaml.toString())).isEqualTo(new Run(2, yaml + ":2:9: model.path: expected an existing Hugging Face model "
                + "directory, found " + tmp.resolve("no-model") + ", which does not exist"));
    }
}
