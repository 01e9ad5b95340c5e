package dev.fullshard.launcher;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.io.HfModel;
import dev.fullshard.model.CausalLm;
import dev.fullshard.model.Generator;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's demo as it ships: examples/tiny/train.yaml and its data, unchanged, on two fully sharded
 * ranks through the launcher. Afterwards the fine-tuned model must answer most training questions
 * exactly, judged against the answers in the data file.
 */
class ExampleDemoTest {
    @TempDir
    Path tmp;

    @Test
    void theFineTunedDemoModelAnswersMostTrainingQuestionsExactly() throws Exception {
        Path example = examplesTiny();
        Path demo = Files.createDirectories(tmp.resolve("tiny"));
        Files.copy(example.resolve("train.yaml"), demo.resolve("train.yaml"));
        Files.createDirectories(demo.resolve("data"));
        for (String f : List.of("train.jsonl", "eval.jsonl")) Files.copy(example.resolve("data").resolve(f), demo.resolve("data").resolve(f));
        TinyFixtures.tinyModel(demo.resolve("model"));

        Path log = tmp.resolve("launcher.log");
        Process p = TinyFixtures.launcherProcess(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), LauncherCommand.class.getName(),
                "--standalone", "--nproc", "2", "--log-dir", tmp.resolve("logs").toString(), demo.resolve("train.yaml").toString()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("the demo did not finish in 15 minutes:\n" + Files.readString(log));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(output).contains("2 ranks, full_shard");

        ObjectMapper json = new ObjectMapper();
        List<String> wrong = new ArrayList<>();
        int questions = 0;
        Path fineTuned = demo.resolve("output/final");
        try (Tokenizer tokenizer = Tokenizer.load(fineTuned); TensorScope ignored = TensorScope.open()) {
            CausalLm lm = new CausalLm(HfModel.load(fineTuned, DType.F32).parameters(), CausalLm.Options.defaults());
            for (String line : Files.readAllLines(demo.resolve("data/train.jsonl"))) {
                JsonNode fact = json.readTree(line);
                String expected = fact.get("output").asText();
                // The default instruction template, as written in the README: the prompt the model was trained to answer.
                String prompt = "### Instruction\n" + fact.get("instruction").asText() + "\n\n### Response\n";
                long[] tokens = prepend(tokenizer.bosId(), tokenizer.encode(prompt));
                long[] answer = Generator.generate(lm, tokens, 24, Generator.Sampling.greedy(), tokenizer.eosId(), t -> { });
                boolean stopped = answer.length > 0 && answer[answer.length - 1] == tokenizer.eosId();
                String text = tokenizer.text(stopped ? Arrays.copyOf(answer, answer.length - 1) : answer);
                questions++;
                if (!stopped || !text.equals(expected)) wrong.add(fact.get("instruction").asText() + " → " + text + " (expected " + expected + ")");
            }
        }
        assertThat(questions).isEqualTo(48);
        assertThat(questions - wrong.size()).as("exact answers; wrong: " + wrong).isGreaterThanOrEqualTo(40);
    }

    private static long[] prepend(long bos, long[] rest) {
        if (bos < 0) return rest;
        long[] out = new long[rest.length + 1];
        out[0] = bos;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    private static Path examplesTiny() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isDirectory(dir.resolve("examples/tiny/data"))) dir = dir.getParent();
        assertThat(dir).as("examples/tiny above the working directory").isNotNull();
        return dir.resolve("examples/tiny");
    }
}
