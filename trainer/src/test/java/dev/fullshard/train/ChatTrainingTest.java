package dev.fullshard.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.cli.FullshardCommand;
import dev.fullshard.data.DataFixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tiny model with a real instruct tokenizer (Llama 3.1's, Qwen3's) fine-tunes on multi-turn chat data
 * in its own chat template ({@code chat_template: auto}), as a user runs it: init-model, train, then
 * {@code data preview}, and {@code generate --chat} on the export.
 */
class ChatTrainingTest {
    @ParameterizedTest
    @CsvSource({"llama, llama3_1", "qwen3, qwen3"})
    void trainsOnMultiTurnChatInTheModelsOwnTemplate(String arch, String tokenizerName, @TempDir Path tmp) throws Exception {
        Path tokenizer = DataFixtures.realTokenizer(tokenizerName, tmp.resolve("tokenizer"));
        Path model = tmp.resolve("model");
        assertThat(cli(new StringWriter(), "init-model", "--arch", arch, "--preset", "tiny", "--dtype", "fp32", "--tokenizer", tokenizer.toString(),
                "--out", model.toString())).isZero();
        // As in a checkpoint saved by transformers, which the export must keep (see HfConfig.keepTransformersVersion).
        ObjectMapper json = new ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(model.resolve("config.json").toFile());
        json.writeValue(model.resolve("config.json").toFile(), config.put("transformers_version", "4.51.3"));
        Path data = tmp.resolve("chat.jsonl");
        try (InputStream in = getClass().getResourceAsStream("/dev/fullshard/chat/conversations.jsonl")) {
            Files.write(data, in.readAllBytes());
        }
        Path yaml = Files.writeString(tmp.resolve("train.yaml"), """
                model: {path: %s}
                mixed_precision: fp32
                data: {train_files: [%s], format: chat, max_seq_len: 128}
                training: {max_steps: 12, micro_batch_size: 2}
                optimizer: {lr: 1.0e-2}
                scheduler: {warmup_steps: 0}
                logging: {output_dir: %s, logging_steps: 1, save_steps: 100}
                """.formatted(model, data, tmp.resolve("out")));

        StringWriter log = new StringWriter();
        Trainer.Result result = Trainer.run(TrainConfig.load(yaml, List.of()), StopRequest.none(), new PrintWriter(log, true));
        assertThat(log.toString()).contains("data: chat template " + model.resolve("tokenizer_config.json") + " (chat_template)");
        List<Double> losses = losses(tmp.resolve("out/metrics.jsonl"));
        assertThat(losses).hasSize(12);
        assertThat(result.lastLoss()).isLessThan(losses.getFirst() * 0.7);

        Path export = result.export();
        assertThat(export.resolve("tokenizer_config.json")).hasSameBinaryContentAs(model.resolve("tokenizer_config.json"));
        JsonNode exported = json.readTree(export.resolve("config.json").toFile());
        assertThat(exported.get("transformers_version").asText()).isEqualTo("4.51.3");
        assertThat(exported.get("vocab_size").asInt()).isEqualTo(config.get("vocab_size").asInt());
        StringWriter preview = new StringWriter();
        assertThat(cli(preview, "data", "preview", yaml.toString(), "--n", "1", "--color", "never")).isZero();
        assertThat(preview.toString()).contains("10 examples").contains("[[").contains("]]");

        StringWriter generated = new StringWriter();
        assertThat(cli(generated, "generate", "--model", export.toString(), "--chat", "--prompt", "Hi!", "--max-new-tokens", "3")).isZero();
    }

    private static int cli(StringWriter out, String... args) {
        StringWriter err = new StringWriter();
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(args);
        assertThat(err.toString()).as(String.join(" ", args)).isEmpty();
        return code;
    }

    private static List<Double> losses(Path metrics) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<Double> out = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = json.readTree(line);
            if (n.has("loss") && n.has("step")) out.add(n.get("loss").asDouble());
        }
        return out;
    }
}
