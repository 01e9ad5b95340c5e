package dev.fullshard.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.fullshard.io.AtomicFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Training checkpoints in {@code output_dir/checkpoint-<step>/}: the weight and optimizer files every
 * rank writes ({@code CheckpointShards} names them) and {@code trainer_state.json}.
 *
 * <p>All or nothing: a checkpoint is written into a hidden temporary folder and renamed into place only
 * when every file is complete and synced, so a kill at any moment leaves the previous checkpoints
 * intact and never a partial one under a {@code checkpoint-*} name.
 */
public final class CheckpointStore {
    static final String STATE_FILE = "trainer_state.json";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path outputDir;

    public CheckpointStore(Path outputDir) {
        this.outputDir = outputDir;
    }

    /**
     * The hidden folder checkpoint {@code step} is written into before {@link #publish}: a fixed name, so
     * every rank of a run finds it; a leftover of an interrupted save is cleared first. Call on one rank.
     */
    public Path begin(long step) throws IOException {
        Files.createDirectories(outputDir);
        Path temporary = temporary(step);
        deleteTree(temporary);
        return Files.createDirectory(temporary);
    }

    /** Where checkpoint {@code step} is once published. */
    public Path directory(long step) {
        return outputDir.resolve("checkpoint-" + step);
    }

    /** Where {@link #begin} puts checkpoint {@code step} while it is written. */
    public Path temporary(long step) {
        return outputDir.resolve(".checkpoint-" + step + ".tmp");
    }

    /** Deletes a checkpoint that will not be completed. */
    public void abandon(Path temporary) throws IOException {
        deleteTree(temporary);
    }

    /**
     * Completes a checkpoint whose files are all written and synced: writes the trainer state, renames the
     * folder into place and deletes the oldest checkpoints beyond {@code keepNewest} (0 keeps all).
     */
    public Path publish(Path temporary, TrainerState state, int keepNewest) throws IOException {
        Path target = directory(state.step());
        try {
            AtomicFile.write(temporary.resolve(STATE_FILE), JSON.writeValueAsBytes(state));
            AtomicFile.syncDirectory(temporary);
            // A checkpoint of the same step (an earlier, abandoned run) is moved aside before the new one
            // takes its name, so at every moment one complete checkpoint of this step exists.
            Path old = Files.exists(target) ? Files.move(target, outputDir.resolve(".checkpoint-" + state.step() + ".old-" + System.nanoTime()),
                    StandardCopyOption.ATOMIC_MOVE) : null;
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFile.syncDirectory(outputDir);
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

    /** The trainer state of a checkpoint directory. */
    public static TrainerState state(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(STATE_FILE);
        if (!Files.isRegularFile(file)) throw new IOException("checkpoint " + checkpoint + " is incomplete: " + STATE_FILE + " is missing");
        return JSON.readValue(file.toFile(), TrainerState.class);
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
