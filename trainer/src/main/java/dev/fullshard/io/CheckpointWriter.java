package dev.fullshard.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.tensor.DType;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Writes a Hugging Face checkpoint directory: {@code config.json} plus the weights, in one
 * {@code model.safetensors} or, above a size threshold, in shards {@code model-00001-of-0000N.safetensors}
 * with {@code model.safetensors.index.json}.
 *
 * <p>The whole directory is written under a hidden temporary name next to the target and renamed into
 * place at the end, so a crash leaves either no checkpoint at {@code dir} or a complete one (plus,
 * at worst, a {@code .NAME.tmp-*} directory to delete).
 */
public final class CheckpointWriter {
    /** Hugging Face's default {@code max_shard_size} ("5GB", decimal). */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private CheckpointWriter() {
    }

    /**
     * Writes config and weights to the new directory {@code dir}.
     *
     * @param tensors       in model order: shards are filled in this order, as Hugging Face does
     * @param maxShardBytes a shard is closed before it would exceed this; a larger tensor gets a shard of its own
     * @throws FileAlreadyExistsException if {@code dir} exists: checkpoints are never overwritten in place
     */
    public static void write(Path dir, ModelConfig config, List<WritableTensor> tensors, long maxShardBytes) throws IOException {
        write(dir, config, tensors, maxShardBytes, unused -> { });
    }

    /** Writes other files of the checkpoint (tokenizer files, say) into the directory before it is published. */
    @FunctionalInterface
    public interface ExtraFiles {
        void writeInto(Path directory) throws IOException;
    }

    /** As {@link #write(Path, ModelConfig, List, long)}, with {@code extra} files that appear together with the weights. */
    public static void write(Path dir, ModelConfig config, List<WritableTensor> tensors, long maxShardBytes, ExtraFiles extra)
            throws IOException {
        if (maxShardBytes <= 0) throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        if (Files.exists(dir)) throw new FileAlreadyExistsException(dir.toString(), null, "refusing to overwrite an existing checkpoint");
        Path parent = dir.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path temporary = Files.createDirectory(parent.resolve("." + dir.getFileName() + ".tmp-" + AtomicFile.randomSuffix()));
        try {
            HfConfig.write(config, torchDtype(tensors), temporary.resolve(HfConfig.FILE_NAME));
            List<List<WritableTensor>> shards = shards(tensors, maxShardBytes);
            if (shards.size() == 1) {
                SafetensorsWriter.write(temporary.resolve(CheckpointReader.SINGLE_FILE), shards.getFirst());
            } else {
                writeShards(temporary, shards);
            }
            extra.writeInto(temporary);
            AtomicFile.syncDirectory(temporary);
            Files.move(temporary, dir, StandardCopyOption.ATOMIC_MOVE);
            AtomicFile.syncDirectory(parent);
        } catch (Throwable t) {
            deleteTree(temporary, t);
            throw t;
        }
    }

    /**
     * The order in which {@link #write} opens the tensors' sources: shard by shard, each shard in its file
     * order. Ranks that must take part in producing each tensor (an all-gather) follow it.
     */
    public static List<WritableTensor> openOrder(List<WritableTensor> tensors, long maxShardBytes) {
        List<WritableTensor> order = new ArrayList<>();
        for (List<WritableTensor> shard : shards(tensors, maxShardBytes)) order.addAll(SafetensorsWriter.fileOrder(shard));
        return order;
    }

    /** Hugging Face's split: tensors in order, a new shard whenever the next one would overflow the current. */
    static List<List<WritableTensor>> shards(List<WritableTensor> tensors, long maxShardBytes) {
        List<List<WritableTensor>> shards = new ArrayList<>();
        List<WritableTensor> current = new ArrayList<>();
        long size = 0;
        for (WritableTensor t : tensors) {
            if (!current.isEmpty() && size + t.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteSize();
        }
        shards.add(current);
        return shards;
    }

    static String shardName(int index, int count) {
        return String.format("model-%05d-of-%05d.safetensors", index, count);
    }

    private static void writeShards(Path dir, List<List<WritableTensor>> shards) throws IOException {
        Map<String, String> weightMap = new TreeMap<>();
        long totalSize = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name = shardName(i + 1, shards.size());
            SafetensorsWriter.write(dir.resolve(name), shards.get(i));
            for (WritableTensor t : shards.get(i)) {
                weightMap.put(t.name(), name);
                totalSize += t.byteSize();
            }
        }
        ObjectNode index = Json.MAPPER.createObjectNode();
        index.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = index.putObject("weight_map");
        weightMap.forEach(map::put);
        AtomicFile.write(dir.resolve(CheckpointReader.INDEX_FILE), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
    }

    /** {@code torch_dtype}: the floating-point dtype of the weights, float32 when they mix several. */
    private static DType torchDtype(List<WritableTensor> tensors) {
        List<DType> floating = tensors.stream().map(WritableTensor::dtype).filter(DType::isFloatingPoint).distinct().toList();
        return floating.size() == 1 ? floating.getFirst() : DType.F32;
    }

    /** Deletes the temporary directory this class created; problems are attached to {@code failure}. */
    private static void deleteTree(Path dir, Throwable failure) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
    }
}
