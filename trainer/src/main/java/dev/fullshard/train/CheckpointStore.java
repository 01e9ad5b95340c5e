package dev.fullshard.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.fullshard.io.SafetensorsFile;
import dev.fullshard.io.SafetensorsWriter;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Training checkpoints in {@code output_dir/checkpoint-<step>/}: {@code model.safetensors} (the fp32
 * master weights), {@code optimizer.safetensors} (AdamW moments and step) and {@code trainer_state.json}.
 *
 * <p>All or nothing: a checkpoint is written into a hidden temporary folder and renamed into place only
 * when every file is complete and synced, so a kill at any moment leaves the previous checkpoints
 * intact and never a partial one under a {@code checkpoint-*} name.
 */
public final class CheckpointStore {
    static final String MODEL_FILE = "model.safetensors";
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String STATE_FILE = "trainer_state.json";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path outputDir;

    public CheckpointStore(Path outputDir) {
        this.outputDir = outputDir;
    }

    /** A checkpoint read back: owned tensors (in the open TensorScope) and the trainer state. */
    public record Loaded(Path directory, Map<String, Tensor> model, Map<String, Tensor> optimizer, TrainerState state) {
    }

    /**
     * Writes {@code checkpoint-<state.step>} and then deletes the oldest checkpoints beyond {@code keepNewest}
     * (0 keeps all). Returns the new checkpoint's directory.
     */
    public Path save(Map<String, Tensor> model, Map<String, Tensor> optimizer, TrainerState state, int keepNewest) throws IOException {
        Files.createDirectories(outputDir);
        Path target = outputDir.resolve("checkpoint-" + state.step());
        Path temporary = Files.createTempDirectory(outputDir, ".checkpoint-" + state.step() + ".tmp-");
        try {
            SafetensorsWriter.write(temporary.resolve(MODEL_FILE), writable(model));
            SafetensorsWriter.write(temporary.resolve(OPTIMIZER_FILE), writable(optimizer));
            Files.write(temporary.resolve(STATE_FILE), JSON.writeValueAsBytes(state));
            // A checkpoint of the same step (an earlier, abandoned run) is moved aside before the new one
            // takes its name, so at every moment one complete checkpoint of this step exists.
            Path old = Files.exists(target) ? Files.move(target, outputDir.resolve(".checkpoint-" + state.step() + ".old-" + System.nanoTime()),
                    StandardCopyOption.ATOMIC_MOVE) : null;
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) deleteTree(old);
        } catch (IOException | RuntimeException e) {
            deleteTree(temporary);
            throw e;
        }
        if (keepNewest > 0) {
            List<Path> all = checkpoints();
            for (int i = 0; i < all.size() - keepNewest; i++) deleteTree(all.get(i));
        }
        return target;
    }

    /** Complete checkpoints in {@code output_dir}, oldest first. */
    public List<Path> checkpoints() throws IOException {
        if (!Files.isDirectory(outputDir)) return List.of();
        try (Stream<Path> entries = Files.list(outputDir)) {
            return entries.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p.resolve(STATE_FILE)))
                    .sorted(Comparator.comparingLong(CheckpointStore::stepOf)).toList();
        }
    }

    public Optional<Path> newest() throws IOException {
        List<Path> all = checkpoints();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    /** Reads a checkpoint directory; tensors are owned copies (the files are closed on return). */
    public static Loaded load(Path checkpoint) throws IOException {
        for (String f : List.of(MODEL_FILE, OPTIMIZER_FILE, STATE_FILE)) {
            if (!Files.isRegularFile(checkpoint.resolve(f))) {
                throw new IOException("checkpoint " + checkpoint + " is incomplete: " + f + " is missing");
            }
        }
        TrainerState state = JSON.readValue(checkpoint.resolve(STATE_FILE).toFile(), TrainerState.class);
        return new Loaded(checkpoint, readAll(checkpoint.resolve(MODEL_FILE)), readAll(checkpoint.resolve(OPTIMIZER_FILE)), state);
    }

    private static Map<String, Tensor> readAll(Path file) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (var e : f.entries()) out.put(e.name(), f.copy(e.name(), e.dtype()));
        }
        return out;
    }

    private static List<WritableTensor> writable(Map<String, Tensor> tensors) {
        List<WritableTensor> out = new ArrayList<>();
        tensors.forEach((name, t) -> out.add(WritableTensor.of(name, t)));
        return out;
    }

    private static long stepOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
