package dev.fullshard.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fullshard.tensor.DType;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON header of a safetensors file, checked against the size of the data section before any
 * offset in it is used: a header that passes can be used to slice the mapped file without going out
 * of bounds.
 *
 * @param entries  the tensors, in the order of their bytes in the file
 * @param metadata {@code __metadata__}, empty when absent
 */
record SafetensorsHeader(List<SafetensorsEntry> entries, Map<String, String> metadata) {
    static final String METADATA_KEY = "__metadata__";

    /**
     * @param file     for messages
     * @param bytes    the header bytes (JSON, possibly padded with trailing spaces)
     * @param dataSize bytes after the header
     */
    static SafetensorsHeader parse(Path file, byte[] bytes, long dataSize) throws CheckpointFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointFormatException(file, "header is not valid UTF-8 text; expected a UTF-8 JSON object", e);
        }
        JsonNode root = Json.parseObject(file, text, "header");

        Map<String, String> metadata = Map.of();
        List<SafetensorsEntry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = metadata(file, field.getValue());
            } else {
                entries.add(entry(file, field.getKey(), field.getValue(), dataSize));
            }
        }
        entries.sort(Comparator.comparingLong(SafetensorsEntry::begin).thenComparingLong(SafetensorsEntry::end));
        for (int i = 1; i < entries.size(); i++) {
            SafetensorsEntry before = entries.get(i - 1), e = entries.get(i);
            if (e.begin() < before.end()) {
                throw new CheckpointFormatException(file, "tensors '" + before.name() + "' (bytes " + before.begin() + ".." + before.end()
                        + ") and '" + e.name() + "' (bytes " + e.begin() + ".." + e.end() + ") overlap; expected disjoint data_offsets");
            }
        }
        return new SafetensorsHeader(List.copyOf(entries), metadata);
    }

    private static Map<String, String> metadata(Path file, JsonNode node) throws CheckpointFormatException {
        if (node.isNull()) return Map.of();
        if (!node.isObject()) {
            throw new CheckpointFormatException(file, METADATA_KEY + " must be an object of strings to strings, got " + Json.describe(node));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new CheckpointFormatException(file, METADATA_KEY + " must map strings to strings, but '" + field.getKey() + "' is "
                        + Json.describe(field.getValue()));
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static SafetensorsEntry entry(Path file, String name, JsonNode node, long dataSize) throws CheckpointFormatException {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) {
            throw new CheckpointFormatException(file, where + " must be an object with dtype, shape and data_offsets, got " + Json.describe(node));
        }
        JsonNode dtypeNode = required(file, where, node, "dtype");
        if (!dtypeNode.isTextual()) {
            throw new CheckpointFormatException(file, where + " has dtype " + Json.describe(dtypeNode) + "; expected a string, one of "
                    + SafetensorsDType.ALLOWED);
        }
        DType dtype = SafetensorsDType.parse(file, name, dtypeNode.textValue());
        long[] shape = nonNegativeLongs(file, where, "shape", required(file, where, node, "shape"), -1);
        long[] offsets = nonNegativeLongs(file, where, "data_offsets", required(file, where, node, "data_offsets"), 2);
        long begin = offsets[0], end = offsets[1];
        if (begin > end) {
            throw new CheckpointFormatException(file, where + " has data_offsets [" + begin + ", " + end + "]; expected begin <= end");
        }
        if (end > dataSize) {
            throw new CheckpointFormatException(file, where + " has data_offsets [" + begin + ", " + end
                    + "] outside the data section, which holds " + dataSize + " bytes (the file is truncated or the header is wrong)");
        }
        long bytes;
        try {
            long numel = 1;
            for (long s : shape) numel = Math.multiplyExact(numel, s);
            bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new CheckpointFormatException(file, where + " has shape " + Arrays.toString(shape) + " whose byte size overflows 64 bits");
        }
        if (bytes != end - begin) {
            throw new CheckpointFormatException(file, where + " has shape " + Arrays.toString(shape) + " " + dtype + ", which is " + bytes
                    + " bytes, but data_offsets [" + begin + ", " + end + "] span " + (end - begin) + " bytes");
        }
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static JsonNode required(Path file, String where, JsonNode node, String key) throws CheckpointFormatException {
        JsonNode value = node.get(key);
        if (value == null) throw new CheckpointFormatException(file, where + " has no '" + key + "'; expected dtype, shape and data_offsets");
        return value;
    }

    /** A JSON list of non-negative integers that fit in a long, of {@code length} entries unless it is -1. */
    private static long[] nonNegativeLongs(Path file, String where, String key, JsonNode node, int length) throws CheckpointFormatException {
        String expected = length < 0 ? "a list of non-negative integers" : "a list of " + length + " non-negative integers";
        if (!node.isArray() || (length >= 0 && node.size() != length)) {
            throw new CheckpointFormatException(file, where + " has " + key + " " + Json.describe(node) + "; expected " + expected);
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new CheckpointFormatException(file, where + " has " + key + " " + Json.describe(node) + " with entry "
                        + Json.describe(v) + "; expected " + expected);
            }
            values[i] = v.longValue();
        }
        return values;
    }
}
