package dev.fullshard.data;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * fullshard's own chat templates, for models without one. Both render the conversation up to its last assistant turn (later turns
 * would carry no targets); the assistant's content and the tokens that end its turn are targets,
 * everything else is masked.
 *
 * <ul>
 *   <li>{@code chatml}: {@code <|im_start|>ROLE\nCONTENT<|im_end|>\n} per message, after BOS; the
 *       assistant's {@code CONTENT<|im_end|>} is trained, then EOS after the last one.
 *   <li>{@code llama2}: {@code <s>[INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nUSER [/INST] ASSISTANT</s>} per
 *       exchange (system only in the first, optional); the assistant's content and its {@code </s>}
 *       are trained. Roles must alternate user, assistant, starting with the user.
 * </ul>
 *
 * <p>The {@code <|im_start|>} markers are plain text for tokenizers without them as special tokens.
 */
public enum BuiltinChatTemplate implements ChatTemplate {
    CHATML, LLAMA2;

    /** The built-in template called {@code name}, or null. */
    static BuiltinChatTemplate named(String name) {
        for (BuiltinChatTemplate t : values()) if (t.id().equals(name)) return t;
        return null;
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String describe() {
        return "the built-in " + id();
    }

    @Override
    public String cacheKey() {
        return id();
    }

    @Override
    public long[] prompt(List<Map<String, Object>> messages, TextEncoder encoder) {
        return ExampleRenderer.chatPrompt(this, messages, encoder);
    }
}
