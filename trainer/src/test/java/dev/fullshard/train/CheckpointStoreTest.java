package dev.fullshard.train;

import dev.fullshard.io.SafetensorsFile;
import dev.fullshard.io.SafetensorsWriter;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Checkpoints are complete or absent, rotate, and come back bit for bit; metrics and the plot are written. */
@ExtendWith(NoLeakedTensors.class)
class CheckpointStoreTest {
    @TempDir
    Path out;

    /** What one rank does: the files into the hidden folder, then publish; abandon on failure. */
    private static Path save(CheckpointStore store, Map<String, Tensor> model, Map<String, Tensor> optimizer, TrainerState state, int keep)
            throws Exception {
        Path temporary = store.begin(state.step());
        try {
            SafetensorsWriter.write(temporary.resolve("model.safetensors"), writable(model));
            SafetensorsWriter.write(temporary.resolve("optimizer.safetensors"), writable(optimizer));
        } catch (Exception e) {
            store.abandon(temporary);
            throw e;
        }
        return store.publish(temporary, state, keep);
    }

    private static List<WritableTensor> writable(Map<String, Tensor> tensors) {
        List<WritableTensor> out = new ArrayList<>();
        tensors.forEach((name, t) -> out.add(WritableTensor.of(name, t)));
        return out;
    }

    @Test
    void savesLoadsAndKeepsOnlyTheNewest() throws Exception {
        CheckpointStore store = new CheckpointStore(out);
        try (TensorScope ignored = TensorScope.open()) {
            Tensor w = Tensor.randn(1, DType.F32, Device.CPU, 3, 4), m = Tensor.randn(2, DType.F32, Device.CPU, 3, 4);
            for (long step = 10; step <= 40; step += 10) {
                save(store, Map.of("w", w), Map.of("exp_avg.w", m), new TrainerState(step, 1, 7, 100, 0, 1.0, 0, 0.5), 2);
            }
            assertThat(store.checkpoints()).extracting(p -> p.getFileName().toString()).containsExactly("checkpoint-30", "checkpoint-40");
            Path newest = store.newest().orElseThrow();
            assertThat(CheckpointStore.state(newest)).isEqualTo(new TrainerState(40, 1, 7, 100, 0, 1.0, 0, 0.5));
            try (SafetensorsFile model = SafetensorsFile.open(newest.resolve("model.safetensors"));
                 SafetensorsFile optimizer = SafetensorsFile.open(newest.resolve("optimizer.safetensors"))) {
                assertThat(model.tensor("w").toFloatArray()).isEqualTo(w.toFloatArray());
                assertThat(optimizer.tensor("exp_avg.w").toFloatArray()).isEqualTo(m.toFloatArray());
            }
        }
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp-"));
        }
    }

    @Test
    void aFailedSaveLeavesThePreviousCheckpointAndNoPartialOne() throws Exception {
        CheckpointStore store = new CheckpointStore(out);
        try (TensorScope ignored = TensorScope.open()) {
            Tensor w = Tensor.zeros(DType.F32, Device.CPU, 2);
            save(store, Map.of("w", w), Map.of(), new TrainerState(5, 0, 0, 0, 0, 1, 0, 1), 0);
            Tensor closed = Tensor.zeros(DType.F32, Device.CPU, 2);
            closed.close();
            assertThatThrownBy(() -> save(store, Map.of("w", closed), Map.of(), new TrainerState(6, 0, 0, 0, 0, 1, 0, 1), 0));
        }
        assertThat(store.checkpoints()).extracting(p -> p.getFileName().toString()).containsExactly("checkpoint-5");
        try (Stream<Path> files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("checkpoint-5");
        }
        // A folder that looks like a checkpoint but lacks trainer_state.json is never picked for resume.
        Files.createDirectories(out.resolve("checkpoint-9"));
        assertThat(store.newest().orElseThrow().getFileName().toString()).isEqualTo("checkpoint-5");
    }

    @Test
    void metricsAreAppendedAsJsonLinesAndThePlotIsAPng() throws Exception {
        Path metrics = out.resolve("metrics.jsonl");
        List<MetricsLog.Point> points = new ArrayList<>();
        try (MetricsLog log = new MetricsLog(metrics)) {
            for (int s = 1; s <= 20; s++) log.train(s, s / 20.0, 3.0 / s, 1e-3 * s / 20, 1.5, 1000, 64L * s);
            log.eval(10, 1.2, 500);
            LossPlot.write(out.resolve("loss.png"), log.trainPoints(), log.evalPoints());
            points.addAll(log.trainPoints());
        }
        Files.writeString(metrics, "{\"type\":\"train\",\"ste", java.nio.file.StandardOpenOption.APPEND); // cut short by a crash
        Files.writeString(metrics, "\n", java.nio.file.StandardOpenOption.APPEND);
        try (MetricsLog again = new MetricsLog(metrics)) {
            assertThat(again.trainPoints()).as("an earlier run's points are read back").hasSize(20);
            again.train(20, 1.0, 0.25, 1e-3, 1.0, 1000, 64L * 20); // a resumed run logs step 20 again
            again.eval(20, 1.1, 500);
            assertThat(again.trainPoints()).hasSize(20);
            assertThat(again.trainPoints().getLast().loss()).isEqualTo(0.25);
            assertThat(again.evalPoints()).extracting(MetricsLog.EvalPoint::step).containsExactly(10L, 20L);
        }
        List<String> lines = Files.readAllLines(metrics);
        assertThat(lines).hasSize(24);
        assertThat(lines.getFirst()).contains("\"type\":\"train\"", "\"step\":1", "\"loss\":3.0");
        assertThat(lines.get(20)).contains("\"eval_loss\":1.2", "\"eval_perplexity\":" + Math.exp(1.2));
        assertThat(points).hasSize(20);
        BufferedImage png = ImageIO.read(out.resolve("loss.png").toFile());
        assertThat(png.getWidth()).isEqualTo(960);
        assertThat(png.getHeight()).isEqualTo(640);
    }
}
