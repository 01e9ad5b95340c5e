package dev.fullshard.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.fullshard.data.DataException.Reason;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One JSONL line to a list of segments: text to tokenize, or a special token id, each either masked
 * (prompt) or trained (response). Lines are validated here; problems are thrown as {@link BadLine}
 * and given their file and line by the caller.
 */
final class ExampleRenderer {
    /** Either text to tokenize or token ids (text == null). */
    record Segment(String text, long[] ids, boolean trainable) {
        static Segment text(String text, boolean trainable) {
            return new Segment(text, null, trainable);
        }

        static Segment special(long id, boolean trainable) {
            return new Segment(null, new long[] {id}, trainable);
        }

        static Segment tokens(long[] ids, boolean trainable) {
            return new Segment(null, ids, trainable);
        }
    }

    static final class BadLine extends Exception {
        final Reason reason;

        BadLine(Reason reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }
    }

    /**
     * Strict: a duplicated key or text after the object is an error, not silently resolved. Jackson's
     * own cap on a string (20M characters) is lifted: the line length is bounded by the reader instead
     * ({@link TokenizedDataset#MAX_LINE_BYTES}), and no string is longer than its line.
     */
    private static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(TokenizedDataset.MAX_LINE_BYTES).build())
                    .build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final DataFormat format;
    private final PromptTemplate prompt;
    private final ChatTemplate chat;
    private final TextEncoder encoder; // a Jinja chat template tokenizes the whole conversation itself
    private final long bos; // -1 when the tokenizer has no <s>
    private final long eos;

    ExampleRenderer(DataFormat format, PromptTemplate prompt, ChatTemplate chat, TextEncoder encoder) {
        this.format = format;
        this.prompt = prompt;
        this.chat = chat;
        this.encoder = encoder;
        this.bos = encoder.bosId();
        this.eos = encoder.eosId();
    }

    List<Segment> render(String line) throws BadLine {
        JsonNode root;
        try {
            root = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new BadLine(Reason.INVALID_JSON, "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new BadLine(Reason.WRONG_TYPE, "expected a JSON object {...}, got " + describe(root));
        List<Segment> out = new ArrayList<>();
        switch (format) {
            case TEXT -> {
                addBos(out);
                out.add(Segment.text(requiredString(root, "text", "the line"), true));
                out.add(Segment.special(eos, true));
            }
            case INSTRUCTION -> {
                String instruction = requiredString(root, "instruction", "the line");
                String input = optionalString(root, "input");
                String output = requiredString(root, "output", "the line");
                if (!input.isEmpty() && !prompt.acceptsInput()) {
                    throw new BadLine(Reason.INPUT_NOT_IN_TEMPLATE, "the line has an \"input\" but the instruction template has no {input}");
                }
                addBos(out);
                out.add(Segment.text(prompt.prompt(instruction, input), false));
                out.add(Segment.text(output, true));
                out.add(Segment.special(eos, true));
            }
            case CHAT -> renderChat(root, out);
        }
        return out;
    }

    private void addBos(List<Segment> out) {
        if (bos >= 0) out.add(Segment.special(bos, false));
    }

    private record Message(String role, String content) {
    }

    private void renderChat(JsonNode root, List<Segment> out) throws BadLine {
        JsonNode messages = root.get("messages");
        if (messages == null) throw new BadLine(Reason.MISSING_FIELD, "missing field \"messages\"");
        if (!messages.isArray()) throw new BadLine(Reason.WRONG_TYPE, "\"messages\" must be an array, got " + describe(messages));
        List<JsonNode> turns = turns(messages, chat instanceof BuiltinChatTemplate);
        if (chat instanceof JinjaChatTemplate jinja) {
            out.addAll(jinja.segments(jinjaMessages(turns), javaValue(root.get("tools")), encoder));
            return;
        }
        List<Message> list = new ArrayList<>();
        for (int i = 0; i < turns.size(); i++) {
            JsonNode m = turns.get(i);
            String where = "messages[" + i + "]", role = m.get("role").textValue();
            String content = role.equals("assistant") ? requiredString(m, "content", where) : presentString(m, "content", where);
            list.add(new Message(role, content));
        }
        if (chat == BuiltinChatTemplate.CHATML) chatml(list, out);
        else llama2(list, out);
    }

    /**
     * The messages up to the last assistant one (later ones carry no targets), each checked to be an
     * object with a string role; with {@code builtinRoles}, one the built-in templates know.
     */
    private static List<JsonNode> turns(JsonNode messages, boolean builtinRoles) throws BadLine {
        int lastAssistant = -1;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw new BadLine(Reason.WRONG_TYPE, where + " must be an object {role, content}, got " + describe(m));
            String role = requiredString(m, "role", where);
            if (builtinRoles && !role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
                throw new BadLine(Reason.UNKNOWN_ROLE, where + " has unknown role \"" + role + "\": expected system, user or assistant");
            }
            if (role.equals("assistant")) lastAssistant = i;
        }
        if (lastAssistant < 0) throw new BadLine(Reason.NO_ASSISTANT_TURN, "the conversation has no assistant turn to train on");
        List<JsonNode> turns = new ArrayList<>();
        for (int i = 0; i <= lastAssistant; i++) turns.add(messages.get(i));
        return turns;
    }

    /**
     * Messages as the maps a Jinja template reads: every field passes through (tool_calls,
     * reasoning_content, ...), so that the template decides what they mean; the template rejects what it
     * cannot render.
     */
    private static List<Map<String, Object>> jinjaMessages(List<JsonNode> turns) throws BadLine {
        List<Map<String, Object>> list = new ArrayList<>();
        for (int i = 0; i < turns.size(); i++) {
            JsonNode content = turns.get(i).get("content");
            if (content != null && !content.isNull() && !content.isTextual()) {
                throw new BadLine(Reason.WRONG_TYPE, "messages[" + i + "]: field \"content\" must be a string, got " + describe(content));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> message = (Map<String, Object>) javaValue(turns.get(i));
            list.add(message);
        }
        return list;
    }

    /** JSON as the maps, lists, strings, numbers and booleans a template works with; null for null or absent. */
    private static Object javaValue(JsonNode node) throws BadLine {
        if (node == null || node.isNull()) return null;
        if (node.isTextual()) {
            String s = node.textValue();
            if (s.indexOf(Jinja.GENERATION_START) >= 0 || s.indexOf(Jinja.GENERATION_END) >= 0) {
                throw new BadLine(Reason.WRONG_TYPE, "the text holds U+E000 or U+E001, private-use characters that fullshard reserves for "
                        + "marking the assistant's part of a chat template");
            }
            return s;
        }
        if (node.isBoolean()) return node.booleanValue();
        if (node.isIntegralNumber()) return node.longValue();
        if (node.isNumber()) return node.doubleValue();
        if (node.isArray()) {
            List<Object> list = new ArrayList<>();
            for (JsonNode item : node) list.add(javaValue(item));
            return list;
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) map.put(field.getKey(), javaValue(field.getValue()));
        return map;
    }

    /**
     * The token ids that ask the model for the next assistant message after {@code messages} (role and
     * content each), in the chat template's format: what {@code generate --chat} sends.
     */
    static long[] chatPrompt(BuiltinChatTemplate chat, List<Map<String, Object>> messages, TextEncoder encoder) {
        List<Message> list = new ArrayList<>();
        for (Map<String, Object> m : messages) list.add(new Message(String.valueOf(m.get("role")), String.valueOf(m.get("content"))));
        // A built-in template renders whole exchanges: render one with a placeholder answer, and keep
        // what comes before its first trained segment.
        list.add(new Message("assistant", "-"));
        List<Segment> segments = new ArrayList<>();
        ExampleRenderer renderer = new ExampleRenderer(DataFormat.CHAT, PromptTemplate.of("default"), chat, encoder);
        try {
            if (chat == BuiltinChatTemplate.CHATML) renderer.chatml(list, segments);
            else renderer.llama2(list, segments);
        } catch (BadLine e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        int end = segments.size();
        while (end > 0 && segments.get(end - 1).trainable()) end--;
        List<Long> ids = new ArrayList<>();
        for (Segment s : segments.subList(0, end)) for (long id : s.text() == null ? s.ids() : encoder.encode(s.text())) ids.add(id);
        return ids.stream().mapToLong(Long::longValue).toArray();
    }

    private void chatml(List<Message> messages, List<Segment> out) {
        addBos(out);
        StringBuilder masked = new StringBuilder();
        for (Message m : messages) {
            masked.append("<|im_start|>").append(m.role).append('\n');
            if (m.role.equals("assistant")) {
                out.add(Segment.text(masked.toString(), false));
                out.add(Segment.text(m.content + "<|im_end|>", true));
                masked.setLength(0);
                masked.append('\n');
            } else {
                masked.append(m.content).append("<|im_end|>\n");
            }
        }
        out.add(Segment.special(eos, true));
    }

    private void llama2(List<Message> messages, List<Segment> out) throws BadLine {
        String system = null;
        int i = 0;
        if (messages.getFirst().role.equals("system")) {
            system = messages.getFirst().content;
            i = 1;
        }
        boolean first = true;
        for (; i < messages.size(); i += 2) {
            Message user = messages.get(i);
            if (!user.role.equals("user") || i + 1 >= messages.size() || !messages.get(i + 1).role.equals("assistant")) {
                throw new BadLine(Reason.BAD_TURN_ORDER, "the llama2 chat template needs an optional first system message, then user and "
                        + "assistant turns alternating; messages[" + i + "] breaks that");
            }
            addBos(out);
            String sys = first && system != null ? "<<SYS>>\n" + system + "\n<</SYS>>\n\n" : "";
            out.add(Segment.text("[INST] " + sys + user.content + " [/INST]", false));
            out.add(Segment.text(messages.get(i + 1).content, true));
            out.add(Segment.special(eos, true));
            first = false;
        }
    }

    private static String requiredString(JsonNode object, String field, String where) throws BadLine {
        String s = presentString(object, field, where);
        if (s.isBlank()) throw new BadLine(Reason.BLANK_FIELD, (where.equals("the line") ? "" : where + ": ") + "field \"" + field + "\" is blank");
        return s;
    }

    private static String presentString(JsonNode object, String field, String where) throws BadLine {
        String prefix = where.equals("the line") ? "" : where + ": ";
        JsonNode v = object.get(field);
        if (v == null || v.isNull()) throw new BadLine(Reason.MISSING_FIELD, prefix + "missing field \"" + field + "\"");
        if (!v.isTextual()) throw new BadLine(Reason.WRONG_TYPE, prefix + "field \"" + field + "\" must be a string, got " + describe(v));
        return v.textValue();
    }

    private static String optionalString(JsonNode object, String field) throws BadLine {
        JsonNode v = object.get(field);
        if (v == null || v.isNull()) return "";
        if (!v.isTextual()) throw new BadLine(Reason.WRONG_TYPE, "field \"" + field + "\" must be a string, got " + describe(v));
        return v.textValue();
    }

    private static String describe(JsonNode v) {
        if (v == null || v.isNull()) return "null";
        if (v.isTextual()) return "a string";
        if (v.isNumber()) return "the number " + v;
        if (v.isBoolean()) return "the boolean " + v;
        if (v.isArray()) return "an array";
        return "an object";
    }
}
