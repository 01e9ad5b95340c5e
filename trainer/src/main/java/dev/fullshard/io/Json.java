package dev.fullshard.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.nio.file.Path;

/** The one Jackson configuration for checkpoint JSON, plus short descriptions of values for messages. */
final class Json {
    /**
     * Strict on purpose: a duplicated key (two tensors with one name) or text after the JSON value
     * would otherwise be silently resolved one way or another.
     */
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {
    }

    /** Parses {@code text} as one JSON object; anything else is a format error naming {@code what}. */
    static JsonNode parseObject(Path file, String text, String what) throws CheckpointFormatException {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(file, what + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new CheckpointFormatException(file, what + " must be a JSON object ({...}), got " + describe(root));
        }
        return root;
    }

    /** "a string \"4096\"", "the number 2.5", "null": what a value is, for "expected X, got Y" messages. */
    static String describe(JsonNode node) {
        if (node == null || node.isMissingNode()) return "nothing";
        if (node.isNull()) return "null";
        String text = node.toString();
        if (text.length() > 60) text = text.substring(0, 57) + "...";
        if (node.isTextual()) return "the string " + text;
        if (node.isNumber()) return "the number " + text;
        if (node.isBoolean()) return "the boolean " + text;
        if (node.isArray()) return "the list " + text;
        return "the object " + text;
    }
}
