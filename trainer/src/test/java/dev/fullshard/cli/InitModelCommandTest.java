package dev.fullshard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.data.DataFixtures;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.io.CheckpointReader;
import dev.fullshard.io.HfConfig;
import dev.fullshard.io.WeightNames;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code fullshard init-model} writes a complete, loadable, reproducible Hugging Face directory. */
@ExtendWith(NoLeakedTensors.class)
class InitModelCommandTest {
    @TempDir
    Path tmp;

    private int run(StringWriter err, String... args) {
        return FullshardCommand.commandLine().setErr(new PrintWriter(err, true)).setOut(new PrintWriter(new StringWriter(), true)).execute(args);
    }

    @ParameterizedTest
    @EnumSource(value = Architecture.class, names = "QWEN2", mode = EnumSource.Mode.EXCLUDE) // needs a Qwen tokenizer: below
    void writesAConfigWeightsAndTokenizerThatLoadBack(Architecture arch) throws Exception {
        Path dir = tmp.resolve(arch.modelType());
        assertThat(run(new StringWriter(), "init-model", "--arch", arch.modelType(), "--preset", "tiny", "--out", dir.toString())).isZero();
        assertThat(dir.resolve("tokenizer.json")).exists();
        assertThat(dir.resolve("tokenizer_config.json")).exists();
        ModelConfig config = HfConfig.read(dir);
        assertThat(config).isEqualTo(ModelPresets.TINY.config(arch));
        try (CheckpointReader reader = CheckpointReader.open(dir); TensorScope ignored = TensorScope.open()) {
            WeightNames.check(config, reader.shapes(), dir);
            for (String name : reader.names()) {
                double[] v = reader.copy(name, DType.F64).toDoubleArray();
                if (name.endsWith("norm.weight")) {
                    assertThat(v).as(name).containsOnly(1.0);
                } else if (name.endsWith(".bias")) {
                    assertThat(v).as(name).containsOnly(0.0);
                } else {
                    double mean = 0, square = 0;
                    for (double x : v) {
                        mean += x;
                        square += x * x;
                    }
                    mean /= v.length;
                    double std = Math.sqrt(square / v.length - mean * mean);
                    assertThat(std).as(name + " std").isBetween(0.018, 0.022);
                    assertThat(Math.abs(mean)).as(name + " mean").isLessThan(0.002);
                }
            }
        }
    }

    /**
     * The ids that transformers' AutoTokenizer gives for the directories init-model writes (fixture made by
     * benchmarks/reference/model_dir_token_ids.py) must be fullshard's: transformers picks the tokenizer
     * class by model type, so a directory can tokenize differently there than its tokenizer.json says
     * (qwen2 with the bundled tokenizer did: transformers' losses were off by 1.6e-4).
     */
    @Test
    void everyDirectoryTokenizesAsTransformersLoadsIt() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(getClass().getResourceAsStream("/dev/fullshard/tokenizers/expected-model-dirs.json"));
        JsonNode texts = expected.get("texts");
        for (JsonNode c : expected.get("cases")) {
            String name = c.get("name").asText();
            Path dir = tmp.resolve(name.replace('+', '-'));
            List<String> args = new ArrayList<>(List.of("init-model", "--arch", c.get("arch").asText(), "--preset", "tiny", "--out", dir.toString()));
            if (!c.get("tokenizer").isNull()) {
                String tokenizer = c.get("tokenizer").asText();
                args.addAll(List.of("--tokenizer", DataFixtures.realTokenizer(tokenizer, tmp.resolve("tokenizer-" + tokenizer)).toString()));
            }
            StringWriter err = new StringWriter();
            assertThat(run(err, args.toArray(String[]::new))).as(name + ": " + err).isZero();
            try (Tokenizer t = Tokenizer.load(dir)) {
                for (int i = 0; i < texts.size(); i++) {
                    long[] want = new long[c.get("ids").get(i).size()];
                    for (int j = 0; j < want.length; j++) want[j] = c.get("ids").get(i).get(j).asLong();
                    assertThat(t.encode(texts.get(i).asText())).as(name + ", text " + i).containsExactly(want);
                }
                ModelConfig config = HfConfig.read(dir);
                assertThat(config.vocabSize()).as(name).isGreaterThanOrEqualTo(t.idCount()).isEqualTo((t.idCount() + 63) / 64 * 64);
                assertThat(config.eosTokenId()).as(name).isEqualTo((int) t.eosId());
            }
        }
    }

    @Test
    void qwen2WithTheBundledTokenizerIsRefused() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "init-model", "--arch", "qwen2", "--out", tmp.resolve("q").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("--arch qwen2 needs --tokenizer DIR with a Qwen tokenizer");
        assertThat(tmp.resolve("q")).doesNotExist();
    }

    @Test
    void theSameSeedGivesTheSameBytesAndAnotherSeedDoesNot() throws Exception {
        for (String seed : new String[] {"5", "5", "6"}) {
            Path dir = tmp.resolve("seed" + seed + "-" + Files.list(tmp).count());
            assertThat(run(new StringWriter(), "init-model", "--preset", "tiny", "--seed", seed, "--out", dir.toString())).isZero();
        }
        byte[][] weights = Files.list(tmp).sorted().map(d -> {
            try {
                return Files.readAllBytes(d.resolve("model.safetensors"));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).toArray(byte[][]::new);
        assertThat(weights[0]).isEqualTo(weights[1]);
        assertThat(weights[2]).isNotEqualTo(weights[0]);
    }

    @Test
    void refusesAnExistingDirectoryAndUnknownPresetsWithAClearMessage() throws Exception {
        Path existing = Files.createDirectory(tmp.resolve("exists"));
        StringWriter err = new StringWriter();
        assertThat(run(err, "init-model", "--out", existing.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("fullshard init-model").contains(existing.toString()).contains("already exists");
        err = new StringWriter();
        assertThat(run(err, "init-model", "--preset", "70b", "--out", tmp.resolve("x").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("unknown preset '70b'").contains("tiny").contains("8b");
        err = new StringWriter();
        assertThat(run(err, "init-model", "--arch", "gpt2", "--out", tmp.resolve("y").toString())).isEqualTo(1);
        assertThat(err.toString()).contains("--arch gpt2").contains("llama").contains("mistral");
    }

    /** The directory init-model writes is one generate can use (config, weights and tokenizer together). */
    @Test
    void generateContinuesAPromptWithTheNewModelReproducibly() throws Exception {
        Path dir = tmp.resolve("tiny");
        assertThat(run(new StringWriter(), "init-model", "--preset", "tiny", "--out", dir.toString())).isZero();
        String[] outputs = new String[2];
        for (int i = 0; i < 2; i++) {
            StringWriter out = new StringWriter();
            int code = FullshardCommand.commandLine().setOut(new PrintWriter(out, true)).execute("generate", "--model", dir.toString(),
                    "--prompt", "Once upon a time", "--max-new-tokens", "4", "--temperature", "0.8", "--seed", "7");
            assertThat(code).isZero();
            outputs[i] = out.toString();
        }
        assertThat(outputs[0]).isEqualTo(outputs[1]);
    }
}
