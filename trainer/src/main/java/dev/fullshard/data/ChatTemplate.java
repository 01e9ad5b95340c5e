package dev.fullshard.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How a conversation ({@code {"messages": [...]}}) becomes text and targets: the model's own Jinja
 * template ({@link JinjaChatTemplate}) or one of fullshard's ({@link BuiltinChatTemplate}).
 */
public sealed interface ChatTemplate permits BuiltinChatTemplate, JinjaChatTemplate {
    /** The setting that means "the model's own template, else chatml". */
    String AUTO = "auto";

    /** Where the template comes from, for the log: "the built-in chatml", "MODEL/tokenizer_config.json". */
    String describe();

    /** What the token cache must tell apart: the template's name or its whole text. */
    String cacheKey();

    /**
     * The ids that ask for the next assistant message after {@code messages} (maps with role and
     * content): the conversation as in training, then the generation prompt.
     */
    long[] prompt(List<Map<String, Object>> messages, TextEncoder encoder);

    /** For the log: which template {@code setting} led to, and why when {@code auto} found none. */
    static String explain(String setting, ChatTemplate template) {
        if (setting.equals(AUTO) && template instanceof BuiltinChatTemplate) {
            return template.describe() + " (the model has no chat template: no chat_template in its tokenizer_config.json, no "
                    + JinjaChatTemplate.TEMPLATE_FILE + ")";
        }
        return template.describe();
    }

    /**
     * The template {@code setting} ({@code data.chat_template}) means, for the tokenizer at
     * {@code tokenizerFile}: {@code auto} is the {@code chat_template} of the tokenizer_config.json beside it
     * (or a chat_template.jinja file there), else the built-in chatml; {@code chatml} and {@code llama2} are
     * the built-ins; anything else is a Jinja template file.
     */
    static ChatTemplate resolve(String setting, Path tokenizerFile) {
        BuiltinChatTemplate builtin = BuiltinChatTemplate.named(setting);
        if (builtin != null) return builtin;
        if (setting.equals(AUTO)) {
            JinjaChatTemplate own = JinjaChatTemplate.ofModel(tokenizerFile);
            return own != null ? own : BuiltinChatTemplate.CHATML;
        }
        Path file = Path.of(setting);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("chat template \"" + setting + "\": expected auto, chatml, llama2 or a Jinja template file, "
                    + "and there is no file " + file.toAbsolutePath());
        }
        return JinjaChatTemplate.load(file, tokenizerFile);
    }
}
