package dev.fullshard.io;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * A safetensors file, memory-mapped read-only. The header is validated in full by {@link #open}
 * before anything in it is used.
 *
 * <p><b>Lifetime rule.</b> {@link #tensor} returns tensors that view the mapping without copying, so
 * the file must stay open while they (and their views) are used; closing the file unmaps it, and a
 * tensor used afterwards throws {@link IllegalStateException} (enforced by {@link Tensor#wrap}).
 * Use {@link #copy} for a tensor that outlives the file.
 *
 * <p><b>Read-only.</b> The mapping is read-only, and so are tensors from {@link #tensor} and their views:
 * in-place ops on them throw (see {@code Tensor.isReadOnly}) and their data segments are read-only.
 * Tensors that will be modified, such as trainable parameters, must come from {@link #copy}.
 *
 * <p>Safe to share between threads: nothing changes after {@code open}.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Larger headers are refused before being read: real ones are a few hundred kilobytes. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, SafetensorsEntry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, SafetensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        Map<String, SafetensorsEntry> byName = new LinkedHashMap<>();
        for (SafetensorsEntry e : header.entries()) byName.put(e.name(), e);
        this.entries = Collections.unmodifiableMap(byName);
        this.metadata = header.metadata();
    }

    /** Maps {@code file} and validates its header; throws {@link CheckpointFormatException} naming the file on any problem. */
    public static SafetensorsFile open(Path file) throws IOException {
        // Shared, so that tensors can be read from any thread (data loading, sharding).
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw new CheckpointFormatException(file, "file is " + size + " bytes long; a safetensors file starts with an 8-byte header length");
            }
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, length, 0);
            long headerLength = length.getLong(0);
            // Unsigned in the format: a negative long is a length of 2^63 or more.
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw new CheckpointFormatException(file, "header length " + Long.toUnsignedString(headerLength) + " is above the limit of "
                        + MAX_HEADER_BYTES + " bytes (100 MiB); the file is not safetensors or is corrupt");
            }
            if (headerLength > size - 8) {
                throw new CheckpointFormatException(file, "header length " + headerLength + " runs past the end of the file (" + size
                        + " bytes, so at most " + (size - 8) + " bytes of header); the file is truncated or not safetensors");
            }
            byte[] headerBytes = new byte[(int) headerLength];
            readFully(channel, ByteBuffer.wrap(headerBytes), 8);
            SafetensorsHeader header = SafetensorsHeader.parse(file, headerBytes, size - 8 - headerLength);
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new SafetensorsFile(file, arena, mapped.asSlice(8 + headerLength), header);
        } catch (Throwable t) {
            arena.close();
            throw t;
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) throw new EOFException("file shrank while its header was read");
        }
    }

    public Path path() {
        return path;
    }

    /** The tensors, in the order of their bytes in the file. */
    public List<SafetensorsEntry> entries() {
        return List.copyOf(entries.values());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    public SafetensorsEntry entry(String name) {
        SafetensorsEntry e = entries.get(name);
        if (e == null) throw new NoSuchElementException(path + " has no tensor '" + name + "'");
        return e;
    }

    /** {@code __metadata__}, empty when the file has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The raw bytes of tensor {@code name} in the mapping (read-only), valid while this file is open. */
    public MemorySegment data(String name) {
        SafetensorsEntry e = entry(name);
        checkOpen();
        return data.asSlice(e.begin(), e.byteSize());
    }

    /**
     * Tensor {@code name} as a CPU tensor that views the mapped file without copying, valid while this
     * file is open and never to be written (see the class doc). When its bytes are not aligned to
     * its element size in the file (safetensors does not pad between tensors) libtorch cannot view
     * them, and this returns an owned copy instead.
     */
    public Tensor tensor(String name) {
        SafetensorsEntry e = entry(name);
        MemorySegment bytes = data(name);
        if (bytes.address() % e.dtype().byteSize() != 0) return copyOf(e, bytes);
        return Tensor.wrap(bytes, e.dtype(), e.shape());
    }

    /** An owned CPU copy of tensor {@code name}, converted to {@code dtype}; it outlives this file. */
    public Tensor copy(String name, DType dtype) {
        SafetensorsEntry e = entry(name);
        Tensor raw = copyOf(e, data(name));
        if (dtype == e.dtype()) return raw;
        try (raw) {
            return raw.to(dtype);
        }
    }

    private static Tensor copyOf(SafetensorsEntry e, MemorySegment bytes) {
        Tensor t = Tensor.empty(e.dtype(), Device.CPU, e.shape());
        MemorySegment.copy(bytes, 0, t.dataSegment(), 0, e.byteSize());
        return t;
    }

    private void checkOpen() {
        if (!arena.scope().isAlive()) throw new IllegalStateException(path + " is closed");
    }

    /** Unmaps the file. Tensors from {@link #tensor} throw when used afterwards; copies are unaffected. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors]";
    }
}
