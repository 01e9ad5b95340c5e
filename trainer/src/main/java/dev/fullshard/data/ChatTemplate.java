package dev.fullshard.data;

import java.util.Locale;

/**
 * Built-in chat templates. Both render the conversation up to its last assistant turn (later turns
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
public enum ChatTemplate {
    CHATML, LLAMA2;

    public static ChatTemplate parse(String name) {
        for (ChatTemplate t : values()) if (t.id().equals(name)) return t;
        throw new IllegalArgumentException("unknown chat template \"" + name + "\": expected chatml or llama2");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
