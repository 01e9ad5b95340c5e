package dev.fullshard.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;

/**
 * All the weights of a Hugging Face checkpoint as one set of named tensors, whether they are in one
 * {@code model.safetensors} or split into shards listed by {@code model.safetensors.index.json}.
 *
 * <p>The same lifetime rule as {@link SafetensorsFile} applies: tensors from {@link #tensor} view the
 * mapped shards and must not be used after {@link #close}, nor written to; {@link #copy} makes owned
 * tensors.
 */
public final class CheckpointReader implements AutoCloseable {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path source;
    private final List<SafetensorsFile> files;
    /** Tensor name to the file holding it, sorted by name. */
    private final Map<String, SafetensorsFile> fileOf;

    private CheckpointReader(Path source, List<SafetensorsFile> files, Map<String, SafetensorsFile> fileOf) {
        this.source = source;
        this.files = List.copyOf(files);
        this.fileOf = Collections.unmodifiableMap(fileOf);
    }

    /**
     * Opens a checkpoint directory, a {@code .safetensors} file or an index file. In a directory,
     * {@code model.safetensors} wins over the index, as in Hugging Face transformers.
     */
    public static CheckpointReader open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (Files.isRegularFile(path.resolve(SINGLE_FILE))) return single(path.resolve(SINGLE_FILE));
            if (Files.isRegularFile(path.resolve(INDEX_FILE))) return sharded(path.resolve(INDEX_FILE));
            throw new CheckpointFormatException(path, "directory holds neither " + SINGLE_FILE + " nor " + INDEX_FILE);
        }
        if (path.getFileName().toString().endsWith(".index.json")) return sharded(path);
        return single(path);
    }

    private static CheckpointReader single(Path file) throws IOException {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> fileOf = new TreeMap<>();
        for (SafetensorsEntry e : f.entries()) fileOf.put(e.name(), f);
        return new CheckpointReader(file, List.of(f), fileOf);
    }

    private static CheckpointReader sharded(Path index) throws IOException {
        Map<String, String> weightMap = readWeightMap(index);
        Path dir = index.toAbsolutePath().getParent();

        // Every shard must exist before any is opened, and the message lists all that do not.
        Map<String, List<String>> tensorsByShard = new LinkedHashMap<>();
        weightMap.forEach((tensor, shard) -> tensorsByShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(tensor));
        List<String> missingShards = tensorsByShard.keySet().stream().filter(s -> !Files.isRegularFile(dir.resolve(s))).toList();
        if (!missingShards.isEmpty()) {
            throw new CheckpointFormatException(index, "weight_map refers to shard files that do not exist in " + dir + ": " + missingShards);
        }

        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> fileOf = new TreeMap<>();
            List<String> notInShard = new ArrayList<>();
            for (Map.Entry<String, List<String>> shard : tensorsByShard.entrySet()) {
                SafetensorsFile f = SafetensorsFile.open(dir.resolve(shard.getKey()));
                opened.add(f);
                for (String tensor : shard.getValue()) {
                    if (f.contains(tensor)) fileOf.put(tensor, f);
                    else notInShard.add(tensor + " (in " + shard.getKey() + ")");
                }
            }
            if (!notInShard.isEmpty()) {
                throw new CheckpointFormatException(index, "weight_map lists tensors that their shard does not hold: " + notInShard);
            }
            return new CheckpointReader(index, opened, fileOf);
        } catch (Throwable t) {
            opened.forEach(SafetensorsFile::close);
            throw t;
        }
    }

    private static Map<String, String> readWeightMap(Path index) throws IOException {
        JsonNode root = Json.parseObject(index, Files.readString(index, StandardCharsets.UTF_8), "index");
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new CheckpointFormatException(index, "'weight_map' must be an object of tensor names to shard file names, got "
                    + Json.describe(map));
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode shard = e.getValue();
            // A shard is a file next to the index: no folders, so an index cannot point outside its checkpoint.
            if (!shard.isTextual() || !isPlainFileName(shard.textValue())) {
                throw new CheckpointFormatException(index, "weight_map entry '" + e.getKey() + "' is " + Json.describe(shard)
                        + "; expected the file name of a shard in the same directory");
            }
            weightMap.put(e.getKey(), shard.textValue());
        }
        return weightMap;
    }

    private static boolean isPlainFileName(String name) {
        return !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0 && name.indexOf('\\') < 0
                && name.indexOf('\0') < 0;
    }

    /** The directory's single file or index file this reader was opened from. */
    public Path source() {
        return source;
    }

    /** The safetensors files, one or one per shard. */
    public List<SafetensorsFile> files() {
        return files;
    }

    /** Tensor names, sorted. */
    public List<String> names() {
        return List.copyOf(fileOf.keySet());
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    public SafetensorsEntry entry(String name) {
        return fileFor(name).entry(name);
    }

    /** Every tensor's shape, by name (sorted), for {@link WeightNames#check}. */
    public Map<String, long[]> shapes() {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        fileOf.forEach((name, f) -> shapes.put(name, f.entry(name).shape()));
        return shapes;
    }

    /** A zero-copy, read-only view (see {@link SafetensorsFile#tensor}). */
    public Tensor tensor(String name) {
        return fileFor(name).tensor(name);
    }

    /** An owned copy converted to {@code dtype} (see {@link SafetensorsFile#copy}). */
    public Tensor copy(String name, DType dtype) {
        return fileFor(name).copy(name, dtype);
    }

    /** {@code __metadata__} of the first file (Hugging Face writes the same into every shard). */
    public Map<String, String> metadata() {
        return files.isEmpty() ? Map.of() : files.getFirst().metadata();
    }

    private SafetensorsFile fileFor(String name) {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) throw new NoSuchElementException(source + " has no tensor '" + name + "'");
        return f;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
