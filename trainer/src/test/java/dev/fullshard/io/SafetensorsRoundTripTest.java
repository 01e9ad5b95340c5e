package dev.fullshard.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(NoLeakedTensors.class)
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** One tensor of every dtype, plus the shapes that are easy to get wrong: 0-dim, empty, odd sizes. */
    private static Map<String, Tensor> everyDtype() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        long seed = 1;
        for (DType dtype : DType.values()) tensors.put("t." + dtype.torchName(), TestTensors.random(dtype, seed++, 3, 5));
        tensors.put("scalar.f32", TestTensors.random(DType.F32, seed++));
        tensors.put("empty.bf16", TestTensors.random(DType.BF16, seed++, 0, 4));
        tensors.put("odd.bf16", TestTensors.random(DType.BF16, seed++, 7));
        tensors.put("odd.u8", TestTensors.random(DType.U8, seed++, 3));
        tensors.put("after.odd.f64", TestTensors.random(DType.F64, seed, 2, 1, 3));
        return tensors;
    }

    private static List<WritableTensor> writable(Map<String, Tensor> tensors) {
        List<WritableTensor> out = new ArrayList<>();
        tensors.forEach((name, t) -> out.add(WritableTensor.of(name, t)));
        return out;
    }

    @Test
    void everyDtypeReadsBackBitForBitWithItsMetadata() throws IOException {
        assertThat(DType.values()).contains(DType.I8);
        try (TensorScope ignored = TensorScope.open()) {
            Map<String, Tensor> tensors = everyDtype();
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, writable(tensors), Map.of("step", "100"));

            try (SafetensorsFile read = SafetensorsFile.open(file)) {
                assertThat(read.metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("format", "pt", "step", "100"));
                assertThat(read.entries()).extracting(SafetensorsEntry::name).containsExactlyInAnyOrderElementsOf(tensors.keySet());
                for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                    Tensor back = read.tensor(e.getKey());
                    assertThat(back.dtype()).as(e.getKey()).isEqualTo(e.getValue().dtype());
                    assertThat(back.shape()).as(e.getKey()).isEqualTo(e.getValue().shape());
                    assertThat(TestTensors.bytes(back)).as(e.getKey()).isEqualTo(TestTensors.bytes(e.getValue()));
                    back.close();
                }
            }
        }
    }

    /** The file is checked here with plain Java and Jackson's tree, not with the reader under test. */
    @Test
    void writtenFileFollowsTheSafetensorsFormat() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Map<String, Tensor> tensors = everyDtype();
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, writable(tensors), Map.of("note", "ünïcode ✓"));
            byte[] bytes = Files.readAllBytes(file);

            long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertThat(headerLength % 8).as("header padded to 8 bytes").isZero();
            String headerText = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
            assertThat(headerText).startsWith("{");
            String json = headerText.stripTrailing();
            assertThat(headerText.substring(json.length())).as("padding").matches(" {0,7}");
            JsonNode header = new ObjectMapper().readTree(json);

            assertThat(header.fieldNames().next()).as("first key").isEqualTo("__metadata__");
            assertThat(header.get("__metadata__").get("format").asText()).isEqualTo("pt");
            assertThat(header.get("__metadata__").get("note").asText()).isEqualTo("ünïcode ✓");

            Map<DType, String> names = Map.of(DType.F64, "F64", DType.F32, "F32", DType.F16, "F16", DType.BF16, "BF16",
                    DType.I64, "I64", DType.I32, "I32", DType.I8, "I8", DType.U8, "U8", DType.BOOL, "BOOL");
            Map<String, Integer> elementSize = Map.of("F64", 8, "I64", 8, "F32", 4, "I32", 4, "F16", 2, "BF16", 2, "I8", 1, "U8", 1, "BOOL", 1);
            long dataStart = 8 + headerLength, expectedBegin = 0;
            List<String> order = new ArrayList<>();
            for (var it = header.properties().iterator(); it.hasNext(); ) {
                var field = it.next();
                if (field.getKey().equals("__metadata__")) continue;
                Tensor original = tensors.get(field.getKey());
                JsonNode entry = field.getValue();
                assertThat(entry.get("dtype").asText()).isEqualTo(names.get(original.dtype()));
                long[] shape = new long[entry.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = entry.get("shape").get(i).asLong();
                assertThat(shape).isEqualTo(original.shape());
                long begin = entry.get("data_offsets").get(0).asLong(), end = entry.get("data_offsets").get(1).asLong();
                assertThat(begin).as("no gaps between tensors, in header order").isEqualTo(expectedBegin);
                assertThat(begin % elementSize.get(entry.get("dtype").asText())).as("aligned " + field.getKey()).isZero();
                assertThat(Arrays.copyOfRange(bytes, (int) (dataStart + begin), (int) (dataStart + end)))
                        .as(field.getKey()).isEqualTo(TestTensors.bytes(original));
                expectedBegin = end;
                order.add(entry.get("dtype").asText() + " " + field.getKey());
            }
            assertThat(dataStart + expectedBegin).as("data ends at the end of the file").isEqualTo(bytes.length);
            assertThat(order).hasSize(tensors.size());
            // Largest elements first, then by name.
            assertThat(order).isSortedAccordingTo((a, b) -> {
                int bySize = Integer.compare(elementSize.get(b.split(" ")[0]), elementSize.get(a.split(" ")[0]));
                return bySize != 0 ? bySize : a.split(" ")[1].compareTo(b.split(" ")[1]);
            });
        }
    }

    @Test
    void theSameTensorsGiveTheSameBytesInAnyInputOrder() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            List<WritableTensor> tensors = writable(everyDtype());
            SafetensorsWriter.write(dir.resolve("a.safetensors"), tensors);
            List<WritableTensor> reversed = new ArrayList<>(tensors.reversed());
            SafetensorsWriter.write(dir.resolve("b.safetensors"), reversed);
            assertThat(Files.readAllBytes(dir.resolve("b.safetensors"))).isEqualTo(Files.readAllBytes(dir.resolve("a.safetensors")));
        }
    }

    @Test
    void aNonContiguousTensorIsWrittenInRowMajorOrder() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor base = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor transposed = base.transpose(0, 1);
            SafetensorsWriter.write(dir.resolve("t.safetensors"), List.of(WritableTensor.of("t", transposed)));
            try (SafetensorsFile read = SafetensorsFile.open(dir.resolve("t.safetensors"))) {
                Tensor back = read.tensor("t");
                assertThat(back.shape()).containsExactly(3, 2);
                assertThat(back.toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
            }
        }
    }

    @Test
    void copyOutlivesTheFileAndConvertsTheDtype() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor bf16 = Tensor.of(new float[] {1.5f, -2f, 0.25f}, 3).to(DType.BF16);
            Path file = dir.resolve("c.safetensors");
            SafetensorsWriter.write(file, List.of(WritableTensor.of("w", bf16)));
            Tensor same, f32;
            try (SafetensorsFile read = SafetensorsFile.open(file)) {
                same = read.copy("w", DType.BF16);
                f32 = read.copy("w", DType.F32);
            }
            assertThat(same.toHalfBits()).isEqualTo(bf16.toHalfBits());
            assertThat(f32.dtype()).isEqualTo(DType.F32);
            assertThat(f32.toFloatArray()).containsExactly(1.5f, -2f, 0.25f);
        }
    }

    @Test
    void aFileWithoutTensorsIsValid() throws IOException {
        Path file = dir.resolve("empty.safetensors");
        SafetensorsWriter.write(file, List.of());
        try (SafetensorsFile read = SafetensorsFile.open(file)) {
            assertThat(read.entries()).isEmpty();
            assertThat(read.metadata()).containsEntry("format", "pt");
        }
        // The header is the whole rest of the file: a header length of exactly size - 8 is allowed.
        assertThat(Files.size(file)).isEqualTo(8 + ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
    }

    @Test
    void aSourceThatFailsMidwayLeavesNoFile() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor good = TestTensors.random(DType.F32, 1, 1000);
            List<WritableTensor> tensors = List.of(WritableTensor.of("a.good", good),
                    new WritableTensor("b.gathered", DType.F32, new long[] {1000}, () -> {
                        throw new IllegalStateException("gather failed on rank 3");
                    }));
            Path file = dir.resolve("model.safetensors");
            assertThatThrownBy(() -> SafetensorsWriter.write(file, tensors)).hasMessage("gather failed on rank 3");
            assertThat(listing(dir)).isEmpty();
        }
    }

    @Test
    void aFailedRewriteKeepsTheOldFile() throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            Path file = dir.resolve("model.safetensors");
            SafetensorsWriter.write(file, List.of(WritableTensor.of("w", TestTensors.random(DType.F32, 1, 10))));
            byte[] before = Files.readAllBytes(file);
            List<WritableTensor> wrongShape = List.of(new WritableTensor("w", DType.F32, new long[] {10},
                    () -> TestTensors.random(DType.F32, 2, 11)));
            assertThatThrownBy(() -> SafetensorsWriter.write(file, wrongShape))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'w' was declared as [10] float32 but its source produced [11] float32");
            assertThat(Files.readAllBytes(file)).isEqualTo(before);
            assertThat(listing(dir)).containsExactly("model.safetensors");
        }
    }

    @Test
    void duplicateNamesAreRefused() {
        try (TensorScope ignored = TensorScope.open()) {
            Tensor t = TestTensors.random(DType.F32, 1, 2);
            assertThatThrownBy(() -> SafetensorsWriter.write(dir.resolve("d.safetensors"),
                    List.of(WritableTensor.of("w", t), WritableTensor.of("w", t))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'w' appears twice");
        }
        assertThat(listing(dir)).isEmpty();
    }

    static List<String> listing(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
