package dev.fullshard.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes one safetensors file, streaming: the header first, then each tensor's bytes straight from
 * its memory, one tensor at a time, so memory use is one tensor (plus a copy when it is not already a
 * contiguous CPU tensor), never the whole model.
 *
 * <p>The file appears complete or not at all: it is written as {@code NAME.tmp-*} and renamed when
 * done; a failure (of a tensor's source, of the disk) deletes the temporary file.
 */
public final class SafetensorsWriter {
    /** Every file gets {@code "format": "pt"}: Hugging Face transformers refuses safetensors without it. */
    public static final Map<String, String> DEFAULT_METADATA = Map.of("format", "pt");

    /** Bytes per write call: a slice of a tensor, so a tensor over 2 GiB needs no ByteBuffer over 2 GiB. */
    private static final long CHUNK = 64L << 20;

    private SafetensorsWriter() {
    }

    /** Writes {@code tensors} with {@code __metadata__ {"format": "pt"}}. */
    public static void write(Path file, List<WritableTensor> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    /**
     * Writes {@code tensors} to {@code file}, replacing it atomically if it exists.
     *
     * @param metadata {@code __metadata__}; {@code "format": "pt"} is added unless it sets "format"
     */
    public static void write(Path file, List<WritableTensor> tensors, Map<String, String> metadata) throws IOException {
        List<WritableTensor> order = fileOrder(tensors);
        byte[] header = header(order, metadata);
        try (AtomicFile out = AtomicFile.create(file)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            out.write(length);
            out.write(ByteBuffer.wrap(header));
            long expectedPosition = 8L + header.length;
            for (WritableTensor t : order) {
                writeValues(out, t);
                expectedPosition += t.byteSize();
                if (out.channel().position() != expectedPosition) {
                    throw new IllegalStateException("wrote tensor '" + t.name() + "' but the file position is " + out.channel().position()
                            + ", expected " + expectedPosition);
                }
            }
            out.commit();
        }
    }

    /**
     * Largest element size first, then by name: each tensor then starts at a multiple of its own
     * element size (all sizes are powers of two and the data section starts 8-aligned), so readers can
     * view it without copying. This is also the order Hugging Face's safetensors uses.
     */
    static List<WritableTensor> fileOrder(List<WritableTensor> tensors) {
        Set<String> names = new HashSet<>();
        for (WritableTensor t : tensors) {
            if (!names.add(t.name())) throw new IllegalArgumentException("tensor name '" + t.name() + "' appears twice");
        }
        List<WritableTensor> order = new ArrayList<>(tensors);
        order.sort(Comparator.comparingInt((WritableTensor t) -> -t.dtype().byteSize()).thenComparing(WritableTensor::name));
        return order;
    }

    /** The JSON header, {@code __metadata__} first, padded with spaces to a multiple of 8 bytes as Hugging Face does. */
    static byte[] header(List<WritableTensor> order, Map<String, String> metadata) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        Map<String, String> allMetadata = new LinkedHashMap<>(DEFAULT_METADATA);
        allMetadata.putAll(metadata);
        ObjectNode meta = root.putObject(SafetensorsHeader.METADATA_KEY);
        allMetadata.forEach(meta::put);
        long offset = 0;
        for (WritableTensor t : order) {
            ObjectNode entry = root.putObject(t.name());
            entry.put("dtype", SafetensorsDType.nameOf(t.dtype()));
            ArrayNode shape = entry.putArray("shape");
            for (long s : t.shape()) shape.add(s);
            long end = offset + t.byteSize();
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static void writeValues(AtomicFile out, WritableTensor declared) throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor opened = declared.source().open();
            try {
                if (opened.dtype() != declared.dtype() || !Arrays.equals(opened.shape(), declared.shape())) {
                    throw new IllegalStateException("tensor '" + declared.name() + "' was declared as " + Arrays.toString(declared.shape()) + " "
                            + declared.dtype() + " but its source produced " + opened.describe());
                }
                Tensor cpu = opened.device().type() == Device.Type.CPU ? opened : opened.to(Device.CPU);
                Tensor contiguous = cpu.isContiguous() ? cpu : cpu.contiguous();
                MemorySegment bytes = contiguous.dataSegment();
                for (long at = 0; at < bytes.byteSize(); at += CHUNK) {
                    out.write(bytes.asSlice(at, Math.min(CHUNK, bytes.byteSize() - at)).asByteBuffer());
                }
            } finally {
                opened.close();
            }
        }
    }
}
