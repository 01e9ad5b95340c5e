package dev.fullshard.io;

import dev.fullshard.tensor.Copies;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.InPlace;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import dev.fullshard.tensor.Views;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(NoLeakedTensors.class)
class SafetensorsZeroCopyTest {
    @TempDir
    Path dir;

    @Test
    void aTensorViewsTheMappedFileAndThrowsOnceItIsClosed() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Path file = dir.resolve("w.safetensors");
            SafetensorsWriter.write(file, List.of(WritableTensor.of("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3))));
            Tensor view;
            try (SafetensorsFile read = SafetensorsFile.open(file)) {
                view = read.tensor("w");
                MemorySegment mapped = read.data("w");
                assertThat(view.dataSegment().address()).as("data pointer is the mapped bytes").isEqualTo(mapped.address());
                assertThat(mapped.isMapped()).isTrue();
                assertThat(view.toFloatArray()).containsExactly(1, 2, 3, 4, 5, 6);
            }
            assertThatThrownBy(view::shape).isInstanceOf(IllegalStateException.class).hasMessageContaining("arena is closed");
            assertThatThrownBy(view::toFloatArray).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> view.to(DType.F64)).isInstanceOf(IllegalStateException.class);
        }
    }

    /** The mapping is read-only: an in-place op would fault inside libtorch, so it must be refused in Java. */
    @Test
    void inPlaceOpsOnAMappedTensorAreRefusedAndACopyIsWritable() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Path file = dir.resolve("w.safetensors");
            SafetensorsWriter.write(file, List.of(WritableTensor.of("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3))));
            try (SafetensorsFile read = SafetensorsFile.open(file)) {
                Tensor mapped = read.tensor("w");
                Tensor row = Views.narrow(mapped, 0, 1, 1);
                assertThat(mapped.isReadOnly()).isTrue();
                assertThat(row.isReadOnly()).as("a view of read-only memory").isTrue();
                assertThat(mapped.dataSegment().isReadOnly()).isTrue();
                assertThatThrownBy(() -> Copies.fill(mapped, 0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("read-only");
                assertThatThrownBy(() -> Copies.zero(row)).isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> InPlace.mulInPlace(mapped, Tensor.scalar(2.0))).isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> InPlace.addInPlace(row, row, 1.0)).isInstanceOf(IllegalStateException.class);
                assertThatThrownBy(() -> Copies.copyInto(mapped, Tensor.zeros(DType.F32, dev.fullshard.tensor.Device.CPU, 2, 3)))
                        .isInstanceOf(IllegalStateException.class);
                assertThat(mapped.toFloatArray()).as("unchanged").containsExactly(1, 2, 3, 4, 5, 6);

                Tensor owned = read.copy("w", DType.F32);
                assertThat(owned.isReadOnly()).isFalse();
                Copies.fill(owned, 7);
                assertThat(owned.toFloatArray()).containsOnly(7f);
            }
        }
    }

    @Test
    void aClosedFileRefusesToHandOutTensors() throws IOException {
        Path file = dir.resolve("w.safetensors");
        try (TensorScope ignored = TensorScope.open()) {
            SafetensorsWriter.write(file, List.of(WritableTensor.of("w", Tensor.of(new float[] {1}, 1))));
        }
        SafetensorsFile read = SafetensorsFile.open(file);
        read.close();
        read.close();
        assertThatThrownBy(() -> read.tensor("w")).isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
        assertThatThrownBy(() -> read.copy("w", DType.F32)).isInstanceOf(IllegalStateException.class);
    }

    /**
     * safetensors does not pad between tensors, so a float32 after three bfloat16 values starts at
     * byte 6. libtorch cannot view that; the reader copies instead.
     */
    @Test
    void anUnalignedTensorIsCopied() throws IOException {
        String header = "{\"h\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                + "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[6,14]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] padded = new byte[(h.length + 7) / 8 * 8];
        java.util.Arrays.fill(padded, (byte) ' ');
        System.arraycopy(h, 0, padded, 0, h.length);
        ByteBuffer data = ByteBuffer.allocate(14).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3F80).putShort((short) 0x4000).putShort((short) 0x4040).putFloat(2.5f).putFloat(-7f);
        Path file = TestTensors.raw(dir.resolve("u.safetensors"), padded.length, padded, data.array());

        try (TensorScope ignored = TensorScope.open()) {
            Tensor f, h16;
            try (SafetensorsFile read = SafetensorsFile.open(file)) {
                f = read.tensor("f");
                h16 = read.tensor("h");
                long mapStart = read.data("h").address();
                assertThat(h16.dataSegment().address()).as("aligned bf16 is a view").isEqualTo(mapStart);
                long copyAt = f.dataSegment().address();
                assertThat(copyAt < mapStart || copyAt >= mapStart + 14).as("unaligned f32 is a copy, outside the mapping").isTrue();
            }
            assertThat(f.toFloatArray()).as("the copy outlives the file").containsExactly(2.5f, -7f);
            assertThatThrownBy(h16::shape).isInstanceOf(IllegalStateException.class);
        }
    }
}
