package dev.fullshard.config;

import com.fasterxml.jackson.core.JsonToken;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * What kind of value a config key holds: which scalars it accepts, what to call it in messages and
 * docs, and how it is written back. Scalars are seen as Jackson sees them, a token and its text, so
 * the same types read YAML (train.yaml) and JSON (a Hugging Face config.json).
 *
 * @param name     for docs: "integer", "number", "boolean", ...
 * @param expected for messages, "expected X" / "must be X" when no narrower constraint is given
 * @param parser   the value of a scalar, or null when the scalar is not of this type
 * @param written  the value as it is written to YAML (enums in lower case, paths as text)
 * @param choices  the spellings a choice lists in messages and docs; empty for other types
 */
public record ValueType<T>(String name, String expected, BiFunction<JsonToken, String, T> parser,
                           Function<T, Object> written, List<String> choices) {

    public static final ValueType<Long> INTEGER = new ValueType<>("integer", "an integer",
            (token, text) -> token == JsonToken.VALUE_NUMBER_INT ? parseLong(text) : null, v -> v, List.of());

    /** An int-sized integer: values beyond 2^31 are typos in a batch size or a layer count. */
    public static final ValueType<Integer> INT = new ValueType<>("integer", "an integer", (token, text) -> {
        Long v = INTEGER.parse(token, text);
        return v == null || v != v.intValue() ? null : v.intValue();
    }, v -> v, List.of());

    /** A finite number: "NaN" or "Infinity" as a learning rate is a mistake. */
    public static final ValueType<Double> NUMBER = new ValueType<>("number", "a number", (token, text) ->
            token == JsonToken.VALUE_NUMBER_INT || token == JsonToken.VALUE_NUMBER_FLOAT ? parseFinite(text) : null,
            v -> v, List.of());

    public static final ValueType<Boolean> BOOLEAN = new ValueType<>("boolean", "true or false",
            (token, text) -> token == JsonToken.VALUE_TRUE ? Boolean.TRUE : token == JsonToken.VALUE_FALSE ? Boolean.FALSE : null,
            v -> v, List.of());

    /** Text; numbers and booleans are not silently turned into text. */
    public static final ValueType<String> STRING = new ValueType<>("string", "a string",
            (token, text) -> token == JsonToken.VALUE_STRING ? text : null, v -> v, List.of());

    public ValueType {
        choices = List.copyOf(choices);
    }

    /** The value of a scalar, or null when it is not of this type. */
    public T parse(JsonToken token, String text) {
        return token == JsonToken.VALUE_NULL ? null : parser.apply(token, text);
    }

    public Object write(T value) {
        return value == null ? null : written.apply(value);
    }

    /** One of the enum's constants, spelled in lower case (cosine, full_shard, ...). */
    public static <E extends Enum<E>> ValueType<E> choice(Class<E> type) {
        return choice(type, Map.of());
    }

    /**
     * As {@link #choice(Class)}, also accepting {@code aliases} (other spellings of the same constant); the
     * lower-case name is what messages list and what is written back.
     */
    public static <E extends Enum<E>> ValueType<E> choice(Class<E> type, Map<String, E> aliases) {
        Map<String, E> bySpelling = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(lower(e));
            bySpelling.put(lower(e), e);
        }
        bySpelling.putAll(aliases);
        return new ValueType<>(String.join(" | ", names), "one of " + String.join(", ", names),
                (token, text) -> bySpelling.get(text), ValueType::lower, names);
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    private static Long parseLong(String text) {
        try {
            return Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            return null; // beyond 64 bits, or not decimal
        }
    }

    private static Double parseFinite(String text) {
        try {
            double v = Double.parseDouble(text.strip());
            return Double.isFinite(v) ? v : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
