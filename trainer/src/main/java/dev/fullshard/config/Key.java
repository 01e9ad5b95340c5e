package dev.fullshard.config;

import com.fasterxml.jackson.core.JsonToken;

import java.util.function.Predicate;

/**
 * One config key, declared once: its name, type, default, constraint and a one-line doc. Readers take
 * the value, the messages ("expected an integer >= 1") and the docs from here.
 *
 * @param name         the full dotted name, {@code optimizer.lr}
 * @param defaultValue the value when the key is absent; null when there is none (see {@code required})
 * @param required     whether an absent key is an error
 * @param allowed      the constraint beyond the type (a range); the value must pass it
 * @param expected     the constraint in words, for "expected X" messages and the docs
 * @param doc          what the key means, one line
 */
public record Key<T>(String name, ValueType<T> type, T defaultValue, boolean required, Predicate<T> allowed,
                     String expected, String doc) {

    /** An optional key; {@code defaultValue} may be null where the absence itself means something. */
    public static <T> Key<T> of(String name, ValueType<T> type, T defaultValue, String doc) {
        return new Key<>(name, type, defaultValue, false, v -> true, type.expected(), doc);
    }

    public static <T> Key<T> required(String name, ValueType<T> type, String doc) {
        return new Key<>(name, type, null, true, v -> true, type.expected(), doc);
    }

    /** This key, with values restricted to those {@code ok} accepts, described as {@code expected}. */
    public Key<T> allowing(Predicate<T> ok, String expected) {
        return new Key<>(name, type, defaultValue, required, ok, expected, doc);
    }

    /** This key, with what it expects described in other words (for keys whose check is not a range). */
    public Key<T> expecting(String expected) {
        return allowing(allowed, expected);
    }

    /** The last part of the name, the key within its section. */
    public String leaf() {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** The section the key is in ("" for the top level). */
    public String section() {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(0, dot);
    }

    /** The value of a scalar, or null when it has the wrong type or is outside the constraint. */
    public T parse(JsonToken token, String text) {
        T v = type.parse(token, text);
        return v != null && allowed.test(v) ? v : null;
    }
}
