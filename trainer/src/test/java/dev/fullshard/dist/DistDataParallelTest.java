package dev.fullshard.dist;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.train.StopRequest;
import dev.fullshard.train.TinyRun;
import dev.fullshard.train.TrainConfig;
import dev.fullshard.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Sharding (full_shard, the default) is only a different way to compute the same step: two ranks under
 * {@code mpiexec -n 2} train the tiny model on the tiny example data with the same global batch
 * (micro 2 × accumulation 4: each rank computes 2 of the 4 micro-batches) and must log the same
 * losses, gradient norms and final eval loss as one process does, write the files only once, and
 * resume from the checkpoint alike.
 */
class DistDataParallelTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Path config(Path model, String name) throws IOException {
        Path data = TinyRun.taskData();
        String yaml = """
                model:
                  path: %s
                mixed_precision: bf16
                data:
                  train_files: [%s]
                  eval_files: [%s]
                  max_seq_len: 128
                training:
                  max_steps: 10
                  micro_batch_size: 2
                  gradient_accumulation_steps: 4
                optimizer:
                  lr: 3.0e-3
                  weight_decay: 0.01
                scheduler:
                  type: cosine
                  warmup_steps: 3
                logging:
                  logging_steps: 5
                  save_steps: 5
                  output_dir: %s
                """.formatted(model, data.resolve("train.jsonl"), data.resolve("eval.jsonl"), tmp.resolve(name + "-out"));
        return Files.writeString(tmp.resolve(name + ".yaml"), yaml);
    }

    private static List<JsonNode> metrics(Path outputDir, String type) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.path("type").asText().equals(type)) out.add(n);
        }
        return out;
    }

    @Test
    void twoRanksTrainLikeOneProcessWithTheSameGlobalBatch() throws Exception {
        DistMpiProcesses.mpiexec(); // skips when MPICH is absent
        Path model = TinyRun.tinyModel(tmp.resolve("tiny-model"));
        Path one = config(model, "world1"), two = config(model, "world2");

        Trainer.Result single = Trainer.run(TrainConfig.load(one, List.of()), StopRequest.none(),
                new PrintWriter(new StringWriter(), true), LocalCommunicator.INSTANCE);
        DistMpiProcesses.Run run = DistMpiProcesses.run(2, tmp.resolve("world2.log"), 480, "train", two.toString());
        assertThat(run.exitCode()).as(run.output()).isZero();
        assertThat(run.output()).as(run.output()).contains("OK steps 10");
        // Gathered weights and unsharded gradients are owned by the sharding layer, not a scope: all freed.
        assertThat(run.output()).as(run.output()).containsOnlyOnce("RANK 0 OK").containsOnlyOnce("RANK 1 OK")
                .doesNotContainPattern("leaked tensors [1-9]");
        assertThat(run.output()).as("rank 1 prints nothing of its own").containsOnlyOnce("train: done");

        Path out1 = tmp.resolve("world1-out"), out2 = tmp.resolve("world2-out");
        List<JsonNode> train1 = metrics(out1, "train"), train2 = metrics(out2, "train");
        assertThat(train1).hasSize(10);
        assertThat(train2).as("one metrics line per step: only rank 0 writes").hasSize(10);
        boolean exact = true;
        for (int i = 0; i < 10; i++) {
            double l1 = train1.get(i).get("loss").asDouble(), l2 = train2.get(i).get("loss").asDouble();
            double g1 = train1.get(i).get("grad_norm").asDouble(), g2 = train2.get(i).get("grad_norm").asDouble();
            assertThat(l2).as("loss at step %d", i + 1).isCloseTo(l1, within(1e-4 * Math.abs(l1)));
            assertThat(g2).as("grad norm at step %d", i + 1).isCloseTo(g1, within(1e-3 * Math.abs(g1)));
            assertThat(train2.get(i).get("tokens").asLong()).isEqualTo(train1.get(i).get("tokens").asLong());
            exact &= l1 == l2 && g1 == g2;
        }
        List<JsonNode> eval1 = metrics(out1, "eval"), eval2 = metrics(out2, "eval");
        assertThat(eval2).hasSameSizeAs(eval1);
        double e1 = eval1.getLast().get("eval_loss").asDouble(), e2 = eval2.getLast().get("eval_loss").asDouble();
        assertThat(e2).isCloseTo(e1, within(1e-4 * Math.abs(e1)));
        assertThat(single.evalLoss()).isEqualTo(e1);
        System.out.println("data-parallel equivalence: losses and grad norms " + (exact ? "bit-identical" : "within tolerance")
                + "; eval " + e1 + " vs " + e2);
        assertThat(out2.resolve("final/config.json")).exists();
        assertThat(out2.resolve("checkpoint-10")).isDirectory();
        assertThat(out2.resolve("loss.png")).exists();

        // Both resume from checkpoint-10 (every rank loads it) and go on to step 13 alike.
        Trainer.run(TrainConfig.load(one, List.of("training.max_steps=13")), StopRequest.none(), new PrintWriter(new StringWriter(), true),
                LocalCommunicator.INSTANCE);
        DistMpiProcesses.Run resumed = DistMpiProcesses.run(2, tmp.resolve("world2-resume.log"), 480, "train", two.toString(),
                "training.max_steps=13");
        assertThat(resumed.exitCode()).as(resumed.output()).isZero();
        assertThat(resumed.output()).as(resumed.output()).contains("resumed at step 10").contains("OK steps 13");
        List<JsonNode> more1 = metrics(out1, "train"), more2 = metrics(out2, "train");
        assertThat(more2).hasSize(13);
        for (int i = 10; i < 13; i++) {
            double l1 = more1.get(i).get("loss").asDouble(), l2 = more2.get(i).get("loss").asDouble();
            assertThat(l2).as("loss at resumed step %d", i + 1).isCloseTo(l1, within(1e-4 * Math.abs(l1)));
        }
    }
}
