package dev.fullshard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code fullshard plan}: what it reads, what it says about fitting, and one clear line for bad input. */
class PlanCommandTest {
    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    private static Run plan(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "plan";
        System.arraycopy(args, 0, all, 1, args.length);
        int code = FullshardCommand.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true)).execute(all);
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "--preset 8b --world 0                         | --world 0: must be at least 1",
            "--preset 8b --device-memory 80                | --device-memory 80: expected a size with its unit",
            "--preset 8b --gpu b200                        | --gpu b200: expected one of [h100, h200, a100-80, a100-40, l40s]",
            "--preset 8b --gpu h100 --device-memory 80GiB  | --gpu and --device-memory: give one of them",
            "--preset 8b --sharding zero3                  | --sharding zero3: expected one of full_shard",
            "--preset 8b --mixed-precision int8            | --mixed-precision int8: expected bf16, fp16 or fp32",
            "--preset 8b --seq-len 1                       | --seq-len 1: must be at least 2",
            "--preset 8b --micro-batch 0                   | --micro-batch 0: must be at least 1",
            "--preset 8b --world 8 --sharding hybrid_shard | --sharding hybrid_shard needs the shard group",
            "--preset 8b --world 6 --sharding hybrid_shard --shard-group-size 4 | a shard group of 4 ranks does not divide the world of 6",
            "--preset 8b --world 8 --nodes 2 --gpus-per-node 2 | --world 8 disagrees with --nodes × --gpus-per-node",
            "--preset 8b --device cpu --gpu h100           | --device cpu and --gpu h100",
            "--preset 9b                                   | unknown preset '9b'",
            "--preset 8b --arch gpt2                       | --arch gpt2: expected one of",
            "''                                            | no model: give --preset NAME, --model DIR or a train.yaml"})
    void badInputIsOneLineNamingTheFlag(String args, String message) {
        Run r = plan(args.isEmpty() ? new String[0] : args.split(" +"));
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.err().strip()).startsWith("fullshard plan: ").contains(message).doesNotContain("\n");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void aMissingModelDirectoryIsNamed() {
        Run r = plan("--model", tmp.resolve("nowhere").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("nowhere").contains("config.json");
    }

    @Test
    void anUnknownOptionIsACommandLineError() {
        Run r = plan("--preset", "8b", "--wrold", "8");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--wrold");
    }

    @Test
    void aBadTrainYamlKeyIsAConfigurationErrorNamingTheKey() throws Exception {
        Path yaml = Files.writeString(tmp.resolve("train.yaml"), "model: {path: " + tmp + "}\ntraining: {micro_batch_sise: 2}\n");
        Run r = plan(yaml.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("training.micro_batch_sise: unknown key");
    }

    /**
     * One GPU cannot hold an 8B model's fp32 master weights, gradients and two AdamW moments (16 bytes × 7.2 billion
     * parameters = 108 GiB > 80 GiB); the plan says so and offers more ranks, which shard those 16 bytes.
     */
    @Test
    void anEightBModelOnOneH100DoesNotFitAndMoreRanksAreSuggested() {
        Run r = plan("--preset", "8b", "--world", "1", "--micro-batch", "1", "--seq-len", "2048", "--gpu", "h100");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("fits in h100 (79.65 GiB): no").containsPattern("with \\d+ ranks, full_shard: [0-9.]+ GiB, fits");
        for (String row : new String[]{"parameters", "gradients", "optimizer", "gathered_peak", "unsharded_gradients_peak", "activations_peak", "= total"}) {
            assertThat(r.out()).contains("  " + row + " ");
        }
    }

    @Test
    void aTrainYamlGivesTheJobAndFlagsOverrideIt() throws Exception {
        Files.createDirectories(tmp.resolve("model"));
        Files.writeString(tmp.resolve("model/config.json"), """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000, "hidden_size": 64,
                 "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "rms_norm_eps": 1e-5, "max_position_embeddings": 2048, "tie_word_embeddings": false}
                """);
        Path data = Files.writeString(tmp.resolve("train.jsonl"), "{\"instruction\": \"a\", \"output\": \"b\"}\n");
        Path yaml = Files.writeString(tmp.resolve("train.yaml"), """
                model: {path: model}
                mixed_precision: fp32
                data: {train_files: [%s], max_seq_len: 256}
                training: {micro_batch_size: 3, activation_checkpointing: true}
                distributed: {sharding: shard_grad_op}
                logging: {output_dir: out}
                """.formatted(data));
        Run r = plan(yaml.toString(), "--world", "2", "--seq-len", "128", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode job = new ObjectMapper().readTree(r.out()).get("job");
        assertThat(job.get("world").asInt()).isEqualTo(2);
        assertThat(job.get("sharding").asText()).isEqualTo("shard_grad_op");
        assertThat(job.get("mixed_precision").asText()).isEqualTo("fp32");
        assertThat(job.get("micro_batch_size").asInt()).isEqualTo(3);
        assertThat(job.get("max_seq_len").asInt()).isEqualTo(128);
        assertThat(job.get("activation_checkpointing").asBoolean()).isTrue();
    }
}
