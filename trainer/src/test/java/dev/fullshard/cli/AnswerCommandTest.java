package dev.fullshard.cli;

import dev.fullshard.train.TinyRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code fullshard generate} and {@code fullshard answer} on a random model, whose output is mostly nonsense bytes. */
class AnswerCommandTest {
    @TempDir
    static Path shared;

    private static String run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        assertThat(code).as(err.toString()).isZero();
        return out.toString();
    }

    /** The random tiny model (seed 0) writes a 0xFF byte token here: shown as \xFF, never as U+FFFD. */
    @Test
    void generateShowsNonsenseBytesEscaped() {
        Path model = TinyRun.tinyModel(shared.resolve("generate-model"));
        String out = run("generate", "--model", model.toString(), "--prompt", "### Instruction\nWhat is the capital of Italy?\n\n### Response\n",
                "--max-new-tokens", "12");
        assertThat(out).startsWith("### Instruction\nWhat is the capital of Italy?").contains("\\xFF").doesNotContain("\uFFFD");
    }

    @Test
    void answerPrintsATableOfTheQuestionsAndCountsExactAnswers() throws Exception {
        Path model = TinyRun.tinyModel(shared.resolve("answer-model"));
        Path data = Files.writeString(shared.resolve("facts.jsonl"), """
                {"instruction": "What is the capital of France?", "output": "Paris"}
                {"instruction": "法国的首都是哪里？", "output": "巴黎"}
                {"instruction": "What is the capital of Japan?", "output": "Tokyo"}
                """);
        String out = run("answer", "--data", data.toString(), "--model", "random=" + model, "--show", "2");
        List<String> lines = out.lines().toList();
        assertThat(lines.getFirst()).startsWith("#").contains("prompt", "expected", "random");
        // The template's shared lines are cut: the rows show the questions themselves.
        assertThat(lines.get(1)).startsWith("1").contains("What is the capital of France?", "Paris").doesNotContain("###");
        assertThat(lines.get(2)).startsWith("2").contains("法国的首都是哪里？", "巴黎");
        assertThat(lines).hasSize(4);
        assertThat(lines.get(3)).isEqualTo("exact answers: random 0/3");
        assertThat(out).doesNotContain("\uFFFD");
    }

    @Test
    void sharedLinesAreWholeLinesOnly() {
        List<String> prompts = List.of("### Q\nWhat is A?\n\n### A\n", "### Q\nWhat is B?\n\n### A\n");
        assertThat(AnswerCommand.sharedLines(prompts, false)).isEqualTo("### Q\n");
        assertThat(AnswerCommand.sharedLines(prompts, true)).isEqualTo("\n\n### A\n");
        assertThat(AnswerCommand.sharedLines(List.of("only one\n"), false)).isEmpty();
    }
}
