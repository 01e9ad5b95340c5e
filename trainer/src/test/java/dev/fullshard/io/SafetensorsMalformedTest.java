package dev.fullshard.io;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A corpus of broken files, all opened in this one JVM: each must fail with a
 * {@link CheckpointFormatException} that names the file and says what was wrong, and nothing may
 * crash or leak.
 */
@ExtendWith(NoLeakedTensors.class)
class SafetensorsMalformedTest {
    @TempDir
    static Path dir;

    private static final AtomicInteger RUN = new AtomicInteger();

    /** Makes the broken file in {@code dir} and returns the path to open (a .safetensors or an index). */
    @FunctionalInterface
    interface Maker {
        Path make(Path dir) throws IOException;
    }

    record Case(Maker maker, String expected) {
    }

    private static final String OK_ENTRY = "{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private static Named<Case> header(String name, String header, int dataBytes, String expected) {
        return Named.of(name, new Case(d -> TestTensors.file(d.resolve("bad.safetensors"), header, dataBytes), expected));
    }

    private static Named<Case> raw(String name, long headerLength, byte[] rest, String expected) {
        return Named.of(name, new Case(d -> TestTensors.raw(d.resolve("bad.safetensors"), headerLength, rest), expected));
    }

    static Stream<Named<Case>> corpus() {
        return Stream.of(
                Named.of("empty file", new Case(d -> Files.write(d.resolve("bad.safetensors"), new byte[0]), "file is 0 bytes long")),
                Named.of("5-byte file", new Case(d -> Files.write(d.resolve("bad.safetensors"), new byte[5]), "file is 5 bytes long")),
                raw("header length larger than the file", 100, "{}".getBytes(StandardCharsets.UTF_8), "header length 100 runs past the end"),
                raw("truncated header", 64, "{\"w\":{\"dtype\":\"F32\"".getBytes(StandardCharsets.UTF_8), "runs past the end of the file"),
                raw("huge header length 2^62", 1L << 62, new byte[16], "header length 4611686018427387904 is above the limit"),
                raw("header length 2^64-1", -1L, new byte[16], "header length 18446744073709551615 is above the limit"),
                raw("header not UTF-8", 4, new byte[] {'{', (byte) 0xC3, 0x28, '}'}, "not valid UTF-8"),
                header("header not JSON", "this is not json", 0, "header is not valid JSON"),
                header("JSON followed by junk", "{} {}", 0, "header is not valid JSON"),
                header("header JSON but a list", "[1, 2, 3]", 0, "header must be a JSON object"),
                header("header JSON but a string", "\"hello\"", 0, "header must be a JSON object"),
                header("duplicate tensor name", "{\"w\":" + OK_ENTRY + ",\"w\":" + OK_ENTRY + "}", 8, "Duplicate field 'w'"),
                header("entry not an object", "{\"w\":5}", 0, "tensor 'w' must be an object with dtype, shape and data_offsets"),
                header("entry without dtype", "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'w' has no 'dtype'"),
                header("unknown dtype", "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
                        "dtype 'F8_E4M3'; expected one of F32, F16, BF16, F64, I64, I32, I8, U8, BOOL"),
                header("dtype not a string", "{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "expected a string"),
                header("negative shape entry", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,8]}}", 8,
                        "with entry the number -1; expected a list of non-negative integers"),
                header("float shape entry", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8,
                        "with entry the number 2.5; expected a list of non-negative integers"),
                header("shape not a list", "{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
                        "has shape the number 2; expected a list of non-negative integers"),
                header("shape overflowing 64 bits", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
                        "overflows 64 bits"),
                header("offsets past the end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8,
                        "outside the data section, which holds 8 bytes"),
                header("begin after end", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
                        "data_offsets [8, 0]; expected begin <= end"),
                header("three data offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", 8,
                        "expected a list of 2 non-negative integers"),
                header("size mismatch shape x dtype vs range", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                        "which is 12 bytes, but data_offsets [0, 8] span 8 bytes"),
                header("overlapping ranges", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlap; expected disjoint data_offsets"),
                header("__metadata__ with a number", "{\"__metadata__\":{\"format\":\"pt\",\"step\":100}}", 0,
                        "__metadata__ must map strings to strings, but 'step' is the number 100"),
                header("__metadata__ a list", "{\"__metadata__\":[\"pt\"]}", 0, "__metadata__ must be an object of strings to strings"),
                Named.of("truncated data", new Case(SafetensorsMalformedTest::truncatedFile, "outside the data section")),
                Named.of("index pointing at a missing shard", new Case(d -> index(d, "model-00002-of-00002.safetensors"),
                        "weight_map refers to shard files that do not exist")),
                Named.of("index listing a tensor its shard lacks", new Case(d -> index(d, "model-00001-of-00002.safetensors"),
                        "weight_map lists tensors that their shard does not hold: [model.norm.weight (in model-00001-of-00002.safetensors)]")),
                Named.of("index shard outside the directory", new Case(d -> index(d, "../model-00001-of-00002.safetensors"),
                        "expected the file name of a shard in the same directory")),
                Named.of("index without weight_map", new Case(d -> Files.writeString(d.resolve("model.safetensors.index.json"),
                        "{\"metadata\":{}}"), "'weight_map' must be an object")),
                Named.of("index not JSON", new Case(d -> Files.writeString(d.resolve("model.safetensors.index.json"), "{weight_map"),
                        "index is not valid JSON")));
    }

    /** A real file from the writer, cut short by 4 bytes. */
    private static Path truncatedFile(Path d) throws IOException {
        Path file = d.resolve("bad.safetensors");
        try (TensorScope ignored = TensorScope.open()) {
            SafetensorsWriter.write(file, List.of(WritableTensor.of("w", TestTensors.random(DType.F32, 1, 16))));
        }
        byte[] bytes = Files.readAllBytes(file);
        return Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 4));
    }

    /** A valid shard holding "w", and an index that maps "w" to it and "model.norm.weight" to {@code normShard}. */
    private static Path index(Path d, String normShard) throws IOException {
        try (TensorScope ignored = TensorScope.open()) {
            SafetensorsWriter.write(d.resolve("model-00001-of-00002.safetensors"),
                    List.of(WritableTensor.of("w", Tensor.of(new float[] {1, 2}, 2))));
        }
        return Files.writeString(d.resolve("model.safetensors.index.json"), """
                {"metadata": {"total_size": 16},
                 "weight_map": {"w": "model-00001-of-00002.safetensors", "model.norm.weight": "%s"}}""".formatted(normShard));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void isRefusedWithAClearMessage(Case c) throws IOException {
        Path caseDir = Files.createDirectory(dir.resolve("case" + RUN.incrementAndGet()));
        Path path = c.maker().make(caseDir);
        assertThatThrownBy(() -> {
            if (path.getFileName().toString().endsWith(".index.json")) {
                CheckpointReader.open(caseDir).close();
            } else {
                SafetensorsFile.open(path).close();
            }
        })
                .isInstanceOf(CheckpointFormatException.class)
                .hasMessageStartingWith(path.toString() + ": ")
                .hasMessageContaining(c.expected())
                .satisfies(e -> assertThat(((CheckpointFormatException) e).file()).isEqualTo(path));
    }

    /** After the whole corpus, the JVM still reads a good file. */
    @AfterAll
    static void stillReadsAGoodFile() throws IOException {
        Path good = dir.resolve("good.safetensors");
        try (TensorScope ignored = TensorScope.open()) {
            SafetensorsWriter.write(good, List.of(WritableTensor.of("w", Tensor.of(new float[] {3, 4}, 2))));
            try (SafetensorsFile f = SafetensorsFile.open(good)) {
                assertThat(f.tensor("w").toFloatArray()).containsExactly(3, 4);
            }
        }
        assertThat(RUN.get()).as("malformed files tried").isGreaterThanOrEqualTo(30);
    }
}
