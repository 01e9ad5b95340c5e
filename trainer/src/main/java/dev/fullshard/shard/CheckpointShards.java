package dev.fullshard.shard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.io.SafetensorsFile;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files of a training checkpoint and how to read any rank's pieces from them, whatever world size
 * wrote them (resharding).
 *
 * <p>Replicated runs (one rank, or no_shard) write {@code model.safetensors} (fp32 weights in their
 * Hugging Face shapes) and {@code optimizer.safetensors} ({@code step}, {@code exp_avg.<name>},
 * {@code exp_avg_sq.<name>}, {@code loss_scaler.*}). Sharded runs of N ranks write, per rank r,
 * {@code model.rank-r-of-N.safetensors} and {@code optimizer.rank-r-of-N.safetensors} holding that
 * rank's {@link ShardLayout.Piece}s as 1-D tensors under the same names ({@code step} and
 * {@code loss_scaler.*} only in rank 0's), plus {@code sharding.json} naming the layout. The layout
 * is a function of the model config and N, so a reader at another world size recomputes where every
 * old piece was and copies the overlaps into its new pieces.
 */
public final class CheckpointShards implements AutoCloseable {
    public static final String SHARDING_FILE = "sharding.json";
    static final String LAYOUT_NAME = "flat-per-unit";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where a part of a tensor is: file, and which elements of the (flattened) tensor it holds. */
    private record Part(SafetensorsFile file, long start, long length) {
    }

    private final Path dir;
    private final int shards;
    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<String, List<Part>> parts = new HashMap<>();
    private final SafetensorsFile common;

    private CheckpointShards(Path dir, int shards, SafetensorsFile common) {
        this.dir = dir;
        this.shards = shards;
        this.common = common;
    }

    public static String modelFile(int rank, int shards) {
        return shards == 1 ? "model.safetensors" : "model.rank-" + rank + "-of-" + shards + ".safetensors";
    }

    public static String optimizerFile(int rank, int shards) {
        return shards == 1 ? "optimizer.safetensors" : "optimizer.rank-" + rank + "-of-" + shards + ".safetensors";
    }

    /** The contents of {@code sharding.json} for a layout of {@code shards}. */
    public static byte[] shardingJson(int shards) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layout", LAYOUT_NAME);
        m.put("shards", shards);
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m);
    }

    /** The shard count a checkpoint was written with (1 when it has no {@code sharding.json}). */
    public static int shardsOf(Path checkpoint) throws IOException {
        Path file = checkpoint.resolve(SHARDING_FILE);
        if (!Files.isRegularFile(file)) return 1;
        JsonNode n = JSON.readTree(file.toFile());
        if (!LAYOUT_NAME.equals(n.path("layout").asText()) || !n.path("shards").canConvertToInt() || n.path("shards").asInt() < 1) {
            throw new IOException(file + ": expected {\"layout\": \"" + LAYOUT_NAME + "\", \"shards\": N >= 1}, found " + n);
        }
        return n.path("shards").asInt();
    }

    /**
     * Opens every file of checkpoint {@code dir} (memory-mapped) and checks each holds exactly the pieces
     * the layout says, with the right lengths: an error names the file and the tensor.
     */
    public static CheckpointShards open(Path dir, ModelConfig config) throws IOException {
        int shards = shardsOf(dir);
        ShardLayout layout = ShardLayout.of(config, shards);
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            for (int r = 0; r < shards; r++) {
                for (String name : List.of(modelFile(r, shards), optimizerFile(r, shards))) {
                    Path f = dir.resolve(name);
                    if (!Files.isRegularFile(f)) throw new IOException("checkpoint " + dir + " is incomplete: " + name + " is missing");
                    opened.add(SafetensorsFile.open(f));
                }
            }
            CheckpointShards c = new CheckpointShards(dir, shards, opened.get(1));
            c.files.addAll(opened);
            for (int r = 0; r < shards; r++) {
                SafetensorsFile model = opened.get(2 * r), optimizer = opened.get(2 * r + 1);
                for (ShardLayout.Piece p : layout.pieces(r)) {
                    c.add(model, p.name(), p, shards);
                    c.add(optimizer, "exp_avg." + p.name(), p, shards);
                    c.add(optimizer, "exp_avg_sq." + p.name(), p, shards);
                }
            }
            return c;
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : opened) f.close();
            throw e;
        }
    }

    private void add(SafetensorsFile file, String name, ShardLayout.Piece p, int shards) throws IOException {
        if (!file.contains(name)) throw new IOException(file.path() + " has no tensor " + name + " (expected in a checkpoint of " + shards + " shards)");
        long numel = 1;
        for (long s : file.entry(name).shape()) numel *= s;
        if (numel != p.length()) {
            throw new IOException(file.path() + ": tensor " + name + " has " + numel + " elements, expected " + p.length()
                    + " (elements " + p.paramStart() + ".." + (p.paramStart() + p.length()) + " of the parameter)");
        }
        parts.computeIfAbsent(name, k -> new ArrayList<>()).add(new Part(file, p.paramStart(), p.length()));
    }

    public Path directory() {
        return dir;
    }

    /** The world size (shard count) that wrote this checkpoint. */
    public int shards() {
        return shards;
    }

    /** Weights by parameter name ({@code prefix} ""), or optimizer moments ({@code "exp_avg."}, {@code "exp_avg_sq."}). */
    public ParameterSource source(String prefix) {
        return (name, start, length, into) -> {
            List<Part> found = parts.get(prefix + name);
            if (found == null) throw new IllegalArgumentException("checkpoint " + dir + " has no tensor " + prefix + name);
            long end = start + length, copied = 0;
            for (Part part : found) {
                long from = Math.max(start, part.start()), to = Math.min(end, part.start() + part.length());
                if (from >= to) continue;
                try (Tensor t = part.file().tensor(prefix + name); Tensor flat = t.reshape(-1);
                     Tensor src = flat.narrow(0, from - part.start(), to - from); Tensor dst = into.narrow(0, from - start, to - from)) {
                    Copies.copyInto(dst, src);
                }
                copied += to - from;
            }
            if (copied != length) throw new IllegalStateException("checkpoint " + dir + " covers " + copied + " of " + length + " elements of " + prefix + name);
        };
    }

    /** An optimizer tensor every rank shares ({@code step}, {@code loss_scaler.*}), from rank 0's file; null when absent. */
    public Tensor shared(String name) {
        return common.contains(name) ? common.tensor(name) : null;
    }

    /** Names of the shared tensors starting with {@code prefix}. */
    public List<String> sharedNames(String prefix) {
        return common.entries().stream().map(e -> e.name()).filter(n -> n.startsWith(prefix)).toList();
    }

    @Override
    public void close() {
        for (SafetensorsFile f : files) f.close();
    }
}
