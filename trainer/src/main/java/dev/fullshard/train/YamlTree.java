package dev.fullshard.train;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML document as a tree whose every key and value remembers where it came from: a line and column
 * in the file, or the command-line override that set it. Jackson's own {@code JsonNode} drops locations,
 * so the tree is built here from the token stream of Jackson's YAML parser (the YAML itself is parsed
 * by Jackson/SnakeYAML, not by this class).
 */
final class YamlTree {
    private static final YAMLFactory YAML = YAMLFactory.builder().build();

    private YamlTree() {
    }

    /** Where a key or value came from: a line/column (1-based) in the file, or an override's text. */
    record Loc(int line, int column, String override) {
        static Loc of(JsonLocation l) {
            return new Loc(l.getLineNr(), l.getColumnNr(), null);
        }

        static Loc override(String text) {
            return new Loc(0, 0, text);
        }
    }

    sealed interface Node permits MapNode, SeqNode, Scalar {
        Loc loc();
    }

    /** A key of a mapping: its own location (for "unknown key") and its value. */
    record Field(String key, Loc keyLoc, Node value) {
    }

    record MapNode(Loc loc, Map<String, Field> fields) implements Node {
    }

    record SeqNode(Loc loc, List<Node> items) implements Node {
    }

    /**
     * A scalar as Jackson's YAML parser typed it: VALUE_STRING, VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT,
     * VALUE_TRUE, VALUE_FALSE or VALUE_NULL, with its text.
     */
    record Scalar(Loc loc, JsonToken token, String text) implements Node {
        boolean isString() {
            return token == JsonToken.VALUE_STRING;
        }

        /** "the string \"abc\"", "the number 3", "true", "null": what was found, for messages. */
        String describe() {
            return switch (token) {
                case VALUE_STRING -> "the string \"" + text + "\"";
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "the number " + text;
                case VALUE_NULL -> "nothing (null)";
                default -> text;
            };
        }
    }

    /** What a node is, for "expected X, found Y" messages. */
    static String describe(Node node) {
        return switch (node) {
            case Scalar s -> s.describe();
            case SeqNode q -> "a list";
            case MapNode m -> "a mapping (key: value lines)";
        };
    }

    /** A YAML syntax problem, with where the parser stopped. */
    static final class SyntaxException extends Exception {
        private static final long serialVersionUID = 1L;
        final transient Loc loc;

        SyntaxException(Loc loc, String message, Throwable cause) {
            super(message, cause);
            this.loc = loc;
        }
    }

    /**
     * Parses one YAML document. Returns null for an empty document. Duplicate keys are syntax errors:
     * silently keeping the last of two {@code lr:} lines is how a config says something it does not mean.
     */
    static Node parse(String text, Loc overrideLoc) throws SyntaxException {
        try (JsonParser p = YAML.createParser(text)) {
            JsonToken t = p.nextToken();
            if (t == null) return null;
            Node root = read(p, overrideLoc);
            if (p.nextToken() != null) {
                throw new SyntaxException(loc(p, overrideLoc), "more than one YAML document (a second '---')", null);
            }
            return root;
        } catch (JsonProcessingException e) {
            if (overrideLoc == null) rejectTab(text, e);
            JsonLocation l = e.getLocation();
            Loc where = overrideLoc != null ? overrideLoc
                    : l == null ? new Loc(1, 1, null) : Loc.of(l);
            String msg = e.getOriginalMessage();
            int nl = msg.indexOf('\n');
            throw new SyntaxException(where, "not valid YAML: " + (nl < 0 ? msg : msg.substring(0, nl)).strip(), e);
        } catch (IOException e) {
            throw new SyntaxException(overrideLoc != null ? overrideLoc : new Loc(1, 1, null),
                    "not valid YAML: " + e.getMessage(), e);
        }
    }

    /**
     * SnakeYAML reports a tab as "while scanning for the next token" at the start of the enclosing
     * token, not at the tab; this names the tab itself when the parser stopped at one.
     */
    private static void rejectTab(String text, JsonProcessingException e) throws SyntaxException {
        MarkedYAMLException marked = null;
        for (Throwable t = e; t != null && marked == null; t = t.getCause()) {
            if (t instanceof MarkedYAMLException m) marked = m;
        }
        Mark mark = marked == null ? null : marked.getProblemMark();
        if (mark == null || mark.getIndex() >= text.codePointCount(0, text.length())) return;
        int at = text.offsetByCodePoints(0, mark.getIndex()); // SnakeYAML counts code points
        if (text.charAt(at) != '\t') return;
        int lineStart = text.lastIndexOf('\n', at - 1) + 1;
        boolean indentation = text.substring(lineStart, at).isBlank();
        throw new SyntaxException(new Loc(mark.getLine() + 1, mark.getColumn() + 1, null), indentation
                ? "tabs are not allowed for indentation; indent with spaces"
                : "a tab is not allowed here; use spaces", e);
    }

    private static Loc loc(JsonParser p, Loc overrideLoc) {
        return overrideLoc != null ? overrideLoc : Loc.of(p.currentTokenLocation());
    }

    private static Node read(JsonParser p, Loc overrideLoc) throws IOException, SyntaxException {
        Loc at = loc(p, overrideLoc);
        JsonToken t = p.currentToken();
        switch (t) {
            case START_OBJECT -> {
                Map<String, Field> fields = new LinkedHashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    Loc keyLoc = loc(p, overrideLoc);
                    p.nextToken();
                    Node value = read(p, overrideLoc);
                    Field previous = fields.put(key, new Field(key, keyLoc, value));
                    if (previous != null) {
                        throw new SyntaxException(keyLoc, "key '" + key + "' appears twice in one mapping (first at line "
                                + previous.keyLoc().line() + ")", null);
                    }
                }
                return new MapNode(at, fields);
            }
            case START_ARRAY -> {
                List<Node> items = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    items.add(read(p, overrideLoc));
                }
                return new SeqNode(at, items);
            }
            default -> {
                return new Scalar(at, t, t == JsonToken.VALUE_NULL ? "null" : p.getText());
            }
        }
    }
}
