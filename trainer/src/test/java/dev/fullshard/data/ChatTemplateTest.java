package dev.fullshard.data;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fullshard.data.DataException.Reason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.fullshard.data.DataFixtures.jsonl;
import static dev.fullshard.data.DataFixtures.realTokenizer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Models' own chat templates, with the real Llama 3.1 and Qwen3 tokenizers: the token ids must be those
 * of {@code transformers}' {@code apply_chat_template} (fixtures made by
 * benchmarks/reference/chat_template_ids.py), and the targets must follow an independent rule per model.
 */
class ChatTemplateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Tokenizer> TOKENIZERS = new HashMap<>();
    @TempDir
    static Path tokenizers;

    @BeforeAll
    static void load() {
        for (String name : List.of("llama3_1", "qwen3")) TOKENIZERS.put(name, Tokenizer.load(realTokenizer(name, tokenizers.resolve(name))));
    }

    @AfterAll
    static void close() {
        TOKENIZERS.values().forEach(Tokenizer::close);
    }

    private static JsonNode resource(String name) throws IOException {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/dev/fullshard/chat/" + name)) {
            return JSON.readTree(in);
        }
    }

    private static Path conversations(Path dir) throws IOException {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/dev/fullshard/chat/conversations.jsonl")) {
            Path f = dir.resolve("conversations.jsonl");
            Files.write(f, in.readAllBytes());
            return f;
        }
    }

    /** A template file of the user's, as data.chat_template names one. */
    private static JinjaChatTemplate template(String source, Tokenizer tok) {
        try {
            Path file = Files.writeString(Files.createTempFile(tokenizers, "template", ".jinja"), source);
            return (JinjaChatTemplate) ChatTemplate.resolve(file.toString(), tok.file());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static TokenizedDataset load(Path data, Tokenizer tokenizer, ChatTemplate template, Path dir) {
        return TokenizedDataset.load(List.of(data), tokenizer, DataOptions.of(DataFormat.CHAT, 4096).withChatTemplate(template)
                .withCacheDir(dir.resolve("cache")));
    }

    private static long[] ids(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3_1", "qwen3"})
    void autoTemplateGivesTransformersIdsAndTrainsExactlyTheAssistantTurns(String name, @TempDir Path dir) throws IOException {
        Tokenizer tok = TOKENIZERS.get(name);
        ChatTemplate template = ChatTemplate.resolve(ChatTemplate.AUTO, tok.file());
        assertThat(template).isInstanceOf(JinjaChatTemplate.class);
        assertThat(template.describe()).endsWith("tokenizer_config.json (chat_template)");
        TokenizedDataset d = load(conversations(dir), tok, template, dir);
        JsonNode expected = resource("expected-" + name + ".json").get("conversations");
        assertThat(d.size()).isEqualTo(expected.size());
        for (int i = 0; i < d.size(); i++) {
            long[] ids = ids(expected.get(i).get("ids"));
            assertThat(d.tokens(i)).as("conversation %d", i).containsExactly(ids);
            assertThat(targets(d, i)).as("targets of conversation %d", i).containsExactly(
                    name.equals("llama3_1") ? llama3Targets(tok, ids) : qwenTargets(tok, ids));
        }
    }

    private static boolean[] targets(TokenizedDataset d, int example) {
        boolean[] t = new boolean[d.length(example)];
        for (int p = 0; p < t.length; p++) t[p] = d.isTarget(example, p);
        return t;
    }

    /** Llama 3: after {@code <|start_header_id|>assistant<|end_header_id|>} and its newline token, up to and with {@code <|eot_id|>}. */
    private static boolean[] llama3Targets(Tokenizer tok, long[] ids) {
        return targetsAfter(ids, new long[] {tok.tokenId("<|start_header_id|>"), single(tok, "assistant"), tok.tokenId("<|end_header_id|>")},
                tok.tokenId("<|eot_id|>"));
    }

    /** Qwen3 (ChatML): after {@code <|im_start|>assistant} and its newline token, up to and with {@code <|im_end|>}. */
    private static boolean[] qwenTargets(Tokenizer tok, long[] ids) {
        return targetsAfter(ids, new long[] {tok.tokenId("<|im_start|>"), single(tok, "assistant")}, tok.tokenId("<|im_end|>"));
    }

    private static long single(Tokenizer tok, String word) {
        long[] ids = tok.encode(word);
        assertThat(ids).hasSize(1);
        return ids[0];
    }

    private static boolean[] targetsAfter(long[] ids, long[] header, long end) {
        boolean[] t = new boolean[ids.length];
        for (int i = 0; i + header.length < ids.length; i++) {
            boolean match = true;
            for (int j = 0; j < header.length && match; j++) match = ids[i + j] == header[j];
            if (!match) continue;
            int p = i + header.length + 1; // the newline after the role
            for (; p < ids.length && ids[p] != end; p++) t[p] = true;
            if (p < ids.length) t[p] = true;
        }
        return t;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3_1", "qwen3"})
    void generationPromptIdsMatchTransformers(String name, @TempDir Path dir) throws IOException {
        Tokenizer tok = TOKENIZERS.get(name);
        JinjaChatTemplate template = (JinjaChatTemplate) ChatTemplate.resolve(ChatTemplate.AUTO, tok.file());
        JsonNode expected = resource("expected-" + name + ".json").get("conversations");
        List<String> lines = Files.readAllLines(conversations(dir));
        for (int i = 0; i < lines.size(); i++) {
            List<Map<String, Object>> messages = JSON.convertValue(JSON.readTree(lines.get(i)).get("messages"), new TypeReference<>() {
            });
            assertThat(template.prompt(messages.subList(0, messages.size() - 1), tok)).as("prompt %d", i)
                    .containsExactly(ids(expected.get(i).get("prompt_ids")));
            assertThat(template.render(messages, null, false)).isEqualTo(expected.get(i).get("text").asText());
        }
    }

    /** Tool calls are the assistant's to write (targets); the tool's answer and the tool schemas are not. */
    @Test
    void qwen3ToolCallsAreTrainedAndToolResultsAreNot(@TempDir Path dir) {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        Path data = jsonl(dir, "tools.jsonl", "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                + "\"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}], \"messages\": ["
                + "{\"role\": \"user\", \"content\": \"Weather in Paris?\"}, {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": "
                + "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}}]}, "
                + "{\"role\": \"tool\", \"content\": \"{\\\"temp\\\": 21}\"}, {\"role\": \"assistant\", \"content\": \"21 degrees.\"}]}");
        TokenizedDataset d = load(data, tok, ChatTemplate.resolve(ChatTemplate.AUTO, tok.file()), dir);
        long[] ids = d.tokens(0);
        assertThat(targets(d, 0)).containsExactly(qwenTargets(tok, ids));
        String text = tok.decode(ids);
        assertThat(text).contains("# Tools").contains("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>")
                .contains("<tool_response>\n{\"temp\": 21}\n</tool_response>");
        StringBuilder trained = new StringBuilder();
        for (int p = 0; p < ids.length; p++) if (d.isTarget(0, p)) trained.append(tok.decode(new long[] {ids[p]}));
        assertThat(trained.toString()).isEqualTo("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
                + "<|im_end|><think>\n\n</think>\n\n21 degrees.<|im_end|>");
    }

    @Test
    void generationBlocksMarkTheTargetsAsTransformersAssistantMasksDo(@TempDir Path dir) throws IOException {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        Path file = dir.resolve("chatml-generation.jinja");
        try (InputStream in = getClass().getResourceAsStream("/dev/fullshard/chat/chatml-generation.jinja")) {
            Files.write(file, in.readAllBytes());
        }
        TokenizedDataset d = load(conversations(dir), tok, ChatTemplate.resolve(file.toString(), tok.file()), dir);
        JsonNode expected = resource("expected-generation-qwen3.json").get("conversations");
        for (int i = 0; i < d.size(); i++) {
            assertThat(d.tokens(i)).as("conversation %d", i).containsExactly(ids(expected.get(i).get("ids")));
            JsonNode mask = expected.get(i).get("assistant_masks");
            boolean[] want = new boolean[mask.size()];
            for (int p = 0; p < want.length; p++) want[p] = mask.get(p).asInt() == 1;
            assertThat(targets(d, i)).as("targets of conversation %d", i).containsExactly(want);
        }
    }

    @Test
    void builtInTemplatesPromptWithTheirDocumentedFormat(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        try (Tokenizer tok = Tokenizer.load(dir)) {
            List<Map<String, Object>> messages = List.of(Map.of("role", "system", "content", "Be brief."), Map.of("role", "user", "content", "Hi!"));
            long bos = tok.bosId();
            assertThat(BuiltinChatTemplate.CHATML.prompt(messages, tok)).containsExactly(DataFixtures.concat(new long[] {bos},
                    tok.encode("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n")));
            assertThat(BuiltinChatTemplate.LLAMA2.prompt(messages, tok)).containsExactly(DataFixtures.concat(new long[] {bos},
                    tok.encode("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST]")));
        }
    }

    @Test
    void aModelWithoutATemplateFallsBackToTheBuiltInChatml(@TempDir Path dir) {
        Tokenizer.writeBundled(dir);
        assertThat(ChatTemplate.resolve(ChatTemplate.AUTO, dir.resolve("tokenizer.json"))).isEqualTo(BuiltinChatTemplate.CHATML);
        assertThat(ChatTemplate.resolve("llama2", dir.resolve("tokenizer.json"))).isEqualTo(BuiltinChatTemplate.LLAMA2);
    }

    @Test
    void aChatTemplateJinjaFileBesideTheTokenizerWins(@TempDir Path dir) throws IOException {
        Tokenizer.writeBundled(dir);
        Files.writeString(dir.resolve(JinjaChatTemplate.TEMPLATE_FILE), "{% for m in messages %}{{ m.content }}{% endfor %}");
        assertThat(ChatTemplate.resolve(ChatTemplate.AUTO, dir.resolve("tokenizer.json")).describe()).endsWith(JinjaChatTemplate.TEMPLATE_FILE);
    }

    @Test
    void aTemplateThatRendersATurnOtherwiseLaterIsRefusedNamingIt(@TempDir Path dir) {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        Path template = jsonl(dir, "odd.jinja", "{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.role == 'assistant' and not loop.last %}"
                + "{{ m.content|upper }}{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}"
                + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
        Path data = jsonl(dir, "chat.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", "
                + "\"content\": \"hello there\"}, {\"role\": \"user\", \"content\": \"and?\"}, {\"role\": \"assistant\", \"content\": \"bye\"}]}");
        assertThatThrownBy(() -> load(data, tok, ChatTemplate.resolve(template.toString(), tok.file()), dir))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TEMPLATE_UNSPLIT))
                .hasMessageContaining("chat.jsonl:1")
                .hasMessageContaining("odd.jinja cannot be split into assistant spans at messages[1]");
    }

    @Test
    void raiseExceptionInATemplateRejectsTheLineWithTheTemplatesMessage(@TempDir Path dir) {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        Path template = jsonl(dir, "strict.jinja", "{% for m in messages %}{% if m.role == 'system' %}"
                + "{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}");
        Path data = jsonl(dir, "chat.jsonl", "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}");
        assertThatThrownBy(() -> load(data, tok, ChatTemplate.resolve(template.toString(), tok.file()), dir))
                .isInstanceOfSatisfying(DataException.class, e -> assertThat(e.reason()).isEqualTo(Reason.TEMPLATE_REJECTED))
                .hasMessageContaining("chat.jsonl:1").hasMessageContaining("System role not supported");
    }

    @Test
    void pythonFeaturesTemplatesUse() {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        // Expected strings are Python's own results for the same expressions.
        String source = "{% set ns = namespace(n=messages|length - 1) %}{{ ns.n }}|"
                + "{% for m in messages[::-1] %}{{ m.role }},{% endfor %}|"
                + "{{ ' a b '.strip() }}|{{ 'x\\n\\n'.rstrip('\\n') }}|{{ 'a</t>b</t>'.split('</t>')|length }}|{{ 'a,b,c'.split(',', 1)[1] }}|"
                + "{{ 'abc'.startswith('ab') and not 'abc'.endswith(['x', 'y']) }}|{{ 'hello wORLD'.title() }}|{{ 'banana'.count('an') }}|"
                + "{{ {'a': [1, 'é'], 'b': {}, 'c': none, 'd': true}|tojson }}|{{ {'k': [1]}|tojson(indent=2) }}|"
                + "{{ {'b': 1, 'a': 'é'}|tojson(ensure_ascii=true, sort_keys=true) }}|"
                + "{% for k, v in {'p': 1}.items() %}{{ k }}={{ v }}{% endfor %}|{% for k, v in {'q': 2}|items %}{{ k }}={{ v }}{% endfor %}|"
                + "{% for k in {'r': 3} %}{{ k }}{% endfor %}|"
                + "{% for i in range(5) %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}|"
                + "{% if not undefined_flag is defined %}unset{% endif %}|{{ 'text' is iterable }}|{{ {} is mapping }}|{{ 1 == 1 }}";
        JinjaChatTemplate t = template(source, tok);
        List<Map<String, Object>> messages = List.of(Map.of("role", "user", "content", "hey"), Map.of("role", "assistant", "content", "ok"));
        assertThat(t.render(messages, null, false)).isEqualTo("1|assistant,user,|a b|x|3|b,c|True|Hello World|2|"
                + "{\"a\": [1, \"é\"], \"b\": {}, \"c\": null, \"d\": true}|{\n  \"k\": [\n    1\n  ]\n}|"
                + "{\"a\": \"\\u00e9\", \"b\": 1}|p=1|q=2|r|01|unset|True|True|True");
    }

    /** Jinja2's whitespace rules as transformers sets them: trim_blocks, lstrip_blocks (line starts only), no trailing newline. */
    @Test
    void whitespaceFollowsJinja2() {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        // The expected strings are what Python's jinja2 renders with trim_blocks and lstrip_blocks.
        String source = "a {% if true %}b{% endif %}\n    {% if true %}\nc{% endif %}\n  {%+ if true %}d{% endif %}\n";
        assertThat(template(source, tok).render(List.of(), null, false)).isEqualTo("a bc  d");
        assertThat(template("x\n  {% if true %}y{% endif %}  z{{ 1 }}\n", tok).render(List.of(), null, false))
                .isEqualTo("x\ny  z1");
    }

    /** Text in a message is data: what looks like template code in it is neither run nor removed. */
    @Test
    void templateCodeInAMessageStaysText() {
        Tokenizer tok = TOKENIZERS.get("qwen3");
        JinjaChatTemplate t = template("{% for m in messages %}<{{ m.content }}>{% endfor %}", tok);
        String content = "a {{ 1 + 2 }} {% if x %}b \\ \"q\" '";
        assertThat(t.render(List.of(Map.of("role", "user", "content", content)), null, false)).isEqualTo("<" + content + ">");
    }
}
