package dev.fullshard.io;

import dev.fullshard.model.ModelConfig;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Tensors with random bit patterns, their bytes, and hand-made safetensors files. */
final class TestTensors {
    private TestTensors() {
    }

    /**
     * A tensor whose bytes are random: every bit pattern of the dtype (NaN payloads, subnormals)
     * must survive a round trip. Booleans get 0 or 1, the only valid bytes.
     */
    static Tensor random(DType dtype, long seed, long... shape) {
        Tensor t = Tensor.empty(dtype, Device.CPU, shape);
        MemorySegment data = t.dataSegment();
        SplittableRandom random = new SplittableRandom(seed);
        for (long i = 0; i < data.byteSize(); i++) {
            data.set(JAVA_BYTE, i, (byte) (dtype == DType.BOOL ? random.nextInt(2) : random.nextInt(256)));
        }
        return t;
    }

    /** The bytes of a tensor in row-major order. */
    static byte[] bytes(Tensor t) {
        try (Tensor c = t.contiguous()) {
            return c.dataSegment().toArray(JAVA_BYTE);
        }
    }

    /** A safetensors file from a header text and {@code dataBytes} zero bytes of data, no padding. */
    static Path file(Path path, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(path, h.length, h, new byte[dataBytes]);
    }

    /** A file with an arbitrary 8-byte header length followed by {@code parts}. */
    static Path raw(Path path, long headerLength, byte[]... parts) throws IOException {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerLength);
        try (var out = Files.newOutputStream(path)) {
            out.write(length.array());
            for (byte[] p : parts) out.write(p);
        }
        return path;
    }

    /** A two-layer Llama with grouped-query attention, small enough to write in a test. */
    static ModelConfig tinyLlama() {
        return new ModelConfig(ModelConfig.Architecture.LLAMA, 32, 16, 24, 2, 4, 2, 4, 1e-5, 10000.0, null, 64,
                false, false, false, null, 1, 2);
    }
}
