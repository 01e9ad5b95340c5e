package dev.fullshard.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.data.DataException.Reason;
import dev.fullshard.data.ExampleRenderer.BadLine;
import dev.fullshard.data.ExampleRenderer.Segment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's own chat template: the Jinja {@code chat_template} of its tokenizer_config.json (or a
 * chat_template.jinja file), rendered as {@code transformers}' {@code apply_chat_template} renders it,
 * and tokenized as one text, so that the ids are the ones the model sees at inference.
 *
 * <p>What is trained (the targets), per assistant message:
 * <ul>
 *   <li>If the template marks the assistant's part with {@code {% generation %}}, exactly that part.</li>
 *   <li>Otherwise the difference between two renderings: the messages before it with the generation
 *       prompt (which must be the start of the whole conversation's text), and the messages up to and
 *       including it. That is its content and the end-of-turn tokens after it; whitespace after the last
 *       special token (ChatML's newline after {@code <|im_end|>}) is not trained.</li>
 *   <li>Some templates render a turn differently once later messages follow it (Qwen3 gives only the last
 *       turn an empty {@code <think>} block, and drops the reasoning of turns before the last question).
 *       Then the target is the longest tail of the turn's own rendering that the whole text has at that
 *       place, and it must reach back at least to the last line of the message's content.</li>
 * </ul>
 * A template whose renderings do not line up this way fails for that example with
 * {@link Reason#TEMPLATE_UNSPLIT}, naming the template: never a silently wrong mask. A token that
 * straddles a span's edge (a role's newline merged with content that starts with newlines) is a target,
 * as in {@code transformers}' assistant masks.
 */
public final class JinjaChatTemplate implements ChatTemplate {
    /** The file beside tokenizer_config.json in which newer {@code transformers} versions save the template. */
    public static final String TEMPLATE_FILE = "chat_template.jinja";
    private static final List<String> SPECIAL_TOKEN_KEYS = List.of("bos_token", "eos_token", "unk_token", "pad_token");
    private static Jinja jinja;

    private final String source;
    private final String origin;
    private final Jinja.Template template;
    private final Map<String, Object> specialTokens;
    private final List<String> endTokens;

    private JinjaChatTemplate(String source, String origin, TokenizerConfig config) {
        this.source = source;
        this.origin = origin;
        this.template = jinja().parse(source, origin);
        this.specialTokens = config.variables;
        this.endTokens = List.copyOf(config.specials);
    }

    private static synchronized Jinja jinja() {
        if (jinja == null) jinja = new Jinja();
        return jinja;
    }

    /** The template of the model whose tokenizer is {@code tokenizerFile}, or null when it has none. */
    static JinjaChatTemplate ofModel(Path tokenizerFile) {
        Path dir = tokenizerFile.toAbsolutePath().getParent();
        Path file = dir.resolve(TEMPLATE_FILE);
        TokenizerConfig config = TokenizerConfig.read(dir.resolve(Tokenizer.CONFIG_FILE));
        if (Files.isRegularFile(file)) return new JinjaChatTemplate(read(file), file.toString(), config);
        if (config.template == null) return null;
        return new JinjaChatTemplate(config.template, dir.resolve(Tokenizer.CONFIG_FILE) + " (chat_template)", config);
    }

    /** A template file of the user's, with the special tokens of the tokenizer at {@code tokenizerFile}. */
    static JinjaChatTemplate load(Path file, Path tokenizerFile) {
        return new JinjaChatTemplate(read(file), file.toString(),
                TokenizerConfig.read(tokenizerFile.toAbsolutePath().resolveSibling(Tokenizer.CONFIG_FILE)));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read the chat template " + file, e);
        }
    }

    @Override
    public String describe() {
        return origin;
    }

    @Override
    public String cacheKey() {
        return "jinja\n" + source + "\n" + specialTokens;
    }

    /**
     * The text of {@code messages} (maps as parsed from JSON: role, content and whatever else the template
     * reads), with the {@code {% generation %}} markers still in it.
     */
    String renderMarked(List<Map<String, Object>> messages, Object tools, boolean addGenerationPrompt) {
        Map<String, Object> variables = new HashMap<>(specialTokens);
        variables.put("messages", messages);
        if (tools != null) variables.put("tools", tools);
        variables.put("add_generation_prompt", addGenerationPrompt);
        return template.render(variables);
    }

    /** The text of {@code messages} as the model sees it. */
    public String render(List<Map<String, Object>> messages, Object tools, boolean addGenerationPrompt) {
        return stripMarkers(renderMarked(messages, tools, addGenerationPrompt), null);
    }

    @Override
    public long[] prompt(List<Map<String, Object>> messages, TextEncoder encoder) {
        return encoder.encode(render(messages, null, true));
    }

    /** The conversation as token segments: masked, then trained for each assistant span, and so on. */
    List<Segment> segments(List<Map<String, Object>> messages, Object tools, TextEncoder encoder) throws BadLine {
        String marked;
        try {
            marked = renderMarked(messages, tools, false);
        } catch (Jinja.TemplateException e) {
            throw new BadLine(Reason.TEMPLATE_REJECTED, e.getMessage());
        }
        List<int[]> spans = new ArrayList<>();
        String text = stripMarkers(marked, spans);
        if (spans.isEmpty()) spans = prefixSpans(messages, tools, text);
        long[] ids = encoder.encode(text);
        List<Segment> out = new ArrayList<>();
        int done = 0;
        for (int[] span : spans) {
            int from = tokenAt(text, span[0], false, ids, encoder), to = tokenAt(text, span[1], true, ids, encoder);
            if (from > done) out.add(Segment.tokens(Arrays.copyOfRange(ids, done, from), false));
            if (to > from) out.add(Segment.tokens(Arrays.copyOfRange(ids, from, to), true));
            done = Math.max(done, to);
        }
        if (done < ids.length) out.add(Segment.tokens(Arrays.copyOfRange(ids, done, ids.length), false));
        return out;
    }

    /** The assistant spans found by rendering prefixes of the conversation (see the class comment). */
    private List<int[]> prefixSpans(List<Map<String, Object>> messages, Object tools, String text) throws BadLine {
        List<int[]> spans = new ArrayList<>();
        int previousEnd = 0;
        for (int k = 0; k < messages.size(); k++) {
            if (!"assistant".equals(messages.get(k).get("role"))) continue;
            String before, upTo;
            try {
                before = render(messages.subList(0, k), tools, true);
                upTo = render(messages.subList(0, k + 1), tools, false);
            } catch (Jinja.TemplateException e) {
                throw new BadLine(Reason.TEMPLATE_REJECTED, e.getMessage());
            }
            if (!text.startsWith(before) || !upTo.startsWith(before)) {
                throw unsplit(k, "the messages before it, rendered with the generation prompt, are not the start of the whole conversation");
            }
            int start = before.length();
            String turn = upTo.substring(start);
            int end = start + renderedTail(turn, text, start, messages.get(k).get("content"), k);
            end = trimAfterEndToken(text, start, end);
            if (start < previousEnd) throw unsplit(k, "its span overlaps the previous assistant message's");
            spans.add(new int[] {start, end});
            previousEnd = end;
        }
        return spans;
    }

    /** The length of the longest tail of {@code turn} that {@code text} has at {@code start}. */
    private int renderedTail(String turn, String text, int start, Object content, int k) throws BadLine {
        if (text.startsWith(turn, start)) return turn.length();
        String c = content instanceof String s ? s.strip() : "";
        int reach = turn.length();
        if (!c.isEmpty()) {
            String lastLine = c.substring(c.lastIndexOf('\n') + 1);
            reach = turn.lastIndexOf(lastLine);
            if (reach < 0) throw unsplit(k, "its content is not in its rendering");
        }
        for (int j = 0; j <= reach; j++) {
            if (text.startsWith(turn.substring(j), start)) return turn.length() - j;
        }
        throw unsplit(k, "it is rendered differently inside the conversation than as its last message");
    }

    private int trimAfterEndToken(String text, int start, int end) {
        String trimmed = Jinja.PythonMethods.strip(text.substring(start, end), null, false, true);
        for (String token : endTokens) if (trimmed.endsWith(token)) return start + trimmed.length();
        return end;
    }

    /**
     * The token index of a span boundary at character {@code at}: the number of tokens of the text before
     * it. A token that straddles the boundary counts as inside the span, as {@code transformers}' assistant
     * masks count it (the token holding the span's first character, and the one holding its last).
     */
    private static int tokenAt(String text, int at, boolean end, long[] ids, TextEncoder encoder) {
        if (at == 0) return 0;
        if (at == text.length()) return ids.length;
        long[] before = encoder.encode(text.substring(0, at));
        int same = Arrays.mismatch(before, ids);
        if (same < 0 || same == before.length) return before.length;
        return end ? Math.min(same + 1, ids.length) : same;
    }

    private BadLine unsplit(int k, String why) {
        return new BadLine(Reason.TEMPLATE_UNSPLIT, "the chat template " + origin + " cannot be split into assistant spans at messages[" + k
                + "]: " + why + "; mark the assistant's part with {% generation %}...{% endgeneration %} in a template file of your own "
                + "(data.chat_template: FILE), or use chat_template: chatml");
    }

    /** Removes the generation markers; with {@code spans} non-null, adds the [start, end) of each marked part of the result. */
    static String stripMarkers(String marked, List<int[]> spans) {
        if (marked.indexOf(Jinja.GENERATION_START) < 0 && marked.indexOf(Jinja.GENERATION_END) < 0) return marked;
        StringBuilder text = new StringBuilder(marked.length());
        int open = -1;
        for (int i = 0; i < marked.length(); i++) {
            char c = marked.charAt(i);
            if (c == Jinja.GENERATION_START) open = text.length();
            else if (c == Jinja.GENERATION_END) {
                if (spans != null && open >= 0 && text.length() > open) spans.add(new int[] {open, text.length()});
                open = -1;
            } else text.append(c);
        }
        return text.toString();
    }

    /** What a template reads of tokenizer_config.json: the special tokens as variables, and its chat_template. */
    private record TokenizerConfig(Map<String, Object> variables, Set<String> specials, String template) {
        static TokenizerConfig read(Path file) {
            Map<String, Object> variables = new HashMap<>();
            Set<String> specials = new LinkedHashSet<>();
            if (!Files.isRegularFile(file)) return new TokenizerConfig(variables, specials, null);
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(file.toFile());
            } catch (IOException e) {
                throw new IllegalArgumentException("could not read " + file + ": " + e.getMessage(), e);
            }
            for (String key : SPECIAL_TOKEN_KEYS) {
                String token = tokenText(root.get(key));
                if (token != null) {
                    variables.put(key, token);
                    specials.add(token);
                }
            }
            List<String> additional = new ArrayList<>();
            root.path("additional_special_tokens").forEach(t -> {
                String token = tokenText(t);
                if (token != null) additional.add(token);
            });
            variables.put("additional_special_tokens", additional);
            specials.addAll(additional);
            root.path("added_tokens_decoder").forEach(t -> {
                if (t.path("special").asBoolean(false) && t.path("content").isTextual()) specials.add(t.path("content").asText());
            });
            return new TokenizerConfig(variables, specials, template(root.get("chat_template"), file));
        }

        /** A string, or Hugging Face's list of named templates, of which "default" is the one for chat. */
        private static String template(JsonNode node, Path file) {
            if (node == null || node.isNull()) return null;
            if (node.isTextual()) return node.asText();
            if (node.isArray()) {
                for (JsonNode named : node) if ("default".equals(named.path("name").asText())) return named.path("template").asText();
            }
            throw new IllegalArgumentException(file + ": chat_template must be a string, or a list of {name, template} with one named "
                    + "\"default\"");
        }

        private static String tokenText(JsonNode node) {
            if (node == null || node.isNull()) return null;
            if (node.isTextual()) return node.asText();
            return node.path("content").isTextual() ? node.path("content").asText() : null;
        }
    }
}
